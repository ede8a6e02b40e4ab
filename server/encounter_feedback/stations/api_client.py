"""A small async client for the server's API and event stream (replay, demo, bench and tests)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import websockets

from encounter_feedback.errors import UserError


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
    """Talks to one server with the access key (`key` may be None for station-only calls)."""

    def __init__(self, base_url: str, key: str | None = None, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=timeout)

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

    async def finish(self, encounter: str) -> dict[str, Any]:
        return await self.request("POST", f"/api/encounters/{encounter}/finish")

    async def events(self, encounter: str, after: int = 0) -> list[dict[str, Any]]:
        return await self.request("GET", f"/api/encounters/{encounter}/events", params={"after": after})

    async def server_status(self) -> dict[str, Any]:
        return await self.request("GET", "/api/server")

    async def subscribe(self, encounter: str, after: int = 0) -> AsyncIterator[dict[str, Any]]:
        """Every event of the encounter, stored ones first, until the server closes the stream."""
        url = self.base_url.replace("http", "ws", 1) + f"/ws/encounters/{encounter}?key={self.key}&after={after}"
        try:
            async with websockets.connect(url, max_size=None) as ws:
                async for message in ws:
                    yield json.loads(message)
        except websockets.InvalidStatus as exc:
            raise ApiError(exc.response.status_code, exc.response.body.decode(errors="replace")) from exc
