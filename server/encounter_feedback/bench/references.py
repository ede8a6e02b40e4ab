"""Human reference transcripts of consultations: one turn per line, `D:` (doctor) or `P:` (patient).

The osce-dev mock consultations come this way; `encounter bench speakers` scores who-said-it
against them and `encounter bench moments` counts false alarms on their words.
"""

from __future__ import annotations

import re
from pathlib import Path

from encounter_feedback.errors import UserError

_TURN = re.compile(r"^\s*([A-Za-z]{1,12})\s*:\s*(.*)$")


class TranscriptError(UserError):
    """A reference transcript without D:/P: turns."""


def reference_turns(path: Path) -> list[tuple[str, str]]:
    """(role, text) per turn of a `D:`/`P:` transcript (Doctor/Patient spelled out works too)."""
    turns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _TURN.match(line)
        if match and match.group(2).strip():
            label = match.group(1).upper()
            if label[0] not in "DP":
                raise TranscriptError(f"{path}: turn label {match.group(1)!r}; use D: (doctor) and P: (patient)")
            turns.append(("provider" if label[0] == "D" else "patient", match.group(2)))
    if not turns:
        raise TranscriptError(f"{path}: no D:/P: turns")
    return turns
