"""Accounts: people with a role, their personal API tokens, and their browser sessions.

Roles (what each may do is web/access.py's policy): `admin` (accounts, deletion, everything),
`faculty` (live views, debriefs, notes), `researcher` (exports, blind by default).

Only hashes are stored. A password is hashed with scrypt (hashlib, memory-hard; parameters
and salt kept in the hash string, so they can be raised later without breaking old hashes).
Tokens and session ids are 256-bit random strings, so a plain SHA-256 of them is enough: there
is nothing to guess. A token is shown once, when it is made.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass

from encounter_feedback.errors import UserError
from encounter_feedback.store.database import Store

ROLES = ("admin", "faculty", "researcher")
SESSION_S = 12 * 3600.0
"""A browser session lasts a working day; then the login page again."""
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
"""16 MiB and about 50 ms per hash: slow for a guesser, quick for one login."""
MIN_PASSWORD = 10
MAX_NAME = 64
SERVER_KEY, RETENTION = "server-key", "retention"
RESERVED = (SERVER_KEY, RETENTION)
"""Names the logs use for the server key and the retention purge: no person may take them."""
TOKEN_PREFIX = "eft_"
"""Personal tokens start with this, so a leaked one is recognizable (e.g. by secret scanners)."""


class AccountError(UserError):
    """An account request that cannot be done as asked; the message says why."""


@dataclass(frozen=True)
class User:
    name: str
    role: str


@dataclass(frozen=True)
class TokenInfo:
    """A personal API token as listed: never the token itself."""

    id: str
    user: str
    label: str
    created_at: float


def hash_password(password: str, salt: bytes | None = None, **params: int) -> str:
    """`scrypt$n$r$p$SALT$HASH` (base64)."""
    params = params or SCRYPT
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, maxmem=2**26, dklen=32, **params)
    encoded = (base64.b64encode(part).decode() for part in (salt, digest))
    return "$".join(["scrypt", str(params["n"]), str(params["r"]), str(params["p"]), *encoded])


def password_matches(password: str, stored: str) -> bool:
    _, n, r, p, salt, _ = stored.split("$")
    expected = hash_password(password, base64.b64decode(salt), n=int(n), r=int(r), p=int(p))
    return secrets.compare_digest(expected, stored)


_DECOY = hash_password(secrets.token_urlsafe(16))
"""Checked against when the name is unknown, so a login takes as long either way."""


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Accounts:
    """The accounts, tokens and sessions in a store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- users --------------------------------------------------------------------------

    def add(self, name: str, role: str, password: str) -> User:
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
        if not name or len(name) > MAX_NAME or not name.isprintable() or name != name.strip():
            raise AccountError(f"{name!r}: a user name is 1 to {MAX_NAME} printable characters, no outer spaces")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"the password is too short: at least {MIN_PASSWORD} characters")
        if self.user(name) is not None or name in RESERVED:
            raise AccountError(f"there is already a user {name!r}")
        self.store.execute(
            "INSERT INTO users (name, role, password, created_at) VALUES (?, ?, ?, ?)",
            (name, role, hash_password(password), time.time()),
        )
        return User(name, role)

    def user(self, name: str) -> User | None:
        rows = self.store.query("SELECT name, role FROM users WHERE name = ?", (name,))
        return User(rows[0]["name"], rows[0]["role"]) if rows else None

    def users(self) -> list[User]:
        return [
            User(row["name"], row["role"]) for row in self.store.query("SELECT name, role FROM users ORDER BY name")
        ]

    def remove(self, name: str) -> None:
        """Remove the user, their tokens and their sessions."""
        if self.store.execute("DELETE FROM users WHERE name = ?", (name,)) == 0:
            raise AccountError(f"no user {name!r}")
        self.store.execute("DELETE FROM sessions WHERE user = ?", (name,))

    def set_password(self, name: str, password: str) -> None:
        """A new password; the user's open sessions end."""
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"the password is too short: at least {MIN_PASSWORD} characters")
        if self.store.execute("UPDATE users SET password = ? WHERE name = ?", (hash_password(password), name)) == 0:
            raise AccountError(f"no user {name!r}")
        self.store.execute("DELETE FROM sessions WHERE user = ?", (name,))

    def login(self, name: str, password: str) -> User | None:
        """The user if the password is theirs; None otherwise (in about the same time)."""
        rows = self.store.query("SELECT name, role, password FROM users WHERE name = ?", (name,))
        stored = rows[0]["password"] if rows else _DECOY
        if password_matches(password, stored) and rows:
            return User(rows[0]["name"], rows[0]["role"])
        return None

    # -- personal API tokens ---------------------------------------------------------------

    def add_token(self, name: str, label: str = "") -> tuple[TokenInfo, str]:
        """A new token for user `name`: its listing, and the token itself (shown only now)."""
        if self.user(name) is None:
            raise AccountError(f"no user {name!r}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        info = TokenInfo("tok-" + secrets.token_hex(4), name, label, time.time())
        self.store.execute(
            "INSERT INTO tokens (id, user, hash, label, created_at) VALUES (?, ?, ?, ?, ?)",
            (info.id, name, secret_hash(token), label, info.created_at),
        )
        return info, token

    def tokens(self, name: str | None = None) -> list[TokenInfo]:
        """Tokens of user `name` (None: everyone's)."""
        rows = self.store.query(
            "SELECT id, user, label, created_at FROM tokens WHERE ? IS NULL OR user = ? ORDER BY created_at",
            (name, name),
        )
        return [TokenInfo(row["id"], row["user"], row["label"], row["created_at"]) for row in rows]

    def revoke(self, token_id: str, name: str | None = None) -> None:
        """Revoke a token (of user `name` only, when given)."""
        changed = self.store.execute(
            "DELETE FROM tokens WHERE id = ? AND (? IS NULL OR user = ?)", (token_id, name, name)
        )
        if changed == 0:
            raise AccountError(f"no token {token_id!r}")

    def token_user(self, token: str) -> User | None:
        rows = self.store.query(
            "SELECT users.name, users.role FROM tokens JOIN users ON users.name = tokens.user WHERE tokens.hash = ?",
            (secret_hash(token),),
        )
        return User(rows[0]["name"], rows[0]["role"]) if rows else None

    # -- browser sessions ------------------------------------------------------------------

    def open_session(self, user: User) -> str:
        """A new session id for `user` (the cookie's value), valid for SESSION_S."""
        session = secrets.token_urlsafe(32)
        now = time.time()
        self.store.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))
        self.store.execute(
            "INSERT INTO sessions (hash, user, role, expires_at) VALUES (?, ?, ?, ?)",
            (secret_hash(session), user.name, user.role, now + SESSION_S),
        )
        return session

    def session_user(self, session: str) -> User | None:
        rows = self.store.query(
            "SELECT user, role FROM sessions WHERE hash = ? AND expires_at > ?", (secret_hash(session), time.time())
        )
        return User(rows[0]["user"], rows[0]["role"]) if rows else None

    def close_session(self, session: str) -> None:
        self.store.execute("DELETE FROM sessions WHERE hash = ?", (secret_hash(session),))
