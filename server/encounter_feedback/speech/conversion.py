"""CTranslate2 Whisper weights (faster-whisper's `model.bin`) as an openai-whisper checkpoint, made locally.

openai-whisper loads PyTorch checkpoints that it normally downloads; this system never
downloads models. The weights it needs are already here, in the CTranslate2 model that
faster-whisper runs (the bundled tiny.en, base from its registry packages): this module reads
that `model.bin` directly (no ctranslate2 converter, no transformers) and lays the same
tensors out as openai-whisper's `ModelDimensions` + state dict.

`model.bin` (CTranslate2 binary format 6) is a little-endian header (format version, spec
name `WhisperSpec`, spec revision), then each variable as name, shape, dtype and raw bytes,
then aliases (`decoder/projection/weight` is the token embedding: Whisper ties them). The
mapping onto openai-whisper's modules:

    encoder/conv1, conv2                            -> encoder.conv1, conv2
    encoder/position_encodings/encodings            -> encoder.positional_embedding (the sinusoids)
    */layer_N/self_attention/linear_0 (fused QKV)   -> blocks.N.attn.query, key, value (split in 3)
    */layer_N/self_attention/linear_1               -> blocks.N.attn.out
    decoder/layer_N/attention/linear_0              -> blocks.N.cross_attn.query
    decoder/layer_N/attention/linear_1 (fused KV)   -> blocks.N.cross_attn.key, value (split in 2)
    decoder/layer_N/attention/linear_2              -> blocks.N.cross_attn.out
    */layer_N/ffn/linear_0, linear_1                -> blocks.N.mlp.0, mlp.2
    layer norms (gamma, beta)                       -> *_ln / ln_post / ln (weight, bias)
    decoder/embeddings/weight                       -> decoder.token_embedding
    decoder/position_encodings/encodings            -> decoder.positional_embedding (learned)

Whisper's key projections have no bias; CTranslate2 stores the fused projection with a zero
key bias, which is dropped (any key bias adds the same amount to every attention score of a
query, which softmax cancels, so dropping it is exact in any case). The model's dimensions
come from the tensor shapes and the stored head counts; `alignment_heads` (the cross-attention
heads that time words) from the model's `config.json`.

**Exactness**: float32 and float16 weights are copied bit for bit, and bfloat16 widens to
float32 exactly; the bundled tiny.en and the base packages are float16, so their checkpoints
hold exactly the published weights. int8 (and int16) models store each row scaled to the
integer range with a float32 scale per row; they are dequantized (`int / scale`), which is
within half a quantization step of the original weights, so the result is close to but not
the original model. The conversion is checked by decoding: the openai-whisper engine on the
converted tiny.en transcribes tests/test_conversion.py's fixtures (jfk.flac, generated
speech) word for word as faster-whisper does on the original.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from encounter_feedback.speech.models import ModelError, model_label

FORMAT_VERSION = 6
"""The CTranslate2 binary format read here (the current one since CTranslate2 3.x)."""
CONVERSION = 1
"""Bumped when the mapping changes, so cached checkpoints made by an older one are redone."""

EXACT_DTYPES = ("float32", "float16", "bfloat16")
"""Weights that convert bit for bit (bfloat16 widened); int8 and int16 are dequantized, approximately."""
_DTYPES: tuple[str, ...] = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
"""CTranslate2's DataType enum, in order (include/ctranslate2/types.h)."""


@dataclass(frozen=True)
class Ct2Model:
    """The variables of a CTranslate2 `model.bin`, as stored (aliases resolved)."""

    spec: str
    variables: dict[str, np.ndarray]

    @property
    def dtype(self) -> str:
        """The dtype of the weight matrices: float16, float32, int8 ..."""
        return str(self.variables["decoder/layer_0/ffn/linear_0/weight"].dtype).replace("uint16", "bfloat16")


def read_model_bin(path: Path) -> Ct2Model:
    """Read a CTranslate2 model file; a format this does not know is a `ModelError`."""
    data = path.read_bytes()
    reader = _Reader(data, path)
    version = reader.unpack("I")
    if version != FORMAT_VERSION:
        raise ModelError(f"{path}: CTranslate2 model format {version}, only format {FORMAT_VERSION} can be converted")
    spec = reader.string()
    reader.unpack("I")  # the spec's revision
    variables: dict[str, np.ndarray] = {}
    for _ in range(reader.unpack("I")):
        name = reader.string()
        shape = tuple(reader.unpack("I") for _ in range(reader.unpack("B")))
        dtype = _DTYPES[reader.unpack("B")]
        size = reader.unpack("I")
        raw = np.frombuffer(reader.take(size), dtype="uint16" if dtype == "bfloat16" else dtype)
        variables[name] = raw.reshape(shape)
    for _ in range(reader.unpack("I")):
        alias, target = reader.string(), reader.string()
        variables[alias] = variables[target]
    if spec != "WhisperSpec":
        raise ModelError(f"{path}: a CTranslate2 {spec} model, not Whisper")
    return Ct2Model(spec, variables)


class _Reader:
    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.path, self.pos = data, path, 0

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise ModelError(f"{self.path}: truncated CTranslate2 model file")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def unpack(self, fmt: str) -> int:
        [value] = struct.unpack("<" + fmt, self.take(struct.calcsize(fmt)))
        return int(value)

    def string(self) -> str:
        return self.take(self.unpack("H")).rstrip(b"\0").decode("utf-8")


def weight(model: Ct2Model, name: str) -> np.ndarray:
    """A variable as float (float16 stays float16): bfloat16 widened, int8/int16 dequantized per row."""
    value = model.variables[name]
    if value.dtype == np.uint16:  # bfloat16: the high half of a float32
        return (value.astype(np.uint32) << 16).view(np.float32)
    if value.dtype in (np.int8, np.int16):
        scale = model.variables[name.removesuffix("weight") + "weight_scale"].astype(np.float32)
        return value.astype(np.float32) / (scale[:, None] if scale.ndim else scale)
    return value


def dimensions(model: Ct2Model) -> dict[str, int]:
    """openai-whisper's `ModelDimensions`, from the tensor shapes and stored head counts."""
    v = model.variables
    return {
        "n_mels": v["encoder/conv1/weight"].shape[1],
        "n_audio_ctx": v["encoder/position_encodings/encodings"].shape[0],
        "n_audio_state": v["encoder/conv1/weight"].shape[0],
        "n_audio_head": int(v["encoder/num_heads"]),
        "n_audio_layer": _count_layers(v, "encoder"),
        "n_vocab": v["decoder/embeddings/weight"].shape[0],
        "n_text_ctx": v["decoder/position_encodings/encodings"].shape[0],
        "n_text_state": v["decoder/embeddings/weight"].shape[1],
        "n_text_head": int(v["decoder/num_heads"]),
        "n_text_layer": _count_layers(v, "decoder"),
    }


def _count_layers(variables: dict[str, np.ndarray], stack: str) -> int:
    return sum(1 for name in variables if name.startswith(f"{stack}/layer_") and name.endswith("/ffn/linear_0/bias"))


def state_dict(model: Ct2Model) -> dict[str, np.ndarray]:
    """openai-whisper's state dict (names and layout), as NumPy arrays."""
    dims = dimensions(model)
    out = {
        "encoder.conv1.weight": weight(model, "encoder/conv1/weight"),
        "encoder.conv1.bias": weight(model, "encoder/conv1/bias"),
        "encoder.conv2.weight": weight(model, "encoder/conv2/weight"),
        "encoder.conv2.bias": weight(model, "encoder/conv2/bias"),
        "encoder.positional_embedding": weight(model, "encoder/position_encodings/encodings"),
        "decoder.token_embedding.weight": weight(model, "decoder/embeddings/weight"),
        "decoder.positional_embedding": weight(model, "decoder/position_encodings/encodings"),
        **_layer_norm(model, "encoder/layer_norm", "encoder.ln_post"),
        **_layer_norm(model, "decoder/layer_norm", "decoder.ln"),
    }
    for stack, layers in (("encoder", dims["n_audio_layer"]), ("decoder", dims["n_text_layer"])):
        for i in range(layers):
            src, dst = f"{stack}/layer_{i}", f"{stack}.blocks.{i}"
            out |= _attention(model, f"{src}/self_attention", f"{dst}.attn", ("query", "key", "value"), "linear_1")
            out |= _layer_norm(model, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")
            out |= _linear(model, f"{src}/ffn/linear_0", f"{dst}.mlp.0")
            out |= _linear(model, f"{src}/ffn/linear_1", f"{dst}.mlp.2")
            out |= _layer_norm(model, f"{src}/ffn/layer_norm", f"{dst}.mlp_ln")
            if stack == "decoder":
                out |= _linear(model, f"{src}/attention/linear_0", f"{dst}.cross_attn.query")
                out |= _attention(model, f"{src}/attention", f"{dst}.cross_attn", ("key", "value"), "linear_2", 1)
                out |= _layer_norm(model, f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln")
    return out


def _linear(model: Ct2Model, src: str, dst: str) -> dict[str, np.ndarray]:
    return {f"{dst}.weight": weight(model, f"{src}/weight"), f"{dst}.bias": weight(model, f"{src}/bias")}


def _layer_norm(model: Ct2Model, src: str, dst: str) -> dict[str, np.ndarray]:
    return {f"{dst}.weight": weight(model, f"{src}/gamma"), f"{dst}.bias": weight(model, f"{src}/beta")}


def _attention(
    model: Ct2Model, src: str, dst: str, parts: tuple[str, ...], out: str, fused: int = 0
) -> dict[str, np.ndarray]:
    """A fused projection (`linear_{fused}`: QKV, or cross-attention's KV) split into its parts, and the output."""
    weights = np.split(weight(model, f"{src}/linear_{fused}/weight"), len(parts))
    biases = np.split(weight(model, f"{src}/linear_{fused}/bias"), len(parts))
    split: dict[str, np.ndarray] = {}
    for part, w, b in zip(parts, weights, biases):
        split[f"{dst}.{part}.weight"] = w
        if part != "key":  # Whisper's keys have no bias (see the module doc)
            split[f"{dst}.{part}.bias"] = b
    return split | _linear(model, f"{src}/{out}", f"{dst}.out")


def alignment_heads(model_dir: Path) -> list[tuple[int, int]] | None:
    """The (layer, head) pairs whose cross-attention times words, from the model's config.json."""
    config = model_dir / "config.json"
    if not config.is_file():
        return None
    heads = json.loads(config.read_text(encoding="utf-8")).get("alignment_heads")
    return [(int(layer), int(head)) for layer, head in heads] if heads else None


def checkpoint(model_dir: Path) -> dict[str, Any]:
    """The openai-whisper checkpoint for a CTranslate2 model directory, as `whisper.load_model` reads it
    (`dims`, `model_state_dict` of torch tensors), plus `alignment_heads` from its config.json."""
    import torch

    model = read_model_bin(model_dir / "model.bin")
    return {
        "dims": dimensions(model),
        "model_state_dict": {name: torch.from_numpy(np.array(value)) for name, value in state_dict(model).items()},
        "alignment_heads": alignment_heads(model_dir),
        "source_dtype": model.dtype,
    }


def checkpoint_path(model_dir: Path, cache: Path) -> Path:
    """Where the converted checkpoint of `model_dir` is cached: named by a hash of its `model.bin`,
    so a changed model is converted again."""
    digest = hashlib.sha256()
    with open(model_dir / "model.bin", "rb") as f:
        while chunk := f.read(1 << 24):
            digest.update(chunk)
    return cache / "openai-whisper" / f"{model_label(model_dir)}-{digest.hexdigest()[:16]}-c{CONVERSION}.pt"


def convert(model_dir: Path, cache: Path) -> Path:
    """The cached openai-whisper checkpoint of `model_dir`, converted now if it is not there yet.

    Written to a temporary name and renamed, so an interrupted conversion never leaves a file
    that looks finished."""
    import torch

    path = checkpoint_path(model_dir, cache)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        torch.save(checkpoint(model_dir), partial)
        partial.replace(path)
    return path
