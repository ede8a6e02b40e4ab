"""Options several commands share, and the light helpers they need (no model or media imports here,
so `encounter --help` and the research commands start fast)."""

from __future__ import annotations

import argparse
import getpass
import math
from collections.abc import Callable
from pathlib import Path

from encounter_feedback.errors import UserError
from encounter_feedback.resources import default_data_dir, shared_data_dir
from encounter_feedback.speech.models import BASE_MODEL, BUNDLED_MODEL, DEFAULT_ENGINE, ENGINES, larger_model

CLINICAL_TRANSCRIPTS = shared_data_dir("clinical-transcripts")
"""ACI-Bench and MTS-Dialog beside a source checkout: real clinical talk for false alarms."""
CONSULTATIONS = shared_data_dir("osce-dev") / "transcripts"
"""Three real mock consultations' D:/P: transcripts beside a source checkout: more real talk for false alarms."""
SHARED_STEREO = shared_data_dir("speech") / "stereo_diarization.wav"
"""Two real voices, one per channel, beside a source checkout: cross-talk on real speech."""


def data_option(cmd: argparse.ArgumentParser) -> None:
    """`--data`: where encounters are stored."""
    cmd.add_argument("--data", type=Path, default=default_data_dir(), help="data directory (default: %(default)s)")


MODEL_HELP = (
    f"Whisper model: {BUNDLED_MODEL} (bundled), {BASE_MODEL} (the [base] extra) or a CTranslate2 model directory"
)


NO_MODEL = "none"
"""`--second-pass-model none`: the live second pass uses the live model only."""


def asr_options(cmd: argparse.ArgumentParser, model_default: str = BUNDLED_MODEL, live: bool = False) -> None:
    """`--engine` and `--model`: which recogniser and which Whisper model transcribe; live, also
    `--second-pass-model`."""
    cmd.add_argument(
        "--engine",
        choices=ENGINES,
        default=DEFAULT_ENGINE,
        help="speech recogniser (default: %(default)s; openai-whisper needs the [openai-whisper] extra)",
    )
    cmd.add_argument("--model", default=model_default, help=f"{MODEL_HELP} (default: %(default)s)")
    if live:
        cmd.add_argument(
            "--second-pass-model",
            default=larger_model() or NO_MODEL,
            metavar="MODEL",
            help="a larger model for the second pass over finished utterances, used while the ASR has spare "
            f"time; {NO_MODEL}: the live model only (default: %(default)s; partials and first finals use --model)",
        )


def several(choices: tuple[str, ...] | None = None) -> Callable[[str], list[str]]:
    """`a,b,c` -> the list of names, each one of `choices` if given (options compared side by side)."""

    def parse(text: str) -> list[str]:
        names = [name.strip() for name in text.split(",") if name.strip()]
        if not names:
            raise argparse.ArgumentTypeError("expected names separated by commas")
        if choices is not None and (wrong := [name for name in names if name not in choices]):
            raise argparse.ArgumentTypeError(f"{', '.join(wrong)}: expected some of {', '.join(choices)}")
        return names

    return parse


def positive(text: str) -> float:
    """A finite number above 0 (a frame length, a retention period)."""
    return _number(text, lambda value: value > 0, "a number above 0")


def not_negative(text: str) -> float:
    """A finite number of 0 or more (a delay; a timeout where 0 means never)."""
    return _number(text, lambda value: value >= 0, "0 or a number above it")


def at_least_one(text: str) -> int:
    """A whole number of 1 or more (a count)."""
    return int(_number(text, lambda value: value >= 1 and value == int(value), "a whole number of 1 or more"))


def _number(text: str, ok: Callable[[float], bool], what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and ok(value)):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def login_name() -> str:
    """Who runs the command, for the logs (`export --user`, `delete --user`)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (e.g. a container user without a passwd entry)
        return "cli"


def roles(text: str) -> list[str]:
    """`patient,provider` -> the roles of a file's channels, in order."""
    return text.split(",")


def existing_file(path: Path) -> Path:
    """A path the user named, which must be a readable file."""
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    return path
