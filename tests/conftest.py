"""Shared fixtures: the real model, TTS-generated encounters, and the shared real data."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from encounter_feedback.analysis.classifier import Classifier
from encounter_feedback.media.audio import SAMPLE_RATE
from encounter_feedback.media.tts import RenderedDialogue, render_dialogue
from encounter_feedback.speech.asr import AsrEngine, load_engine
from encounter_feedback.speech.models import DEFAULT_ENGINE, ENGINES

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

DIALOGUE = [
    ("provider", "Good morning. What brings you in today?"),
    ("patient", "I have had a bad headache for three days."),
    ("provider", "I am sorry to hear that. Does anything make it better?"),
    ("patient", "The emergency room sent me home, and I think it was because I am Black."),
    ("provider", "That should never have happened. Please tell me more."),
]
"""A short two-role encounter used wherever a test needs speech with known placement."""


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data`, or a skip that says where it should be."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (it sits beside the project root)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    """The shipped moment and response classifier (models/), loaded once."""
    return Classifier.load()


@pytest.fixture(scope="session")
def engine() -> AsrEngine:
    """The bundled tiny.en engine, loaded once."""
    return load_engine()


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model cache for the session: openai-whisper checkpoints are converted once."""
    return tmp_path_factory.mktemp("models")


def needs_openai_whisper() -> None:
    """Skip, saying why, where the `openai-whisper` extra is not installed."""
    if importlib.util.find_spec("whisper") is None or importlib.util.find_spec("torch") is None:
        pytest.skip("the openai-whisper engine is not installed: pip install -e '.[openai-whisper]'")


@pytest.fixture(scope="session")
def openai_engine(model_cache: Path) -> AsrEngine:
    """openai-whisper on tiny.en converted from the bundled weights (skipped without the extra)."""
    needs_openai_whisper()
    return load_engine(engine="openai-whisper", cache=model_cache)


@pytest.fixture(
    params=[pytest.param(name, marks=pytest.mark.slow if name != DEFAULT_ENGINE else ()) for name in ENGINES]
)
def each_engine(request: pytest.FixtureRequest) -> AsrEngine:
    """Every engine on the bundled tiny.en: the tests that use it hold for any recogniser. The default
    engine's cases run in the fast suite; openai-whisper (PyTorch on the CPU, ~10x slower) in the slow one."""
    return request.getfixturevalue("engine" if request.param == "faster-whisper" else "openai_engine")


@pytest.fixture(scope="session")
def dialogue() -> RenderedDialogue:
    """DIALOGUE spoken by two TTS voices, one track per role."""
    return render_dialogue(DIALOGUE)


def tone(freq: float, seconds: float, rate: int = SAMPLE_RATE, amplitude: float = 0.5) -> np.ndarray:
    """A sine wave, float32."""
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def words_of(text: str) -> list[str]:
    """Lowercase words without punctuation, for comparing transcripts."""
    return "".join(ch.lower() if ch.isalnum() or ch.isspace() else " " for ch in text).split()


def without_load_notices(printed: str) -> list[str]:
    """Printed lines, less the "[degraded] ..." and "[recovered] ..." notices `encounter stream` and
    `demo` print when the ASR falls behind, which a busy machine may or may not cause."""
    return [line for line in printed.splitlines() if not line.startswith(("[degraded] ", "[recovered] "))]
