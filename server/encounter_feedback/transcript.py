"""The plain-text transcript: `[mm:ss.ss - mm:ss.ss] SPEAKER: text`, flags indented under their turn.

`encounter analyze` writes it as transcript.txt; `encounter stream` and the demo print the same
lines as events arrive.
"""

from __future__ import annotations

from encounter_feedback.events import Event, Segment


def format_transcript(events: list[Event]) -> str:
    """`[mm:ss.ss - mm:ss.ss] SPEAKER: text`, one line per segment; a flagged turn is followed by
    `    >> MOMENT label (confidence)` or `    >> RESPONSE label, group (confidence, latency)`."""
    lines = []
    for event in events:
        if isinstance(event, Segment):
            lines.append(transcript_line(event.to_dict()))
        elif event.type in ("moment", "response"):
            lines.append(flag_line(event.to_dict()))
    return "".join(line + "\n" for line in lines)


def flag_line(event: dict) -> str:
    """A moment or response event (JSON form) as an indented line under its turn."""
    if event["type"] == "moment":
        return f"    >> MOMENT {event['label']} ({event['confidence']:.2f})"
    return (
        f"    >> RESPONSE {event['label'] or 'neutral'}, {event['group']} "
        f"({event['confidence']:.2f}, {event['latency']:+.1f} s after the moment)"
    )


def transcript_line(segment: dict) -> str:
    """One segment event (its JSON form) as `[mm:ss.ss - mm:ss.ss] SPEAKER: text`."""
    return f"[{_clock(segment['t0'])} - {_clock(segment['t1'])}] {segment['speaker'].upper()}: {segment['text']}"


def _clock(t: float) -> str:
    return f"{int(t // 60):02d}:{t % 60:05.2f}"
