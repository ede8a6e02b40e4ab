"""The encounter's figures so far (the `metrics` event): talk time and share, dominance, floor
changes, latencies, interruptions, backchannels, overlaps, median speech rate and pitch.

A pure function of the analysed utterances and the floor's counts (analysis/floor.py). With one
mixed track (speaker `unknown`) every figure that needs to know who speaks is None, with the
reason in `unavailable`; talk time, long silences, speech rate and pitch are still measured.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from encounter_feedback.analysis.floor import MIXED, FloorCounts, Spoken, seconds_within
from encounter_feedback.analysis.prosody import Span
from encounter_feedback.events import ROLES

NEEDS_SPEAKERS = (
    "talk_share",
    "dominance",
    "floor_changes",
    "response_latency",
    "interruptions",
    "backchannels",
    "overlaps",
    "overlap_time",
)
"""The figures a mixed track cannot give."""


def figures(utterances: Sequence[Spoken], counts: FloorCounts, mixed: bool) -> dict[str, Any]:
    """The figures of these utterances (in time order) and floor counts; `mixed`: one mixed track."""
    speakers = sorted({u.speaker for u in utterances}) or list(ROLES)
    talk = {s: round(sum(b - a for u in utterances if u.speaker == s for a, b in u.spans), 3) for s in speakers}
    base = {
        "talk_time": talk,
        "long_silences": len(counts.silences),
        "speech_rate": {s: _median(u.prosody.speech_rate for u in utterances if u.speaker == s) for s in speakers},
        "pitch": {s: _median(u.prosody.acoustics.f0_mean_st for u in utterances if u.speaker == s) for s in speakers},
    }
    if mixed:
        return {**base, **dict.fromkeys(NEEDS_SPEAKERS), "unavailable": dict.fromkeys(NEEDS_SPEAKERS, MIXED)}
    total = sum(talk.get(r, 0.0) for r in ROLES)
    patient = talk.get("patient", 0.0)
    spans = {r: sorted(s for u in utterances if u.speaker == r for s in u.spans) for r in ROLES}
    unavailable = {} if patient > 0 else {"dominance": "the patient has not spoken"}
    return {
        **base,
        "talk_share": {r: round(talk.get(r, 0.0) / total, 3) for r in ROLES} if total else None,
        "dominance": round(talk.get("provider", 0.0) / patient, 3) if patient > 0 else None,
        "floor_changes": counts.floor_changes,
        "response_latency": {r: _median(counts.latencies[r]) for r in ROLES},
        "interruptions": {r: sum(1 for i in counts.interruptions if i.by == r) for r in ROLES},
        "backchannels": dict(counts.backchannels),
        "overlaps": dict(counts.overlaps),
        "overlap_time": round(_intersection(spans["patient"], spans["provider"]), 3),
        "unavailable": unavailable,
    }


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def _intersection(a: list[Span], b: list[Span]) -> float:
    """Seconds covered by both span lists."""
    merged = _union(a)
    return sum(seconds_within(merged, span) for span in _union(b))


def _union(spans: list[Span]) -> list[Span]:
    merged: list[list[float]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]
