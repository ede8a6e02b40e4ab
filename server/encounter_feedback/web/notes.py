"""Faculty notes: a request body checked into a `note` event, or a message that says what to fix.

A note is free text at a time span (a bookmark when the text is empty), optionally about one
event of the encounter (`target`). On a flag (a `moment` or `response`) it may carry a verdict:
`confirm`, `reject`, or `relabel` with the corrected taxonomy `label` (`neutral` for a response
that answered nothing: its label is null).
"""

from __future__ import annotations

import math
import secrets
from typing import Any

from pydantic import BaseModel, Field

from encounter_feedback.errors import UserError
from encounter_feedback.events import Note
from encounter_feedback.taxonomy import MOMENT_LABELS, RESPONSE_LABELS

VERDICTS = ("confirm", "reject", "relabel")
MAX_AUTHOR = 100
MAX_TEXT = 5000


class NoteError(UserError):
    """The request cannot become a note; the message says why."""


class NoteIn(BaseModel):
    """The request body (documented in the OpenAPI spec; checked by `note_from_request`)."""

    author: str = Field(description="who wrote it, e.g. the faculty member's name")
    text: str = Field("", description="the note; empty for a bookmark")
    t0: float = Field(description="seconds on the encounter clock")
    t1: float | None = Field(None, description="end of the span (default t0)")
    target: str | None = Field(None, description="id of the event the note is about")
    verdict: str | None = Field(None, description="confirm | reject | relabel (needs a target flag)")
    label: str | None = Field(None, description="the corrected label, with verdict relabel")


def note_from_request(encounter: str, body: Any, events: list[dict[str, Any]]) -> Note:
    """The `note` event for `body`; NoteError says what is wrong; LookupError for an unknown target."""
    if not isinstance(body, dict):
        raise NoteError("send a JSON object: {author, text, t0, t1, target, verdict, label}")
    unknown = set(body) - set(NoteIn.model_fields)
    if unknown:
        raise NoteError(
            f"unknown field(s) {', '.join(sorted(unknown))}: use author, text, t0, t1, target, verdict, label"
        )
    author = _string(body, "author").strip()
    if not author or len(author) > MAX_AUTHOR:
        raise NoteError(f"author must be a name of 1 to {MAX_AUTHOR} characters")
    text = _string(body, "text", "").strip()
    if len(text) > MAX_TEXT:
        raise NoteError(f"text is {len(text)} characters; at most {MAX_TEXT}")
    t0 = _time(body, "t0")
    t1 = _time(body, "t1") if body.get("t1") is not None else t0
    if t1 < t0:
        raise NoteError(f"t1 ({t1}) is before t0 ({t0})")
    target_id = _string(body, "target", None)
    verdict = _string(body, "verdict", None)
    label = _string(body, "label", None)
    target = None
    if target_id is not None:
        target = next((e for e in events if e.get("id") == target_id and e["type"] != "note"), None)
        if target is None:
            raise LookupError(f"no event {target_id!r} in encounter {encounter!r} to annotate")
    if verdict is not None:
        if verdict not in VERDICTS:
            raise NoteError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
        if target is None or target["type"] not in ("moment", "response"):
            raise NoteError("a verdict needs a target: the id of a moment or response event")
    if (verdict == "relabel") != (label is not None):
        raise NoteError("relabel needs a label, and only relabel takes one")
    if label is not None:
        allowed = MOMENT_LABELS if target["type"] == "moment" else (*RESPONSE_LABELS, "neutral")
        if label not in allowed:
            raise NoteError(f"{label!r} is not a {target['type']} label: use one of {', '.join(allowed)}")
    return Note(
        id="note-" + secrets.token_hex(5),
        encounter=encounter,
        speaker=target["speaker"] if target else "unknown",
        t0=t0,
        t1=t1,
        author=author,
        text=text,
        label=label,
        target=target_id,
        verdict=verdict,
    )


def _string(body: dict[str, Any], name: str, default: Any = ...) -> Any:
    value = body.get(name)
    if value is None:
        if default is ...:
            raise NoteError(f"{name} is missing")
        return default
    if not isinstance(value, str):
        raise NoteError(f"{name} must be a string, not {value!r}")
    return value


def _time(body: dict[str, Any], name: str) -> float:
    value = body.get(name)
    if value is None:
        raise NoteError(f"{name} is missing: seconds on the encounter clock")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise NoteError(f"{name} must be a number of seconds >= 0, not {value!r}")
    return float(value)
