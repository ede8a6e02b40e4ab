"""Moment and response models: the corpus, the shipped artifact, `encounter classify`, annotation,
case-aware moments, provider turns screened, and the responsiveness scale."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

import pytest

from encounter_feedback.analysis.annotator import annotate
from encounter_feedback.analysis.classifier import (
    GENERAL,
    RESPONSE_CLASSES,
    CaseContext,
    Classifier,
    Coding,
    case_context_of,
    first_reply_by_rule,
    normalize_text,
    sentences_of,
)
from encounter_feedback.analysis.classify import ClassifyError, classify_lines
from encounter_feedback.analysis.condemned_clinician import CONFIDENCE as CONDEMNED_CONFIDENCE
from encounter_feedback.analysis.condemned_clinician import condemns_clinician
from encounter_feedback.analysis.implicit_challenges import IMPLICIT_CHALLENGES
from encounter_feedback.analysis.interjections import DISMAY_CONFIDENCE, is_dismay
from encounter_feedback.analysis.named_feelings import CONFIDENCE as NAMED_FEELING_CONFIDENCE
from encounter_feedback.analysis.named_feelings import names_feeling_empathically
from encounter_feedback.analysis.race_reference import Reference, names_another_ground, race_reference
from encounter_feedback.analysis.responsiveness import responsiveness
from encounter_feedback.analysis.summary import summarize
from encounter_feedback.cli.main import main
from encounter_feedback.events import Segment
from encounter_feedback.scenarios import find_scenario, load_library
from encounter_feedback.taxonomy import MOMENT_LABELS, RESPONSE_LABELS
from encounter_feedback.training.corpus import CorpusError, corpus_hash, load_items, load_split
from encounter_feedback.training.evaluate import evaluate
from encounter_feedback.training.examples import from_reply_contexts

RACE_THEMED = CaseContext("race_themed")


# -- the corpus ------------------------------------------------------------------------------


def test_corpus_covers_every_label_with_separate_dev_and_test_splits():
    train, dev, test = load_split("train"), load_split("dev"), load_split("test")
    assert len(train) >= 10000 and len(dev) >= 1000 and len(test) >= 700
    for items in (train, dev, test):
        moments = Counter(i.moment for i in items if i.speaker == "patient")
        responses = Counter(i.response for i in items if i.speaker == "provider")
        assert all(moments[label] >= 25 for label in MOMENT_LABELS) and moments[None] >= 200
        assert all(responses[label] >= 25 for label in RESPONSE_LABELS) and responses[None] >= 100
        assert all(i.provenance.startswith("original;") for i in items)
        assert {i.case for i in items} <= {None, "general", "race_themed"}
        assert any(i.case == "race_themed" and i.moment for i in items), "implicit challenges, labelled case-aware"
        assert any(i.category == "standalone" and i.response for i in items), "provider microaggressions of their own"
    seen = {normalize_text(i.text) for i in train + dev}
    assert not [i.id for i in test if normalize_text(i.text) in seen], "held-out items must not repeat other items"
    learned = {normalize_text(e.first) for e in from_reply_contexts(train)}  # the moment encoder learns these too
    assert not [i.id for i in dev + test if i.speaker == "patient" and normalize_text(i.text) in learned]


def test_a_race_themed_item_is_no_moment_in_a_general_case_and_a_general_one_says_nothing_there():
    [implicit] = [i for i in load_split("train") if i.id == "prt-0001"]
    assert implicit.case == "race_themed" and implicit.moment_in("race_themed") == (True, "provider_bias_challenge")
    assert implicit.moment_in("general") == (True, None)
    dismissal = next(i for i in load_split("train") if i.case == "general")
    assert dismissal.moment_in("race_themed") == (False, None)


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
    path.write_text(json.dumps({**good, "case": "antiracist"}) + "\n")
    with pytest.raises(CorpusError, match=r"bad.jsonl:1: case must be one of general, race_themed"):
        load_items([path])


# -- the shipped artifact ----------------------------------------------------------------------


def test_the_shipped_artifact_matches_the_corpus_and_its_recorded_held_out_figures(classifier):
    assert classifier.info["corpus_sha256"] == corpus_hash(), "corpus changed: run `encounter train`"
    recorded = classifier.info["assessment"]["sets"]["test"]
    measured = evaluate(classifier, load_split("test"))
    for case, figures in recorded["moments"].items():
        assert measured["moments"][case]["detection"]["f1"] == pytest.approx(figures["detection"]["f1"], abs=0.01)
    assert measured["response_groups"]["macro_f1"] == pytest.approx(recorded["response_groups"]["macro_f1"], abs=0.01)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("the white guy next to me got a bed right away", Reference.EXPLICIT),
        ("do you think my race has anything to do with it", Reference.EXPLICIT),
        ("ive had black stools since monday", Reference.NONE),
        ("are your stools dark or tarry or black", Reference.NONE),
        ("my white blood cells were low", Reference.NONE),
        ("as doctor white said i need a new mri", Reference.NONE),
        ("the skin turned black around the wound", Reference.NONE),
        ("why would you assume i cant pay", Reference.IMPLICIT),
        ("i was discriminated against because im a woman", Reference.IMPLICIT),
        ("my knee has hurt for a week", Reference.NONE),
        ("the new cancer center went up in the white part of town", Reference.EXPLICIT),
        ("in the army the medic called me pocahontas", Reference.EXPLICIT),
    ],
)
def test_race_reference_tells_race_from_colour_names_and_clinical_words(text, expected):
    assert race_reference(normalize_text(text)) == expected


@pytest.mark.parametrize(
    "text, another_ground",
    [
        ("I was discriminated against because I'm a woman.", True),
        ("People like me, in a wheelchair, get talked over.", True),
        ("They said I was too old for the surgery.", True),
        ("As a Black woman, nobody believes my pain.", False),  # a racial group named: race, too
        ("They asked if I was legal because of my last name. I'm a veteran.", False),  # a race-coded cue
        ("My aunt came out of a simple surgery unable to have kids.", False),  # "came out" of surgery
        ("People like me get brushed off.", False),  # no other ground: race, in these encounters
        ("They said it was just hormones, every time.", True),  # a ground implied by its usual words
        ("Since I came out, my doctor asks about my sexual history at every visit.", True),
        ("Everything is 'just your age' once you're over seventy.", True),
        ("They treat you like dirt when you're on state insurance.", True),
        ("The nurse said our women are strong and skipped my pain pump.", False),  # "our women": a group
        ("Why would you assume I can't pay for the scan?", False),  # a stereotype reaction, not a ground
        ("The surgeon talked to my husband the whole time, like I wasn't there.", True),
        ("Ever since my psych hold, nobody believes my pain is real.", True),
        ("They laughed at my accent. I grew up on a farm, not under a rock.", True),  # an accent of place
        ("I'm in recovery, and they still wrote drug seeking in my chart.", True),  # "drug seeking" of a history
        ("Since I transitioned, every doctor wants to talk about that and not my asthma.", True),
        ("After I told them my boyfriend would pick me up, the tech stopped making eye contact.", True),
        ("When I said my husband is Black, the nurse's whole face changed.", False),  # a racial group named
        ("They asked if I was on disability. I run a business.", False),  # a benefits stereotype, not a ground
        ("They heard my accent and talked louder and slower, like I'm deaf.", False),  # "like I'm deaf": a simile
        ("They asked if I was on Medicaid before they asked my name.", False),  # Medicaid assumed, not named
    ],
)
def test_an_account_naming_another_ground_of_unfairness_is_no_moment_in_any_case(classifier, text, another_ground):
    assert names_another_ground(normalize_text(text)) is another_ground
    if another_ground:
        for case in (GENERAL, RACE_THEMED):
            assert classifier.code_patient_turns([text], case)[0].moment is None


@pytest.mark.parametrize("case", [GENERAL, RACE_THEMED])
def test_intake_answers_and_colour_words_are_not_moments(classifier, case):
    turns = [
        "White.",
        "Black, yes.",
        "I've had black stools since Monday.",
        "Are your stools dark or tarry or black?",
        "As Dr. White said, I need a new MRI.",
        "My heart was racing all night.",
    ]
    assert [c.moment for c in classifier.code_patient_turns(turns, case)] == [None] * len(turns)


@pytest.mark.parametrize("case", [GENERAL, RACE_THEMED])
def test_an_account_of_sexism_or_homophobia_is_not_a_racially_charged_moment(classifier, case):
    accounts = [
        "I was discriminated against at work because I'm a woman. They promoted the guy I trained.",
        "The doctor said my chest pain was just stress, because women get anxious. It was my heart.",
        "When I said my partner's name was Mike, the nurse got cold and stopped talking to me.",
    ]
    assert [c.moment for c in classifier.code_patient_turns(accounts, case)] == [None] * len(accounts)


def test_a_turn_is_split_into_sentences_only_where_it_says_several():
    assert sentences_of("I waited six hours. Nobody came. They acted like I was making it up!") == [
        "I waited six hours.",
        "They acted like I was making it up!",
    ]  # "Nobody came." is under `MIN_WORDS`
    assert sentences_of("Nobody ever believes me when I tell them how bad it is.") == []
    assert sentences_of("nobody believes me i told them twice and they just left") == []  # no punctuation


def test_a_story_that_says_an_implicit_challenge_in_one_sentence_is_a_moment_in_a_race_themed_case(classifier):
    # the rash comes first and dilutes the whole turn's embedding; the second sentence says a line
    story = (
        "I've been back here three times for this rash. "
        + "Nobody ever believes me when I tell them how bad the itching is."
    )
    ordinary = "My knee has been swelling for weeks. It hurts most on the stairs in the morning."
    needed = classifier.settings.thresholds["challenge"]
    whole = classifier.sentences.similarity([story], IMPLICIT_CHALLENGES).max()
    said = classifier.sentences.said([story, ordinary], IMPLICIT_CHALLENGES)
    assert whole < needed <= said[0] and said[1] < needed
    codes = classifier.code_patient_turns([story, ordinary], RACE_THEMED)
    assert [(c.moment is not None, c.implicit_line) for c in codes] == [(True, True), (False, False)]
    assert classifier.code_patient_turns([story])[0].moment is None  # no race word: no moment in a general case


def test_an_implicit_challenge_is_a_moment_only_in_a_race_themed_case(classifier):
    challenge = "Will you actually hear me out, or brush me off like the one before you did?"
    assert classifier.classify("patient", challenge).moment is None
    assert classifier.classify("patient", challenge, case_context=RACE_THEMED).moment == "provider_bias_challenge"


def test_a_faint_dismissal_story_is_a_moment_when_it_says_an_implicit_challenge_line(classifier):
    # a story the race-themed head is unsure of (P(moment) under its threshold), close to one of
    # the implicit challenges every race-themed case has: taken only in such a case; an ordinary
    # turn on the same topic (pain relief) is one the head is sure of, and stays. (Not every one:
    # "The other doctor sent me home with antibiotics." is flagged, models/README.md, Limitations.
    # The head learns such stories from the replies' contexts, so each build flags more of them
    # itself: "out the door in five minutes, like I was wasting their time" no longer needs a line.)
    stories = ["I told them three times my chest hurt and they acted like I was exaggerating."]
    ordinary = ["They gave me some ibuprofen and it helped a little."]
    p_moment = 1.0 - classifier.moment_probabilities(stories, "race_themed")[:, 0]
    assert all(p_moment < classifier.settings.thresholds["race_themed"])
    codes = classifier.code_patient_turns(stories + ordinary, RACE_THEMED)
    assert [(c.moment is not None, c.implicit_line) for c in codes] == [(True, True), (False, False)]
    assert [c.moment for c in classifier.code_patient_turns(stories)] == [None]
    line = json.dumps({"speaker": "patient", "text": stories[0], "case": "race_themed"})
    [out] = [json.loads(o) for o in classify_lines(classifier, [line])]
    assert out["implicit_challenge"] is True and out["confidence"] == classifier.settings.challenge_confidence


def test_minimal_pairs_come_out_opposite(classifier):
    patient = [
        "They sent me home without a scan, and I think it's because I'm Black.",
        "They sent me home without a scan, and I think it's because I'm a woman.",
    ]
    assert [c.moment is not None for c in classifier.code_patient_turns(patient)] == [True, False]
    disclosure = (
        "The nurse called security on me when I asked about my pain meds. I'm the only Black patient on the floor."
    )
    pairs = [
        ("What happened after that?", "What did you say to set her off?"),
        ("So you feel it was because of your race.", "Are you sure it was because of your race?"),
        ("Wow, that's wrong.", "Wow, I'm sure she had her reasons."),
        ("That nurse was out of line.", "That nurse was just doing her job."),
    ]
    for responsive, microaggressive in pairs:
        codes = classifier.code_replies([responsive, microaggressive], [disclosure, disclosure])
        assert [c.group for c in codes] == ["responsive", "microaggression"], (responsive, microaggressive)


@pytest.mark.parametrize(
    ("text", "dismay"),
    [
        ("Yikes.", True),
        ("Oof.", True),
        ("Oh no no no!", True),
        ("Ugh. Jeez…", True),
        ("Oh my God.", True),
        ("No.", False),
        ("Really?", False),
        ("Seriously?", False),
        ("Okay.", False),
        ("Oh.", False),
        ("Wow, five kids!", False),
        ("Oh no, any allergies?", False),
        ("", False),
    ],
)
def test_an_interjection_of_dismay_is_told_from_doubt_receipt_and_longer_turns(text, dismay):
    assert is_dismay(normalize_text(text)) is dismay


def test_a_bare_interjection_of_dismay_answering_a_challenge_is_validation(classifier):
    """The encoder read "Oof." after a disclosure as `minimizing` (0.91) and "Yikes." as neutral:
    no corpus reply is a bare interjection. As the first reply to a challenge it is validation;
    after ordinary talk it is nothing to code, and after a situational challenge the encoder decides."""
    disclosure = "My last doctor said I was fat, Black, and lazy."
    replies = ["Yikes.", "Oof.", "Oh no.", "Really?"]
    codes = classifier.code_replies(replies, [disclosure] * len(replies))
    assert [c.response for c in codes[:3]] == ["validation"] * 3
    assert codes[0].confidence == pytest.approx(DISMAY_CONFIDENCE)
    assert codes[3].group == "microaggression"  # doubt, not dismay
    ordinary = classifier.code_provider_turns(["Yikes."], ["I've had a cough for about a week."])
    assert ordinary[0].response is None
    [situational] = classifier.code_replies(["Wow."], [disclosure], challenged=False)
    [read] = classifier.response_probabilities(["Wow."], [disclosure], after_moment=False)
    assert situational.confidence == pytest.approx(read.max())


@pytest.mark.parametrize(
    ("text", "empathic"),
    [
        ("That sounds like it left you furious. Did I get that right?", True),
        ("Honestly, I'd be humiliated too.", True),
        ("Are you feeling more hurt or more angry about it right now?", True),
        ("You sound worn down by all of this. Is that fair to say?", True),
        ("No wonder you're scared.", True),
        ("I can tell you're angry, but let's keep this calm.", False),  # a contrast, and calm
        ("You seem really upset. Let's take a breath.", False),  # no check, and the reaction as the problem
        ("It makes sense you're frustrated. Stress like that raises your blood pressure.", False),
        ("You seem angry.", False),  # named, neither checked nor legitimized
        ("Is that right?", False),  # no feeling
        ("", False),
    ],
)
def test_a_feeling_named_and_checked_is_told_from_one_turned_against_the_patient(text, empathic):
    assert names_feeling_empathically(normalize_text(text)) is empathic


def test_a_feeling_named_and_checked_in_a_first_reply_is_empathy(classifier):
    """The encoder reads these first replies as `pathologizing` (its pathologizing examples name a
    feeling too); the rule makes them `empathy`. A feeling turned against the patient stays
    pathologizing."""
    disclosure = (
        "The nurse kept asking if I was sure I wasn't just here for pain pills, and I'm the one with the broken wrist."
    )
    named = [
        "That sounds like it left you furious. Did I get that right?",
        "You sound worn down by all of this. Is that fair to say?",
    ]
    turned = ["I can tell you're angry, but let's keep this calm.", "You seem really upset. Let's take a breath."]
    read = classifier.response_probabilities(named, [disclosure] * 2)
    assert [RESPONSE_CLASSES[int(p.argmax())] for p in read] == ["pathologizing"] * 2  # what the rule is for
    codes = classifier.code_replies(named + turned, [disclosure] * 4)
    assert [c.response for c in codes] == ["empathy", "empathy", "pathologizing", "pathologizing"]
    assert codes[0].confidence == pytest.approx(NAMED_FEELING_CONFIDENCE)


@pytest.mark.parametrize(
    ("text", "condemns"),
    [
        ("Honestly, that doctor was a jerk.", True),
        ("He was totally out of line.", True),
        ("That doctor was rude, I'm sorry.", True),
        ("Some nurses are just plain ignorant.", True),
        ("Some doctors are just busy, you know.", False),  # an excuse, not a condemnation
        ("Not all doctors are jerks, though.", False),  # the profession defended
        ("Some doctors are rude, but most of us really care.", False),
        ("He was probably just rude because he was tired.", False),
        ("Was he rude to you?", False),  # a question, no verdict
        ("", False),
    ],
)
def test_a_clinician_condemned_is_told_from_one_excused(text, condemns):
    assert condemns_clinician(normalize_text(text)) is condemns


def test_the_other_clinician_condemned_in_a_first_reply_is_validation(classifier):
    """Kanter et al.'s coders score condemning the doctor the patient told about as validation;
    the encoder reads the "some doctors are just X" frame as an excuse. An excuse in that frame
    stays one."""
    disclosure = "The ER doctor told me I was just being dramatic and sent me home. My appendix burst the next day."
    replies = ["Honestly, some ER docs are just jerks.", "Some doctors are just busy, you know."]
    [read, _] = classifier.response_probabilities(replies, [disclosure] * 2)
    assert RESPONSE_CLASSES[int(read.argmax())] in ("minimizing", "defensive")  # what the rule is for
    codes = classifier.code_replies(replies, [disclosure] * 2)
    assert [c.response for c in codes] == ["validation", "minimizing"]
    assert codes[0].confidence == pytest.approx(CONDEMNED_CONFIDENCE)


def test_first_reply_rules_change_only_the_codes_they_are_for():
    minimizing = Coding(None, "minimizing", "microaggression", 0.8)
    pathologizing = Coding(None, "pathologizing", "microaggression", 0.8)
    named = "I'd be furious too. Is that close to what you felt?"
    assert first_reply_by_rule(named, minimizing) == minimizing
    assert first_reply_by_rule(named, pathologizing).response == "empathy"
    assert first_reply_by_rule("Let's calm down.", pathologizing) == pathologizing
    assert first_reply_by_rule("Yikes.", minimizing).response == "validation"
    condemned = "That nurse was way out of line."
    assert first_reply_by_rule(condemned, minimizing).response == "validation"
    assert first_reply_by_rule(condemned, pathologizing) == pathologizing


def test_context_decides_between_neutral_and_deflecting(classifier):
    question = "Okay. And do you have any allergies to medications?"
    moment = "Honestly I think they sent me home because I'm Black. They didn't even examine me."
    ordinary = "I've had a cough for about a week, mostly at night."
    assert classifier.classify("provider", question, context=ordinary).response is None
    assert classifier.classify("provider", question, context=moment).response == "deflecting"


def test_typographic_punctuation_is_read_as_typed(classifier):
    """Text pasted from a document writes apostrophes and ellipses typographically; speech
    recognition and the corpus do not. Both must be read alike."""
    typed = ("I don't think she'd have said that to a white patient...", "You're right, that wasn't okay.")
    pasted = tuple(t.replace("'", "\u2019").replace("...", "\u2026") for t in typed)
    assert normalize_text(pasted[0]) == normalize_text(typed[0])
    assert normalize_text(typed[0]) == "i dont think shed have said that to a white patient"

    def logits(patient: str, reply: str) -> list[float]:
        model = classifier.model
        return [*model.patient_logits([patient])["race_themed"][0], *model.reply_logits([patient], [reply])[0]]

    assert logits(*pasted) == pytest.approx(logits(*typed), abs=1e-5)


def test_a_clear_scripted_disclosure_gets_a_confident_code(classifier):
    cue = find_scenario("ed-pain-dismissed").challenges[0].cue
    code = classifier.classify("patient", cue)
    assert code.moment == "discrimination_disclosure" and code.confidence >= 0.8


# -- encounter classify --------------------------------------------------------------------------


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
    assert all(set(o) >= {"moment", "response", "group", "confidence"} and 0 <= o["confidence"] <= 1 for o in out)
    assert [o.get("relation") for o in out] == [None, None, "immediate", "standalone"]


def test_classify_echoes_each_lines_id(classifier):
    """A researcher's annotated set joins back on its ids: echoed first, strings and integers as given."""
    lines = [
        json.dumps({"id": "kanter-07", "speaker": "patient", "text": "they ignored me because im black"}),
        json.dumps({"speaker": "patient", "text": "My knee hurts."}),
        json.dumps({"id": 42, "speaker": "provider", "text": "When did it start?", "context": "My knee hurts."}),
    ]
    out = [json.loads(line) for line in classify_lines(classifier, lines)]
    assert [o.get("id") for o in out] == ["kanter-07", None, 42]
    assert list(out[0])[0] == "id" and out[0]["moment"] == "discrimination_disclosure"
    assert "id" not in out[1] and out[2]["relation"] == "standalone"


@pytest.mark.parametrize(
    "lines, expected",
    [
        ([json.dumps({"speaker": "patient", "text": "My knee hurts when I climb stairs."})], [(None, None)]),
        ([json.dumps({"speaker": "provider", "text": "Does it swell?"})], [(None, "neutral")]),
        ([], []),
        (["", "   ", "\t"], []),
        (
            ["", json.dumps({"speaker": "provider", "text": "When did it start?", "context": ""}), ""],
            [(None, "neutral")],
        ),
    ],
    ids=["patient-only", "provider-only", "empty", "blank", "blank-around-one"],
)
def test_classify_answers_every_well_formed_input(classifier, lines, expected):
    out = [json.loads(line) for line in classify_lines(classifier, lines)]
    assert [(o["moment"], o["group"]) for o in out] == expected


def test_classify_cli_answers_patient_only_and_empty_input(tmp_path, capsys):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"speaker": "patient", "text": "I have had a sore throat for two days."}) + "\n")
    assert main(["classify", str(path)]) == 0
    assert [json.loads(line)["moment"] for line in capsys.readouterr().out.splitlines()] == [None]
    path.write_text("")
    assert main(["classify", str(path)]) == 0
    assert capsys.readouterr().out == ""


def test_classify_cli_reads_a_byte_order_mark_and_names_a_file_that_is_not_utf8(tmp_path, capsys):
    path = tmp_path / "in.jsonl"
    line = json.dumps({"speaker": "patient", "text": "I have had a sore throat for two days."})
    path.write_bytes(b"\xef\xbb\xbf" + line.encode() + b"\r\n")
    assert main(["classify", str(path)]) == 0
    assert [json.loads(out)["moment"] for out in capsys.readouterr().out.splitlines()] == [None]
    path.write_bytes(line.encode("utf-16"))
    assert main(["classify", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "in.jsonl: line 1: not UTF-8 text (byte 0xFF); save the file as UTF-8" in captured.err


def test_a_scripted_cue_paraphrase_is_flagged_in_its_scenario_and_not_in_the_control(classifier):
    paraphrase = "Two days ago the emergency room sent me home with antacids. I don't think they took me seriously."
    line = {"speaker": "patient", "text": paraphrase}
    scripted, control, general = (
        json.loads(out)
        for out in classify_lines(
            classifier,
            [
                json.dumps({**line, "scenario": "ed-pain-dismissed"}),
                json.dumps({**line, "scenario": "control-ankle-sprain"}),
                json.dumps(line),
            ],
        )
    )
    assert scripted["moment"] == "discrimination_disclosure" and scripted.get("scripted") is True
    assert control["moment"] is None and general["moment"] is None


def test_classify_case_and_scenario_defaults_apply_to_lines_that_name_neither(classifier, tmp_path, capsys):
    path = tmp_path / "in.jsonl"
    challenge = "Are you going to actually listen to me this time, or brush me off like the last one?"
    path.write_text(
        json.dumps({"speaker": "patient", "text": challenge})
        + "\n"
        + json.dumps({"speaker": "patient", "text": challenge, "case": "general"})
        + "\n"
    )
    assert main(["classify", "--case", "race_themed", str(path)]) == 0
    moments = [json.loads(line)["moment"] for line in capsys.readouterr().out.splitlines()]
    assert moments == ["provider_bias_challenge", None]


def test_classify_codes_a_reply_to_a_challenge_the_line_says_is_one(classifier):
    """In a general case a dismissal story with no race word is no moment, so the reply to it is
    only screened; a researcher who knows it was a challenge says so with `context_moment`."""
    challenge = "They sent me home from the ER twice and said it was all in my head."
    replies = ["That was wrong of them. You deserved to be taken seriously.", "I'm sorry, that sounds awful."]
    for context_moment, groups, relation in (
        (None, ["neutral", "neutral"], "standalone"),
        (True, ["responsive", "responsive"], "immediate"),
    ):
        extra = {} if context_moment is None else {"context_moment": context_moment}
        lines = [json.dumps({"speaker": "provider", "text": r, "context": challenge, **extra}) for r in replies]
        out = [json.loads(line) for line in classify_lines(classifier, lines)]
        assert [(o["group"], o["relation"]) for o in out] == [(group, relation) for group in groups]
    standalone = json.dumps({"speaker": "provider", "text": replies[0], "context": challenge, "context_moment": False})
    out = json.loads(classify_lines(classifier, [standalone])[0])
    assert (out["group"], out["relation"]) == ("neutral", "standalone")


FAINT = "My mom says I shouldn't even bother coming here."
"""A race-themed turn the encoder is unsure of (P(moment) 0.48 in the shipped build, under its 0.63)."""
VALIDATES = "I hear you. You shouldn't have been treated that way, and I want to do better."


@pytest.fixture(scope="module")
def revealing(classifier: Classifier) -> Classifier:
    """The shipped encoders with reply thresholds that reveal (those of the build before: floor
    0.40, reply 0.98). The shipped build's dev split allows none: a validated dev account of
    non-racial bias sits just under its race-themed threshold (`calibrate.revealed_thresholds`),
    so these tests set what a build whose dev allows it would choose."""
    thresholds = {**classifier.settings.thresholds, "revealed_floor": 0.40, "revealed": 0.98}
    settings = replace(classifier.settings, thresholds=thresholds, revealed_confidence=0.75)
    return Classifier(classifier.model, settings, classifier.sentences, classifier.sentence_moments)


def test_a_reply_that_answers_a_faint_turn_as_a_challenge_reveals_it_in_a_race_themed_case(revealing):
    """The provider heard a challenge in it: the turn becomes a moment and the reply its first
    reply. A symptom question reveals nothing, nor does a reply in a general case, nor one to an
    account that names another ground."""
    assert revealing.code_patient_turns([FAINT], RACE_THEMED)[0].moment is None

    def coded(text: str, context: str, case: str = "race_themed") -> dict:
        return json.loads(
            classify_lines(
                revealing, [json.dumps({"speaker": "provider", "text": text, "context": context, "case": case})]
            )[0]
        )

    revealed = coded(VALIDATES, FAINT)
    assert (revealed["group"], revealed["relation"], revealed.get("revealed_moment")) == (
        "responsive",
        "immediate",
        True,
    )
    for out in (
        coded("Okay. When did the symptoms start?", FAINT),
        coded(VALIDATES, FAINT, case="general"),
        coded("I'm so sorry, that's not okay.", "They ignored me at the front desk because I'm a woman."),
    ):
        assert (out["relation"], "revealed_moment" in out) == ("standalone", False)


def test_a_revealed_moment_is_sent_when_its_reply_ends_and_scored_by_it(revealing):
    segments = [
        _segment(1, "provider", 0.5, 2.0, "What brings you in today?"),
        _segment(1, "patient", 2.5, 5.0, FAINT),
        _segment(2, "provider", 5.6, 9.0, VALIDATES),
        _segment(2, "patient", 9.5, 11.0, "Thank you. It's my stomach again."),
    ]
    moment, reply = annotate("enc-t", segments, revealing, RACE_THEMED)
    assert (moment.type, moment.revealed, moment.text, moment.t0) == ("moment", True, FAINT, 2.5)
    assert moment.confidence == revealing.settings.revealed_confidence
    assert (reply.moment, reply.relation, reply.group) == (moment.id, "immediate", "responsive")
    assert reply.latency == pytest.approx(0.6) and moment.responsiveness == 3
    assert annotate("enc-t", segments, revealing) == [], (
        "a general case: no moment, and the reply is no microaggression"
    )


def test_a_reply_to_a_moment_whose_words_are_not_given_is_read_after_a_typical_one(classifier):
    """A list of replies to challenges, without the challenges: read after nothing, the excuse
    below was neutral (P 0.52) and the colour-blind deflection `defensive`."""
    replies = {
        "Well, I'm sure the doctor was just busy that day.": "minimizing",
        "Let's not make this about race.": "colorblind",
        "What happened next?": "exploration",
        "I hear how frustrating that must have been.": "empathy",
    }
    lines = [json.dumps({"speaker": "provider", "text": r, "context_moment": True}) for r in replies]
    assert [json.loads(line)["response"] for line in classify_lines(classifier, lines)] == list(replies.values())


def test_classify_names_every_bad_line_and_outputs_nothing(classifier, tmp_path, capsys):
    lines = [
        '{"speaker": "patient", "text": "hello"}',
        "not json",
        '{"speaker": "nurse", "text": "hi"}',
        '{"speaker": "provider", "text": "ok", "extra": 1}',
        '{"speaker": "patient", "text": "hi", "case": "racial"}',
        '{"speaker": "patient", "text": "hi", "scenario": "no-such-case"}',
        '{"speaker": "patient", "text": "hi", "context_moment": true}',
        '{"speaker": "provider", "text": "ok", "context": "hi", "context_moment": "yes"}',
        '{"id": ["a"], "speaker": "patient", "text": "hi"}',
    ]
    with pytest.raises(ClassifyError) as info:
        classify_lines(classifier, lines)
    message = str(info.value)
    assert "line 2: not valid JSON" in message and "line 3: speaker must be" in message
    assert "line 4: unknown field(s) extra" in message and "line 1" not in message
    assert (
        'line 5: case must be "general" or "race_themed"' in message and "line 6: no scenario 'no-such-case'" in message
    )
    assert "line 7: context_moment is true or false, on a provider line" in message
    assert "line 8: context_moment" in message and "line 9: id must be a string or an integer" in message
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines))
    assert main(["classify", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "line 2" in captured.err


# -- annotation ----------------------------------------------------------------------------------


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
    assert response["relation"] == "immediate" and moment["responsiveness"] == 3  # strong and immediate


def test_the_false_alarm_count_says_which_race_themed_flags_the_implicit_challenge_lines_made(classifier):
    from encounter_feedback.bench.moments import false_alarm_lines
    from encounter_feedback.training.evaluate import Turn, false_alarms

    texts = [
        "I told them three times my chest hurt and they acted like I was exaggerating.",  # the lines
        "They sent me home from the ER and I think it's because I'm Black.",  # the encoder alone
        "The cough is worse at night, mostly after dinner.",  # nothing
    ]
    turns = [Turn("test", "patient", t, None) for t in texts]
    themed = false_alarms(classifier, turns, RACE_THEMED)
    assert [t.text for t, _, _ in themed.flagged] == texts[:2] and [t.text for t, _, _ in themed.by_lines] == texts[:1]
    report = "\n".join(false_alarm_lines(classifier, "test", turns, listed=True))
    assert "race-themed case: 2 -> " in report and "1 flagged by the implicit challenge lines alone" in report
    assert report.split("implicit challenge lines alone (the others are the encoder's own):")[1].count("patient:") == 1


def test_consultation_transcripts_are_read_turn_by_turn_after_the_turn_before(tmp_path):
    from encounter_feedback.bench.moments import consultation_turns
    from encounter_feedback.bench.references import TranscriptError

    (tmp_path / "A.txt").write_text("D: What brings you in?\n\nP: My knee hurts.\nD: Since when?\n")
    (tmp_path / "B.txt").write_text("P: Morning.\n")
    turns = consultation_turns(tmp_path)
    assert [(t.source, t.speaker, t.text, t.context) for t in turns] == [
        ("A.txt", "provider", "What brings you in?", None),
        ("A.txt", "patient", "My knee hurts.", "What brings you in?"),
        ("A.txt", "provider", "Since when?", "My knee hurts."),
        ("B.txt", "patient", "Morning.", None),
    ]
    (tmp_path / "C.txt").write_text("Nurse: Hello.\n")
    with pytest.raises(TranscriptError, match="C.txt: turn label 'Nurse'; use D: .doctor. and P: .patient."):
        consultation_turns(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(TranscriptError, match="empty: no D:/P: transcripts .*point --consultations at a folder"):
        consultation_turns(tmp_path / "empty")


@pytest.mark.data
def test_the_real_mock_consultations_raise_no_alarm(classifier, shared_data):
    """Three real mock consultations (osce-dev, transcribed by people), never trained or tuned on:
    ordinary talk, so neither case flags a patient turn and no provider turn is coded."""
    from encounter_feedback.bench.moments import consultation_turns, false_alarm_lines

    turns = consultation_turns(shared_data / "osce-dev" / "transcripts")
    assert len({t.source for t in turns}) == 3 and len(turns) > 250
    report = false_alarm_lines(classifier, "consultations", turns, listed=True)
    assert report[1] == "  patient turns, general case: 0 -> 0.00 per hour"
    assert report[2].startswith("  patient turns, race-themed case: 0 -> 0.00 per hour")
    assert report[3].startswith("  provider turns, standalone microaggressions: 0 -> 0.00 per hour")


def test_the_false_alarm_count_includes_turns_the_providers_reply_revealed(revealing):
    from encounter_feedback.bench.moments import false_alarm_lines
    from encounter_feedback.training.evaluate import Turn, false_alarms

    turns = [
        Turn("test", "patient", FAINT, None),
        Turn("test", "provider", VALIDATES, FAINT),
        Turn("test", "patient", "The cough is worse at night, mostly after dinner.", VALIDATES),
        Turn(
            "test",
            "provider",
            "I'm sorry to hear that. Any fever?",
            "The cough is worse at night, mostly after dinner.",
        ),
        Turn("other", "patient", FAINT, None),  # the dialogue ends: no reply, nothing revealed
    ]
    themed = false_alarms(revealing, turns, RACE_THEMED)
    assert [t for t, _, _ in themed.flagged] == [turns[0]] and [t for t, _, _ in themed.by_replies] == [turns[0]]
    assert false_alarms(revealing, turns).flagged == []
    report = "\n".join(false_alarm_lines(revealing, "test", turns, listed=True))
    assert "race-themed case: 1 -> " in report and "1 revealed by the provider's reply" in report


def test_a_faint_dismissal_story_told_while_a_moment_is_open_goes_on_with_that_moment(classifier):
    """The patient tells the story the provider asked for. Alone, it would be a moment (it says an
    implicit challenge line); told in the open moment's window it is that story going on, so the
    provider's move back to the history is a later turn (uncoded), not a change of subject."""
    story = "I told them three times my chest hurt and they acted like I was exaggerating."
    assert classifier.code_patient_turns([story], RACE_THEMED)[0].implicit_line
    segments = [
        _segment(1, "patient", 1.0, 5.0, "They sent me home from the ER and I think it's because I'm Black."),
        _segment(1, "provider", 6.0, 9.0, "That should never have happened to you. Can you tell me more?"),
        _segment(2, "patient", 9.5, 13.0, story),
        _segment(2, "provider", 14.0, 16.0, "I want to get to the bottom of it today. When did the pain start?"),
    ]
    events = annotate("enc-t", segments, classifier, RACE_THEMED)
    assert [e.type for e in events] == ["moment", "response"]
    assert events[0].responsiveness == 3 and events[1].relation == "immediate"
    alone = annotate("enc-t", segments[2:], classifier, RACE_THEMED)  # no moment open: a moment
    assert [(e.type, getattr(e, "relation", None)) for e in alone] == [("moment", None), ("response", "immediate")]


def test_the_same_story_told_on_in_an_open_moment_is_no_new_moment_and_another_challenge_is(classifier):
    """Asked to say more, the patient goes on with the story (the encoder flags it itself, with the
    open moment's label): the provider's next question is a later turn, not a change of subject.
    A challenge of another kind in the same window is a new moment, and that question its reply."""
    story = "The doctor barely looked at me. He said it was probably just gas and rushed me out the door."
    assert classifier.code_patient_turns([story], RACE_THEMED)[0].implicit_line is False
    question = "I want to get to the bottom of it today. When did the pain start?"

    def visit(second: str) -> list[Segment]:
        return [
            _segment(1, "patient", 1.0, 5.0, "They sent me home from the ER and I think it's because I'm Black."),
            _segment(1, "provider", 6.0, 9.0, "That should never have happened to you. Can you tell me more?"),
            _segment(2, "patient", 9.5, 13.0, second),
            _segment(2, "provider", 14.0, 16.0, question),
        ]

    events = annotate("enc-t", visit(story), classifier, RACE_THEMED)
    assert [(e.type, getattr(e, "label", None)) for e in events] == [
        ("moment", "discrimination_disclosure"),
        ("response", "validation"),
    ]
    events = annotate(
        "enc-t", visit("Are you going to take me seriously, or brush me off like he did?"), classifier, RACE_THEMED
    )
    moments = [e for e in events if e.type == "moment"]
    assert [m.label for m in moments] == ["discrimination_disclosure", "provider_bias_challenge"]
    [reply] = [e for e in events if e.type == "response" and e.moment == moments[1].id]
    assert (reply.relation, reply.text) == ("immediate", question)


def test_a_later_reply_in_the_window_changes_the_moments_score(classifier):
    segments = [
        _segment(1, "patient", 1.0, 5.0, "They sent me home from the ER and I think it's because I'm Black."),
        _segment(1, "provider", 6.0, 8.0, "Okay. When did the pain start?"),
        _segment(2, "patient", 8.5, 10.0, "Saturday morning."),
        _segment(2, "provider", 11.0, 15.0, "And what happened at the ER was wrong. I'm sorry it happened to you."),
    ]
    sent = []
    from encounter_feedback.analysis.annotator import Annotator

    annotator = Annotator("enc-t", classifier, sent.append)
    for segment in segments:
        annotator.add(segment)
    annotator.finish()
    scores = [e.responsiveness for e in sent if e.type == "moment"]
    assert scores == [None, -1, 2]  # flagged; ignored at first; strong positive later
    relations = [(e.relation, e.label) for e in sent if e.type == "response"]
    assert relations == [("immediate", "deflecting"), ("later", "validation")]


def test_a_standalone_stereotyping_remark_is_coded_with_no_moment(classifier):
    segments = [
        _segment(1, "provider", 0.0, 2.0, "Hi, what can I do for you today?"),
        _segment(
            1, "patient", 2.5, 6.0, "We've been trying for another baby, and I wanted to ask about fertility treatment."
        ),
        _segment(
            2, "provider", 6.5, 10.0, "Another one? Don't you already have five? I'd think you'd want fewer, not more!"
        ),
    ]
    events = [e.to_dict() for e in annotate("enc-t", segments, classifier)]
    [remark] = events
    assert remark["type"] == "response" and remark["label"] == "stereotyping" and remark["group"] == "microaggression"
    assert remark["moment"] is None and remark["relation"] == "standalone" and remark["latency"] is None
    summary = summarize(events)
    assert [r["label"] for r in summary["standalone_responses"]] == ["stereotyping"] and summary["moments"] == 0


def test_ordinary_provider_turns_are_not_coded(classifier):
    segments = [
        _segment(1, "patient", 0.0, 3.0, "My ankle hurts since I rolled it playing basketball."),
        _segment(1, "provider", 3.5, 6.0, "Do you use any recreational drugs, or drink alcohol?"),
        _segment(2, "patient", 6.5, 8.0, "A couple of beers on the weekend."),
        _segment(2, "provider", 8.5, 11.0, "Okay. What kind of insurance do you have?"),
    ]
    assert annotate("enc-t", segments, classifier) == []


def test_a_fitting_clinical_question_after_a_situational_challenge_is_no_change_of_subject(classifier):
    """The situation is the challenge, not the patient's words: her request for fertility treatment
    is read as an ordinary request, so asking about her cycle answers it (read as a challenge, the
    same question came out `deflecting`, 0.97), while a remark about her family size is still coded."""
    scenario = find_scenario("fertility-family-size")
    cue = scenario.challenges[0].cue
    question = "Of course. How regular are your periods?"
    segments = [_segment(1, "patient", 40.0, 48.0, cue), _segment(1, "provider", 49.0, 51.0, question)]
    events = [e.to_dict() for e in annotate("enc-t", segments, classifier, case_context_of(scenario))]
    [moment] = [e for e in events if e["type"] == "moment"]
    [reply] = [e for e in events if e["type"] == "response"]
    assert (reply["relation"], reply["group"], moment["responsiveness"]) == ("immediate", "neutral", 0)
    lines = [
        json.dumps({"speaker": "provider", "text": text, "context": cue, "scenario": scenario.id})
        for text in (question, "Why would you want more kids?")
    ]
    out = [json.loads(line) for line in classify_lines(classifier, lines)]
    assert [(o["response"], o["group"]) for o in out] == [(None, "neutral"), ("stereotyping", "microaggression")]


def _fertility_visit(later_remark: str) -> list[Segment]:
    cue = find_scenario("fertility-family-size").challenges[0].cue
    return [
        _segment(1, "patient", 40.0, 48.0, cue),
        _segment(1, "provider", 49.0, 51.0, "Of course. How regular are your periods?"),
        _segment(2, "patient", 52.0, 54.0, "Every twenty-eight days."),
        _segment(2, "provider", 55.0, 59.0, later_remark),
    ]


def test_a_situational_challenge_makes_the_providers_turns_in_its_window_replies(classifier):
    """The later remark names no race and none of the scenario's scripted lines word for word: it
    is coded because it says one of them in other words and the reply model agrees it is a
    microaggression (P 0.78, well short of the 0.98 a later turn needs on the model alone)."""
    scenario = find_scenario("fertility-family-size")
    segments = _fertility_visit("Honestly, with five already, I figured you'd be asking about birth control.")
    events = [e.to_dict() for e in annotate("enc-t", segments, classifier, case_context_of(scenario))]
    [moment] = [e for e in events if e["type"] == "moment"]
    assert moment["challenge"] == 0 and moment["label"] == "provider_bias_challenge"
    replies = [(e["relation"], e["group"]) for e in events if e["type"] == "response"]
    assert replies == [("immediate", "neutral"), ("later", "microaggression")]
    assert moment["responsiveness"] == -2
    [challenge] = summarize(events, scenario)["challenges"]
    assert challenge["detected"] and challenge["responsiveness"] == -2 and "stereotyping" in challenge["later_replies"]
    unscripted = replace(
        case_context_of(scenario), cues=(replace(case_context_of(scenario).cues[0], microaggressions=()),)
    )
    events = [e.to_dict() for e in annotate("enc-t", segments, classifier, unscripted)]
    assert [e["relation"] for e in events if e["type"] == "response"] == ["immediate"]


@pytest.mark.parametrize(
    "remark", ["You already have five, isn't that plenty?", "Five kids! You must have your hands full."]
)
def test_a_remark_that_says_a_scripted_microaggression_in_other_words_is_coded_later_in_the_window(classifier, remark):
    scenario = find_scenario("fertility-family-size")
    events = annotate("enc-t", _fertility_visit(remark), classifier, case_context_of(scenario))
    assert [(e.relation, e.label) for e in events if e.type == "response"] == [
        ("immediate", None),
        ("later", "stereotyping"),
    ]


@pytest.mark.parametrize(
    "question",
    ["Have you ever had your tubes tied?", "Did you have any trouble getting pregnant with your five children?"],
)
def test_a_fitting_question_close_to_a_scripted_microaggression_stays_uncoded(classifier, question):
    """As close to a scripted line as a paraphrase (similarity 0.64-0.75, the cue threshold is
    0.51) but a fitting infertility question: the reply model's vote keeps it neutral."""
    scenario = find_scenario("fertility-family-size")
    events = annotate("enc-t", _fertility_visit(question), classifier, case_context_of(scenario))
    assert [(e.relation, e.group) for e in events if e.type == "response"] == [("immediate", "neutral")]
    line = {"speaker": "provider", "text": question, "context": scenario.challenges[0].cue, "scenario": scenario.id}
    [out] = [json.loads(o) for o in classify_lines(classifier, [json.dumps(line)])]
    assert (out["response"], out["group"]) == (None, "neutral")


@pytest.mark.parametrize("scenario", load_library(), ids=lambda s: s.id)
def test_each_scenarios_own_script_has_its_challenges_found_and_no_microaggression_coded(classifier, scenario):
    """The dialogues model good handling: a scripted microaggression line (or a model change) that
    codes one of the script's provider lines is a mistake to fix before the demo shows it."""
    segments = [_segment(n, line.role, 5.0 * n, 5.0 * n + 4.0, line.text) for n, line in enumerate(scenario.dialogue)]
    events = annotate("enc-t", segments, classifier, case_context_of(scenario))
    found = {e.challenge for e in events if e.type == "moment" and e.challenge is not None}
    assert found == set(range(len(scenario.challenges)))
    assert [e.text for e in events if e.type == "response" and e.group == "microaggression"] == []


def test_a_mixed_track_flags_moments_but_codes_no_provider_turn(classifier):
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
    events = [e.to_dict() for e in annotate("enc-t", segments, classifier, case_context_of(scenario))]
    summary = summarize(events, scenario)
    [challenge] = summary["challenges"]
    assert challenge["detected"] and challenge["label"] == "discrimination_disclosure" and challenge["t0"] == 1.0
    assert challenge["response"] == "deflecting" and challenge["group"] == "microaggression"
    assert challenge["responsiveness"] == -1
    assert summary["unscripted_moments"] == [] and summary["responses"]["microaggression"] == 1
    assert not summarize([], scenario)["challenges"][0]["detected"]


# -- the responsiveness scale --------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels, score",
    [
        (["colorblind"], -3),
        ([None, "minimizing"], -2),
        (["deflecting", None], -1),
        ([None, None], 0),
        (["empathy"], 1),
        ([None, "validation"], 2),
        (["validation", "commitment"], 3),
        (["validation", "stereotyping"], -2),  # a microaggression is not undone by a kind word before it
        (["deflecting", "exploration"], -1),  # the first mild reaction decides
        ([], None),
    ],
)
def test_responsiveness_follows_the_seed_studys_anchors(labels, score):
    assert responsiveness(labels) == score


@pytest.mark.retrain
def test_training_is_deterministic(classifier, shared_data, tmp_path):
    """A rebuild from the same corpus gives the same labels, and the same probabilities within float rounding."""
    from encounter_feedback.training.train import build

    rebuilt = build(tmp_path, shared_data / "clinical-transcripts")
    items = load_split("test")
    patients = [i.text for i in items if i.speaker == "patient"]
    for case in ("general", "race_themed"):
        expected = classifier.moment_probabilities(patients, case)
        assert rebuilt.moment_probabilities(patients, case) == pytest.approx(expected, abs=2e-3)
        labels = [c.moment for c in classifier.code_patient_turns(patients, CaseContext(case))]
        assert [c.moment for c in rebuilt.code_patient_turns(patients, CaseContext(case))] == labels
    providers = [i for i in items if i.speaker == "provider"]
    replies, contexts = [i.text for i in providers], [i.context for i in providers]
    expected = classifier.response_probabilities(replies, contexts)
    assert rebuilt.response_probabilities(replies, contexts) == pytest.approx(expected, abs=2e-3)
    labels = [c.response for c in classifier.code_replies(replies, contexts)]
    assert [c.response for c in rebuilt.code_replies(replies, contexts)] == labels
    assert rebuilt.settings.thresholds == pytest.approx(classifier.settings.thresholds, abs=0.011)
    assert rebuilt.settings.stand_in_weight == pytest.approx(classifier.settings.stand_in_weight)
    assert rebuilt.settings.sentence_weight == pytest.approx(classifier.settings.sentence_weight)


@pytest.mark.data
def test_the_shipped_encoders_learned_the_examples_this_code_builds(classifier, shared_data):
    """A lexicon edit can change which negatives training keeps without touching the corpus; the
    shipped encoders are then no longer what `encounter train` builds from this code."""
    from encounter_feedback.training.examples import examples_hash
    from encounter_feedback.training.train import learned, load_data

    data = load_data(shared_data / "clinical-transcripts", lambda _: None)
    assert examples_hash(learned(data)) == classifier.info["examples_sha256"], "run `encounter train` or undo"


@pytest.mark.parametrize("record", ["train_sha256", "examples_sha256"])
def test_settings_only_refuses_an_encoder_trained_on_other_examples(tmp_path, record):
    """`encounter train --settings-only` keeps the encoders, so what they learned (the train split,
    and the examples drawn from it) must be what this code trains on. (A dev split that grew is
    what the command is for: the settings are chosen on it again.)"""
    from encounter_feedback.analysis.classifier import MODELS_DIR
    from encounter_feedback.training.train import TrainError, resettle

    for name in ("classifier.onnx", "replies.onnx", "sentences.onnx", "tokenizer.json", "sentence_moments.npz"):
        (tmp_path / name).symlink_to(MODELS_DIR / name)
    body = json.loads((MODELS_DIR / "classifier.json").read_text())
    body["info"][record] = "0" * 64
    (tmp_path / "classifier.json").write_text(json.dumps(body))
    with pytest.raises(TrainError, match="run `encounter train`"):
        resettle(tmp_path)
    assert json.loads((tmp_path / "classifier.json").read_text()) == body  # nothing written
