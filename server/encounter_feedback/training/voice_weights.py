"""Convert Resemblyzer's voice-encoder weights into the NumPy file the diarizer ships with.

Resemblyzer (PyPI `resemblyzer`, Apache-2.0) ships `pretrained.pt`, a PyTorch checkpoint in
the legacy (pre-1.6, non-zip) format, and declares PyTorch as a dependency. The runtime never
imports either: this one-time step reads the checkpoint with `pickle` alone and writes the
LSTM and projection weights to `models/voice_encoder.npz` (speech/voice_encoder.py runs them).

    pip install --no-deps resemblyzer
    python -m encounter_feedback.training.voice_weights        # rewrites models/voice_encoder.npz

Legacy format: pickled magic number, protocol version and system info, then the pickled
object (tensors refer to storages by key), then the list of storage keys, then each
storage's raw bytes (an 8-byte little-endian element count first) in that order.
"""

from __future__ import annotations

import pickle
import sys
from collections import OrderedDict
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import IO, Any

import numpy as np

from encounter_feedback.errors import UserError
from encounter_feedback.resources import bundled_dir

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "LongStorage": np.int64}
KEPT = ("lstm.", "linear.")
"""The encoder's own weights; the checkpoint also holds the training loss's and the optimizer's."""


class WeightsError(UserError):
    """The checkpoint is missing or not in the expected format."""


@dataclass
class _Tensor:
    """A tensor whose storage's bytes come after the pickled object."""

    key: str
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage: tuple[str, Any], offset: int, shape: tuple[int, ...], stride: tuple[int, ...], *_: Any):
    return _Tensor(storage[0], offset, tuple(shape), tuple(stride))


class _Unpickler(pickle.Unpickler):
    """Resolves PyTorch's tensor and storage classes to plain placeholders; nothing else is allowed."""

    def __init__(self, file: IO[bytes]) -> None:
        super().__init__(file)
        self.storage_types: dict[str, str] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return name
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        raise pickle.UnpicklingError(f"unexpected {module}.{name} in the checkpoint")

    def persistent_load(self, saved_id: Any) -> tuple[str, Any]:
        kind, storage_type, key, _location, _numel, *_ = saved_id
        if kind != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {kind!r}")
        self.storage_types[key] = storage_type
        return (key, storage_type)


def read_legacy_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint's object with every tensor as a NumPy array (float32 storages as float32)."""
    with open(path, "rb") as f:
        if pickle.load(f) != LEGACY_MAGIC:
            raise WeightsError(f"{path}: not a legacy PyTorch checkpoint")
        pickle.load(f)  # protocol version
        pickle.load(f)  # system info
        unpickler = _Unpickler(f)
        obj = unpickler.load()
        keys = pickle.load(f)
        storages = {key: _read_storage(f, _STORAGE_DTYPES[unpickler.storage_types[key]]) for key in keys}
    return _materialize(obj, storages)


def _read_storage(f: IO[bytes], dtype: type) -> np.ndarray:
    count = int.from_bytes(f.read(8), "little")
    return np.frombuffer(f.read(count * np.dtype(dtype).itemsize), dtype=dtype)


def _materialize(obj: Any, storages: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, _Tensor):
        data = storages[obj.key]
        itemsize = data.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[obj.offset :], shape=obj.shape, strides=tuple(s * itemsize for s in obj.stride)
        )
        return np.array(view)
    if isinstance(obj, dict):
        return {k: _materialize(v, storages) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_materialize(v, storages) for v in obj)
    return obj


def resemblyzer_checkpoint() -> Path:
    """`pretrained.pt` inside the installed `resemblyzer` package, found without importing it
    (its `__init__` imports PyTorch)."""
    spec = find_spec("resemblyzer")
    if spec is None or spec.origin is None:
        raise WeightsError("the converter reads Resemblyzer's weights: pip install --no-deps resemblyzer")
    return Path(spec.origin).parent / "pretrained.pt"


def encoder_weights(checkpoint: Path) -> dict[str, np.ndarray]:
    """The LSTM and projection weights of a Resemblyzer checkpoint, named as in its state dict."""
    state = read_legacy_checkpoint(checkpoint)["model_state"]
    return {name: np.asarray(value, dtype=np.float32) for name, value in state.items() if name.startswith(KEPT)}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else bundled_dir("models") / "voice_encoder.npz"
    weights: dict[str, Any] = encoder_weights(resemblyzer_checkpoint())
    np.savez_compressed(out, **weights)
    print(f"wrote {out} ({sum(w.size for w in weights.values())} weights)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
