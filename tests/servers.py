"""A server for tests that talk to it from another process or a blocking client: `running` on its
own event loop in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from fastapi import FastAPI

from encounter_feedback.web.app import running


@contextlib.contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve `app` in a background thread until the block ends; yields its URL."""
    started: dict[str, str] = {}
    ready, stop = threading.Event(), None
    loop = asyncio.new_event_loop()

    async def serve() -> None:
        nonlocal stop
        stop = asyncio.Event()
        async with running(app) as server:
            started["url"] = server.url
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    if not ready.wait(60):
        raise RuntimeError("the server did not start")
    try:
        yield started["url"]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(60)
        loop.close()
