"""The sentence encoder: the shipped ONNX export, and the PyTorch model training builds on, against
sentence-transformers' embeddings of the released all-MiniLM-L6-v2."""

from __future__ import annotations

import numpy as np
import pytest

from encounter_feedback.analysis.classifier import SentenceEmbeddings

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
run once outside this project and rounded to 6 decimals."""
REFERENCE_COSINES = [[1.0, 0.476385, 0.130249], [0.476385, 1.0, 0.04497], [0.130249, 0.04497, 1.0]]


def test_the_shipped_sentence_encoder_keeps_the_released_models_geometry():
    """8-bit weights move an embedding by about 1%: cosines stay within 0.03 of the float model's."""
    sentences = SentenceEmbeddings()
    vectors = sentences.embed(SENTENCES)
    assert vectors.shape == (3, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(vectors @ vectors.T, REFERENCE_COSINES, atol=0.03)
    alone = sentences.embed([SENTENCES[2]])
    padded = sentences.embed([SENTENCES[0], SENTENCES[2]])[1:]  # batched with a longer sentence: padded
    np.testing.assert_allclose(alone, padded, atol=1e-5)
    similarity = sentences.similarity(SENTENCES, SENTENCES[:2])
    assert similarity.shape == (3, 2) and similarity[0, 0] == pytest.approx(1.0, abs=1e-4)


def test_the_training_model_reproduces_sentence_transformers():
    torch = pytest.importorskip("torch", reason="training needs the [train] extra")
    from encounter_feedback.analysis.encoder import encode_batch, load_tokenizer
    from encounter_feedback.training.finetune import MiniLM, ModelMissing, SentenceEncoder, model_dir

    try:
        directory = model_dir()
    except ModelMissing as exc:
        pytest.skip(str(exc))
    inputs = {
        k: torch.from_numpy(v) for k, v in encode_batch(load_tokenizer(directory / "tokenizer.json"), SENTENCES).items()
    }
    with torch.no_grad():
        vectors = (
            SentenceEncoder(MiniLM.released(0.0))
            .eval()(inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"])
            .numpy()
        )
    np.testing.assert_allclose(vectors[:, :8], REFERENCE_FIRST_DIMS, atol=2e-6)
    np.testing.assert_allclose(vectors @ vectors.T, REFERENCE_COSINES, atol=2e-6)
