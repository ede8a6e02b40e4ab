"""`encounter models convert`: the openai-whisper checkpoint of a Whisper model, made locally and checked."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from encounter_feedback.cli.options import MODEL_HELP, data_option, existing_file
from encounter_feedback.speech.models import BUNDLED_MODEL

if TYPE_CHECKING:
    import numpy as np

FIXTURE = "The patient said the pain started three days ago, after she lifted a heavy box at work."
"""Spoken by eSpeak NG when no --audio is given: both engines must hear the same words."""


def add_commands(commands: argparse._SubParsersAction) -> None:
    models_cmd = commands.add_parser("models", help="Whisper models made locally (never downloaded)")
    actions = models_cmd.add_subparsers(required=True, metavar="ACTION")
    convert_cmd = actions.add_parser(
        "convert",
        help="write the openai-whisper checkpoint of a model into the data directory's cache, "
        "and check that it transcribes as faster-whisper does",
    )
    convert_cmd.add_argument("--model", default=BUNDLED_MODEL, help=f"{MODEL_HELP} (default: %(default)s)")
    convert_cmd.add_argument(
        "--audio", type=Path, help="speech to check the conversion on (default: a sentence synthesized by eSpeak NG)"
    )
    data_option(convert_cmd)
    convert_cmd.set_defaults(run=_convert)


def _convert(args: argparse.Namespace) -> int:
    from encounter_feedback.bench.wer import normalize
    from encounter_feedback.speech.asr import AsrEngine, transcribe_clips
    from encounter_feedback.speech.conversion import EXACT_DTYPES
    from encounter_feedback.speech.engine_faster_whisper import FasterWhisperEngine
    from encounter_feedback.speech.engine_openai_whisper import OpenAIWhisperEngine
    from encounter_feedback.speech.models import model_cache, resolve_model_dir

    cache = model_cache(args.data)
    model_dir = resolve_model_dir(args.model, cache)
    openai = OpenAIWhisperEngine.from_model_dir(model_dir, cache)
    exact = "exact" if openai.source_dtype in EXACT_DTYPES else "dequantized, approximate"
    print(f"{openai.name}: {openai.checkpoint} (from {openai.source_dtype} weights: {exact})")
    audio = _fixture(args.audio)
    if audio is None:
        return 0
    engines: tuple[AsrEngine, ...] = (FasterWhisperEngine(model_dir), openai)
    texts = [" ".join(w.w for w in transcribe_clips(engine, [audio])[0].words) for engine in engines]
    for engine, text in zip(engines, texts):
        print(f"{engine.name:>24}: {text}")
    same = normalize(texts[0]) == normalize(texts[1])
    print("the same words as faster-whisper" if same else "the words differ from faster-whisper's")
    return 0 if same else 1


def _fixture(path: Path | None) -> np.ndarray | None:
    """The check's audio (16 kHz mono), or None with a message when there is none to make."""
    from encounter_feedback.media.audio import decode_file, to_mono
    from encounter_feedback.media.tts import TtsError, synthesize

    if path is not None:
        return to_mono(decode_file(existing_file(path)).channels)
    try:
        return synthesize(FIXTURE)
    except TtsError as exc:
        print(f"not checked against faster-whisper ({exc}); pass --audio FILE to check", file=sys.stderr)
        return None
