"""Faculty notes: a request body checked into a `note` event, or a message that says what to fix.

A note is free text at a time span (a bookmark when the text is empty), optionally about one
event of the encounter (`target`). On a flag (a `moment` or `response`) it may carry a verdict:
`confirm`, `reject`, or `relabel` with the corrected taxonomy `label` (`neutral` for a response
that answered nothing: its label is null).

`NoteIn` checks everything a body can get wrong on its own (FastAPI turns its errors into a 400,
web/validation.py); `note_event` adds the checks that need the encounter's events.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from encounter_feedback.errors import UserError
from encounter_feedback.events import Note
from encounter_feedback.taxonomy import MOMENT_LABELS, RESPONSE_LABELS

MAX_AUTHOR = 100
MAX_TEXT = 5000
LABELS = {"moment": MOMENT_LABELS, "response": (*RESPONSE_LABELS, "neutral")}
"""The flags (the event types a verdict can be about), and what each can be relabelled to."""
ANY_LABEL = (*LABELS["moment"], *LABELS["response"])

Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class NoteIn(BaseModel):
    """The request body of `POST /api/encounters/{id}/notes`."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    author: str = Field(min_length=1, max_length=MAX_AUTHOR, description="who wrote it, e.g. the faculty member's name")
    text: str = Field("", max_length=MAX_TEXT, description="the note; empty for a bookmark")
    t0: Seconds = Field(description="seconds on the encounter clock")
    t1: Seconds | None = Field(None, description="end of the span (default t0)")
    target: str | None = Field(None, description="id of the event the note is about")
    verdict: Literal["confirm", "reject", "relabel"] | None = Field(None, description="needs a target flag")
    label: str | None = Field(None, description="the corrected taxonomy label, with verdict relabel")

    @field_validator("label")
    @classmethod
    def _known_label(cls, label: str | None) -> str | None:
        if label is not None and label not in ANY_LABEL:
            raise ValueError(f"label {label!r} is not in the taxonomy: use one of {', '.join(ANY_LABEL)}")
        return label

    @model_validator(mode="after")
    def _consistent(self) -> NoteIn:
        if self.t1 is not None and self.t1 < self.t0:
            raise ValueError(f"t1 ({self.t1}) is before t0 ({self.t0})")
        if self.verdict is not None and self.target is None:
            raise ValueError("a verdict needs a target: the id of a moment or response event")
        if (self.verdict == "relabel") != (self.label is not None):
            raise ValueError("relabel needs a label, and only relabel takes one")
        return self


class NoteError(UserError):
    """The note does not fit the encounter's events; the message says why."""


class UnknownTarget(UserError):
    """The note is about an event the encounter does not have."""


def note_event(encounter: str, note: NoteIn, events: Iterable[dict[str, Any]]) -> Note:
    """The `note` event for a checked body: its target must be one of `events` (UnknownTarget), and a
    verdict's target a flag whose type the label fits (NoteError)."""
    target = None
    if note.target is not None:
        target = next((e for e in events if e.get("id") == note.target and e["type"] != "note"), None)
        if target is None:
            raise UnknownTarget(f"no event {note.target!r} in encounter {encounter!r} to annotate")
        if note.verdict is not None and target["type"] not in LABELS:
            raise NoteError(
                f"a verdict needs a target: the id of a moment or response event, not of a {target['type']}"
            )
        if note.label is not None and note.label not in LABELS[target["type"]]:  # a label comes with a verdict
            allowed = ", ".join(LABELS[target["type"]])
            raise NoteError(f"{note.label!r} is not a {target['type']} label: use one of {allowed}")
    return Note(
        id="note-" + secrets.token_hex(5),
        encounter=encounter,
        speaker=target["speaker"] if target else "unknown",
        t0=note.t0,
        t1=note.t0 if note.t1 is None else note.t1,
        author=note.author,
        text=note.text,
        label=note.label,
        target=note.target,
        verdict=note.verdict,
    )
