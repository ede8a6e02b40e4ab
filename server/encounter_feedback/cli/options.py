"""Options several commands share, and the light helpers they need (no model or media imports here,
so `encounter --help` and the research commands start fast)."""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path

from encounter_feedback.errors import UserError
from encounter_feedback.resources import shared_data_dir
from encounter_feedback.store.database import default_data_dir

CLINICAL_TRANSCRIPTS = shared_data_dir("clinical-transcripts")
"""ACI-Bench and MTS-Dialog beside a source checkout: real clinical talk for false alarms."""
SHARED_STEREO = shared_data_dir("speech") / "stereo_diarization.wav"
"""Two real voices, one per channel, beside a source checkout: cross-talk on real speech."""


def data_option(cmd: argparse.ArgumentParser) -> None:
    """`--data`: where encounters are stored."""
    cmd.add_argument("--data", type=Path, default=default_data_dir(), help="data directory (default: %(default)s)")


def model_option(cmd: argparse.ArgumentParser) -> None:
    """`--model`: which Whisper model transcribes."""
    cmd.add_argument(
        "--model", default=None, help="Whisper model: tiny.en (bundled, the default) or a CTranslate2 model directory"
    )


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
