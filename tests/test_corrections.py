"""Faculty corrections of who said what: stored as notes, applied to every read, exported."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from encounter_feedback.events import Moment, Segment, Word
from encounter_feedback.research.tiers import annotation_tiers
from encounter_feedback.store.database import Store
from encounter_feedback.web.notes import NoteError, NoteIn, note_event


def _segment(encounter: str, id: str, speaker: str, text: str, t0: float) -> Segment:
    words = [Word(w, t0 + 0.3 * i, t0 + 0.3 * i + 0.25, 0.9) for i, w in enumerate(text.split())]
    return Segment.from_words(id=id, encounter=encounter, speaker=speaker, words=words, final=True, avg_logprob=-0.2)


def _tier_texts(events: list[dict]) -> dict[str, list[str]]:
    return {tier.name: [i.label for i in tier.intervals] for tier in annotation_tiers(events)}


def _note(store: Store, encounter: str, **body) -> None:
    note = note_event(
        encounter, NoteIn(author="Dr. Lee", t0=body.pop("t0", 0.0), **body), store.latest_events(encounter)
    )
    store.add_events([note])


def test_a_speaker_correction_survives_a_restart_and_changes_the_exported_tiers(tmp_path):
    store = Store(tmp_path / "data")
    enc = store.create_encounter(None, {}).id
    store.add_events(
        [
            _segment(enc, "provider-1", "provider", "What brings you in today?", 1.0),
            _segment(enc, "patient-1", "patient", "My chest hurts.", 3.0),
            _segment(enc, "provider-2", "provider", "No, it started last night.", 4.5),
        ]
    )
    _note(store, enc, t0=4.5, t1=6.0, target="provider-2", verdict="reassign", label="patient")
    store.close()

    restarted = Store(tmp_path / "data")
    tiers = _tier_texts(restarted.latest_events(enc))
    assert tiers["patient"] == ["My chest hurts.", "No, it started last night."]
    assert tiers["provider"] == ["What brings you in today?"]
    assert any("reassign provider-2" in label for label in tiers["notes"])

    # The room's roles were the wrong way round: swap them; the explicit reassignment still holds.
    _note(restarted, enc, verdict="swap_roles", text="roles were swapped")
    tiers = _tier_texts(restarted.latest_events(enc))
    assert tiers["patient"] == ["What brings you in today?", "No, it started last night."]
    assert tiers["provider"] == ["My chest hurts."]
    # A segment re-sent later (a second pass, re-estimated voices) keeps its correction.
    restarted.add_events([_segment(enc, "provider-2", "provider", "No, it started last night", 4.5)])
    assert _tier_texts(restarted.latest_events(enc))["patient"][-1] == "No, it started last night"


def test_speaker_corrections_are_checked(tmp_path):
    with pytest.raises(ValidationError, match="reassign needs a label"):
        NoteIn(author="a", t0=0.0, target="patient-1", verdict="reassign")
    with pytest.raises(ValidationError, match="swap_roles applies to the whole encounter"):
        NoteIn(author="a", t0=0.0, target="patient-1", verdict="swap_roles")
    with pytest.raises(ValidationError, match="not in the taxonomy"):
        NoteIn(author="a", t0=0.0, target="patient-1", verdict="reassign", label="doctor")
    store = Store(tmp_path / "data")
    enc = store.create_encounter(None, {}).id
    moment = Moment(
        id="moment-1", encounter=enc, speaker="patient", t0=1, t1=2, label="mistrust", confidence=0.9, segment="s"
    )
    store.add_events([moment, _segment(enc, "patient-1", "patient", "I do not trust doctors.", 1.0)])
    with pytest.raises(NoteError, match="reassign needs the id of a segment event, not of a moment"):
        _note(store, enc, target="moment-1", verdict="reassign", label="provider")
    with pytest.raises(
        NoteError, match="a verdict needs a target: the id of a moment or response event, not of a segment"
    ):
        _note(store, enc, target="patient-1", verdict="relabel", label="mistrust")
