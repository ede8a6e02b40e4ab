"""The previous model family, kept for `encounter train --compare`: TF-IDF and logistic regression.

Word 1-2-grams and character 2-5-grams (within word boundaries) of the normalized text into
logistic regressions: one per moment head, and one for responses over `[x, m*x, m]` (the
reply's features `x`, again scaled by the context's general P(moment) `m`, and `m`), so the
same words can weigh differently right after a moment. It reads the reply and a number about
its context, not the two together; the comparison shows what reading the pair buys.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline

from encounter_feedback.analysis.classifier import MOMENT_CLASSES, RESPONSE_CLASSES, normalize_text
from encounter_feedback.training.examples import Example

C = 10.0


def text_features() -> FeatureUnion:
    return FeatureUnion(
        [
            ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
        ]
    )


def _logistic() -> LogisticRegression:
    return LogisticRegression(C=C, class_weight="balanced", max_iter=5000)


def _log_proba(model: Any, x: Any, classes: tuple[str, ...]) -> np.ndarray:
    """Log-probabilities in `classes` order (a class the model never saw gets a tiny probability)."""
    p = model.predict_proba(x)
    out = np.full((p.shape[0], len(classes)), 1e-6)
    for k, name in enumerate(model.classes_):
        out[:, classes.index(name)] = p[:, k]
    return np.log(out)


class TfidfModel:
    """A `TurnModel` (analysis/classifier.py) of TF-IDF features and logistic regressions."""

    def __init__(self, examples: list[Example]) -> None:
        patients = [e for e in examples if e.second is None]
        self.heads = {}
        for head in ("general", "race_themed"):
            taught = [e for e in patients if head in e.labels]
            pipeline = make_pipeline(text_features(), _logistic())
            self.heads[head] = pipeline.fit(
                [normalize_text(e.first) for e in taught], [MOMENT_CLASSES[e.labels[head]] for e in taught]
            )
        replies = [e for e in examples if e.second is not None]
        self.reply_features = text_features()
        x = self.reply_features.fit_transform([normalize_text(e.second or "") for e in replies])
        m = self._moment([e.first for e in replies])
        self.response = _logistic().fit(_pair(x, m), [RESPONSE_CLASSES[e.labels["response"]] for e in replies])

    def _moment(self, contexts: list[str]) -> np.ndarray:
        return 1.0 - np.exp(
            _log_proba(self.heads["general"], [normalize_text(c) for c in contexts], MOMENT_CLASSES)[:, 0]
        )

    def patient_logits(self, texts: list[str]) -> dict[str, np.ndarray]:
        normalized = [normalize_text(t) for t in texts]
        return {head: _log_proba(model, normalized, MOMENT_CLASSES) for head, model in self.heads.items()}

    def reply_logits(self, contexts: list[str], replies: list[str]) -> np.ndarray:
        x = self.reply_features.transform([normalize_text(r) for r in replies])
        return _log_proba(self.response, _pair(x, self._moment(contexts)), RESPONSE_CLASSES)


def _pair(x: sp.spmatrix, m: np.ndarray) -> sp.csr_matrix:
    column = sp.csr_matrix(m.reshape(-1, 1))
    return sp.hstack([x, x.multiply(column), column], format="csr")
