"""The HTTP API, the WebSocket event stream and the dashboard files, in one ASGI app.

FastAPI on uvicorn (WebSockets through the `websockets` library's sans-I/O protocol): FastAPI derives the
OpenAPI spec and request validation from the typed models (web/models.py, web/notes.py), and everything,
aiortc included, runs on one asyncio loop. Heavy compute runs off the loop: Whisper on the ASR
scheduler's thread, pitch on the prosody worker's.

The routes live in web/routes/, one router per concern; what they share comes in through FastAPI
dependencies (web/services.py). Access: the API, the dashboard stream and the recordings need the
server access key (`Authorization: Bearer KEY`, or `?key=KEY` where a browser cannot set headers;
web/access.py); a station needs only its encounter's join token, sent with its offer. Every refusal
is `{"detail": "..."}`, invalid requests included (400, web/validation.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from fastapi.staticfiles import StaticFiles

from encounter_feedback.resources import bundled_dir
from encounter_feedback.web.models import Problem
from encounter_feedback.web.routes import encounters, exports, notes, server, stations, stream, taxonomy
from encounter_feedback.web.services import LiveRuntime, Services, close_interrupted
from encounter_feedback.web.validation import invalid_handshake, invalid_request

CLIENT_DIR = bundled_dir("client")
REFUSED: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": Problem, "description": "refused: the detail says what to fix"}
}


def create_app(services: Services) -> FastAPI:
    """The app for `services`; the live compute starts and stops with it (`lifespan`)."""
    app = FastAPI(
        title="Encounter feedback",
        version="1",
        summary="Live transcription and annotation of simulated clinical encounters.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads from a CDN; the spec itself is at /openapi.json
        redoc_url=None,
        responses=REFUSED,
    )
    app.state.services = services
    app.exception_handler(RequestValidationError)(invalid_request)
    app.exception_handler(WebSocketRequestValidationError)(invalid_handshake)
    for module in (encounters, stations, notes, exports, stream, taxonomy, server):
        app.include_router(module.router)
    app.mount("/", StaticFiles(directory=CLIENT_DIR, html=True), name="client")
    return app


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Close what a crash left open, then run the live compute for as long as the server runs."""
    services: Services = app.state.services
    close_interrupted(services.store)
    runtime = LiveRuntime(services)
    app.state.runtime = runtime
    try:
        yield
    finally:
        await runtime.close()


@dataclass(frozen=True)
class Running:
    url: str
    task: asyncio.Task[None]
    """Ends when the server stops (uvicorn stops it gracefully on Ctrl-C or SIGTERM)."""


@contextlib.asynccontextmanager
async def running(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[Running]:
    """Serve `app` on this event loop (port 0: any free port) until the block ends."""
    sock = socket.create_server((host, port))  # binding here turns a busy port into a plain OSError
    server = uvicorn.Server(uvicorn.Config(app, ws="websockets-sansio", log_level="warning"))
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the server stopped during startup")
        await asyncio.sleep(0.02)
    try:
        yield Running(f"http://{host}:{sock.getsockname()[1]}", task)
    finally:
        server.should_exit = True
        await task
