"""Fitting the sentence reading of race-themed patient turns (analysis/sentence_moments.py).

Logistic regression (scikit-learn, build time only) on the stock sentence embedding of every
race-themed example the moment encoder learns: the corpus's patient turns with a race-themed
label, the replies' contexts (moments), and the clinical negatives kept. Balanced class weights:
the examples are a sample, not the share of moments in an encounter; the weight against the
head and the thresholds are chosen on dev afterwards.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from encounter_feedback.analysis.classifier import MOMENT_CLASSES, NONE, SentenceEmbeddings
from encounter_feedback.analysis.sentence_moments import SentenceMoments
from encounter_feedback.training.examples import Example

REGULARIZATION = 1.0
"""scikit-learn's C (inverse strength), its default: not tuned."""


def fit_sentence_moments(
    sentences: SentenceEmbeddings, examples: list[Example], progress: Callable[[str], None] = lambda _: None
) -> SentenceMoments:
    from sklearn.linear_model import LogisticRegression

    turns = [e for e in examples if e.second is None and "race_themed" in e.labels]
    progress(f"fitting the sentence reading of race-themed turns on {len(turns)} examples")
    embeddings = sentences.embed([e.first for e in turns])  # each text run alone, as at run time
    truth = np.array([e.labels["race_themed"] != MOMENT_CLASSES.index(NONE) for e in turns])
    fitted = LogisticRegression(C=REGULARIZATION, max_iter=2000, class_weight="balanced").fit(embeddings, truth)
    return SentenceMoments(fitted.coef_[0].astype(np.float32), float(fitted.intercept_[0]))
