"""The HTTP API, the WebSocket event stream and the dashboard files, in one ASGI app.

FastAPI on uvicorn (WebSockets through the `websockets` library's sans-I/O protocol): FastAPI derives the
OpenAPI spec and request validation from the typed models (web/models.py, web/notes.py), and everything,
aiortc included, runs on one asyncio loop. Heavy compute runs off the loop: Whisper on the ASR
scheduler's thread, pitch on the prosody worker's.

The routes live in web/routes/, one router per concern; what they share comes in through FastAPI
dependencies (web/services.py). Access (web/access.py): people log in with a role (a session
cookie), scripts send a bearer token (the server key, or a personal token), a station sends only
its encounter's join token with its offer. Every refusal is `{"detail": "..."}` (web/validation.py),
and each route's spec lists the ones it can give; bodies are limited in size (413, web/limits.py)
and shape (web/models.py); every response carries the headers in web/headers.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route
from starlette.types import Scope

from encounter_feedback.resources import bundled_dir
from encounter_feedback.web.access import KeyBootstrap
from encounter_feedback.web.headers import SecurityHeaders
from encounter_feedback.web.limits import MAX_BODY, BodyLimit
from encounter_feedback.web.routes import accounts, encounters, exports, notes, server, stations, stream, taxonomy
from encounter_feedback.web.services import LiveRuntime, Services, close_interrupted, retention
from encounter_feedback.web.validation import invalid_handshake, invalid_request, refused

CLIENT_DIR = bundled_dir("client")
API_DOC = f"""
Request bodies are at most {MAX_BODY // 1024} KiB (413 beyond). Every refusal is `{{"detail": "..."}}`.

The event stream is a WebSocket (not in this spec): `WS /ws/encounters/{id}?after=SEQ` sends the
encounter's stored events after SEQ, then its live ones. It needs the `live` permission (a faculty
member's or admin's session cookie, or `Authorization: Bearer` from a script); a join token does
not open it.
"""


def create_app(services: Services) -> FastAPI:
    """The app for `services`; the live compute starts and stops with it (`lifespan`)."""
    app = FastAPI(
        title="Encounter feedback",
        version="1",
        summary="Live transcription and annotation of simulated clinical encounters.",
        description=API_DOC,
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads from a CDN; the spec itself is at /openapi.json
        redoc_url=None,
    )
    app.state.services = services
    app.exception_handler(RequestValidationError)(invalid_request)
    app.exception_handler(WebSocketRequestValidationError)(invalid_handshake)
    app.exception_handler(StarletteHTTPException)(refused)
    for module in (accounts, encounters, stations, notes, exports, stream, taxonomy, server):
        app.include_router(module.router)
    app.router.routes.append(ClientFiles())
    app.openapi = lambda: spec(app)  # type: ignore[method-assign]
    app.add_middleware(BodyLimit)
    app.add_middleware(KeyBootstrap)
    app.add_middleware(SecurityHeaders)
    return app


class ClientFiles(Route):
    """The dashboard's files: GET and HEAD on any path outside /api/ (where a wrong method is the
    API's 405, and an unknown path its 404)."""

    def __init__(self) -> None:
        files = StaticFiles(directory=CLIENT_DIR, html=True)
        super().__init__("/{path:path}", files, methods=["GET", "HEAD"], include_in_schema=False)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            return Match.NONE, {}
        return super().matches(scope)


def spec(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI spec, made once: FastAPI's, without the 422 it adds to routes with parameters
    (this API answers an invalid request with 400, documented on each route)."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        for operations in document["paths"].values():
            for operation in operations.values():
                operation["responses"].pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            document.get("components", {}).get("schemas", {}).pop(name, None)
        app.openapi_schema = document
    return app.openapi_schema


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Close what a crash left open, then run the live compute (and the retention purge) for as long
    as the server runs."""
    services: Services = app.state.services
    close_interrupted(services.store)
    runtime = LiveRuntime(services)
    app.state.runtime = runtime
    purging = asyncio.get_running_loop().create_task(retention(services))
    try:
        yield
    finally:
        purging.cancel()
        await runtime.close()


GRACEFUL_S = 3
"""At a stop (SIGTERM, Ctrl-C), open requests and event streams get this long before they are cut; then
the live encounters are finished (pipeline/live.py SHUTDOWN_DRAIN_S) and the process exits."""


@dataclass(frozen=True)
class Tls:
    """A certificate (chain) and its private key, PEM files: uvicorn serves https with them."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class Running:
    url: str
    task: asyncio.Task[None]
    """Ends when the server stops (uvicorn stops it gracefully on Ctrl-C or SIGTERM)."""


@contextlib.asynccontextmanager
async def running(
    app: FastAPI, host: str = "127.0.0.1", port: int = 0, tls: Tls | None = None
) -> AsyncIterator[Running]:
    """Serve `app` on this event loop (port 0: any free port) until the block ends; over https with `tls`."""
    sock = socket.create_server((host, port))  # binding here turns a busy port into a plain OSError
    config = uvicorn.Config(
        app,
        ws="websockets-sansio",
        log_level="warning",
        timeout_graceful_shutdown=GRACEFUL_S,
        ssl_certfile=tls.cert if tls else None,
        ssl_keyfile=tls.key if tls else None,
    )
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the server stopped during startup")
        await asyncio.sleep(0.02)
    try:
        yield Running(f"{'https' if tls else 'http'}://{host}:{sock.getsockname()[1]}", task)
    finally:
        server.should_exit = True
        await task
