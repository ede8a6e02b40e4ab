"""Annotation tiers for Praat and ELAN: one tier per speaker, then moments, responses, cues, notes.

Both tools need the intervals of a tier not to overlap. Events of one kind can (a rolling cue
over a turn, two faculty notes on one minute), so a tier's overlapping intervals go to
numbered lanes (`cues`, `cues 2`, ...) instead of being cut or dropped. Both tools also need
an interval to last: a point event (a note at one instant) gets 1 ms.

Labels are what people typed (notes) or said, so they are made safe for both formats first:
control characters other than tab and newline (which XML 1.0 forbids, so ELAN could not open the
file) and lone surrogates are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SPEAKER_TIERS = ("patient", "provider")
EVENT_TIERS = ("moments", "responses", "cues", "notes")
MIN_DURATION = 0.001
"""Seconds given to a point event, the smallest step of both formats (ELAN counts milliseconds)."""
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
"""C0 and C1 controls except tab and newline, surrogates, and the two non-characters XML forbids."""


@dataclass(frozen=True)
class Interval:
    t0: float
    t1: float
    label: str


@dataclass(frozen=True)
class Tier:
    name: str
    intervals: tuple[Interval, ...]


def annotation_tiers(events: list[dict[str, Any]]) -> list[Tier]:
    """The tiers of one encounter's (latest) events, in a fixed order so every export looks alike."""
    others = {e["speaker"] for e in events if e["type"] == "segment"} - set(SPEAKER_TIERS)
    speakers = list(SPEAKER_TIERS) + sorted(others)
    sources = [
        (speaker, [(e, e["text"]) for e in events if e["type"] == "segment" and e["speaker"] == speaker])
        for speaker in speakers
    ]
    sources += [
        ("moments", [(e, e["label"]) for e in events if e["type"] == "moment"]),
        ("responses", [(e, e["label"] or "neutral") for e in events if e["type"] == "response"]),
        ("cues", [(e, cue_label(e)) for e in events if e["type"] == "cue"]),
        ("notes", [(e, note_label(e)) for e in events if e["type"] == "note"]),
    ]
    tiers = []
    for name, labelled in sources:
        intervals = [Interval(e["t0"], max(e["t1"], e["t0"] + MIN_DURATION), safe(label)) for e, label in labelled]
        tiers += _lanes(safe(name), intervals)
    return tiers


def safe(text: str) -> str:
    """`text` without the characters neither format can carry (UNSAFE)."""
    return UNSAFE.sub("", text)


def cue_label(event: dict[str, Any]) -> str:
    """`kind value unit`, e.g. `long_pause 3.2 s`."""
    parts = (event["kind"], event.get("value"), event.get("unit"))
    return " ".join(str(part) for part in parts if part not in (None, ""))


def note_label(event: dict[str, Any]) -> str:
    """`author: text`, with the judgement on another event where the note makes one."""
    parts = [f"{event.get('author') or 'faculty'}: {event.get('text') or ''}".rstrip()]
    if event.get("target"):
        parts.append(f"{event.get('verdict') or 'on'} {event['target']}")
    if event.get("label"):
        parts.append(f"label {event['label']}")
    return "; ".join(parts)


def _lanes(name: str, intervals: list[Interval]) -> list[Tier]:
    """Each interval in the first lane where it overlaps nothing; the tier itself even when empty."""
    lanes: list[list[Interval]] = [[]]
    for interval in sorted(intervals, key=lambda i: (i.t0, i.t1)):
        lane = next((lane for lane in lanes if not lane or lane[-1].t1 <= interval.t0), None)
        if lane is None:
            lane = []
            lanes.append(lane)
        lane.append(interval)
    return [Tier(name if n == 0 else f"{name} {n + 1}", tuple(lane)) for n, lane in enumerate(lanes)]
