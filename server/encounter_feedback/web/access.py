"""Who may use the server: dashboards and the API need the server access key; stations need
their encounter's join token.

The key is configured (`--key` or `ENCOUNTER_KEY`) or generated at the first start and kept in
the data directory (readable by its owner only), so it survives restarts. Routes that need it
depend on `require_key`; a station's offer and the event stream check their own secrets.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from fastapi import HTTPException, Request

from encounter_feedback.web.services import ServicesDep

KEY_FILE = "access_key"


def load_access_key(data_dir: Path, configured: str | None = None) -> tuple[str, bool]:
    """The server access key, and whether it was generated just now (so it should be printed)."""
    if configured:
        return configured, False
    path = data_dir / KEY_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip(), False
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key + "\n")
    return key, True


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison, so response times do not leak how much of a secret matched."""
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


def require_key(request: Request, services: ServicesDep) -> None:
    """401 without a key, 403 with a wrong one: `Authorization: Bearer KEY`, or `?key=KEY` where a
    browser cannot set headers (a recording in an audio element)."""
    header = request.headers.get("authorization", "")
    given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else request.query_params.get("key")
    if not given:
        raise HTTPException(
            401,
            "missing access key: send 'Authorization: Bearer KEY' (the key is printed "
            "when the server first starts and kept in DATA/access_key)",
        )
    if not same_secret(given, services.key):
        raise HTTPException(403, "wrong access key")
