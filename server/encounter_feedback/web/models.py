"""The API's request and response bodies: FastAPI validates requests against them and derives the
OpenAPI spec from them. (A note's body, `NoteIn`, lives with the note rules in web/notes.py.)"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from encounter_feedback.events import Role


class Metadata(BaseModel):
    """Research metadata of an encounter; other keys are kept as given."""

    model_config = ConfigDict(extra="allow")
    participant: str | None = None
    cohort: str | None = None
    condition: str | None = None
    station: str | None = None
    session: str | None = None


class EncounterCreate(BaseModel):
    scenario: str | None = Field(None, description="id of a scenario in scenarios/")
    metadata: Metadata = Metadata()


class EncounterUpdate(BaseModel):
    """What to change: metadata keys are merged (a key set to null is removed); `scenario` replaces
    the scenario (null clears it); fields left out stay as they are."""

    scenario: str | None = Field(None, description="id of a scenario in scenarios/")
    metadata: Metadata = Metadata()


class EncounterOut(BaseModel):
    id: str
    scenario: str | None
    metadata: dict[str, Any]
    created_at: float
    finished_at: float | None
    live: bool = False
    tracks: list[dict[str, Any]] = []


class EncounterCreated(EncounterOut):
    join_token: str = Field(description="what stations send with their offers")


class Offer(BaseModel):
    sdp: str
    type: str = "offer"
    role: Role
    token: str = Field(description="the encounter's join token")


class Answer(BaseModel):
    sdp: str
    type: str


class ReplyMeasure(BaseModel):
    kind: str = Field(description="the cue kind, e.g. pitch")
    unit: str = Field(description="the unit of the cue's value and baseline, e.g. st")


class Taxonomy(BaseModel):
    """The labels events carry (taxonomy v1) and the cues measured on a reply to a moment."""

    moment_labels: list[str]
    microaggressions: list[str]
    responsive: list[str]
    response_labels: list[str] = Field(description="microaggressions, then responsive labels")
    groups: list[str] = Field(description="response groups; neutral is a reply with no response label")
    reply_measures: list[ReplyMeasure] = Field(
        description="cue kinds measured on the provider's reply to a moment, against the provider's baseline"
    )


class Problem(BaseModel):
    """Every refused request: what is wrong, in a sentence that says what to fix."""

    detail: str
