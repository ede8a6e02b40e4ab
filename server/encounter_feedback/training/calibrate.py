"""Settings chosen on the dev split: calibration temperatures, flag thresholds, cue matching.

Nothing here looks at the held-out split or at the sets written outside the project: those
are reported, never tuned on. Real clinical dialogue the model did not train on (MTS-Dialog's
dev sets) keeps the thresholds honest about false alarms: a general-case moment or a
standalone provider code must not fire more than `FALSE_ALARM_BUDGET` times per hour there,
and its patient turns count as non-moments when the race-themed threshold is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import minimize_scalar

from encounter_feedback.analysis.classifier import (
    HEADS,
    MOMENT_CLASSES,
    RESPONSE_CLASSES,
    RESPONSE_GROUPS,
    CaseContext,
    Classifier,
    SentenceEmbeddings,
    Settings,
    TurnModel,
    case_context_of,
    could_be_moment,
    likeliest_moment,
    normalize_text,
    read_replies,
    relation_candidates,
    relation_evidence,
    softmax,
)
from encounter_feedback.analysis.implicit_challenges import IMPLICIT_CHALLENGES
from encounter_feedback.analysis.race_reference import Reference, race_reference
from encounter_feedback.analysis.sentence_moments import SentenceMoments, blend
from encounter_feedback.scenarios import find_scenario
from encounter_feedback.taxonomy import group_of
from encounter_feedback.training.corpus import Item
from encounter_feedback.training.evaluate import (
    VALIDATING,
    WORDS_PER_MINUTE,
    Turn,
    answered,
    case_items,
    is_nonracial_account,
)

FALSE_ALARM_BUDGET = 0.2
"""Flags per hour of a speaker's talk allowed on the dev clinical dialogue."""
GRID = np.round(np.arange(0.05, 0.99, 0.01), 2)
FLOORS = np.round(np.arange(0.0, 0.76, 0.05), 2)
"""P(moment) a turn that says an implicit challenge line needs at least (`race_themed_thresholds`).
Up to 0.75: once the race-themed head learned the replies' contexts as moments, it reads ordinary
talk about the same topics higher, and dev chose the old grid's top (0.40)."""
SENTENCE_WEIGHTS = np.round(np.arange(0.5, 1.01, 0.1), 2)
"""The race-themed head's weights against the sentence reading tried by `race_themed_thresholds`."""
STRICTEST = 0.99
"""The threshold taken when none in `GRID` keeps the dev false alarms within budget: flag only the surest."""
STAND_IN_WEIGHTS = np.round(np.arange(0.0, 1.01, 0.05), 2)
"""Weights of a reply's reading after a typical challenge tried by `stand_in_weight`."""
LATER_SEED = 0
"""Which dev moment each dev clinical provider turn is read after, as a later turn in its window."""
NEVER = {"revealed_floor": 1.0, "revealed": 1.0}
"""Reply thresholds under which no reply reveals a moment (an unflagged turn has P(moment) < 1)."""
REVEALING = GRID[GRID >= 0.5]
"""P(responsive) a reply needs to reveal a moment, tried by `revealed_thresholds`: more likely than not."""
NONRACIAL_BUDGET = 0.05
"""The share of dev accounts of non-racial bias a race-themed case may flag (issue 13's target),
moments revealed by a reply included (`revealed_thresholds`)."""


@dataclass(frozen=True)
class DevData:
    items: list[Item]
    turns: list[Turn]
    """Real clinical dialogue not trained on (false alarms)."""

    def spoken_by(self, speaker: str) -> list[Turn]:
        """The dialogue's turns of one speaker (`patient` or `provider`)."""
        return [t for t in self.turns if t.speaker == speaker]


def choose_settings(
    model: TurnModel, sentences: SentenceEmbeddings, sentence_moments: SentenceMoments, dev: DevData
) -> Settings:
    weight = stand_in_weight(model, dev.items)
    temperatures = fit_temperatures(model, dev.items, weight)
    thresholds = general_thresholds(model, temperatures["general"], dev)
    race_themed, challenge_confidence, sentence_weight = race_themed_thresholds(
        model, sentences, sentence_moments, temperatures["race_themed"], dev
    )
    thresholds.update(race_themed)
    thresholds["standalone"] = standalone_threshold(model, temperatures["response"], dev)
    thresholds["later"] = later_threshold(model, temperatures["response"], dev, weight)
    cue, calibration = cue_matching(sentences, dev)
    thresholds["cue"] = cue
    thresholds.update(NEVER)  # until the replies' own are chosen, with everything else fixed
    floats = {k: float(v) for k, v in thresholds.items()}
    settings = Settings(
        temperatures,
        floats,
        calibration,
        challenge_confidence,
        weight,
        revealed_confidence=0.0,
        sentence_weight=sentence_weight,
    )
    revealed, revealed_confidence = revealed_thresholds(Classifier(model, settings, sentences, sentence_moments), dev)
    return replace(settings, thresholds={**settings.thresholds, **revealed}, revealed_confidence=revealed_confidence)


# -- calibration ---------------------------------------------------------------------------


def head_logits(
    model: TurnModel, items: list[Item], stand_in_weight: float
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per head, the dev logits and the true class index of every item it applies to."""
    out = {}
    for case in ("general", "race_themed"):
        pairs = case_items(items, case)
        logits = model.patient_logits([i.text for i, _ in pairs])[case]
        out[case] = (logits, np.array([MOMENT_CLASSES.index(label) for _, label in pairs]))
    providers = [i for i in items if i.speaker == "provider"]
    texts, contexts = [i.text for i in providers], [i.context for i in providers]
    logits = read_replies(model, texts, contexts, [i.answers_moment() for i in providers], stand_in_weight)
    out["response"] = (logits, np.array([RESPONSE_CLASSES.index(i.response or "none") for i in providers]))
    return out


def stand_in_weight(model: TurnModel, items: list[Item]) -> float:
    """How much a reply's reading after a typical challenge counts (`read_replies`): the weight in
    `STAND_IN_WEIGHTS` under which the dev replies to a moment are read in the right group most
    often; among equals, the smallest (the moment's own words count most)."""
    replies = [i for i in items if i.speaker == "provider" and i.answers_moment()]
    if not replies:
        return 0.0
    texts, contexts, after = [i.text for i in replies], [i.context for i in replies], [True] * len(replies)
    own, stand_in = (read_replies(model, texts, contexts, after, w) for w in (0.0, 1.0))
    truth = RESPONSE_GROUPS[[RESPONSE_CLASSES.index(i.response or "none") for i in replies]]

    def right(weight: float) -> float:
        mixed = (1.0 - weight) * own + weight * stand_in
        return float(np.mean(RESPONSE_GROUPS[np.argmax(mixed, axis=1)] == truth))

    return float(max(STAND_IN_WEIGHTS, key=lambda w: (right(w), -w)))


def fit_temperatures(model: TurnModel, items: list[Item], stand_in_weight: float) -> dict[str, float]:
    """Per head, the temperature that minimizes the dev negative log-likelihood."""
    logits = head_logits(model, items, stand_in_weight)
    return {head: fit_temperature(*data) for head, data in logits.items() if head in HEADS}


def fit_temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    def nll(log_t: float) -> float:
        p = softmax(logits, float(np.exp(log_t)))
        return float(-np.mean(np.log(p[np.arange(len(truth)), truth] + 1e-12)))

    return round(float(np.exp(minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded").x)), 4)


# -- thresholds ----------------------------------------------------------------------------


def f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    tp = float(np.sum(truth & predicted))
    return 2 * tp / max(1.0, float(np.sum(truth) + np.sum(predicted)))


def f1_standard_error(truth: np.ndarray, predicted: np.ndarray, resamples: int = 500, seed: int = 0) -> float:
    """The bootstrap standard error of `f1(truth, predicted)`: how far dev F1 moves with another
    draw of dev turns, under which two settings' scores do not tell them apart."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(truth), (resamples, len(truth)))
    return float(np.std([f1(truth[d], predicted[d]) for d in draws]))


def per_hour(flags: int, turns: list[Turn]) -> float:
    words = sum(len(t.text.split()) for t in turns)
    return flags / (words / WORDS_PER_MINUTE / 60) if words else 0.0


def general_thresholds(model: TurnModel, temperature: float, dev: DevData) -> dict[str, float]:
    """P(moment) for an explicit and for an implicit reference: best dev F1 within the false-alarm budget."""
    pairs = case_items(dev.items, "general")
    patients = dev.spoken_by("patient")
    texts = [i.text for i, _ in pairs] + [t.text for t in patients]
    p_moment = 1.0 - softmax(model.patient_logits(texts)["general"], temperature)[:, 0]
    kind = np.array([_reference(t) for t in texts])
    truth = np.array([label != "none" for _, label in pairs])
    n = len(pairs)
    best = (-1.0, STRICTEST, STRICTEST)
    for explicit in GRID:
        for implicit in GRID[GRID >= explicit]:
            needed = np.where(kind == "explicit", explicit, np.where(kind == "implicit", implicit, np.inf))
            flagged = p_moment >= needed
            if per_hour(int(flagged[n:].sum()), patients) > FALSE_ALARM_BUDGET:
                continue
            score = f1(truth, flagged[:n])
            if score > best[0]:
                best = (score, float(explicit), float(implicit))
    return {"explicit": best[1], "implicit": best[2]}


def _reference(text: str) -> str:
    if not could_be_moment(text):
        return "none"
    return "explicit" if race_reference(normalize_text(text)) == Reference.EXPLICIT else "implicit"


def race_themed_thresholds(
    model: TurnModel,
    sentences: SentenceEmbeddings,
    sentence_moments: SentenceMoments,
    temperature: float,
    dev: DevData,
) -> tuple[dict[str, float], float, float]:
    """P(moment) in a race-themed case (`race_themed`), the head's weight against the sentence
    reading in it (`SENTENCE_WEIGHTS`; analysis/sentence_moments.py), and the similarity to an
    implicit challenge line (`challenge`) with the P(moment) (`challenge_floor`) that flag a turn
    below it: together,
    best dev F1, with the patient turns of the dev clinical dialogue counted as what they would be
    in a race-themed encounter, turns that are no moment. Among the settings whose F1 is within one
    standard error of the best (`f1_standard_error`), the one that flags the fewest dev accounts
    of non-racial bias, then the best F1, then the strictest. Also how often a flag by the lines
    alone has the right label there (Laplace's rule, so that a handful of flags claims no
    certainty): its confidence.

    Why they count: most of what a patient says in a race-themed case is still ordinary clinical
    talk, while half of the dev items are moments. F1 on the items alone rewards flagging anything
    doubtful (it chose 0.13, and 22 ordinary turns an hour were flagged on ACI-Bench); with the
    dialogue in, a false flag costs what it costs in a real encounter. Dismissal stories stay
    moments by design, so no false-alarm budget applies here, unlike the general case.

    Why the accounts break near-ties: they are a handful among thousands of dev turns (18 of some
    2,200 when this was written), so F1 barely sees them, while issue 13 holds them to their own
    target (5% flagged). Settings a standard error apart in F1 are equally good as far as dev can
    tell; among those, the one that shows faculty fewer accounts of sexism or ableism as racially
    charged moments is the better one. A weight of 1.0 (the head alone) is the strictest: the
    sentence reading is only taken in where dev says it adds something."""
    pairs = case_items(dev.items, "race_themed")
    texts = [i.text for i, _ in pairs] + [t.text for t in dev.spoken_by("patient")]
    probs = softmax(model.patient_logits(texts)["race_themed"], temperature)
    embeddings = sentences.embed(texts)
    p_sentence = sentence_moments.probability(embeddings)
    possible = np.array([could_be_moment(t, "race_themed") for t in texts])
    labels = [label for _, label in pairs] + ["none"] * (len(texts) - len(pairs))
    truth = np.array([label != "none" for label in labels])
    accounts = np.array([is_nonracial_account(i) for i, _ in pairs] + [False] * (len(texts) - len(pairs)))
    said = sentences.said(texts, IMPLICIT_CHALLENGES, embeddings)
    p_moment = {float(w): 1.0 - blend(probs, p_sentence, float(w))[:, 0] for w in SENTENCE_WEIGHTS}
    scores: dict[tuple[float, float, float, float], tuple[float, int]] = {}
    for weight, p in p_moment.items():
        by_encoder = {float(threshold): possible & (p >= threshold) for threshold in GRID}
        for challenge in GRID:
            close = possible & (said >= challenge)
            for floor in FLOORS:
                lines = close & (p >= floor)
                for threshold, flagged in by_encoder.items():
                    both = lines | flagged
                    key = (weight, threshold, float(challenge), float(floor))
                    scores[key] = (f1(truth, both), int((both & accounts).sum()))
    best = max(scores, key=lambda key: (scores[key][0], *key))
    p = p_moment[best[0]]
    flagged_at_best = possible & (((said >= best[2]) & (p >= best[3])) | (p >= best[1]))
    near = scores[best][0] - f1_standard_error(truth, flagged_at_best)
    weight, threshold, challenge, floor = max(
        (key for key, (score, _) in scores.items() if score >= near),
        key=lambda key: (-scores[key][1], scores[key][0], *key),
    )
    p = p_moment[weight]
    by_lines = np.flatnonzero(possible & (said >= challenge) & (p >= floor) & (p < threshold))
    right = sum(labels[i] == MOMENT_CLASSES[likeliest_moment(probs[i])] for i in by_lines)
    confidence = (right + 1) / (len(by_lines) + 2)
    chosen = {"race_themed": threshold, "challenge": challenge, "challenge_floor": floor}
    return chosen, round(float(confidence), 3), weight


def standalone_threshold(model: TurnModel, temperature: float, dev: DevData) -> float:
    """The evidence (`relation_evidence`) a provider turn with no moment before it needs: best dev
    F1 on standalone items, within the false-alarm budget on the provider turns of the dev
    clinical dialogue."""
    items = [i for i in dev.items if i.speaker == "provider" and i.category == "standalone"]
    providers = dev.spoken_by("provider")
    contexts = [i.context for i in items] + [t.context for t in providers]
    replies = [i.text for i in items] + [t.text for t in providers]
    logits = read_replies(model, replies, contexts, [False] * len(replies), 0.0)  # no moment: read once
    _, evidence = relation_evidence(softmax(logits, temperature), "standalone")
    truth = np.array([i.response is not None for i in items])
    n = len(items)
    allowed = [t for t in GRID if per_hour(int((evidence[n:] >= t).sum()), providers) <= FALSE_ALARM_BUDGET]
    return max(allowed or [STRICTEST], key=lambda t: (f1(truth, evidence[:n] >= t), t))


def later_threshold(model: TurnModel, temperature: float, dev: DevData, stand_in_weight: float) -> float:
    """The evidence (`relation_evidence`) a later turn in a moment's window needs: best dev F1 over
    two kinds of later turn. The dev replies, read after their moment: a code other than
    `deflecting` (not a candidate there) should be kept, and a neutral or deflecting one should
    not be coded at all. And the dev clinical dialogue's provider turns, each read after a seeded
    dev moment: ordinary talk that goes on in a moment's window (a symptom question, an
    instruction), with nothing to code. A code counts as found only with the right label."""
    replies = [i for i in dev.items if i.speaker == "provider" and i.category != "standalone"]
    moments = [i.text for i in dev.items if i.speaker == "patient" and i.moment is not None]
    ordinary = [t.text for t in dev.spoken_by("provider")]
    after: list[str] = list(np.random.default_rng(LATER_SEED).choice(moments, len(ordinary))) if moments else []
    contexts = [i.context for i in replies] + after
    texts = [i.text for i in replies] + ordinary
    probs = softmax(read_replies(model, texts, contexts, [True] * len(texts), stand_in_weight), temperature)
    best, evidence = relation_evidence(probs, "later")
    truth = np.array([RESPONSE_CLASSES.index(i.response or "none") for i in replies] + [0] * len(ordinary))
    truth = np.where(np.isin(truth, relation_candidates("later")), truth, 0)

    def score(threshold: float) -> float:
        predicted = np.where(evidence >= threshold, best, 0)
        hits = float(np.sum((predicted == truth) & (truth > 0)))
        return 2 * hits / max(1.0, float(np.sum(truth > 0) + np.sum(predicted > 0)))

    return max(GRID, key=lambda t: (score(t), t))


def revealed_thresholds(classifier: Classifier, dev: DevData) -> tuple[dict[str, float], float]:
    """The P(moment) floor and the P(responsive) under which a reply reveals the race-themed turn it
    answers as a moment (`Classifier.revealed_moments`), every other setting already chosen: the
    most dev replies coded right end to end, counting each reply whose group turns right (+1) or
    wrong (-1) once its context is a moment, and each provider turn of the dev clinical dialogue
    whose patient turn it would reveal (-1: a false moment, and a code, in ordinary talk). Among
    equal gains the strictest; when nothing gains, never. Also how often a revealed dev context
    was a moment (Laplace's rule): the confidence of such a flag.

    The dev accounts of non-racial bias are read with the usual validation after them
    (`VALIDATING`), and a setting may reveal one only while the share flagged stays within
    `NONRACIAL_BUDGET`: a budget, like the general case's false alarms, not a cost one reply
    coded right could buy back, since faculty shown an account of sexism as a racially charged
    moment stop trusting the flags."""
    race_themed = CaseContext("race_themed")
    replies = [
        i for i in dev.items if i.speaker == "provider" and i.context and (i.case or "race_themed") == "race_themed"
    ]
    ordinary = [(turn.text, reply.text) for turn, reply in answered(dev.turns) if reply is not None]
    accounts = [i.text for i in dev.items if i.speaker == "patient" and is_nonracial_account(i)]
    contexts = [i.context or "" for i in replies] + [c for c, _ in ordinary] + accounts
    texts = [i.text for i in replies] + [r for _, r in ordinary] + [VALIDATING] * len(accounts)
    codes = classifier.code_patient_turns(contexts, race_themed)
    flagged_accounts = sum(code.moment is not None for code in codes[len(contexts) - len(accounts) :])
    allowed = int(NONRACIAL_BUDGET * len(accounts)) - flagged_accounts
    candidates, p_moment, responsive = classifier.reveal_evidence(texts, contexts, codes, FLOORS[0])
    if not candidates:
        return dict(NEVER), 0.0
    mine: list[str] = [texts[n] for n in candidates]
    told: list[str | None] = [contexts[n] for n in candidates]
    as_reply = classifier.code_replies(mine, told, "immediate")
    as_is = classifier.code_replies(mine, told, "standalone")
    is_reply = np.array([n < len(replies) for n in candidates])
    is_account = np.array([n >= len(contexts) - len(accounts) for n in candidates])
    gain = np.array(
        [
            int(a.group == group_of(replies[n].response)) - int((b.group or "neutral") == group_of(replies[n].response))
            if reply
            else (0 if account else -1)
            for n, a, b, reply, account in zip(candidates, as_reply, as_is, is_reply, is_account)
        ]
    )
    scores = {}
    for floor in FLOORS:
        for needed in REVEALING:
            revealed = (p_moment >= floor) & (responsive >= needed)
            if int((revealed & is_account).sum()) <= max(allowed, 0):
                scores[float(floor), float(needed)] = (int(gain[revealed].sum()), -int(revealed.sum()), floor, needed)
    if not scores:
        return dict(NEVER), 0.0
    floor, needed = max(scores, key=lambda key: scores[key])
    if scores[floor, needed][0] <= 0:
        return dict(NEVER), 0.0
    revealed = (p_moment >= floor) & (responsive >= needed)
    right = sum(replies[n].answers_moment() for n, r, reply in zip(candidates, revealed, is_reply) if r and reply)
    confidence = (right + 1) / (int(revealed.sum()) + 2)
    return {"revealed_floor": floor, "revealed": needed}, round(float(confidence), 3)


def cue_matching(sentences: SentenceEmbeddings, dev: DevData) -> tuple[float, tuple[float, float]]:
    """The similarity at which a turn says a scripted cue line, and its calibration: dev paraphrases
    of each scenario's cues against dev turns that are no moment and the dev clinical dialogue."""
    from sklearn.linear_model import LogisticRegression

    paraphrases = [i for i in dev.items if i.scenario]
    contexts: dict[str, CaseContext] = {
        s: case_context_of(find_scenario(s)) for s in sorted({i.scenario for i in paraphrases if i.scenario})
    }
    others = [i.text for i, label in case_items(dev.items, "race_themed") if label == "none"]
    others += [t.text for t in dev.spoken_by("patient")]
    scores, truth = [], []
    for scenario, context in contexts.items():
        mine = [i.text for i in paraphrases if i.scenario == scenario]
        similarity = sentences.similarity(mine + others, [cue.text for cue in context.cues]).max(axis=1)
        scores += list(similarity)
        truth += [True] * len(mine) + [False] * len(others)
    s, t = np.array(scores), np.array(truth)
    threshold = max(GRID, key=lambda x: (f1(t, s >= x), x))
    fit = LogisticRegression(C=1.0).fit(s.reshape(-1, 1), t)
    return float(threshold), (round(float(fit.coef_[0, 0]), 4), round(float(fit.intercept_[0]), 4))
