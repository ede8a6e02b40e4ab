"""Who may do what: people log in with a role; scripts send a bearer token; stations send their
encounter's join token, which does nothing else.

Credentials, in the order they are looked at:
- `Authorization: Bearer SECRET`: the server key (`--key`, `$ENCOUNTER_KEY` or `DATA/access_key`,
  an admin for scripts and API clients) or a person's API token (their role);
- the session cookie set by `POST /api/session` after the login page (HttpOnly, SameSite=Strict;
  a request it authenticates that changes something, or opens the event stream, must come from
  this server's own pages: a foreign `Origin` is refused).
`/?key=KEY` (the link `encounter serve` prints once) is only a bootstrap: the page request is
answered with a session cookie and a redirect to the same page without the key (`KeyBootstrap`).

What each role may do is `PERMISSIONS`; routes declare what they need with `Allowed("perm")`,
which also puts the two schemes into the OpenAPI spec. A join token only publishes audio for its
encounter (`POST .../offer`) and reads its own connection state (`GET .../station`), until the
encounter finishes.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, HTTPException
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from encounter_feedback.private import private_dir, write_private
from encounter_feedback.store.accounts import SERVER_KEY, Accounts, User
from encounter_feedback.web.services import ServicesDep

KEY_FILE = "access_key"
SESSION_COOKIE = "encounter_session"
SERVER_KEY_USER = User(SERVER_KEY, "admin")
"""Who the server key is, in the audit log."""

PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(
        {"read", "run", "live", "notes", "metadata", "recordings", "export", "export_identified", "delete", "audit"}
    ),
    "faculty": frozenset({"read", "run", "live", "notes", "metadata", "recordings", "export"}),
    "researcher": frozenset({"read", "metadata", "recordings", "export", "export_identified"}),
}
"""read: encounters, events, summaries · run: create, finish, station links (join tokens) · live: the
event stream · notes: faculty notes, verdicts and ratings of objectives · metadata: research metadata · recordings ·
export: blind exports · export_identified: exports with participant ids and conditions ·
delete: erase encounters · audit: the export and access logs."""
BLIND_BY_DEFAULT = frozenset({"researcher"})
"""Roles whose exports are blind unless they ask otherwise (those without export_identified always are)."""

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="the server key (scripts; an admin) or a personal API token (`encounter users token NAME`)",
)
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description="set by POST /api/session (the login page); HttpOnly, SameSite=Strict",
)


def load_access_key(data_dir: Path, configured: str | None = None) -> tuple[str, bool]:
    """The server access key, and whether it was generated just now (so it should be printed)."""
    if configured:
        return configured, False
    path = data_dir / KEY_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip(), False
    private_dir(data_dir)
    key = secrets.token_hex(24)  # hex: typed as `--key VALUE`, where a leading "-" would read as an option
    write_private(path, (key + "\n").encode(), exclusive=True)
    return key, True


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison, so response times do not leak how much of a secret matched."""
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


def bearer_user(secret: str, services: ServicesDep) -> User | None:
    """Whose bearer secret this is: the server key's admin, a token's owner, or nobody."""
    if same_secret(secret, services.key):
        return SERVER_KEY_USER
    return Accounts(services.store).token_user(secret)


def from_this_server(connection: HTTPConnection) -> bool:
    """False for a request a page of another site made (its `Origin` names another host)."""
    origin = connection.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == connection.headers.get("host")


def caller(
    connection: HTTPConnection,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    session: Annotated[str | None, Depends(session_cookie)],
) -> User:
    """The authenticated caller: 401 with no credentials (or an ended session), 403 with wrong ones."""
    if credentials is not None:
        user = bearer_user(credentials.credentials, services)
        if user is None:
            raise HTTPException(403, "wrong access key or API token")
        return user
    if session:
        user = Accounts(services.store).session_user(session)
        if user is None:
            raise HTTPException(401, "the session has ended: log in again at /login.html")
        unsafe = connection.scope["type"] == "websocket" or connection.scope.get("method") not in ("GET", "HEAD")
        if unsafe and not from_this_server(connection):
            raise HTTPException(403, "this request came from another site's page")
        return user
    raise HTTPException(
        401,
        "not logged in: log in at /login.html, or send 'Authorization: Bearer KEY' "
        "(the server key, printed when the server first starts and kept in DATA/access_key, or an API token)",
        headers={"WWW-Authenticate": "Bearer"},
    )


Caller = Annotated[User, Depends(caller)]


class Allowed:
    """A dependency: the caller, if their role has `permission` (else 403)."""

    def __init__(self, permission: str) -> None:
        self.permission = permission

    def __call__(self, user: Caller) -> User:
        if self.permission not in PERMISSIONS[user.role]:
            raise HTTPException(403, f"a {user.role} may not do this (it needs the {self.permission!r} permission)")
        return user


def may(user: User, permission: str) -> bool:
    return permission in PERMISSIONS[user.role]


def export_blind(user: User, asked: bool | None) -> bool:
    """Whether `user`'s export is blind: as asked, else by role; 403 if they may not have it identified."""
    if asked is None:
        blind = user.role in BLIND_BY_DEFAULT or not may(user, "export_identified")
    else:
        blind = asked
    if not blind and not may(user, "export_identified"):
        raise HTTPException(403, f"a {user.role} may export blind only: leave out blind=0")
    return blind


class KeyBootstrap:
    """ASGI middleware: a page opened as `/PAGE?key=KEY` (the link the server prints) gets a session
    cookie and a redirect to `/PAGE` without the key, so the key leaves the address bar and the
    history; a wrong key goes to the login page. API routes never take a key in the URL."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(("/api/", "/ws/")):
            return await self.app(scope, receive, send)
        connection = HTTPConnection(scope)
        given = connection.query_params.get("key")
        if given is None:
            return await self.app(scope, receive, send)
        services = scope["app"].state.services
        rest = urlencode([(name, value) for name, value in connection.query_params.multi_items() if name != "key"])
        response: Response
        if same_secret(given, services.key):
            response = RedirectResponse(scope["path"] + (f"?{rest}" if rest else ""), status_code=303)
            set_session_cookie(response, Accounts(services.store).open_session(SERVER_KEY_USER), connection)
        else:
            response = RedirectResponse("/login.html?wrong-key=1", status_code=303)
        response.headers["Cache-Control"] = "no-store"
        await response(scope, receive, send)


def set_session_cookie(response: Response, session: str, connection: HTTPConnection) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session,
        httponly=True,
        samesite="strict",
        secure=connection.url.scheme == "https",
        path="/",
    )
