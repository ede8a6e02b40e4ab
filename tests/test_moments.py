"""Moment and response models: the corpus, the shipped artifact, `encounter classify`, and annotation."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from encounter_feedback.analysis.annotator import annotate
from encounter_feedback.analysis.classifier import Classifier, normalize_text
from encounter_feedback.analysis.classify import ClassifyError, classify_lines
from encounter_feedback.analysis.race_reference import Reference, race_reference
from encounter_feedback.analysis.summary import summarize
from encounter_feedback.cli.main import main
from encounter_feedback.events import Segment
from encounter_feedback.scenarios import find_scenario
from encounter_feedback.taxonomy import MOMENT_LABELS, RESPONSE_LABELS
from encounter_feedback.training.corpus import CorpusError, corpus_hash, load_items, load_split
from encounter_feedback.training.train import evaluate


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load()


def test_corpus_covers_every_label_with_a_separate_test_split():
    train, test = load_split("train"), load_split("test")
    assert len(train) >= 2000 and len(test) >= 500
    for items in (train, test):
        moments = Counter(i.moment for i in items if i.speaker == "patient")
        responses = Counter(i.response for i in items if i.speaker == "provider")
        assert all(moments[label] >= 25 for label in MOMENT_LABELS) and moments[None] >= 200
        assert all(responses[label] >= 25 for label in RESPONSE_LABELS) and responses[None] >= 100
        assert all(i.provenance.startswith("original;") for i in items)
    seen = {normalize_text(i.text) for i in train}
    assert not [i.id for i in test if normalize_text(i.text) in seen], "held-out items must not repeat training items"


def test_corpus_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    good = {
        "id": "x-1",
        "speaker": "patient",
        "text": "hi",
        "context": None,
        "moment": None,
        "response": None,
        "provenance": "original; test",
    }
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "x-2", "moment": "racism"}) + "\n")
    with pytest.raises(CorpusError, match=r"bad.jsonl:2: moment 'racism'"):
        load_items([path])
    path.write_text(json.dumps({**good, "speaker": "provider", "context": ""}) + "\n")
    with pytest.raises(CorpusError, match=r"bad.jsonl:1: a provider item needs its context"):
        load_items([path])


def test_the_shipped_artifact_matches_the_corpus_and_its_recorded_metrics(classifier):
    assert classifier.info["corpus_sha256"] == corpus_hash(), "corpus changed: run `encounter train`"
    assert evaluate(classifier, load_split("test")) == classifier.info["metrics"]


def test_held_out_results_meet_the_targets(classifier):
    metrics = classifier.info["metrics"]
    assert metrics["moment_detection"]["f1"] >= 0.90
    assert metrics["response_groups"]["macro_f1"] >= 0.85


@pytest.mark.parametrize(
    "text, expected",
    [
        ("the white guy next to me got a bed right away", Reference.EXPLICIT),
        ("do you think my race has anything to do with it", Reference.EXPLICIT),
        ("ive had black stools since monday", Reference.NONE),
        ("my white blood cells were low", Reference.NONE),
        ("as doctor white said i need a new mri", Reference.NONE),
        ("the skin turned black around the wound", Reference.NONE),
        ("why would you assume i cant pay", Reference.IMPLICIT),
        ("my knee has hurt for a week", Reference.NONE),
    ],
)
def test_race_reference_tells_race_from_colour_names_and_clinical_words(text, expected):
    assert race_reference(normalize_text(text)) == expected


def test_intake_answers_and_colour_words_are_not_moments(classifier):
    turns = [
        "White.",
        "Black, yes.",
        "I've had black stools since Monday.",
        "As Dr. White said, I need a new MRI.",
        "My heart was racing all night.",
    ]
    assert [c.moment for c in classifier.code_patient_turns(turns)] == [None] * len(turns)


@pytest.mark.slow
def test_training_is_deterministic(classifier):
    from encounter_feedback.training.train import build

    rebuilt = build().classifier
    assert rebuilt.info == classifier.info
    texts = [i.text for i in load_split("test")]
    assert classifier.code_patient_turns(texts) == rebuilt.code_patient_turns(texts)


def test_context_decides_between_neutral_and_deflecting(classifier):
    question = "Okay. And do you have any allergies to medications?"
    moment = "Honestly I think they sent me home because I'm Black. They didn't even examine me."
    ordinary = "I've had a cough for about a week, mostly at night."
    assert classifier.classify("provider", question, context=ordinary).response is None
    assert classifier.classify("provider", question, context=moment).response == "deflecting"


def test_classify_reads_and_writes_jsonl_in_order(classifier):
    lines = [
        json.dumps({"speaker": "patient", "text": "the ER sent me home and i think its because im black"}),
        json.dumps({"speaker": "patient", "text": "I've had black stools since Monday."}),
        json.dumps(
            {
                "speaker": "provider",
                "text": "That should never have happened to you.",
                "context": "the ER sent me home and i think its because im black",
            }
        ),
        json.dumps({"speaker": "provider", "text": "When did the pain start?", "context": "My knee hurts."}),
    ]
    out = [json.loads(line) for line in classify_lines(classifier, lines)]
    assert [o["moment"] for o in out] == ["discrimination_disclosure", None, None, None]
    assert [o["group"] for o in out] == [None, None, "responsive", "neutral"]
    assert out[2]["response"] == "validation" and out[3]["response"] is None
    assert all(set(o) == {"moment", "response", "group", "confidence"} and 0 <= o["confidence"] <= 1 for o in out)


def test_classify_names_every_bad_line_and_outputs_nothing(classifier, tmp_path, capsys):
    lines = [
        '{"speaker": "patient", "text": "hello"}',
        "not json",
        '{"speaker": "nurse", "text": "hi"}',
        '{"speaker": "provider", "text": "ok", "extra": 1}',
    ]
    with pytest.raises(ClassifyError) as info:
        classify_lines(classifier, lines)
    message = str(info.value)
    assert "line 2: not valid JSON" in message and "line 3: speaker must be" in message
    assert "line 4: unknown field(s) extra" in message and "line 1" not in message
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines))
    assert main(["classify", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "line 2" in captured.err


def _segment(n: int, speaker: str, t0: float, t1: float, text: str) -> Segment:
    words = [{"w": w, "t0": t0, "t1": t1, "p": 0.9} for w in text.split()]
    return Segment(
        id=f"{speaker}-{n}",
        encounter="enc-t",
        speaker=speaker,
        t0=t0,
        t1=t1,
        text=text,
        final=True,
        words=words,
        avg_logprob=-0.2,
    )


def test_a_moment_spread_over_segments_is_one_turn_and_its_reply_is_coded(classifier):
    segments = [
        _segment(1, "provider", 0.5, 2.0, "What brings you in today?"),
        _segment(1, "patient", 2.6, 5.0, "I went to the emergency room two days ago."),
        _segment(2, "patient", 5.8, 9.0, "They sent me home and I think it's because I'm Black."),
        _segment(2, "provider", 7.0, 7.4, "Mm-hm."),  # a backchannel does not take the floor
        _segment(3, "provider", 9.6, 12.0, "That should never have happened to you. Can you tell me more?"),
        _segment(3, "patient", 12.5, 14.0, "The doctor barely looked at me."),
    ]
    events = [e.to_dict() for e in annotate("enc-t", segments, classifier)]
    [moment, response] = events
    assert moment["type"] == "moment" and moment["label"] == "discrimination_disclosure"
    assert moment["segments"] == ["patient-1", "patient-2"] and (moment["t0"], moment["t1"]) == (2.6, 9.0)
    assert response["moment"] == moment["id"] and response["segment"] == "provider-3"
    assert response["group"] == "responsive" and response["latency"] == pytest.approx(0.6)


def test_a_mixed_track_flags_moments_but_codes_no_reply(classifier):
    segments = [
        _segment(1, "unknown", 1.0, 4.0, "They sent me home and I think it's because I'm Black."),
        _segment(2, "unknown", 4.5, 6.0, "Okay. Any allergies?"),
    ]
    events = annotate("enc-t", segments, classifier)
    assert [e.type for e in events] == ["moment"]


def test_the_summary_reports_each_scripted_challenge(classifier):
    scenario = find_scenario("ed-pain-dismissed")
    segments = [
        _segment(
            1,
            "patient",
            1.0,
            6.0,
            "I went to the ER two days ago but they sent me home, "
            "honestly I think they didn't take me seriously because I'm black",
        ),
        _segment(1, "provider", 6.8, 9.0, "Okay. When did the pain start?"),
    ]
    events = [e.to_dict() for e in annotate("enc-t", segments, classifier)]
    summary = summarize(events, scenario)
    [challenge] = summary["challenges"]
    assert challenge["detected"] and challenge["label"] == "discrimination_disclosure" and challenge["t0"] == 1.0
    assert challenge["response"] == "deflecting" and challenge["group"] == "microaggression"
    assert summary["unscripted_moments"] == [] and summary["responses"]["microaggression"] == 1
    assert not summarize([], scenario)["challenges"][0]["detected"]
