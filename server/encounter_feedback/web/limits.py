"""The size limit on request bodies: 413, before the body is read, instead of reading a 100 MB
note into memory to find it is too long.

A declared `Content-Length` over the limit is refused at once; a body sent without one (chunked)
is counted as it arrives and refused as soon as it passes the limit. The refusal is the API's
usual `{"detail": ...}` (raised as an HTTPException into the route, like any other).
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 64 * 1024
"""Bytes of any request body: the largest the API takes, a 5,000-character note, is well under it."""


def too_large(limit: int) -> str:
    return f"the body is too large: this server takes at most {limit} bytes"


class BodyLimit:
    """ASGI middleware: request bodies of at most `limit` bytes."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.limit:
            status = 413 if declared.isdigit() else 400
            detail = too_large(self.limit) if status == 413 else "the Content-Length header is not a number"
            return await JSONResponse({"detail": detail}, status_code=status)(scope, receive, send)
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise HTTPException(413, too_large(self.limit))
            return message

        await self.app(scope, counted, send)
