"""The API's request and response bodies: FastAPI validates requests against them and derives the
OpenAPI spec from them. (A note's body, `NoteIn`, lives with the note rules in web/notes.py.)

Every request body is bounded: strings have a maximum length, numbers a range, objects a number
of keys and a depth (`Body`), and text must be proper Unicode: a lone surrogate (`"\\ud800"`)
parses as JSON but cannot be written back as UTF-8, so one stored would break every listing.
The spec says all of this, so a client (or a fuzzer) knows what is accepted before sending it.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema, model_validator

from encounter_feedback.events import Role
from encounter_feedback.scenarios import load_library

MAX_VALUE = 200
"""Characters of a metadata value or a filter."""
MAX_KEYS = 32
"""Keys of the metadata object."""
MAX_KEY = 64
MAX_DEPTH = 6
"""Nesting of a request body's objects and lists (the deepest the API takes is 3)."""
MAX_SDP = 20_000
"""Characters of an SDP offer: a browser's is 2-6 thousand, even with many candidates."""
MAX_SECRET = 200
MAX_SEQ = 2**63 - 1
"""Event sequence numbers are SQLite integers."""
MAX_INT = 2**53
"""Integers in metadata stay exact in JavaScript (the dashboard) and in SQLite's JSON."""
SCENARIO_IDS = tuple(scenario.id for scenario in load_library())


def text_problem(value: Any, depth: int = 0, where: str = "") -> str | None:
    """What is wrong with a parsed JSON body, if anything: a lone surrogate, or nesting too deep."""
    if depth > MAX_DEPTH:
        return f"the body is nested deeper than {MAX_DEPTH} levels{' at ' + where if where else ''}"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{where or 'the body'} is not valid Unicode text (a lone surrogate): send UTF-8 text"
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        shown = (
            key.encode("utf-8", "backslashreplace").decode() if isinstance(key, str) else key
        )  # a key may be the culprit
        here = f"{where}.{shown}".lstrip(".") if isinstance(key, str) else f"{where}[{key}]"
        problem = text_problem(key, depth + 1, here) if isinstance(key, str) else None
        problem = problem or text_problem(item, depth + 1, here)
        if problem:
            return problem
    return None


class Body(BaseModel):
    """A request body: proper Unicode and at most MAX_DEPTH deep, checked before its fields; a field
    the spec does not name is refused (a typo would otherwise be dropped without a word)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _proper(cls, data: Any) -> Any:
        problem = text_problem(data)
        if problem:
            raise ValueError(problem)
        return data


def _metadata_value(value: Any) -> Any:
    ok = (
        value is None
        or isinstance(value, bool)
        or (isinstance(value, str) and len(value) <= MAX_VALUE)
        or (isinstance(value, int) and abs(value) <= MAX_INT)
        or (isinstance(value, float) and math.isfinite(value))
    )
    if not ok:
        raise ValueError(f"a metadata value is text of at most {MAX_VALUE} characters, a number, true, false or null")
    return value


MetadataValue = Annotated[
    Any,
    PlainValidator(_metadata_value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": MAX_VALUE},
                {"type": "integer", "minimum": -MAX_INT, "maximum": MAX_INT},
                {"type": "number"},
                {"type": "boolean"},
                {"type": "null"},
            ]
        }
    ),
]
Value = Annotated[str | None, Field(max_length=MAX_VALUE)]
ScenarioId = Annotated[
    str | None,
    Field(description="id of a scenario in scenarios/"),
    WithJsonSchema({"anyOf": [{"type": "string", "enum": list(SCENARIO_IDS)}, {"type": "null"}]}),
]


class Metadata(Body):
    """Research metadata of an encounter; other keys (up to 32 in all) are kept as given."""

    model_config = ConfigDict(
        extra="allow",  # coordinators add their own keys
        json_schema_extra={"maxProperties": MAX_KEYS, "propertyNames": {"maxLength": MAX_KEY}},
    )
    __pydantic_extra__: dict[str, MetadataValue] = Field(init=False)
    participant: Value = None
    cohort: Value = None
    condition: Value = None
    station: Value = None
    session: Value = None

    @model_validator(mode="after")
    def _bounded(self) -> Metadata:
        keys = self.model_fields_set
        if len(keys) > MAX_KEYS:
            raise ValueError(f"metadata has more than {MAX_KEYS} keys")
        long = next((key for key in keys if len(key) > MAX_KEY), None)
        if long is not None:
            raise ValueError(f"metadata key {long[:20]!r}... is longer than {MAX_KEY} characters")
        return self


class EncounterCreate(Body):
    scenario: ScenarioId = None
    metadata: Metadata = Metadata()


class EncounterUpdate(Body):
    """What to change: metadata keys are merged (a key set to null is removed); `scenario` replaces
    the scenario (null clears it); fields left out stay as they are."""

    scenario: ScenarioId = None
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
    join_token: str | None = Field(
        description="what stations send with their offers; null for a caller who may not run encounters"
    )


class Offer(Body):
    sdp: str = Field(max_length=MAX_SDP)
    type: Literal["offer"] = "offer"
    role: Role
    token: str = Field(max_length=MAX_SECRET, description="the encounter's join token")


class Answer(BaseModel):
    sdp: str
    type: str


class StationState(BaseModel):
    """What a station may know with its join token: is the encounter on, and has audio arrived."""

    encounter: str
    live: bool = Field(description="a station's audio has started the encounter clock")


class PasswordLogin(Body):
    """A person's name and password."""

    name: str = Field(max_length=64)
    password: str = Field(max_length=MAX_SECRET)


class KeyLogin(Body):
    """The server key, typed in (an admin session)."""

    key: str = Field(max_length=MAX_SECRET)


class Me(BaseModel):
    name: str
    role: str
    permissions: list[str]


class TokenCreate(Body):
    label: str = Field("", max_length=MAX_VALUE, description="what the token is for, e.g. 'nightly export'")


class TokenOut(BaseModel):
    id: str
    label: str
    created_at: float


class TokenCreated(TokenOut):
    token: str = Field(description="the token itself: shown only now; send it as 'Authorization: Bearer TOKEN'")


class Access(BaseModel):
    """One access log entry."""

    id: int
    at: float
    who: str
    action: str
    encounter: str | None
    detail: str


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


PROBLEMS = {
    400: "invalid: a body, query or path parameter the spec does not allow; the detail names it",
    401: "not logged in: no credentials, or the session has ended",
    403: "not allowed: wrong credentials, or the caller's role may not do this",
    404: "unknown encounter (or nothing to export)",
    409: "the encounter's state does not allow it (finished, or finishing)",
    413: "the body is larger than this route takes",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the refusals a route can give (each is a Problem)."""
    return {code: {"model": Problem, "description": PROBLEMS[code]} for code in codes}
