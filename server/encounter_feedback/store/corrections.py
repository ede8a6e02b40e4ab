"""Faculty corrections of who said what, applied whenever the stored events are read.

A `note` event with verdict `reassign` gives its target segment the speaker in its `label`
(`patient` or `provider`); one with verdict `swap_roles` (no target) swaps the two roles of
every segment of the encounter, for when the room microphone's roles were assigned the wrong
way round. Corrections are events like any other, so they are stored, streamed to every
viewer, and survive a restart; since they are applied at read time, to the latest version of
each segment, they also survive a segment being re-sent (a second pass, re-estimated voices).
Swaps are applied first, then reassignments in the order they were made (the last one wins).
"""

from __future__ import annotations

from typing import Any

SPEAKER_VERDICTS = ("reassign", "swap_roles")
_SWAPPED = {"patient": "provider", "provider": "patient"}


def with_speaker_corrections(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`events` (latest versions, notes in the order they were made) with corrected segment speakers."""
    notes = [e for e in events if e["type"] == "note" and e.get("verdict") in SPEAKER_VERDICTS]
    if not notes:
        return events
    swap = sum(n["verdict"] == "swap_roles" for n in notes) % 2 == 1
    reassigned = {n["target"]: n["label"] for n in notes if n["verdict"] == "reassign"}
    out = []
    for event in events:
        if event["type"] == "segment":
            speaker = _SWAPPED.get(event["speaker"], event["speaker"]) if swap else event["speaker"]
            speaker = reassigned.get(event["id"], speaker)
            if speaker != event["speaker"]:
                event = {**event, "speaker": speaker, "corrected": True}
        out.append(event)
    return out
