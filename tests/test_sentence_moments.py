"""The sentence reading of race-themed turns (analysis/sentence_moments.py) and its blend with the head."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from encounter_feedback.analysis.classifier import Classifier, ClassifierError
from encounter_feedback.analysis.sentence_moments import SentenceMoments, blend

PROBS = np.array([[0.9, 0.06, 0.02, 0.01, 0.005, 0.005], [0.2, 0.4, 0.2, 0.1, 0.05, 0.05]])
"""P(class) of two turns: none first, then the five moment labels."""


def test_a_blend_averages_p_moment_and_keeps_the_heads_proportions_of_labels():
    sentence = np.array([0.7, 0.1])
    mixed = blend(PROBS, sentence, 0.6)
    assert mixed.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert 1 - mixed[:, 0] == pytest.approx([0.6 * 0.1 + 0.4 * 0.7, 0.6 * 0.8 + 0.4 * 0.1])
    assert mixed[:, 1:] / mixed[:, 1:].sum(axis=1, keepdims=True) == pytest.approx(
        PROBS[:, 1:] / PROBS[:, 1:].sum(axis=1, keepdims=True)
    )
    assert blend(PROBS, sentence, 1.0) == pytest.approx(PROBS)


def test_the_sentence_reading_is_a_logistic_regression_that_survives_a_round_trip(tmp_path):
    reading = SentenceMoments(np.array([2.0, -1.0, 0.0], dtype=np.float32), -0.5)
    embeddings = np.array([[1.0, 0.0, 3.0], [0.0, 1.0, 0.0]])
    assert reading.probability(embeddings) == pytest.approx(1 / (1 + np.exp(-np.array([1.5, -1.5]))))
    reading.save(tmp_path / "r.npz")
    again = SentenceMoments.load(tmp_path / "r.npz")
    assert again.probability(embeddings) == pytest.approx(reading.probability(embeddings))


def test_settings_that_weigh_in_a_missing_sentence_reading_are_refused(classifier):
    settings = replace(classifier.settings, sentence_weight=0.7)
    with pytest.raises(ClassifierError, match="sentence_moments.npz.*run `encounter train`"):
        Classifier(classifier.model, settings, classifier.sentences)


def test_the_general_case_never_reads_the_sentence_reading(classifier):
    """There a turn must refer to race; the head decides alone, whatever the weight."""
    texts = ["They sent me home from the ER and I think it's because I'm Black.", "My knee hurts."]
    alone = Classifier(classifier.model, replace(classifier.settings, sentence_weight=1.0), classifier.sentences)
    assert classifier.moment_probabilities(texts, "general") == pytest.approx(
        alone.moment_probabilities(texts, "general")
    )


def test_a_race_themed_case_reads_the_heads_p_moment_averaged_with_the_sentence_reading(classifier):
    """The shipped weight (chosen on dev) and the shipped reading, on two turns; the label is still the head's."""
    from encounter_feedback.analysis.classifier import softmax

    texts = ["They treat me like a problem the minute I walk through the door.", "My knee hurts on the stairs."]
    weight = classifier.settings.sentence_weight
    assert 0.5 <= weight < 1.0 and classifier.sentence_moments is not None
    head = softmax(
        classifier.model.patient_logits(texts)["race_themed"], classifier.settings.temperatures["race_themed"]
    )
    reading = classifier.sentence_moments.probability(classifier.sentences.embed(texts))
    probs = classifier.moment_probabilities(texts, "race_themed")
    assert 1 - probs[:, 0] == pytest.approx(weight * (1 - head[:, 0]) + (1 - weight) * reading, abs=1e-6)
    assert probs[:, 1:].argmax(axis=1) == pytest.approx(head[:, 1:].argmax(axis=1))
    assert reading[0] > 0.5 > reading[1]  # the story reads as a moment, the knee as none
