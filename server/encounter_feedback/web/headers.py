"""Response headers that make a browser keep the dashboard to itself.

- a Content-Security-Policy that loads scripts, styles, media and connections from this server
  only (the vendored libraries need no CDN) and forbids framing (clickjacking); inline styles stay
  allowed because wavesurfer draws its waveform with them (inline *scripts* do not);
- `X-Content-Type-Options: nosniff`, so a recording or an export is never run as a script;
- `Referrer-Policy: no-referrer`, so an encounter id in a URL does not leak to other sites;
- `Cache-Control: no-store` on everything under /api/ (transcripts, recordings, exports), so
  nothing of an encounter stays in a browser's or a proxy's cache.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
EVERY_RESPONSE = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
}


class SecurityHeaders:
    """ASGI middleware adding EVERY_RESPONSE's headers, and no-store on the API."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        private = scope["path"].startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in EVERY_RESPONSE.items():
                    headers.setdefault(name, value)
                if private:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
