"""Faculty notes: a request body checked into a `note` event, or a message that says what to fix.

A note is free text at a time span (a bookmark when the text is empty), optionally about one
event of the encounter (`target`). On a flag (a `moment` or `response`) it may carry a verdict:
`confirm`, `reject`, or `relabel` with the corrected taxonomy `label` (`neutral` for a response
that answered nothing: its label is null). Who said it can be corrected too: `reassign` gives a
segment the speaker in `label`, `swap_roles` (no target) swaps the encounter's two roles
(store/corrections.py applies them whenever events are read).

`NoteIn` checks everything a body can get wrong on its own (FastAPI turns its errors into a 400,
web/validation.py); `note_event` adds the checks that need the encounter's events.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from encounter_feedback.errors import UserError
from encounter_feedback.events import ROLES, Note
from encounter_feedback.taxonomy import MOMENT_LABELS, RESPONSE_LABELS
from encounter_feedback.web.models import Body

MAX_AUTHOR = 100
MAX_TEXT = 5000
MAX_ID = 100
MAX_T = 1e6
"""Seconds on the encounter clock a note may be at (11 days: no encounter is that long)."""
LABELS = {"moment": MOMENT_LABELS, "response": (*RESPONSE_LABELS, "neutral"), "segment": ROLES}
"""The event types a verdict can be about, and what each can be relabelled to (a segment: its speaker)."""
ANY_LABEL = (*LABELS["moment"], *LABELS["response"], *ROLES)
FLAGS = ("moment", "response")
VERDICT_TARGETS = {"confirm": FLAGS, "reject": FLAGS, "relabel": FLAGS, "reassign": ("segment",)}
"""What each verdict with a target can be about."""

Seconds = Annotated[float, Field(ge=0, le=MAX_T, allow_inf_nan=False)]
Label = Annotated[str, WithJsonSchema({"type": "string", "enum": list(ANY_LABEL)})]


class NoteIn(Body):
    """The request body of `POST /api/encounters/{id}/notes`. Besides what the schema says: t1 is
    not before t0; a verdict needs a target (but `swap_roles`, which takes none); `relabel` and
    `reassign`, and only they, take a label."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    author: str = Field(min_length=1, max_length=MAX_AUTHOR, description="who wrote it, e.g. the faculty member's name")
    text: str = Field("", max_length=MAX_TEXT, description="the note; empty for a bookmark")
    t0: Seconds = Field(description="seconds on the encounter clock")
    t1: Seconds | None = Field(None, description="end of the span (default t0), not before t0")
    target: str | None = Field(None, max_length=MAX_ID, description="id of the event the note is about")
    verdict: Literal["confirm", "reject", "relabel", "reassign", "swap_roles"] | None = Field(
        None,
        description="confirm, reject or relabel a flag (target: a moment or response); reassign a segment's "
        "speaker (target: a segment, label: patient or provider); swap_roles: the encounter's two roles "
        "were assigned the wrong way round (no target)",
    )
    label: Label | None = Field(None, description="the corrected taxonomy label (relabel) or speaker (reassign)")

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
        if self.verdict == "swap_roles":
            if self.target is not None or self.label is not None:
                raise ValueError("swap_roles applies to the whole encounter: no target, no label")
            return self
        if self.verdict is not None and self.target is None:
            raise ValueError("a verdict needs a target: the id of a moment or response event (a segment to reassign)")
        if (self.verdict in ("relabel", "reassign")) != (self.label is not None):
            raise ValueError(f"{self.verdict or 'relabel'} needs a label, and only relabel and reassign take one")
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
        if note.verdict is not None and target["type"] not in VERDICT_TARGETS[note.verdict]:
            wanted = " or ".join(VERDICT_TARGETS[note.verdict])
            who = "a verdict needs a target:" if note.verdict != "reassign" else "reassign needs"
            raise NoteError(f"{who} the id of a {wanted} event, not of a {target['type']}")
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
