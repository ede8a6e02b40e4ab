"""The NumPy MiniLM forward pass against sentence-transformers (used by `encounter train --compare`)."""

from __future__ import annotations

import numpy as np
import pytest

from encounter_feedback.analysis.embeddings import EmbeddingError, EmbeddingFeatures, SentenceEncoder, model_dir

SENTENCES = [
    "The ER sent me home, and I think it is because I am Black.",
    "I have had black stools since Monday.",
    "okay",
]
REFERENCE_FIRST_DIMS = [
    [0.003849, 0.023938, -0.012475, 0.089297, 0.083433, -0.061051, 0.132312, -0.017945],
    [0.006966, -0.062646, 0.033177, 0.111132, -0.004007, -0.029434, -0.086003, -0.020401],
    [-0.05781, -0.085828, -0.03572, -0.011185, 0.062364, -0.023545, 0.061488, 0.092199],
]
"""sentence-transformers 6.2.0 on torch 2.13.0 (CPU), `SentenceTransformer(model_dir()).encode(SENTENCES)`,
run once outside this project (it needs PyTorch) and rounded to 6 decimals."""
REFERENCE_COSINES = [[1.0, 0.476385, 0.130249], [0.476385, 1.0, 0.04497], [0.130249, 0.04497, 1.0]]


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    try:
        model_dir()
    except EmbeddingError as exc:
        pytest.skip(f"{exc} (only `encounter train --compare` needs it)")
    return SentenceEncoder()


def test_embeddings_match_sentence_transformers(encoder):
    vectors = encoder.encode(SENTENCES)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors[:, :8], REFERENCE_FIRST_DIMS, atol=2e-6)
    np.testing.assert_allclose(vectors @ vectors.T, REFERENCE_COSINES, atol=2e-6)


def test_padding_and_batches_do_not_change_a_sentence(encoder):
    alone = encoder.encode([SENTENCES[2]])
    padded = encoder.encode([SENTENCES[0], SENTENCES[2]])[1:]  # batched with a longer sentence: padded
    np.testing.assert_allclose(alone, padded, atol=1e-6)


def test_feature_block_is_one_row_per_text(encoder):
    block = EmbeddingFeatures().fit(SENTENCES).transform(SENTENCES[:2])
    assert block.shape == (2, 384)
    np.testing.assert_allclose(block.toarray()[0, :8], REFERENCE_FIRST_DIMS[0], atol=2e-6)
