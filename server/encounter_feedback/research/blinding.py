"""Blinding for research exports: participant ids become stable codes, condition fields are withheld.

Coders rating encounters must not learn who the participant is or which arm of a study they
were in. A participant's code is a keyed hash (HMAC-SHA256) of their id with a secret kept in
the data directory, so the same participant gets the same code in every export from that
directory, and nobody without the secret can compute or reverse a code. Everything else an
export writes is either an encounter id (random), a time, a label, or speech.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

SECRET_FILE = "blinding_key"
KEPT_IN_BLIND = ("cohort", "station", "session")
"""Metadata a blind export keeps besides the participant code; the condition and any other keys
(which may name the arm or the person) are withheld."""


class Blinder:
    """Turns an encounter's metadata into what a blind export may show."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> Blinder:
        """The data directory's blinding secret, generated on first use (readable by the owner only)."""
        path = data_dir / SECRET_FILE
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_hex(32))
        return cls(bytes.fromhex(path.read_text().strip()))

    def code(self, participant: str) -> str:
        """The participant's stable code, e.g. `anon-3f9a0c12`."""
        digest = hmac.new(self._secret, str(participant).encode(), hashlib.sha256).hexdigest()
        return f"anon-{digest[:8]}"

    def metadata(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Participant as a code, the kept keys as they are, nothing else."""
        blind = {key: metadata[key] for key in KEPT_IN_BLIND if metadata.get(key) is not None}
        if metadata.get("participant") is not None:
            blind = {"participant": self.code(metadata["participant"]), **blind}
        return blind
