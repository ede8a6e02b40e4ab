"""A finished encounter written into a real Store as the pipeline would (no ASR), for the export
and agreement tests: participant and condition values distinctive enough to search for."""

from __future__ import annotations

from pathlib import Path

from encounter_feedback.events import Cue, Moment, Note, Response, Segment, Status
from encounter_feedback.store.database import Store

PARTICIPANT = "P-7731-ZQ"
CONDITION = "ARM-KESTREL"
DISCLOSURE = "I went to the emergency room and they sent me home, I think because I'm Black."


def segment(encounter: str, id: str, speaker: str, t0: float, t1: float, text: str, **extra) -> Segment:
    words = text.split()
    step = (t1 - t0) / len(words) if words else 0
    return Segment(
        id=id,
        encounter=encounter,
        speaker=speaker,
        t0=t0,
        t1=t1,
        text=text,
        final=True,
        words=[
            {"w": w, "t0": round(t0 + n * step, 3), "t1": round(t0 + (n + 1) * step, 3), "p": 0.9}
            for n, w in enumerate(words)
        ],
        avg_logprob=-0.2,
        **extra,
    )


def make_encounter(
    store: Store,
    tmp: Path,
    participant: str = PARTICIPANT,
    condition: str = CONDITION,
    scenario: str | None = "ed-pain-dismissed",
    cohort: str = "2026",
) -> str:
    """A finished encounter: a disclosure, a validating reply (revised by the second pass), cues, a note."""
    enc = store.create_encounter(
        scenario,
        {
            "participant": participant,
            "cohort": cohort,
            "condition": condition,
            "station": "room-3",
            "session": "s1",
            "site": "north-campus",
        },
    ).id
    store.add_events(
        [
            Status(id="status-1", encounter=enc, speaker="unknown", t0=0, t1=0, state="started"),
            segment(enc, "provider-1", "provider", 0.5, 3.2, "Hello, what brings you in today?"),
            segment(enc, "patient-1", "patient", 3.6, 6.0, "My stomach has hurt for three days."),
            segment(enc, "patient-2", "patient", 6.5, 12.0, DISCLOSURE),
            Moment(
                id="moment-1",
                encounter=enc,
                speaker="patient",
                t0=6.5,
                t1=12.0,
                label="discrimination_disclosure",
                confidence=0.91,
                segment="patient-2",
                segments=["patient-2"],
                text=DISCLOSURE,
            ),
            segment(enc, "provider-2", "provider", 12.4, 15.0, "That should never have happen."),
            Response(
                id="response-1",
                encounter=enc,
                speaker="provider",
                t0=12.4,
                t1=15.0,
                label="validation",
                group="responsive",
                confidence=0.8,
                moment="moment-1",
                segment="provider-2",
                latency=0.4,
                segments=["provider-2"],
                text="That should never have happened to you.",
            ),
            segment(enc, "provider-2", "provider", 12.4, 15.0, "That should never have happened to you.", revision=1),
            segment(enc, "patient-3", "patient", 16.0, 16.4, ""),  # a final that withdrew its partials
            Cue(id="cue-1", encounter=enc, speaker="unknown", t0=15.0, t1=18.2, kind="long_pause", value=3.2, unit="s"),
            Cue(
                id="cue-2",
                encounter=enc,
                speaker="provider",
                t0=0.0,
                t1=18.2,
                kind="talk_share",
                value=0.55,
                unit="fraction",
            ),
            Note(
                id="note-1",
                encounter=enc,
                speaker="unknown",
                t0=13.0,
                t1=13.0,
                author="Dr. Ames",
                text='Good "validation" here',
                target="response-1",
                verdict="confirm",
            ),
            Status(id="status-2", encounter=enc, speaker="unknown", t0=18.2, t1=18.2, state="finished"),
        ]
    )
    for role in ("patient", "provider"):
        store.add_track(enc, role, str(tmp / f"{participant}-{role}.wav"), None, 20.0)
    store.finish(enc)
    return enc
