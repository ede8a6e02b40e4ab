"""Transcripts as WebVTT and SRT captions: one cue per final segment, with its speaker.

WebVTT names the speaker in a voice span (`<v Patient>...`), which players show and parsers
read back; SRT has no such field, so the speaker leads the text (`Patient: ...`). Cues may
overlap when both speak at once; both formats allow it.
"""

from __future__ import annotations

from typing import Any


def webvtt(events: list[dict[str, Any]]) -> str:
    blocks = ["WEBVTT"]
    for n, segment in enumerate(_segments(events), start=1):
        text = segment["text"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        blocks.append(
            f"{n}\n{_clock(segment['t0'], '.')} --> {_clock(segment['t1'], '.')}\n"
            f"<v {segment['speaker'].capitalize()}>{text}</v>"
        )
    return "\n\n".join(blocks) + "\n"


def srt(events: list[dict[str, Any]]) -> str:
    blocks = [
        f"{n}\n{_clock(segment['t0'], ',')} --> {_clock(segment['t1'], ',')}\n"
        f"{segment['speaker'].capitalize()}: {segment['text']}"
        for n, segment in enumerate(_segments(events), start=1)
    ]
    return "\n\n".join(blocks) + "\n"


def _segments(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "segment"]


def _clock(seconds: float, separator: str) -> str:
    """hh:mm:ss.mmm (WebVTT) or hh:mm:ss,mmm (SRT)."""
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"
