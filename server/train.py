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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline

from server.corpus import Item, corpus_hash, load_split
from server.moments import (
    ARTIFACT,
    MOMENT,
    NONE,
    Classifier,
    could_be_moment,
    detector_probability,
    normalize_text,
    response_features,
)
from server.taxonomy import GROUPS, MOMENT_LABELS, RESPONSE_LABELS, group_of

FEATURES = ("word", "char", "word+char", "emb", "word+char+emb")
DEFAULT_FEATURES = "word+char"
C = 10.0
"""Inverse regularization of both logistic regressions (from a grid 1-100 scored on training folds)."""
THRESHOLDS = {"explicit": 0.3, "implicit": 0.9}
"""P(moment) a turn must reach to be flagged, by how it refers to race (server/race_reference.py).
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
    sentence embeddings (`emb`, for `--compare` only: server/embeddings.py)."""
    parts = []
    if "word" in kind:
        parts.append(("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)))
    if "char" in kind:
        parts.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)))
    if "emb" in kind:
        from server.embeddings import EmbeddingFeatures

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


def _label(value: str | None) -> str:
    return NONE if value is None else value


def fit_detector(items: list[Item], features: str) -> Pipeline:
    """Moment vs none on patient items (not balanced: its probabilities keep the corpus's odds),
    turns that could be moments weighted up (`CANDIDATE_WEIGHT`)."""
    texts = [normalize_text(i.text) for i in items]
    weights = np.array([CANDIDATE_WEIGHT if could_be_moment(t) else 1.0 for t in texts])
    pipeline = make_pipeline(text_features(features), calibrated_logistic(balanced=False))
    return pipeline.fit(texts, [MOMENT if i.moment else NONE for i in items], calibratedclassifiercv__sample_weight=weights)


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
    model = calibrated_logistic().fit(response_features(x, m), [_label(i.response) for i in items])
    return vectorizer, model


def train(items: list[Item], features: str = DEFAULT_FEATURES) -> Classifier:
    """Both models from training items (patient items teach moments, provider items responses)."""
    patients = [i for i in items if i.speaker == "patient"]
    providers = [i for i in items if i.speaker == "provider"]
    detector = fit_detector(patients, features)
    vectorizer, response_model = fit_response_model(providers, detector, features)
    return Classifier(detector, fit_labeler(patients, features), vectorizer, response_model, dict(THRESHOLDS),
                      {"features": features})


def evaluate(classifier: Classifier, items: list[Item]) -> dict[str, Any]:
    """Held-out metrics: moment detection, moment labels, response labels and groups, calibration."""
    patients = [i for i in items if i.speaker == "patient"]
    providers = [i for i in items if i.speaker == "provider"]
    moments = classifier.code_patient_turns([i.text for i in patients])
    responses = classifier.code_replies([i.text for i in providers], [i.context for i in providers])
    truth_m = [_label(i.moment) for i in patients]
    pred_m = [_label(c.moment) for c in moments]
    truth_r = [_label(i.response) for i in providers]
    pred_r = [_label(c.response) for c in responses]
    detected = [label != NONE for label in pred_m]
    p_moment = classifier.moment_probability([i.text for i in patients])
    return {
        "items": {"patient": len(patients), "provider": len(providers)},
        "moment_detection": _binary([t != NONE for t in truth_m], detected),
        "moment_labels": _per_label(truth_m, pred_m, (NONE, *MOMENT_LABELS)),
        "moment_brier": round(float(np.mean((p_moment - np.array([t != NONE for t in truth_m])) ** 2)), 4),
        "response_labels": _per_label(truth_r, pred_r, (NONE, *RESPONSE_LABELS)),
        "response_groups": _per_label([_group(t) for t in truth_r], [_group(p) for p in pred_r], GROUPS),
    }


def _group(label: str) -> str:
    return group_of(None if label == NONE else label)


def _binary(truth: list[bool], predicted: list[bool]) -> dict[str, float]:
    p, r, f, _ = precision_recall_fscore_support(truth, predicted, average="binary", zero_division=0)
    return {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4),
            "support": int(sum(truth))}


def _per_label(truth: list[str], predicted: list[str], labels: tuple[str, ...]) -> dict[str, Any]:
    p, r, f, n = precision_recall_fscore_support(truth, predicted, labels=list(labels), zero_division=0)
    per = {label: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4), "f1": round(float(f[i]), 4),
                   "support": int(n[i])} for i, label in enumerate(labels)}
    accuracy = float(np.mean([a == b for a, b in zip(truth, predicted)])) if truth else 0.0
    return {"macro_f1": round(float(np.mean(f)), 4), "accuracy": round(accuracy, 4), "labels": per}


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


def save(classifier: Classifier, path: Path = ARTIFACT) -> None:
    import joblib

    joblib.dump(classifier, path, compress=3)


def compare(transcripts: Path | None = None, progress: Callable[[str], None] = lambda _: None
            ) -> list[tuple[str, dict[str, Any]]]:
    """Held-out metrics of each feature set, and false alarms per hour on `transcripts` (clinical
    dialogue CSVs) when given, for the model card. Embedding sets are skipped, with a message,
    where the embedding model is not installed."""
    from server.bench_moments import false_alarms, patient_turns
    from server.embeddings import EmbeddingError, model_dir

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


def format_metrics(metrics: dict[str, Any]) -> str:
    """Held-out metrics as a readable table."""
    d = metrics["moment_detection"]
    alarms = metrics.get("false_alarms_per_hour")
    lines = [] if alarms is None else [f"false alarms on clinical dialogue: {alarms:.2f} per hour"]
    lines += [
        f"held-out: {metrics['items']['patient']} patient and {metrics['items']['provider']} provider items",
        f"moment detection (moment vs none): P {d['precision']:.3f}  R {d['recall']:.3f}  F1 {d['f1']:.3f}"
        f"  (Brier {metrics['moment_brier']:.3f})",
        f"moment labels: macro-F1 {metrics['moment_labels']['macro_f1']:.3f}  accuracy {metrics['moment_labels']['accuracy']:.3f}",
        f"response groups: macro-F1 {metrics['response_groups']['macro_f1']:.3f}"
        f"  accuracy {metrics['response_groups']['accuracy']:.3f}",
        f"response labels: macro-F1 {metrics['response_labels']['macro_f1']:.3f}"
        f"  accuracy {metrics['response_labels']['accuracy']:.3f}",
        "",
        f"{'label':28s} {'P':>6s} {'R':>6s} {'F1':>6s} {'n':>5s}",
    ]
    for table in ("moment_labels", "response_groups", "response_labels"):
        for label, row in metrics[table]["labels"].items():
            lines.append(f"{label:28s} {row['precision']:6.3f} {row['recall']:6.3f} {row['f1']:6.3f} {row['support']:5d}")
        lines.append("")
    return "\n".join(lines).rstrip()
