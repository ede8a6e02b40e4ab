"""Faculty corrections of who said what: stored as notes, applied to every read, exported; the moments and
responses coded on the corrected segments follow."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from conftest import DIALOGUE
from encounter_feedback.analysis.annotator import annotate
from encounter_feedback.analysis.classifier import Classifier
from encounter_feedback.events import Cue, Moment, Response, Segment, Word
from encounter_feedback.pipeline.reannotate import follow_speakers
from encounter_feedback.research.agreement import load_codes
from encounter_feedback.research.tiers import annotation_tiers
from encounter_feedback.store.database import Store
from encounter_feedback.store.hub import Hub
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


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load()


def _flags(events: list[dict]) -> list[tuple[str, str, str, list[str]]]:
    return [(e["id"], e["speaker"], e["label"], e["segments"]) for e in events if e["type"] in ("moment", "response")]


def test_moments_responses_and_reply_cues_follow_speaker_corrections_and_survive_a_restart(tmp_path, classifier):
    store = Store(tmp_path / "data")
    enc = store.create_encounter(None, {}).id
    segments = [
        _segment(enc, f"{role}-{n}", role, text, t0)
        for (role, text), n, t0 in zip(DIALOGUE, (1, 1, 2, 2, 3), (0.0, 3.0, 6.0, 9.5, 14.0))
    ]
    flags = annotate(enc, segments, classifier)  # coded as the pipeline codes them
    [moment] = [f for f in flags if isinstance(f, Moment)]
    [response] = [f for f in flags if isinstance(f, Response)]
    reply_cue = Cue(id="cue-1", encounter=enc, speaker="provider", t0=14.0, t1=15.0, kind="pitch", value=1.0,
                    unit="st", moment=moment.id)  # fmt: skip
    store.add_events([*segments, *flags, reply_cue])
    assert _flags(store.latest_events(enc)) == [
        ("moment-1", "patient", moment.label, ["patient-2"]),
        ("response-1", "provider", response.label, ["provider-3"]),
    ]
    assert follow_speakers(store, Hub(), enc, classifier) == []  # nothing to follow

    # The roles were the wrong way round: the disclosure is now the provider's, so it is no moment,
    # nothing was answered, and the reply's cue goes with them.
    _note(store, enc, verdict="swap_roles")
    withdrawn = follow_speakers(store, Hub(), enc, classifier)
    assert sorted((e.id, e.withdrawn) for e in withdrawn) == [("cue-1", True), ("moment-1", True), ("response-1", True)]
    events = store.latest_events(enc)
    assert _flags(events) == [] and not [e for e in events if e["type"] == "cue"]
    tiers = _tier_texts(events)
    assert tiers["moments"] == tiers["responses"] == [] and "I am Black" in tiers["provider"][1]
    assert load_codes(enc, store).codes == ()

    # Swapped back, the flags come back under ids of their own, and they survive a restart (the
    # corrections and what followed them are stored events).
    _note(store, enc, verdict="swap_roles")
    follow_speakers(store, Hub(), enc, classifier)
    store.close()
    restarted = Store(tmp_path / "data")
    events = restarted.latest_events(enc)
    assert _flags(events) == [
        ("moment-patient-2", "patient", moment.label, ["patient-2"]),
        ("response-provider-3", "provider", response.label, ["provider-3"]),
    ]
    assert next(e for e in events if e["type"] == "response")["moment"] == "moment-patient-2"
    tiers = _tier_texts(events)
    assert tiers["moments"] == [moment.label] and tiers["responses"] == [response.label or "neutral"]
    labels = [moment.label] + ([response.label] if response.label else [])
    assert [c.label for c in load_codes(enc, restarted).codes] == labels
    assert follow_speakers(restarted, Hub(), enc, classifier) == []

    # One segment reassigned: the disclosure was the provider's after all.
    _note(restarted, enc, t0=9.5, target="patient-2", verdict="reassign", label="provider")
    assert {e.id for e in follow_speakers(restarted, Hub(), enc, classifier)} == {
        "moment-patient-2",
        "response-provider-3",
    }
    assert _flags(restarted.latest_events(enc)) == []
