"""Racially charged moments in patient turns, and the code of the provider's turns.

Two fine-tuned encoders (analysis/encoder.py, built by `encounter train` from `models/corpus/`)
give three sets of probabilities: `models/classifier.onnx` reads patient turns (the two moment
heads), `models/replies.onnx` reads provider turns with their context (the response head):

- **moments, general case** (`general`): is the patient turn a racially charged moment, and
  which of the five labels? Taxonomy v1: the turn must refer to race. The encoder's verdict
  is only taken for a turn that does (analysis/race_reference.py) and says more than a word or
  two (`MIN_WORDS`): most turns of a real visit are not moments, and faculty stop trusting
  flags that are wrong. An implicit reference ("assume", "trust", "discriminated") needs a
  much surer encoder than an explicit one (`thresholds`);
- **moments, race-themed case** (`race_themed`): taxonomy v1.1. When the scenario says the SP
  presents racial challenges, dismissal, being labelled, a challenge to the provider's fairness
  or group mistrust are moments with no race word: the case supplies the racial context. The
  head's P(moment) is averaged there with a linear reading of the stock sentence embedding
  (analysis/sentence_moments.py), which reads challenges told in new words better. In
  either case an account that names another ground of unfair treatment and nothing
  race-coded ("because I'm a woman", "in a wheelchair") is no moment. A
  patient turn that says a scripted cue line in other words (sentence embeddings, `sentences`)
  is flagged with the scripted label, and one the encoder is unsure of that says one of the
  implicit challenges every race-themed case has (analysis/implicit_challenges.py), in the whole
  turn or in one of its sentences (`SentenceEmbeddings.said`), is flagged with the encoder's
  label. A turn the encoder is unsure of is also flagged when the provider's next turn answers
  it as a challenge (`revealed_moments`): "They should have believed you,
  that's on them." says what the patient had just told, as a human coder hears it;
- **responses** (`response`): the provider's turn *read together with* the turn it answers, as
  a sentence pair, so the encoder can tell a question that presupposes the patient's fault
  ("what did you say to set him off?") from one that invites the story ("what happened
  next?"), a colloquial acknowledgement ("wow, that's wrong") from dismissal, a reflection
  ("so you feel it was because of your race") from doubt. How a provider turn is read depends
  on where it stands (`RELATIONS`): the first turn after a moment is coded with every label;
  later turns in a moment's window only when they are clearly coded (never `deflecting`: the
  moment was already answered); any other turn only when it is itself a microaggression
  (`STANDALONE` labels: a stereotyping remark, a colour-blind statement, ...). A scenario
  may list replies that would be microaggressions in its challenge's situation although they
  name no race (`ScriptedCue.microaggressions`): a turn in the window that says one of them
  in other words, and that the encoder reads as more likely a microaggression than not
  (`SCRIPTED_EVIDENCE`), earns the scripted label. The case's author knows what the
  situation makes of a remark; the encoder only checks that it is one.

Probabilities are calibrated on the dev split (temperature scaling per head), so a
confidence means what it says: of the codes given 80%, about 8 in 10 were right on text the
model had not seen.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from encounter_feedback.analysis.condemned_clinician import CONFIDENCE as CONDEMNED_CONFIDENCE
from encounter_feedback.analysis.condemned_clinician import EXCUSED, condemns_clinician
from encounter_feedback.analysis.encoder import OnnxEncoder, plain_punctuation
from encounter_feedback.analysis.implicit_challenges import IMPLICIT_CHALLENGES
from encounter_feedback.analysis.interjections import DISMAY_CONFIDENCE, is_dismay
from encounter_feedback.analysis.named_feelings import CONFIDENCE as NAMED_FEELING_CONFIDENCE
from encounter_feedback.analysis.named_feelings import names_feeling_empathically
from encounter_feedback.analysis.race_reference import Reference, names_another_ground, race_reference
from encounter_feedback.analysis.sentence_moments import FILE as SENTENCE_MOMENTS_FILE
from encounter_feedback.analysis.sentence_moments import SentenceMoments, blend
from encounter_feedback.errors import UserError
from encounter_feedback.resources import bundled_dir
from encounter_feedback.scenarios import Scenario
from encounter_feedback.taxonomy import CASES, MOMENT_LABELS, RESPONSE_LABELS, STANDALONE, group_of

MODELS_DIR = bundled_dir("models")
NONE = "none"
"""The class name standing for `None` (no moment, or neutral talk) inside the models."""
MOMENT_CLASSES = (NONE, *MOMENT_LABELS)
RESPONSE_CLASSES = (NONE, *RESPONSE_LABELS)
RESPONSE_GROUPS = np.array([group_of(None if label == NONE else label) for label in RESPONSE_CLASSES])
"""Each response class's group (`neutral` for `none`), in class order."""
HEADS = {"general": MOMENT_CLASSES, "race_themed": MOMENT_CLASSES, "response": RESPONSE_CLASSES}
"""The encoder's outputs and their classes, in order."""
RELATIONS = ("immediate", "later", "standalone")
"""Where a provider turn stands: the first turn after a moment, a later turn in its window, or
no moment open (screened for a microaggression of its own)."""
AFTER_MOMENT = "[challenge] "
"""Put before the context of a provider turn that answers a moment, so the encoder reads the turn
as a reply to a racial challenge (a clinical question there is `deflecting`, elsewhere neutral) and
need not work out from the words alone what the case already says."""
STAND_IN_MOMENT = "The last doctor didn't take me seriously, and I think it's because I'm Black."
"""A typical challenge: the context a reply to a moment is read after when the moment's words are
not given (an `encounter classify` line with `"context_moment": true` and no context; a published
list of replies), and its second reading when they are (`read_replies`). The reply encoder learned
replies after a challenge's words, never after none: on the dev replies with their contexts taken
away it reads groups at 0.957 after this line (0.954 after another generic one) against 0.912
after nothing, and 0.952 with their own contexts."""
SCRIPTED_EVIDENCE = 0.5
"""P(microaggression) a provider turn that says one of its challenge's scripted microaggressions
needs to earn the scripted label: more likely than not. The similarity needed is the cue
threshold chosen on dev (`thresholds["cue"]`): saying the same thing as a scripted line."""
MIN_WORDS = 3
"""A moment says something: a one- or two-word turn ("White.", "Black, yes") answers an intake
question, a neutral demographic."""


class ClassifierError(UserError):
    """The trained artifact is missing or unreadable; says how to rebuild it."""


_SPLIT_CONTRACTIONS = re.compile(r"\b(do|does|did|is|are|was|were|ca|wo|could|would|should|have|has|had|ai) n't\b")
_SPLIT_GOING = re.compile(r"\b(gon|wan|got) (na|ta)\b")


def normalize_text(text: str) -> str:
    """Lowercase, apostrophes dropped, other punctuation to spaces: "I've." -> "ive".

    Transcripts tokenized the Penn Treebank way ("do n't", "gon na") are joined back first.
    """
    text = plain_punctuation(text).lower()
    text = _SPLIT_GOING.sub(r"\1\2", _SPLIT_CONTRACTIONS.sub(r"\1n't", text)).replace("'", "")
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def could_be_moment(text: str, case: str = "general") -> bool:
    """Whether a turn can be a moment at all: it says more than a word or two, is not an account
    of unfair treatment on another ground that it names (sexism, ableism, ...: not this label in
    any case), and, in a general case, refers to race."""
    normalized = normalize_text(text)
    if len(normalized.split()) < MIN_WORDS or names_another_ground(normalized):
        return False
    return case == "race_themed" or race_reference(normalized) != Reference.NONE


@dataclass(frozen=True)
class ScriptedCue:
    """A challenge the scenario scripts: the line the SP says (or the situation), and its label."""

    label: str
    text: str
    window: float | None = None
    """Seconds after the challenge during which the provider's turns answer it (None: the default)."""
    situational: bool = False
    """The challenge is the situation (say, a Black mother of five asking about fertility
    treatment), not a line that challenges the provider: replies are read after an ordinary
    request, so a fitting clinical question is no change of subject."""
    microaggressions: tuple[tuple[str, str], ...] = ()
    """(response label, example line): replies the scenario says would be microaggressions here."""


@dataclass(frozen=True)
class CaseContext:
    """How to read an encounter's patient turns: the case (`general` or `race_themed`) and the
    scripted challenges whose cue lines count as moments in other words too."""

    case: str = "general"
    cues: tuple[ScriptedCue, ...] = ()

    def __post_init__(self) -> None:
        if self.case not in CASES:
            raise ValueError(f"case must be one of {CASES}, got {self.case!r}")

    def cue(self, index: int | None) -> ScriptedCue | None:
        """The scripted challenge a patient turn was matched to (`Coding.cue`), if any."""
        return None if index is None else self.cues[index]


GENERAL = CaseContext()


SITUATION_WINDOW_S = 180.0
"""How long a situational challenge stays open when its scenario does not say."""


def case_context_of(scenario: Scenario | None) -> CaseContext:
    """How an encounter of this scenario is read: its case, and its scripted challenges' cue lines
    (a situational challenge stays open longer); no scenario is a general case."""
    if scenario is None:
        return GENERAL
    cues = tuple(
        ScriptedCue(
            c.label,
            c.cue,
            c.window or (SITUATION_WINDOW_S if c.kind == "situational" else None),
            c.kind == "situational",
            tuple((m.label, m.text) for m in c.microaggressions),
        )
        for c in scenario.challenges
    )
    return CaseContext("race_themed" if scenario.race_themed else "general", cues)


@dataclass(frozen=True)
class Coding:
    """One utterance's codes: the `encounter classify` output line."""

    moment: str | None
    response: str | None
    group: str | None
    confidence: float
    """Calibrated probability that the code is right (for no code: that there is none)."""
    cue: int | None = None
    """The scripted challenge (index into the case's cues) a patient turn was matched to."""
    implicit_line: bool = False
    """A moment flagged only because it says an implicit challenge line, the encoder unsure: while
    a moment is open, the patient's story going on rather than a new challenge (analysis/annotator.py)."""
    revealed: bool = False
    """A patient turn: flagged only because the provider's reply answered it as a challenge
    (`Classifier.revealed_moments`). A provider turn: coded as the reply to such a moment."""
    relation: str | None = None
    """A provider turn's place (`RELATIONS`): coded as the first reply to a moment, as a later turn
    in its window, or screened with no moment before it (`standalone`); None for a patient turn.
    `encounter classify` says it, so a researcher sees when a reply was screened because its
    context was not read as a moment (and can say it was one: `context_moment`)."""

    def to_dict(self) -> dict[str, Any]:
        body = {
            "moment": self.moment,
            "response": self.response,
            "group": self.group,
            "confidence": round(self.confidence, 3),
        }
        if self.cue is not None:
            body["scripted"] = True
        if self.implicit_line:
            body["implicit_challenge"] = True
        if self.revealed:
            body["revealed_moment"] = True
        if self.relation is not None:
            body["relation"] = self.relation
        return body


class TurnModel(Protocol):
    """What the classifier needs from a trained model: the logits of each head (`HEADS`)."""

    def patient_logits(self, texts: list[str]) -> dict[str, np.ndarray]:
        """`general` and `race_themed` logits, each (n, len(MOMENT_CLASSES))."""
        ...

    def reply_logits(self, contexts: list[str], replies: list[str]) -> np.ndarray:
        """`response` logits, (n, len(RESPONSE_CLASSES)), each reply read after its context."""
        ...


class EncoderModel:
    """The fine-tuned encoders in `models/`: `classifier.onnx` for patient turns, `replies.onnx` for
    provider turns read with their context (training/train.py says why two). A patient turn's
    logits are kept for the last `CACHED` turns: reading it in the other case costs nothing."""

    CACHED = 2048

    def __init__(self, directory: Path = MODELS_DIR, threads: int = 1) -> None:
        self.encoder = OnnxEncoder(directory / "classifier.onnx", directory / "tokenizer.json", threads)
        self.replies = OnnxEncoder(directory / "replies.onnx", directory / "tokenizer.json", threads)
        self._cache: OrderedDict[str, dict[str, np.ndarray]] = OrderedDict()

    def patient_logits(self, texts: list[str]) -> dict[str, np.ndarray]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            out = self.encoder.run(missing)
            for n, text in enumerate(missing):
                self._cache[text] = {head: out[head][n] for head in ("general", "race_themed")}
        rows = [self._cache[t] for t in texts]
        for text in texts:
            self._cache.move_to_end(text)
        while len(self._cache) > max(self.CACHED, len(texts)):
            self._cache.popitem(last=False)
        return {
            head: np.stack([r[head] for r in rows]) if rows else np.zeros((0, 6)) for head in ("general", "race_themed")
        }

    def reply_logits(self, contexts: list[str], replies: list[str]) -> np.ndarray:
        return self.replies.run(contexts, replies)["response"]


class SentenceEmbeddings:
    """The stock sentence encoder in `models/sentences.onnx`; cue lines' embeddings are cached."""

    def __init__(self, directory: Path = MODELS_DIR) -> None:
        self.encoder = OnnxEncoder(directory / "sentences.onnx", directory / "tokenizer.json")
        self._cache: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.encoder.run(texts)["embedding"]

    def similarity(self, texts: list[str], lines: Sequence[str]) -> np.ndarray:
        """Cosine similarity of each text to each scripted line, (len(texts), len(lines))."""
        return self.against(self.embed(texts), lines)

    def against(self, embeddings: np.ndarray, lines: Sequence[str]) -> np.ndarray:
        """`similarity` for texts already embedded (`embed`), so one turn is embedded once."""
        missing = [line for line in lines if line not in self._cache]
        if missing:
            self._cache.update(zip(missing, self.embed(missing)))
        return embeddings @ np.stack([self._cache[line] for line in lines]).T

    def said(self, texts: list[str], lines: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        """How closely each turn says its closest line: the best similarity of the whole turn or of
        any of its sentences (`sentences_of`) to any line, (len(texts),). Why: a line states one
        challenge in one sentence, while a turn often tells a story first ("... everybody just says
        it's stress. I need you to take me seriously this time."), and a whole-turn embedding
        dilutes the sentence that says it. `embeddings`: the turns', when already made."""
        whole = self.against(self.embed(texts) if embeddings is None else embeddings, lines).max(axis=1)
        parts = [(i, sentence) for i, text in enumerate(texts) for sentence in sentences_of(text)]
        if not parts:
            return whole
        by_sentence = self.against(self.embed([sentence for _, sentence in parts]), lines).max(axis=1)
        for (i, _), similarity in zip(parts, by_sentence):
            whole[i] = max(whole[i], similarity)
        return whole


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentences_of(text: str) -> list[str]:
    """The sentences of a turn that says more than one, each of at least `MIN_WORDS` words ([] for a
    one-sentence turn, or one with no sentence punctuation, as a transcript without it)."""
    sentences = [s for s in _SENTENCE_END.split(text.strip()) if len(normalize_text(s).split()) >= MIN_WORDS]
    return sentences if len(sentences) > 1 else []


def likeliest_moment(p: np.ndarray) -> int:
    """The index (into `MOMENT_CLASSES`) of the likeliest moment label in one turn's P(class), `none` aside."""
    return 1 + int(np.argmax(p[1:]))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


@dataclass
class Settings:
    """What `encounter train` chose on the dev split; stored as `models/classifier.json`."""

    temperatures: dict[str, float]
    """Per head: logits are divided by this before the softmax (calibration)."""
    thresholds: dict[str, float]
    """`explicit`, `implicit`: P(moment) a general-case turn needs, by how it refers to race;
    `race_themed`: P(moment) in a race-themed case, and `challenge`, `challenge_floor`: the
    similarity to an implicit challenge line and the P(moment) that flag a turn below it;
    `revealed_floor`, `revealed`: the P(moment) a race-themed turn left unflagged needs, and the
    P(responsive) the provider's next turn needs when read as its reply, for that reply to reveal
    it as a moment (`Classifier.revealed_moments`; a floor of 1.0: never);
    `later`, `standalone`: the evidence (`relation_evidence`) a provider turn needs to be coded
    outside its first reply to a moment; `cue`: cosine similarity to a scripted cue line."""
    cue_calibration: tuple[float, float]
    """P(a turn at similarity s says the cue) = sigmoid(a * s + b), fitted on the dev split."""
    challenge_confidence: float
    """How often a moment flagged by an implicit challenge line had the right label on the dev split
    (the encoder's own probability, under its threshold, would understate it)."""
    stand_in_weight: float
    """How much a reply's reading after a typical challenge counts against its reading after the
    moment's own words (`read_replies`)."""
    revealed_confidence: float
    """How often a moment revealed by its reply was one on the dev split (its confidence, as
    `challenge_confidence` is for the lines)."""
    sentence_weight: float = 1.0
    """How much the race-themed head's P(moment) counts against the sentence reading's
    (analysis/sentence_moments.py); 1.0: the head alone."""
    info: dict[str, Any] = field(default_factory=dict)
    """Corpus hash, versions, what was compared and the metrics, written by `encounter train`."""

    def save(self, path: Path) -> None:
        body = {
            "temperatures": self.temperatures,
            "thresholds": self.thresholds,
            "cue_calibration": list(self.cue_calibration),
            "challenge_confidence": self.challenge_confidence,
            "stand_in_weight": self.stand_in_weight,
            "revealed_confidence": self.revealed_confidence,
            "sentence_weight": self.sentence_weight,
            "info": self.info,
        }
        path.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Settings:
        if not path.is_file():
            raise ClassifierError(
                f"no trained classifier at {path}: run `encounter train` to build it from models/corpus"
            )
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                body["temperatures"],
                body["thresholds"],
                tuple(body["cue_calibration"]),
                body["challenge_confidence"],
                body["stand_in_weight"],
                body["revealed_confidence"],
                body["sentence_weight"],
                body["info"],
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ClassifierError(
                f"{path} is not a classifier of this version ({exc}): run `encounter train`"
            ) from None


class Classifier:
    """Moments and responses from a trained `TurnModel` and the `Settings` chosen for it (see the module doc)."""

    def __init__(
        self,
        model: TurnModel,
        settings: Settings,
        sentences: SentenceEmbeddings | None = None,
        sentence_moments: SentenceMoments | None = None,
    ) -> None:
        self.model = model
        self.settings = settings
        self._sentences = sentences
        self.sentence_moments = sentence_moments
        if settings.sentence_weight < 1.0 and sentence_moments is None:
            raise ClassifierError(
                f"the settings weigh in the sentence reading ({SENTENCE_MOMENTS_FILE}), which is missing:"
                " run `encounter train`"
            )

    @classmethod
    def load(cls, directory: Path = MODELS_DIR) -> Classifier:
        path = directory / SENTENCE_MOMENTS_FILE
        return cls(
            EncoderModel(directory),
            Settings.load(directory / "classifier.json"),
            SentenceEmbeddings(directory),
            SentenceMoments.load(path) if path.is_file() else None,
        )

    @property
    def info(self) -> dict[str, Any]:
        return self.settings.info

    @cached_property
    def sentences(self) -> SentenceEmbeddings:
        return self._sentences or SentenceEmbeddings()

    # -- patient turns ----------------------------------------------------------------------

    def moment_probabilities(
        self, texts: list[str], case: str = "general", embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        """Calibrated P(class) over `MOMENT_CLASSES` per turn, in the case's head; in a race-themed
        case averaged with the sentence reading (`blend`). `embeddings`: the turns' sentence
        embeddings, when already made."""
        if not texts:
            return np.zeros((0, len(MOMENT_CLASSES)))
        probs = softmax(self.model.patient_logits(texts)[case], self.settings.temperatures[case])
        if not self._blends(case):
            return probs
        assert self.sentence_moments is not None  # checked on construction
        embeddings = self.sentences.embed(texts) if embeddings is None else embeddings
        return blend(probs, self.sentence_moments.probability(embeddings), self.settings.sentence_weight)

    def _blends(self, case: str) -> bool:
        return case == "race_themed" and self.settings.sentence_weight < 1.0

    def code_patient_turns(self, texts: list[str], case_context: CaseContext = GENERAL) -> list[Coding]:
        """The moment (or None) of each patient turn, read in the case (see the module doc)."""
        # embed every turn once when the cue lines or the sentence reading need it
        wanted = bool(texts) and (bool(case_context.cues) or self._blends(case_context.case))
        embeddings = self.sentences.embed(texts) if wanted else None
        probs = self.moment_probabilities(texts, case_context.case, embeddings)
        needed = np.array([self._needed(t, case_context.case) for t in texts])
        flagged = (1.0 - probs[:, 0]) >= needed
        out = []
        for p, flag in zip(probs, flagged):
            best = likeliest_moment(p)
            out.append(
                Coding(MOMENT_CLASSES[best], None, None, float(p[best]))
                if flag
                else Coding(None, None, None, float(p[0]))
            )
        if case_context.case == "race_themed":
            out = self._match_challenges(texts, probs, np.isfinite(needed), out, embeddings)
        if case_context.cues and embeddings is not None:
            out = self._match_cues(texts, case_context, probs, out, embeddings)
        return out

    def _needed(self, text: str, case: str) -> float:
        """P(moment) the turn needs to be flagged; infinite where it cannot be a moment."""
        if not could_be_moment(text, case):
            return np.inf
        if case == "race_themed":
            return self.settings.thresholds["race_themed"]
        return self.settings.thresholds[race_reference(normalize_text(text)).name.lower()]

    def _match_challenges(
        self,
        texts: list[str],
        probs: np.ndarray,
        possible: np.ndarray,
        codes: list[Coding],
        embeddings: np.ndarray | None,
    ) -> list[Coding]:
        """In a race-themed case, a turn the encoder left unflagged but finds likely enough to be a
        moment (`challenge_floor`) is one when it says an implicit challenge every such case has
        (`IMPLICIT_CHALLENGES`, similarity `challenge`), with the encoder's label; its confidence is
        how often such flags were right on dev. `possible`: which turns can be a moment at all
        (`could_be_moment`, as `_needed` found); `embeddings`: every turn's, when already made;
        otherwise only the candidates are embedded."""
        floor, needed = self.settings.thresholds["challenge_floor"], self.settings.thresholds["challenge"]
        candidates = [
            i for i, code in enumerate(codes) if code.moment is None and possible[i] and 1.0 - probs[i, 0] >= floor
        ]
        if not candidates:
            return codes
        similarity = self.sentences.said(
            [texts[i] for i in candidates], IMPLICIT_CHALLENGES, None if embeddings is None else embeddings[candidates]
        )
        out = list(codes)
        for i, said in zip(candidates, similarity):
            if said >= needed:
                best = likeliest_moment(probs[i])
                out[i] = Coding(
                    MOMENT_CLASSES[best], None, None, self.settings.challenge_confidence, implicit_line=True
                )
        return out

    def _match_cues(
        self,
        texts: list[str],
        case_context: CaseContext,
        probs: np.ndarray,
        codes: list[Coding],
        embeddings: np.ndarray,
    ) -> list[Coding]:
        """A turn close enough to a scripted cue line is that challenge, with the scripted label."""
        cues = case_context.cues
        similarity = self.sentences.against(embeddings, [cue.text for cue in cues])
        a, b = self.settings.cue_calibration
        out = list(codes)
        for i, row in enumerate(similarity):
            best = int(np.argmax(row))
            if row[best] < self.settings.thresholds["cue"] or len(normalize_text(texts[i]).split()) < MIN_WORDS:
                continue
            label = cues[best].label
            matched = 1.0 / (1.0 + np.exp(-(a * row[best] + b)))
            out[i] = Coding(label, None, None, float(max(matched, probs[i, MOMENT_CLASSES.index(label)])), cue=best)
        return out

    # -- provider turns ---------------------------------------------------------------------

    def response_probabilities(
        self, replies: list[str], contexts: list[str | None], after_moment: bool = True
    ) -> np.ndarray:
        """Calibrated P(class) over `RESPONSE_CLASSES` per reply, read after its context turn (a moment,
        or ordinary talk)."""
        if not replies:
            return np.zeros((0, len(RESPONSE_CLASSES)))
        logits = read_replies(
            self.model, replies, contexts, [after_moment] * len(replies), self.settings.stand_in_weight
        )
        return softmax(logits, self.settings.temperatures["response"])

    def code_replies(
        self,
        replies: list[str],
        contexts: list[str | None],
        relation: str = "immediate",
        challenged: bool = True,
        cues: Sequence[ScriptedCue | None] = (),
    ) -> list[Coding]:
        """The code of each provider turn, standing in `relation` to a moment (`RELATIONS`): after
        `immediate`, None means neutral; after `later` and `standalone`, None means nothing to code.
        `challenged`: whether the moment's words challenged the provider (not so for a situational
        challenge, `ScriptedCue.situational`), which is how the context is marked for the encoder.
        `cues`: per turn, the scripted challenge its moment was matched to (None: none), whose
        scripted microaggressions the turn is also checked against. A first reply to a challenge
        that the encoder cannot read is coded by rule (`first_reply_by_rule`); after a situational
        challenge it is not ("Wow." to a mother of five)."""
        probs = self.response_probabilities(replies, contexts, after_moment=challenged and relation != "standalone")
        best, evidence = relation_evidence(probs, relation)
        out = []
        for p, k, e in zip(probs, best, evidence):
            if relation != "immediate" and e < self.settings.thresholds[relation]:
                k = 0
            response = None if k == 0 else RESPONSE_CLASSES[k]
            out.append(Coding(None, response, group_of(response), float(p[k])))
        if relation == "immediate" and challenged:
            out = [first_reply_by_rule(reply, code) for reply, code in zip(replies, out)]
        if relation != "standalone" and replies:
            for cue in {cue for cue in cues if cue is not None and cue.microaggressions}:
                mine = [i for i, c in enumerate(cues) if c == cue]
                for i, code in zip(mine, self._scripted([replies[i] for i in mine], probs[mine], cue)):
                    out[i] = code or out[i]
        return [replace(code, relation=relation) for code in out]

    def scripted_lines_said(self, replies: list[str], cue: ScriptedCue) -> list[int | None]:
        """Per turn, which of the challenge's scripted microaggressions it says in other words (an
        index into `cue.microaggressions`; None: none), by the dev-chosen cue threshold."""
        similarity = self.sentences.similarity(replies, [line for _, line in cue.microaggressions])
        best = np.argmax(similarity, axis=1)
        said = similarity[np.arange(len(replies)), best] >= self.settings.thresholds["cue"]
        return [int(b) if ok else None for b, ok in zip(best, said)]

    def _scripted(self, replies: list[str], probs: np.ndarray, cue: ScriptedCue) -> list[Coding | None]:
        """Per turn, the scripted label it earns (None: none): it says one of the challenge's
        scripted microaggressions, and the encoder reads it as more likely a microaggression than
        not; the confidence is that probability."""
        microaggression = probs[:, RESPONSE_GROUPS == "microaggression"].sum(axis=1)
        out: list[Coding | None] = []
        for line, p in zip(self.scripted_lines_said(replies, cue), microaggression):
            label = None if line is None or p < SCRIPTED_EVIDENCE else cue.microaggressions[line][0]
            out.append(None if label is None else Coding(None, label, group_of(label), float(p)))
        return out

    def revealed_moments(
        self,
        replies: Sequence[str],
        contexts: Sequence[str | None],
        context_codes: Sequence[Coding],
        case_context: CaseContext,
    ) -> list[Coding | None]:
        """Per provider turn, the moment its reply reveals in the patient turn it answers (None: none).

        In a race-themed case, a turn that could be a moment, that the encoder left unflagged
        (`context_codes`) but finds likely enough (`revealed_floor`), is one when the provider's
        reply, read as a reply to a challenge, is responsive (`revealed`): "They should have
        believed you, that's on them." after "I told them I was hurting and they said they didn't
        see anything wrong with me." A missed moment is a missed reply, and the encoder misses
        short reports of mistreatment told in words unlike the corpus's; the reply says what the
        turn was. Only responsive replies reveal: a clinical question after ordinary talk reads as
        `deflecting` after a challenge, and would reveal every symptom. The label is the
        encoder's likeliest; the confidence is how often dev flags of this kind were right."""
        out: list[Coding | None] = [None] * len(replies)
        if case_context.case != "race_themed":
            return out
        floor, needed = self.settings.thresholds["revealed_floor"], self.settings.thresholds["revealed"]
        candidates, _, responsive = self.reveal_evidence(replies, contexts, context_codes, floor)
        shown = [i for i, evidence in zip(candidates, responsive) if evidence >= needed]
        if shown:
            moments = self.moment_probabilities([contexts[i] or "" for i in shown], case_context.case)
            for i, p in zip(shown, moments):
                label = MOMENT_CLASSES[likeliest_moment(p)]
                out[i] = Coding(label, None, None, self.settings.revealed_confidence, revealed=True)
        return out

    def code_answered_turns(
        self, texts: list[str], replies: Sequence[str | None], case_context: CaseContext = GENERAL
    ) -> list[Coding]:
        """`code_patient_turns`, with each turn the provider's next turn (`replies`; None: none)
        reveals as a moment (`revealed_moments`) coded as that moment."""
        codes = self.code_patient_turns(texts, case_context)
        heard = [n for n, reply in enumerate(replies) if reply is not None]
        shown = self.revealed_moments(
            [replies[n] or "" for n in heard], [texts[n] for n in heard], [codes[n] for n in heard], case_context
        )
        for n, code in zip(heard, shown):
            codes[n] = code or codes[n]
        return codes

    def reveal_evidence(
        self, replies: Sequence[str], contexts: Sequence[str | None], context_codes: Sequence[Coding], floor: float
    ) -> tuple[list[int], np.ndarray, np.ndarray]:
        """What `revealed_moments` decides on (and `calibrate.revealed_thresholds` chooses its
        thresholds from): the turns a reply could reveal, race-themed turns that could be a moment,
        left unflagged, with P(moment) >= `floor`; their P(moment); and the P(responsive) of each
        reply read as answering a challenge."""
        p_moment = [1.0 - code.confidence for code in context_codes]  # an unflagged code's confidence: P(none)
        candidates = [
            i
            for i, (context, code) in enumerate(zip(contexts, context_codes))
            if context and code.moment is None and p_moment[i] >= floor and could_be_moment(context, "race_themed")
        ]
        if not candidates:
            return [], np.zeros(0), np.zeros(0)
        probs = self.response_probabilities([replies[i] for i in candidates], [contexts[i] for i in candidates])
        responsive = probs[:, RESPONSE_GROUPS == "responsive"].sum(axis=1)
        return candidates, np.array([p_moment[i] for i in candidates]), responsive

    def code_provider_turns(
        self,
        replies: list[str],
        contexts: list[str | None],
        case_context: CaseContext = GENERAL,
        context_moments: list[bool] | None = None,
    ) -> list[Coding]:
        """Each provider turn coded as the first reply to its context turn where that turn is a
        moment in the case, else screened for a microaggression of its own. `context_moments`
        says which contexts are moments instead (a researcher's, or a corpus item's, knowledge):
        the contexts are then not read. A context left unflagged that its reply reveals as a
        moment (`revealed_moments`) is one, and the reply's code says so (`revealed`)."""
        cues: list[ScriptedCue | None] = [None] * len(replies)
        revealed: set[int] = set()
        if context_moments is None:
            given = [i for i, c in enumerate(contexts) if c and c.strip()]
            moments = self.code_answered_turns(
                [contexts[i] or "" for i in given], [replies[i] for i in given], case_context
            )
            revealed = {i for i, code in zip(given, moments) if code.revealed}
            after_moment = {i for i, code in zip(given, moments) if code.moment is not None}
            for i, code in zip(given, moments):
                cues[i] = case_context.cue(code.cue)
        else:
            after_moment = {i for i, is_moment in enumerate(context_moments) if is_moment}
        situational = {i for i, cue in enumerate(cues) if cue is not None and cue.situational}
        out: list[Coding | None] = [None] * len(replies)
        for relation, challenged, indices in (
            ("immediate", True, sorted(after_moment - situational)),
            ("immediate", False, sorted(situational)),
            ("standalone", False, [i for i in range(len(replies)) if i not in after_moment]),
        ):
            codes = self.code_replies(
                [replies[i] for i in indices],
                [contexts[i] for i in indices],
                relation,
                challenged,
                [cues[i] for i in indices],
            )
            for i, code in zip(indices, codes):
                out[i] = replace(code, revealed=i in revealed)
        return [code for code in out if code is not None]

    def classify(
        self, speaker: str, text: str, context: str | None = None, case_context: CaseContext = GENERAL
    ) -> Coding:
        """Code one utterance: a patient turn for moments, a provider turn for its response."""
        if speaker == "patient":
            return self.code_patient_turns([text], case_context)[0]
        return self.code_provider_turns([text], [context], case_context)[0]


def read_replies(
    model: TurnModel,
    replies: Sequence[str],
    contexts: Sequence[str | None],
    answers_moment: Sequence[bool],
    stand_in_weight: float,
) -> np.ndarray:
    """The response head's logits for each provider turn, read after the turn it answers (marked
    when that answers a moment: `reply_context`).

    A reply to a moment is read twice, after the moment's words and after a typical challenge
    (`STAND_IN_MOMENT`), and the two readings' logits are averaged, the second weighted
    `stand_in_weight` (chosen on dev, `calibrate.stand_in_weight`). A moment told in words unlike
    the corpus's can pull the pair encoder off the reply; the stand-in is a challenge it knows, so
    the second reading rests on what the reply itself does to a challenge. The first keeps what
    only the moment's words can say: "You're right, I made an assumption, and I'm sorry. Let's
    focus on your knee." is accountability after "why would you assume I'm looking for pills?",
    and after the stand-in the move back to the knee reads as deflecting. A reply whose moment's
    words are not given is read after the stand-in alone."""
    given = [bool(c and c.strip()) for c in contexts]
    firsts = [
        reply_context(c if g or not a else STAND_IN_MOMENT, a) for c, g, a in zip(contexts, given, answers_moment)
    ]
    twice = [n for n, (g, a) in enumerate(zip(given, answers_moment)) if g and a] if stand_in_weight else []
    logits = model.reply_logits(
        firsts + [reply_context(STAND_IN_MOMENT, True)] * len(twice), [*replies, *(replies[n] for n in twice)]
    )
    out = logits[: len(replies)].copy()
    out[twice] = (1.0 - stand_in_weight) * out[twice] + stand_in_weight * logits[len(replies) :]
    return out


def first_reply_by_rule(reply: str, code: Coding) -> Coding:
    """The code of a first reply to a challenge, where a closed word class says what the encoder
    cannot read: only an interjection of dismay ("Yikes.") is `validation`
    (analysis/interjections.py); a feeling named and checked or legitimized that the encoder
    took for `pathologizing` ("I'd be furious too. Is that close?") is `empathy`
    (analysis/named_feelings.py); the other clinician condemned, with no excuse beside it, that
    the encoder took for an excuse ("Some doctors are just jerks.") is `validation`
    (analysis/condemned_clinician.py)."""
    said = normalize_text(reply)
    if is_dismay(said):
        return Coding(None, "validation", group_of("validation"), DISMAY_CONFIDENCE)
    if code.response == "pathologizing" and names_feeling_empathically(said):
        return Coding(None, "empathy", group_of("empathy"), NAMED_FEELING_CONFIDENCE)
    if code.response in EXCUSED and condemns_clinician(said):
        return Coding(None, "validation", group_of("validation"), CONDEMNED_CONFIDENCE)
    return code


def reply_context(context: str | None, after_moment: bool) -> str:
    """The first part of a provider turn's input: the turn it answers, marked when that is a moment."""
    return (AFTER_MOMENT if after_moment else "") + (context or "")


def relation_candidates(relation: str) -> list[int]:
    """The classes a provider turn standing in `relation` is coded with (indices into `RESPONSE_CLASSES`):
    every class for the first reply to a moment; otherwise the labels it can earn there, kept when
    probable enough (`Settings.thresholds`)."""
    if relation == "immediate":
        return list(range(len(RESPONSE_CLASSES)))
    if relation == "later":
        return [RESPONSE_CLASSES.index(label) for label in RESPONSE_LABELS if label != "deflecting"]
    if relation == "standalone":
        return [RESPONSE_CLASSES.index(label) for label in STANDALONE]
    raise ValueError(f"relation must be one of {RELATIONS}, got {relation!r}")


def relation_evidence(probs: np.ndarray, relation: str) -> tuple[np.ndarray, np.ndarray]:
    """For each row of `probs` (a provider turn's response probabilities): its most probable class
    among `relation_candidates(relation)`, and the evidence that it earns a code there, the summed
    probability of the candidates in that class's group. A remark split between `stereotyping`
    and `pathologizing` is surely a microaggression, only its label is unsure: that is what the
    `later` and `standalone` thresholds ask."""
    candidates = np.array(relation_candidates(relation))
    best = candidates[np.argmax(probs[:, candidates], axis=1)]
    same_group = RESPONSE_GROUPS[candidates][None, :] == RESPONSE_GROUPS[best][:, None]
    return best, (probs[:, candidates] * same_group).sum(axis=1)
