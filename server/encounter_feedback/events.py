"""Annotation events (schema v1, `../shared/spec/events.md`): typed records with one JSON form.

The same dicts are written to `annotations.jsonl`, stored in SQLite, streamed over the
WebSocket and exported. Times `t0`/`t1` are seconds on the encounter audio clock (0 = first
audio sample); wall-clock time appears only in `emitted_at`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Literal

SCHEMA_VERSION = 1
SPEAKERS = ("patient", "provider", "unknown")
ROLES = ("patient", "provider")
"""The two parties of an encounter: every speaker but `unknown`."""
Role = Literal["patient", "provider", "room"]
ROLE_SPEAKERS: dict[str, str] = {"patient": "patient", "provider": "provider", "room": "unknown"}
"""Roles a station can join as, and the speaker their speech is attributed to ("room": one mix)."""


@dataclass(frozen=True)
class Word:
    """One recognised word, times in seconds, `p` the model's probability."""

    w: str
    t0: float
    t1: float
    p: float

    def __post_init__(self) -> None:
        # Plain floats rounded to the millisecond, whatever numeric type the engine returned.
        for name in ("t0", "t1", "p"):
            object.__setattr__(self, name, round(float(getattr(self, name)), 3))

    def shifted(self, offset: float) -> Word:
        """The same word `offset` seconds later."""
        return Word(self.w, self.t0 + offset, self.t1 + offset, self.p)


@dataclass
class Event:
    """Fields every event carries."""

    type: ClassVar[str]
    id: str
    encounter: str
    speaker: str
    t0: float
    t1: float
    emitted_at: float = field(default_factory=time.time, kw_only=True)
    withdrawn: bool = field(default=False, kw_only=True)
    """An addition to schema v1: True withdraws the event with this id, e.g. a moment that no longer
    holds once who said what changed (pipeline/reannotate.py). In the JSON form only when True."""

    def to_dict(self) -> dict[str, Any]:
        """The event's JSON form: `type` first, times to the millisecond."""
        body = asdict(self)
        for key in ("t0", "t1"):
            body[key] = round(body[key], 3)
        if not self.withdrawn:
            del body["withdrawn"]
        return {"type": self.type, **body}


@dataclass
class Segment(Event):
    """Recognised speech of one speaker; partials (`final=False`) are replaced by the final.

    `stable` (an addition to schema v1) counts the leading words a partial shares with the
    partial before it (LocalAgreement): those rarely change, the rest are still guesses. A final
    is stable throughout. A final with no words withdraws the partials of an utterance that
    turned out to hold no speech. `revision` (also an addition) is 0 for the live final and 1
    for the second pass, which re-decodes finished utterances together with more context and
    replaces the final with the same id where its words differ. `model` (also an addition)
    names the engine and model that decoded it (`faster-whisper:tiny.en`, `faster-whisper:base`,
    `openai-whisper:tiny.en`): live, the second pass may use a larger model than the first.
    """

    type: ClassVar[str] = "segment"
    text: str
    final: bool
    words: list[dict[str, Any]]
    avg_logprob: float
    stable: int = 0
    revision: int = 0
    model: str = ""

    @classmethod
    def from_words(
        cls,
        *,
        id: str,
        encounter: str,
        speaker: str,
        words: list[Word],
        final: bool,
        avg_logprob: float,
        model: str = "",
    ) -> Segment:
        """A segment spanning `words` (times already on the encounter clock); finals fully stable."""
        return cls(
            id=id,
            encounter=encounter,
            speaker=speaker,
            t0=words[0].t0,
            t1=words[-1].t1,
            text=" ".join(w.w for w in words),
            final=final,
            words=[asdict(w) for w in words],
            avg_logprob=round(avg_logprob, 3),
            stable=len(words) if final else 0,
            model=model,
        )


@dataclass
class Status(Event):
    """Lifecycle: `started`, `track_added`, `track_ended`, `finished`, `error` (with message)."""

    type: ClassVar[str] = "status"
    state: str
    message: str = ""


@dataclass
class Moment(Event):
    """A patient turn that brings race into the encounter (taxonomy label), spanning the turn.

    `segment` is the turn's last segment (schema v1); added: `segments` (all of the turn's
    segment ids), `text` (the turn as transcribed), so a viewer can quote it, `challenge` (the
    index of the scenario's scripted challenge it was matched to, by its cue line) and
    `responsiveness` (the seed study's -3..+3 score of the provider's replies so far; None
    until the provider has answered) and `revealed` (flagged only because the provider's reply
    answered the turn as a challenge: sent when that reply ends, just before its response). The
    moment is sent again, same id, each time a reply changes its score: the latest version is
    the moment.
    """

    type: ClassVar[str] = "moment"
    label: str
    confidence: float
    segment: str
    segments: list[str] = field(default_factory=list)
    text: str = ""
    challenge: int | None = None
    responsiveness: int | None = None
    revealed: bool = False


@dataclass
class Response(Event):
    """A coded provider turn. `relation` (an addition to schema v1) says where it stands:
    `immediate`, the provider's first turn after the moment `moment` (always sent, neutral
    included); `later`, a later turn in that moment's window, sent when it earns a label;
    `standalone`, a turn with no moment before it that is itself a microaggression (`moment`
    and `latency` are None). `latency` is seconds from the moment's end to the reply's start
    (negative: the provider started before the patient finished)."""

    type: ClassVar[str] = "response"
    label: str | None
    group: str
    confidence: float
    moment: str | None
    segment: str
    latency: float | None
    segments: list[str] = field(default_factory=list)
    text: str = ""
    relation: str = "immediate"


@dataclass
class Note(Event):
    """A faculty annotation at `t0`-`t1`: free `text`, or a judgement on another event (`target`:
    its id: a moment, a response or a transcript segment) with `verdict` confirm | reject | relabel
    and, for relabel, the corrected `label`. Added to v1: `tags`, predefined words faculty pick
    beside the text (taxonomy.NOTE_TAGS)."""

    type: ClassVar[str] = "note"
    author: str
    text: str = ""
    label: str | None = None
    target: str | None = None
    verdict: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class Assessment(Event):
    """Added to v1: a faculty rating, during the debrief, of one of the scenario's learning
    objectives or checklist items (`item`: `objective-N` or `checklist-N`, counted from 1 in the
    scenario's order). `text` is the item as the scenario words it, so an export stands alone.
    Ratings (taxonomy.ASSESSMENT_RATINGS): objectives met | partly_met | not_met | not_observed,
    checklist items done | not_done. The id is `assessment-<item>`: a new rating of an item
    replaces the last one, as a revised segment replaces its final. `t0`/`t1`: the playhead when
    it was rated."""

    type: ClassVar[str] = "assessment"
    item: str
    text: str
    rating: str
    author: str


@dataclass
class Cue(Event):
    """A rapport cue (schema v1 `cue`); `speaker` is whom it describes (the interrupter, the
    responder, who ended a silence). Added to v1: `z`, `other`, `segment`, `moment`, `reason`."""

    type: ClassVar[str] = "cue"
    kind: str
    value: float | None
    """None when unavailable: `reason` says why."""
    unit: str
    baseline: float | None = None
    """The speaker's own mean in this encounter (cues on a moment's reply)."""
    z: float | None = None
    """(value - baseline) / the speaker's standard deviation across their utterances."""
    other: str | None = None
    """The other party: who was interrupted, answered, acknowledged or spoke before a silence."""
    segment: str | None = None
    """The segment the cue is about (the interrupting, answering or acknowledging utterance)."""
    moment: str | None = None
    """The moment whose reply this cue describes."""
    reason: str | None = None
    detail: dict[str, Any] | None = None
    """Kind-specific figures: a `prosody` cue (one per utterance, value = mean F0) holds the
    utterance's F0 SD and range, loudness, speech and articulation rate here."""


@dataclass
class Metrics(Event):
    """Rolling encounter figures (schema v1 `metrics`) over [t0, t1], per speaker where it applies.
    Times in seconds; None where unavailable (see `unavailable`)."""

    type: ClassVar[str] = "metrics"
    talk_time: dict[str, float]
    """Seconds of speech (pauses excluded) per speaker."""
    talk_share: dict[str, float] | None
    dominance: float | None
    """Provider talk time over patient talk time (RIAS verbal dominance)."""
    floor_changes: int | None
    response_latency: dict[str, float | None] | None
    """Median gap before a speaker took the floor (negative: terminal overlap)."""
    interruptions: dict[str, int] | None
    """Interruptions made, per speaker."""
    backchannels: dict[str, int] | None
    overlaps: dict[str, int] | None
    """Times a speaker talked over the other without getting the floor."""
    overlap_time: float | None
    """Seconds both spoke at once."""
    long_silences: int
    speech_rate: dict[str, float | None]
    """Median syllables per second over a speaker's utterances."""
    pitch: dict[str, float | None]
    """Median of a speaker's utterance F0 means, semitones re 27.5 Hz."""
    unavailable: dict[str, str] = field(default_factory=dict)


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls for cls in (Segment, Status, Moment, Response, Note, Assessment, Cue, Metrics)
}


def event_from_dict(body: dict[str, Any]) -> Event:
    """The event a JSON form (`to_dict`, as stored) stands for; keys that are not fields (`seq`, a
    correction's `corrected`) are left out."""
    cls = EVENT_TYPES[body["type"]]
    names = {f.name for f in fields(cls)}
    return cls(**{key: value for key, value in body.items() if key in names})
