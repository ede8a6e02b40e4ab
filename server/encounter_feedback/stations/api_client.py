"""A small async client for the server's API and event stream (replay, demo, bench and tests)."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import websockets

from encounter_feedback.errors import UserError


def _ssl_context(verify: bool | str) -> ssl.SSLContext:
    """How to check the server's certificate: the system's CAs (True), this CA file, or not at all
    (False); for https and the WebSocket alike."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)


class ApiError(UserError):
    """The server refused a request; the message carries its status and reason."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"the server answered {status}: {detail}")
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Joined:
    """What a station needs to join an encounter."""

    id: str
    join_token: str


class ApiClient:
    """Talks to one server with a bearer secret: the server key or a personal API token (`key` may
    be None for station-only calls). `verify`: False, or a CA file, for a self-signed https server."""

    def __init__(self, base_url: str, key: str | None = None, timeout: float = 30.0, verify: bool | str = True) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = key
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._tls = _ssl_context(verify)
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=self._headers, timeout=timeout, verify=self._tls)

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ApiError(0, f"cannot reach {self.base_url} ({exc}); is `encounter serve` running?") from exc
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise ApiError(response.status_code, detail if isinstance(detail, str) else json.dumps(detail))
        return response.json()

    async def create_encounter(self, scenario: str | None = None, **metadata: str) -> Joined:
        body = await self.request("POST", "/api/encounters", json={"scenario": scenario, "metadata": metadata})
        return Joined(body["id"], body["join_token"])

    async def join_token(self, encounter: str) -> str:
        return (await self.request("GET", f"/api/encounters/{encounter}"))["join_token"]

    async def offer(self, encounter: str, sdp: str, role: str, token: str) -> dict[str, str]:
        body = {"sdp": sdp, "type": "offer", "role": role, "token": token}
        return await self.request("POST", f"/api/encounters/{encounter}/offer", json=body)

    async def station(self, encounter: str, token: str, timeout: float = 5.0) -> dict[str, Any]:
        """What a station may know of its encounter (409 once it has finished); quick to fail."""
        return await self.request(
            "GET", f"/api/encounters/{encounter}/station", params={"token": token}, timeout=timeout
        )

    async def finish(self, encounter: str) -> dict[str, Any]:
        return await self.request("POST", f"/api/encounters/{encounter}/finish")

    async def events(self, encounter: str, after: int = 0) -> list[dict[str, Any]]:
        return await self.request("GET", f"/api/encounters/{encounter}/events", params={"after": after})

    async def server_status(self) -> dict[str, Any]:
        return await self.request("GET", "/api/server")

    async def subscribe(self, encounter: str, after: int = 0) -> AsyncIterator[dict[str, Any]]:
        """Every event of the encounter, stored ones first, until the server closes the stream."""
        url = self.base_url.replace("http", "ws", 1) + f"/ws/encounters/{encounter}?after={after}"
        tls = self._tls if url.startswith("wss:") else None
        try:
            async with websockets.connect(url, max_size=None, additional_headers=self._headers, ssl=tls) as ws:
                async for message in ws:
                    yield json.loads(message)
        except websockets.InvalidStatus as exc:
            raise ApiError(exc.response.status_code, exc.response.body.decode(errors="replace")) from exc
