"""Settings chosen on dev (training/calibrate.py), with scripted models standing in for the encoders:
the cases below (a model that fires on every clinical turn, replies of known probability, turns of
known similarity to the implicit challenge lines) cannot be caused with the shipped ones on demand."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from encounter_feedback.analysis.classifier import (
    MOMENT_CLASSES,
    RESPONSE_CLASSES,
    STAND_IN_MOMENT,
    Classifier,
    SentenceEmbeddings,
    Settings,
    read_replies,
    relation_evidence,
    reply_context,
)
from encounter_feedback.analysis.sentence_moments import SentenceMoments
from encounter_feedback.training.calibrate import (
    NEVER,
    STRICTEST,
    DevData,
    general_thresholds,
    later_threshold,
    race_themed_thresholds,
    revealed_thresholds,
    stand_in_weight,
)
from encounter_feedback.training.corpus import Item
from encounter_feedback.training.evaluate import VALIDATING, Turn


def _logits(probabilities: dict[int, float], classes: int) -> np.ndarray:
    """Logits whose softmax (temperature 1) is `probabilities` over the given classes, the rest shared."""
    rest = (1.0 - sum(probabilities.values())) / (classes - len(probabilities))
    p = np.full(classes, rest)
    for k, v in probabilities.items():
        p[k] = v
    return np.log(np.clip(p, 1e-9, None))


class ScriptedModel:
    """P(moment) and P(response class) by text, from a table; anything else is sure of `none`."""

    def __init__(self, moments: dict[str, float], replies: dict[str, tuple[str, float]]) -> None:
        self.moments, self.replies = moments, replies

    def patient_logits(self, texts: list[str]) -> dict[str, np.ndarray]:
        moment = MOMENT_CLASSES.index("discrimination_disclosure")
        p = [self.moments.get(t, 0.0) for t in texts]
        rows = np.array([_logits({0: 1.0 - q, moment: q}, len(MOMENT_CLASSES)) for q in p])
        return {"general": rows, "race_themed": rows}

    def reply_logits(self, contexts: list[str], replies: list[str]) -> np.ndarray:
        rows = []
        for reply in replies:
            label, p = self.replies.get(reply, ("none", 0.999))
            rows.append(_logits({RESPONSE_CLASSES.index(label): p}, len(RESPONSE_CLASSES)))
        return np.array(rows)


class ScriptedReadings(ScriptedModel):
    """A reply read after the stand-in challenge has its own table (`after_stand_in`)."""

    def __init__(self, replies: dict[str, tuple[str, float]], after_stand_in: dict[str, tuple[str, float]]) -> None:
        super().__init__({}, replies)
        self.after_stand_in = ScriptedModel({}, after_stand_in)

    def reply_logits(self, contexts: list[str], replies: list[str]) -> np.ndarray:
        own, stand_in = super().reply_logits(contexts, replies), self.after_stand_in.reply_logits(contexts, replies)
        mine = np.array([c == reply_context(STAND_IN_MOMENT, True) for c in contexts])
        return np.where(mine[:, None], stand_in, own)


class ScriptedSentences:
    """Each text's similarity to every line, and its P(moment) in the sentence reading
    (`READING`), from tables; anything else is unlike them all and no moment (P 0.001). The
    "embedding" of a text is the two numbers: its similarity and the logit of that P."""

    def __init__(self, similar: dict[str, float], moment: dict[str, float] | None = None) -> None:
        self.similar = similar
        self.moment = moment or {}

    def embed(self, texts: list[str]) -> np.ndarray:
        p = np.array([self.moment.get(t, 0.001) for t in texts])
        return np.column_stack([[self.similar.get(t, 0.0) for t in texts], np.log(p / (1 - p))])

    def against(self, embeddings: np.ndarray, lines) -> np.ndarray:
        return np.repeat(embeddings[:, :1], len(lines), axis=1)

    def similarity(self, texts: list[str], lines) -> np.ndarray:
        return self.against(self.embed(texts), lines)

    said = SentenceEmbeddings.said  # the real combination of a turn's and its sentences' similarities


READING = SentenceMoments(np.array([0.0, 1.0]), 0.0)
"""The sentence reading of `ScriptedSentences`' embeddings: their P(moment) back."""


def _item(id: str, speaker: str, text: str, context: str | None = None, **labels) -> Item:
    return Item(id, speaker, text, context, labels.get("moment"), labels.get("response"), "test")


DISCLOSURE = "The ER sent me home, and I think it was because I'm Black."


def test_general_thresholds_fall_back_to_the_strictest_when_none_keeps_false_alarms_in_budget():
    clinical = [Turn("mts", "patient", f"As a Black man I walk two miles on day {k}.", None) for k in range(20)]
    model = ScriptedModel({t.text: 0.999 for t in clinical} | {DISCLOSURE: 0.999}, {})
    dev = DevData([_item("d1", "patient", DISCLOSURE, moment="discrimination_disclosure")], clinical)
    assert general_thresholds(model, 1.0, dev) == {"explicit": STRICTEST, "implicit": STRICTEST}


def test_the_race_themed_threshold_counts_ordinary_clinical_talk_as_no_moment():
    """Half the dev items are moments, most of a real encounter is ordinary talk: a threshold low
    enough to catch the two faint stories (P 0.2) also flags the forty clinical turns (P 0.3), so
    it loses to one that lets both go (on the items alone it would win, F1 1.0 against 0.89)."""
    model, items, clinical = _race_themed_dev()
    unlike = ScriptedSentences({})  # no turn says an implicit challenge line: only P(moment) decides
    assert 0.3 < race_themed_thresholds(model, unlike, READING, 1.0, DevData(items, clinical))[0]["race_themed"] <= 0.9
    assert race_themed_thresholds(model, unlike, READING, 1.0, DevData(items, []))[0]["race_themed"] <= 0.2


def test_among_race_themed_thresholds_dev_cannot_tell_apart_the_one_that_flags_no_non_racial_account_wins():
    """39 stories the encoder is sure of and one faint (P 0.5); an account of sexism at P 0.6. A
    threshold under 0.5 finds every story and flags the account (best F1, 0.988); one over 0.6
    misses the faint story and flags no account (0.987). Forty turns cannot tell those apart (a
    bootstrap standard error of about 0.01), so the second wins. The same turn with no category (an
    ordinary false flag, not an account of bias) leaves F1 alone to decide: the first wins."""
    stories = [f"They brushed me off at the clinic, visit {k}." for k in range(40)]
    account = "They talked over me at the clinic and asked my husband instead."
    model = ScriptedModel({s: 0.9 for s in stories[:39]} | {stories[39]: 0.5, account: 0.6}, {})
    items = [_item(f"s{k}", "patient", s, moment="discrimination_disclosure") for k, s in enumerate(stories)]
    unlike = ScriptedSentences({})
    told = replace(_item("a1", "patient", account), category="sexism")
    assert (
        0.6 < race_themed_thresholds(model, unlike, READING, 1.0, DevData([*items, told], []))[0]["race_themed"] <= 0.9
    )
    plain = _item("a1", "patient", account)
    assert race_themed_thresholds(model, unlike, READING, 1.0, DevData([*items, plain], []))[0]["race_themed"] <= 0.5


def test_implicit_challenge_lines_take_faint_stories_that_say_one_and_not_talk_that_shares_the_topic():
    """The two faint stories (P 0.2) say an implicit challenge line (similarity 0.7): the lines take
    them where no threshold could. Five clinical turns on the same topic ("they gave me some pain
    medicine", similarity 0.8) are ones the encoder is sure are no moment (P 0.05): the floor
    leaves them out, and ordinary talk (P 0.3, similarity 0.2) stays below the similarity needed."""
    model, items, clinical = _race_themed_dev()
    topical = [Turn("mts", "patient", f"They gave me some pain medicine on day {k}.", None) for k in range(5)]
    model.moments |= {t.text: 0.05 for t in topical}
    faint = [i.text for i in items if model.moments[i.text] == 0.2]
    sentences = ScriptedSentences(
        {t: 0.7 for t in faint} | {t.text: 0.2 for t in clinical} | {t.text: 0.8 for t in topical}
    )
    chosen, confidence, weight = race_themed_thresholds(
        model, sentences, READING, 1.0, DevData(items, clinical + topical)
    )
    assert 0.3 < chosen["race_themed"] <= 0.9
    assert 0.2 < chosen["challenge"] <= 0.7 and 0.05 < chosen["challenge_floor"] <= 0.2
    assert confidence == pytest.approx(3 / 4)  # both flags by the lines right: (2 + 1) / (2 + 2)
    assert weight == 1.0  # the sentence reading sees no moment anywhere: the head alone


def test_implicit_challenge_lines_are_read_in_each_sentence_of_a_story_as_at_run_time():
    """The two faint stories now end by asking to be taken seriously: the whole turn is unlike every
    line (no similarity in the table), its last sentence is like one (0.7). Calibration reads the
    sentences as the classifier does (`SentenceEmbeddings.said`), so the lines still take them."""
    model, items, clinical = _race_themed_dev()
    asked = "Will you take me seriously this time?"
    told = [replace(i, text=f"{i.text} {asked}") if model.moments[i.text] == 0.2 else i for i in items]
    model.moments |= {i.text: 0.2 for i in told if asked in i.text}
    sentences = ScriptedSentences({asked: 0.7} | {t.text: 0.2 for t in clinical})
    chosen, confidence, _ = race_themed_thresholds(model, sentences, READING, 1.0, DevData(told, clinical))
    assert 0.2 < chosen["challenge"] <= 0.7 and 0.05 < chosen["challenge_floor"] <= 0.2
    assert confidence == pytest.approx(3 / 4)


def test_the_sentence_reading_is_weighed_in_where_dev_says_it_finds_what_the_head_misses():
    """The two faint stories (head P 0.2) read as moments in the sentence reading (P 0.95), the
    forty clinical turns the head half suspects (P 0.3) as none (P 0.001): an average finds the
    stories and leaves the talk, which no threshold on the head alone can do."""
    model, items, clinical = _race_themed_dev()
    faint = [i.text for i in items if model.moments[i.text] == 0.2]
    sure = [i.text for i in items if model.moments[i.text] != 0.2]
    reading = ScriptedSentences({}, {t: 0.95 for t in faint + sure})
    chosen, _, weight = race_themed_thresholds(model, reading, READING, 1.0, DevData(items, clinical))
    assert weight < 1.0
    p_faint, p_talk = weight * 0.2 + (1 - weight) * 0.95, weight * 0.3 + (1 - weight) * 0.001
    assert p_talk < chosen["race_themed"] <= p_faint


def _race_themed_dev() -> tuple[ScriptedModel, list[Item], list[Turn]]:
    """Ten dismissal stories (eight the encoder is sure of, two faint) and forty clinical turns it half suspects."""
    stories = [f"They brushed me off at the clinic, visit {k}." for k in range(10)]
    clinical = [Turn("mts", "patient", f"The pain started on day {k} of the trip.", None) for k in range(40)]
    model = ScriptedModel(
        {s: 0.9 for s in stories[:8]} | {s: 0.2 for s in stories[8:]} | {t.text: 0.3 for t in clinical}, {}
    )
    items = [_item(f"s{k}", "patient", s, moment="discrimination_disclosure") for k, s in enumerate(stories)]
    return model, items, clinical


def test_the_later_threshold_keeps_dev_replies_and_drops_clinical_turns_read_after_a_moment():
    replies = [f"That was wrong of them, number {k}." for k in range(10)]
    ordinary = [f"Do you drink, question {k}?" for k in range(10)]
    model = ScriptedModel(
        {},
        {r: ("validation", 0.95) for r in replies} | {q: ("stereotyping", 0.80) for q in ordinary},
    )
    items = [_item("p1", "patient", DISCLOSURE, moment="discrimination_disclosure")]
    items += [_item(f"r{k}", "provider", r, DISCLOSURE, response="validation") for k, r in enumerate(replies)]
    dev = DevData(items, [Turn("mts", "provider", q, "I drink on weekends.") for q in ordinary])
    # The evidence is the group's: the replies' 0.95 plus the other responsive labels' share of the
    # rest (4 x 0.05/12), the questions' 0.80 plus the later-turn microaggressions' (5 x 0.20/12).
    assert 0.80 + 5 * 0.20 / 12 < later_threshold(model, 1.0, dev, 0.0) <= 0.95 + 4 * 0.05 / 12


def test_the_evidence_for_a_code_is_its_groups_summed_probability():
    """A remark split between two microaggressions is surely one; split across groups it is not."""

    def row(**probabilities: float) -> np.ndarray:
        p = np.zeros(len(RESPONSE_CLASSES))
        for label, q in probabilities.items():
            p[RESPONSE_CLASSES.index(label)] = q
        p[0] = 1.0 - p.sum()
        return p

    probs = np.stack(
        [
            row(stereotyping=0.60, pathologizing=0.35),
            row(stereotyping=0.60, validation=0.35),
            row(validation=0.50, empathy=0.40),
            row(validation=0.50, minimizing=0.45),
        ]
    )
    best, evidence = relation_evidence(probs[:2], "standalone")
    assert [RESPONSE_CLASSES[k] for k in best] == ["stereotyping", "stereotyping"]
    assert evidence == pytest.approx([0.95, 0.60])
    best, evidence = relation_evidence(probs[2:], "later")
    assert [RESPONSE_CLASSES[k] for k in best] == ["validation", "validation"]
    assert evidence == pytest.approx([0.90, 0.50])


UNSURE, SURE = "That's what they said? Okay.", "I'm sorry, I made that assumption."


def _two_readings() -> ScriptedReadings:
    """One reply the moment's words leave unsure (validation 0.4), the stand-in sure it deflects
    (0.9); one the words make sure (accountability 0.95) and the stand-in misreads (deflecting 0.9)."""
    return ScriptedReadings(
        {UNSURE: ("validation", 0.4), SURE: ("accountability", 0.95)},
        {UNSURE: ("deflecting", 0.9), SURE: ("deflecting", 0.9)},
    )


def test_a_reply_to_a_moment_is_read_after_its_words_and_after_the_stand_in_weighted():
    model, label = _two_readings(), lambda logits: RESPONSE_CLASSES[int(np.argmax(logits))]
    assert [label(row) for row in read_replies(model, [UNSURE, SURE], [DISCLOSURE] * 2, [True] * 2, 0.0)] == [
        "validation",
        "accountability",
    ]
    assert [label(row) for row in read_replies(model, [UNSURE, SURE], [DISCLOSURE] * 2, [True] * 2, 0.4)] == [
        "deflecting",
        "accountability",
    ]
    # no moment's words given: the stand-in alone; no moment: the words alone, whatever the weight
    assert label(read_replies(model, [SURE], [None], [True], 0.0)[0]) == "deflecting"
    assert label(read_replies(model, [UNSURE], [DISCLOSURE], [False], 1.0)[0]) == "validation"


def test_the_stand_in_weight_is_the_smallest_that_reads_the_most_dev_replies_right():
    """UNSURE reads right (deflecting) from a weight of about 0.31, SURE stays right up to about
    0.54: 0.35 reads both right, and no smaller weight in the grid does."""
    items = [
        _item("r1", "provider", UNSURE, DISCLOSURE, response="deflecting"),
        _item("r2", "provider", SURE, DISCLOSURE, response="accountability"),
    ]
    assert stand_in_weight(_two_readings(), items) == pytest.approx(0.35)
    assert stand_in_weight(_two_readings(), items[1:]) == 0.0  # the stand-in only misleads: not read


def _settings(race_themed: float) -> Settings:
    """Settings under which only P(moment) decides a race-themed turn (no lines, no cues), and no
    reply reveals a moment yet."""
    thresholds = {"race_themed": race_themed, "challenge": 1.0, "challenge_floor": 1.0, "standalone": 0.99}
    temperatures = {"general": 1.0, "race_themed": 1.0, "response": 1.0}
    return Settings(temperatures, thresholds | NEVER, (1.0, 0.0), 0.5, 0.0, revealed_confidence=0.0)


def _reveal_dev(ordinary_empathy: float) -> tuple[Classifier, DevData]:
    """Ten faint dismissal stories (P 0.3, under the threshold 0.78) the dev replies validate (0.95),
    one ordinary turn read as a faint story whose neutral reply reads as validation (0.9), and
    twenty clinical turns (P 0.3) whose doctor says she is sorry (empathy `ordinary_empathy`)."""
    stories = [f"They brushed me off at the clinic, visit {k}." for k in range(10)]
    replies = [f"That was wrong of them, number {k}." for k in range(10)]
    clinical = [f"The pain started on day {k} of the trip." for k in range(20)]
    sorry = [f"I'm sorry to hear that, day {k}." for k in range(20)]
    model = ScriptedModel(
        {s: 0.3 for s in [*stories, *clinical, "I moved here last spring for work."]},
        {r: ("validation", 0.95) for r in replies}
        | {s: ("empathy", ordinary_empathy) for s in sorry}
        | {"Welcome to the area.": ("validation", 0.9)},
    )
    items = [_item(f"r{k}", "provider", r, s, response="validation") for k, (r, s) in enumerate(zip(replies, stories))]
    items.append(_item("n1", "provider", "Welcome to the area.", "I moved here last spring for work."))
    turns = [
        Turn("mts", speaker, text, None)
        for c, s in zip(clinical, sorry)
        for speaker, text in (("patient", c), ("provider", s))
    ]
    return Classifier(model, _settings(0.78)), DevData(items, turns)


def test_replies_reveal_faint_moments_at_the_strictest_setting_that_gains_most_on_dev():
    """Revealing every faint story gains ten replies; the neutral reply read as validation (0.9)
    loses one, and each clinical turn the doctor is sorry about (0.8) costs one: the reply
    threshold goes above both, the floor to the faint stories' P(moment)."""
    classifier, dev = _reveal_dev(ordinary_empathy=0.8)
    chosen, confidence = revealed_thresholds(classifier, dev)
    responsive_rest = 3 * 0.05 / (len(RESPONSE_CLASSES) - 1)  # the other responsive labels' share
    assert 0.9 + 3 * 0.1 / (len(RESPONSE_CLASSES) - 1) < chosen["revealed"] <= 0.95 + responsive_rest
    assert chosen["revealed_floor"] == pytest.approx(0.3)
    assert confidence == pytest.approx(11 / 12, abs=1e-3)  # ten revealed, all moments: (10 + 1) / (10 + 2)


def test_no_reply_reveals_a_moment_when_ordinary_talk_would_pay_for_it():
    classifier, dev = _reveal_dev(ordinary_empathy=0.99)  # surer than the replies: every setting loses
    assert revealed_thresholds(classifier, dev) == (NEVER, 0.0)


def test_no_reply_may_reveal_an_account_of_non_racial_bias_the_provider_validates():
    """One faint dismissal story the reply validates (0.95), and two accounts of sexism that the
    usual validation (`VALIDATING`, 0.99) would reveal: within the 5% budget none of the two may
    be, so the floor rises above them (P 0.2), or, as faint as the story (P 0.3), nothing is revealed."""
    story, reply = "They brushed me off at the clinic again.", "That was wrong of them."
    accounts = ["The surgeon only talked to my husband.", "They asked if my wife was my sister."]
    items = [_item("r1", "provider", reply, story, response="validation")]
    items += [replace(_item(f"a{k}", "patient", a), category="sexism") for k, a in enumerate(accounts)]
    for faint, expected in ((0.2, 0.3), (0.3, None)):
        model = ScriptedModel(
            {story: 0.3} | {a: faint for a in accounts}, {reply: ("validation", 0.95), VALIDATING: ("validation", 0.99)}
        )
        chosen, _ = revealed_thresholds(Classifier(model, _settings(0.78)), DevData(items, []))
        if expected is None:
            assert chosen == NEVER
        else:
            assert faint < chosen["revealed_floor"] <= expected
