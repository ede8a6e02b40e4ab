"""The transcript: flags quoted as it now reads, and its plain-text form.

A flag (`moment`, `response`) quotes its turn as transcribed when it was coded; a second-pass
revision can change those words and their times later. `requote` gives every view one truth:
each flag's text and times from the latest version of its segments, and a response's latency
(`reply_latency`, the one latency figure) from those times.

The plain-text form, `[mm:ss.ss - mm:ss.ss] SPEAKER: text` with flags indented under their turn:
`encounter analyze` writes it as transcript.txt; `encounter stream` and the demo print the same
lines as events arrive.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from encounter_feedback.events import Event, Segment

FLAGS = ("moment", "response")


def reply_latency(moment_end: float, reply_start: float) -> float:
    """The response latency: seconds from the end of the patient's turn to the start of the
    provider's reply (negative: the provider started before the patient finished). The annotator
    codes it with this; the dashboard (client/js/model.js `latency`) computes it the same way."""
    return round(reply_start - moment_end, 3)


def requote(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """`events` (the latest version of each, see store.database.latest) with every flag's `text`,
    `t0` and `t1` taken from the segments it covers, and each response's `latency` recomputed."""
    events = list(events)
    segments = {e["id"]: e for e in events if e["type"] == "segment"}
    out = [_quoted(e, segments) if e["type"] in FLAGS else e for e in events]
    moments = {e["id"]: e for e in out if e["type"] == "moment"}
    return [
        {**e, "latency": reply_latency(moments[e["moment"]]["t1"], e["t0"])}
        if e["type"] == "response" and e.get("moment") in moments
        else e
        for e in out
    ]


def _quoted(flag: dict[str, Any], segments: dict[str, dict[str, Any]]) -> dict[str, Any]:
    said = sorted(
        (segments[i] for i in flag.get("segments") or [flag.get("segment")] if i in segments), key=lambda s: s["t0"]
    )
    if not said:  # its segments were withdrawn (no speech): keep the flag as coded
        return flag
    return {
        **flag,
        "text": " ".join(s["text"] for s in said),
        "t0": min(s["t0"] for s in said),
        "t1": max(s["t1"] for s in said),
    }


def format_transcript(events: list[Event]) -> str:
    """`[mm:ss.ss - mm:ss.ss] SPEAKER: text`, one line per segment; a flagged turn is followed by
    `    >> MOMENT label (confidence)` or `    >> RESPONSE label, group (confidence, latency)`."""
    lines = []
    for event in events:
        if isinstance(event, Segment):
            lines.append(transcript_line(event.to_dict()))
        elif event.type in ("moment", "response"):
            lines.append(flag_line(event.to_dict()) or "")
    return "".join(line + "\n" for line in lines)


def flag_line(event: dict, again: bool = False) -> str | None:
    """A moment or response event (JSON form) as an indented line under its turn. `again`: the
    flag was printed before, so only what changed is said (a moment's responsiveness score once
    its replies are in; a withdrawal), or nothing."""
    kind, label = event["type"], event["label"] or "neutral"
    if event.get("withdrawn"):
        return f"    >> WITHDRAWN {kind.upper()} {label} (no longer holds after a change of speaker)"
    if again:
        score = event.get("responsiveness")
        return None if kind != "moment" or score is None else f"    >> SCORE {score:+d} for the {label} moment"
    if kind == "moment":
        return f"    >> MOMENT {label} ({event['confidence']:.2f})"
    if event["latency"] is None:
        timing = "no moment before it"
    else:
        timing = f"{event['latency']:+.1f} s after the moment" + (
            ", a later reply" if event.get("relation") == "later" else ""
        )
    return f"    >> RESPONSE {label}, {event['group']} ({event['confidence']:.2f}, {timing})"


def transcript_line(segment: dict) -> str:
    """One segment event (its JSON form) as `[mm:ss.ss - mm:ss.ss] SPEAKER: text`."""
    return f"[{_clock(segment['t0'])} - {_clock(segment['t1'])}] {segment['speaker'].upper()}: {segment['text']}"


def _clock(t: float) -> str:
    return f"{int(t // 60):02d}:{t % 60:05.2f}"
