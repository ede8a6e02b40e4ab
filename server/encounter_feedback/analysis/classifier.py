"""Racially charged moments in patient turns, and the code of the provider's reply.

Calibrated linear models over TF-IDF features of word and character n-grams, trained by
`encounter train` (training/train.py) from the corpus in `models/corpus/` and shipped as
`models/classifier.joblib`:

- the **moment detector** reads a patient turn: is it a racially charged moment at all? A turn
  is flagged only if it refers to race (analysis/race_reference.py), says more than a word or
  two (`MIN_WORDS`), and the detector is sure enough: `thresholds["explicit"]` when the
  reference is explicit, the much higher `thresholds["implicit"]` when it is only an implicit
  cue ("assume", "trust", "my name").
  Most turns of a real visit are not moments, and faculty stop trusting flags that are wrong;
- the **moment labeler** says which of the five moment labels a detected moment is;
- the **response model** reads a provider turn *and* the patient turn before it. A reply is
  coded relative to its context: "OK. Any allergies?" is neutral on its own and `deflecting`
  right after a moment. The context enters as its moment probability `m` (from the detector),
  and the reply's features appear twice, once plain and once scaled by `m`, so the linear
  model can weigh the same words differently after a moment: `[x, m*x, m]`.

Text is normalized the way ASR output looks (lowercase, no punctuation), so written and
transcribed turns meet the same features.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from encounter_feedback.analysis.race_reference import Reference, race_reference
from encounter_feedback.errors import UserError
from encounter_feedback.resources import bundled_dir
from encounter_feedback.taxonomy import group_of

ARTIFACT = bundled_dir("models") / "classifier.joblib"
NONE = "none"
"""The class name standing for `None` (no moment, or neutral talk) inside the models."""
MOMENT = "moment"
"""The detector's positive class."""


class ClassifierError(UserError):
    """The trained artifact is missing or was built for another scikit-learn; says how to rebuild it."""


_SPLIT_CONTRACTIONS = re.compile(r"\b(do|does|did|is|are|was|were|ca|wo|could|would|should|have|has|had|ai) n't\b")
_SPLIT_GOING = re.compile(r"\b(gon|wan|got) (na|ta)\b")


def normalize_text(text: str) -> str:
    """Lowercase, apostrophes dropped, other punctuation to spaces: "I've." -> "ive".

    Transcripts tokenized the Penn Treebank way ("do n't", "gon na") are joined back first.
    """
    text = text.lower().replace("\u2019", "'")
    text = _SPLIT_GOING.sub(r"\1\2", _SPLIT_CONTRACTIONS.sub(r"\1n't", text)).replace("'", "")
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


MIN_WORDS = 3
"""A moment says something about race: a one- or two-word turn ("White.", "Black, yes") answers
an intake question, a neutral demographic."""


def could_be_moment(normalized: str) -> bool:
    """Whether a (normalized) turn can be a moment at all: it refers to race and says more than a word or two."""
    return len(normalized.split()) >= MIN_WORDS and race_reference(normalized) != Reference.NONE


def detector_probability(detector: Any, normalized: list[str]) -> np.ndarray:
    """The detector's P(moment) for normalized turns, 0 for a turn that cannot be a moment."""
    if not normalized:
        return np.zeros(0)
    p_moment = detector.predict_proba(normalized)[:, list(detector.classes_).index(MOMENT)]
    return p_moment * np.array([could_be_moment(t) for t in normalized])


def response_features(reply_features: sp.spmatrix, context_moment: np.ndarray) -> sp.csr_matrix:
    """`[x, m*x, m]`: the reply's features, again scaled by the context's moment probability, and m."""
    m = sp.csr_matrix(context_moment.reshape(-1, 1))
    return sp.hstack([reply_features, reply_features.multiply(m), m], format="csr")


@dataclass(frozen=True)
class Coding:
    """One utterance's codes: the `encounter classify` output line."""

    moment: str | None
    response: str | None
    group: str | None
    confidence: float
    """Calibrated probability of the label given (of `None` when there is none)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "moment": self.moment,
            "response": self.response,
            "group": self.group,
            "confidence": round(self.confidence, 3),
        }


@dataclass
class Classifier:
    """The two trained models and what they were trained on (see the module doc)."""

    detector: Any
    """Pipeline: TF-IDF features -> calibrated logistic regression; classes `none` and `moment`."""
    labeler: Any
    """Pipeline: TF-IDF features -> calibrated logistic regression over the five moment labels."""
    reply_features: Any
    """TF-IDF features of a provider reply (fitted on provider turns)."""
    response_model: Any
    """Calibrated logistic regression over `response_features`; classes `none` + response labels."""
    thresholds: dict[str, float]
    """P(moment) a turn needs to be flagged, by how it refers to race: `explicit`, `implicit`."""
    info: dict[str, Any]
    """Corpus hash, metrics, versions: written by `encounter train`."""

    def save(self, path: Path = ARTIFACT) -> None:
        """Write the models as a dict of scikit-learn objects, so the artifact does not depend on
        where this class lives (a pickled dataclass would name its module)."""
        import joblib

        joblib.dump({f.name: getattr(self, f.name) for f in fields(self)}, path, compress=3)

    @classmethod
    def load(cls, path: Path = ARTIFACT) -> Classifier:
        import joblib
        import sklearn

        if not path.is_file():
            raise ClassifierError(
                f"no trained classifier at {path}: run `encounter train` to build it from models/corpus"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a version mismatch is reported below, in words
            parts = joblib.load(path)
        if not isinstance(parts, dict) or set(parts) != {f.name for f in fields(cls)}:
            raise ClassifierError(f"{path} is not a classifier artifact of this version: run `encounter train`")
        classifier = cls(**parts)
        built = classifier.info.get("sklearn", "")
        if built.split(".")[:2] != sklearn.__version__.split(".")[:2]:
            raise ClassifierError(
                f"{path} was built with scikit-learn {built}, this is {sklearn.__version__}: "
                "run `encounter train` to rebuild it (a few seconds, deterministic)"
            )
        return classifier

    def moment_probability(self, texts: list[str]) -> np.ndarray:
        """P(the turn is a moment of any label), per text; 0 for a turn that does not refer to race."""
        return self._detect(texts)[0]

    def _detect(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """P(moment) per turn, and whether it is flagged: it refers to race, and P(moment) reaches
        the threshold for how it does (`thresholds`)."""
        normalized = [normalize_text(t) for t in texts]
        p_moment = detector_probability(self.detector, normalized)
        needed = [self.thresholds.get(race_reference(t).name.lower(), np.inf) for t in normalized]
        return p_moment, p_moment >= np.array(needed)

    def code_patient_turns(self, texts: list[str]) -> list[Coding]:
        """The moment (or None) of each patient turn; confidence P(moment) * P(label | moment), or P(none)."""
        p_moment, flagged = self._detect(texts)
        out = [Coding(None, None, None, float(1.0 - p)) for p in p_moment]
        if flagged.any():
            indices = np.flatnonzero(flagged)
            labels = self.labeler.predict_proba([normalize_text(texts[i]) for i in indices])
            for i, row in zip(indices, labels):
                best = int(np.argmax(row))
                out[i] = Coding(str(self.labeler.classes_[best]), None, None, float(p_moment[i] * row[best]))
        return out

    def code_replies(self, replies: list[str], contexts: list[str | None]) -> list[Coding]:
        """The response label (or None: neutral) and group of each provider reply, read after its context turn."""
        m = np.zeros(len(contexts))
        given = {i: c for i, c in enumerate(contexts) if c and c.strip()}
        if given:
            m[list(given)] = self.moment_probability(list(given.values()))
        x = self.reply_features.transform([normalize_text(r) for r in replies])
        probs = self.response_model.predict_proba(response_features(x, m))
        classes = list(self.response_model.classes_)
        out = []
        for row in probs:
            best = int(np.argmax(row))
            label = None if classes[best] == NONE else classes[best]
            out.append(Coding(None, label, group_of(label), float(row[best])))
        return out

    def classify(self, speaker: str, text: str, context: str | None = None) -> Coding:
        """Code one utterance: a patient turn for moments, a provider turn for its response."""
        if speaker == "patient":
            return self.code_patient_turns([text])[0]
        return self.code_replies([text], [context])[0]
