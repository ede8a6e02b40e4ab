"""Logging in and out (the session cookie), who the caller is, their personal API tokens, and the
access log (web/access.py says who may do what)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response

from encounter_feedback.store.accounts import AccountError, Accounts, User
from encounter_feedback.web.access import (
    PERMISSIONS,
    SERVER_KEY_USER,
    SESSION_COOKIE,
    Allowed,
    Caller,
    from_this_server,
    same_secret,
    set_session_cookie,
)
from encounter_feedback.web.models import (
    Access,
    KeyLogin,
    Me,
    PasswordLogin,
    TokenCreate,
    TokenCreated,
    TokenOut,
    problems,
)
from encounter_feedback.web.services import ServicesDep

router = APIRouter(prefix="/api", tags=["accounts"])


def me(user: User) -> Me:
    return Me(name=user.name, role=user.role, permissions=sorted(PERMISSIONS[user.role]))


@router.post("/session", response_model=Me, responses=problems(400, 403, 413))
def log_in(body: PasswordLogin | KeyLogin, request: Request, response: Response, services: ServicesDep) -> Me:
    """Log in with a name and password (or the server key): sets the HttpOnly session cookie the
    dashboard's pages and its event stream use."""
    if not from_this_server(request):
        raise HTTPException(403, "this request came from another site's page")
    accounts = Accounts(services.store)
    if isinstance(body, KeyLogin):
        if not same_secret(body.key, services.key):
            raise HTTPException(403, "wrong server key")
        user: User | None = SERVER_KEY_USER
    else:
        user = accounts.login(body.name, body.password)
    if user is None:
        raise HTTPException(403, "wrong name or password")
    set_session_cookie(response, accounts.open_session(user), request)
    return me(user)


@router.delete("/session", status_code=204)
def log_out(request: Request, response: Response, services: ServicesDep) -> None:
    """End this browser's session (nothing to end is fine)."""
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        Accounts(services.store).close_session(session)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me", response_model=Me, responses=problems(401, 403))
def who_am_i(user: Caller) -> Me:
    """The caller's name, role and what the role may do (the dashboard shows only what is allowed)."""
    return me(user)


def _personal(user: User) -> User:
    if user == SERVER_KEY_USER:
        raise HTTPException(403, "the server key has no personal tokens: use a person's account")
    return user


@router.get("/tokens", response_model=list[TokenOut], responses=problems(401, 403))
def list_tokens(user: Caller, services: ServicesDep) -> list[dict[str, Any]]:
    """The caller's personal API tokens (never the tokens themselves)."""
    return [asdict(token) for token in Accounts(services.store).tokens(_personal(user).name)]


@router.post("/tokens", status_code=201, response_model=TokenCreated, responses=problems(400, 401, 403, 413))
def create_token(body: TokenCreate, user: Caller, services: ServicesDep) -> dict[str, Any]:
    """A personal API token with the caller's role, for scripts: `Authorization: Bearer TOKEN`.
    The token is in this answer only."""
    info, token = Accounts(services.store).add_token(_personal(user).name, body.label)
    return {**asdict(info), "token": token}


@router.delete("/tokens/{token_id}", status_code=204, responses=problems(400, 401, 403, 404))
def revoke_token(token_id: Annotated[str, Path(max_length=64)], user: Caller, services: ServicesDep) -> None:
    """Revoke one of the caller's tokens."""
    try:
        Accounts(services.store).revoke(token_id, _personal(user).name)
    except AccountError as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/audit", response_model=list[Access], responses=problems(401, 403))
def access_log(user: Annotated[User, Depends(Allowed("audit"))], services: ServicesDep) -> list[dict[str, Any]]:
    """The access log: who read events, downloaded recordings, opened live views or deleted
    encounters, and when (exports are in /api/exports)."""
    return [asdict(record) for record in services.store.accesses()]
