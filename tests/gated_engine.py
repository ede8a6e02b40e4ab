"""A fake ASR engine whose decodes wait for the test, and a clock the test sets: what makes the
scheduler's and the second pass's tests decide what runs when, whatever the machine's speed."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

import numpy as np

from encounter_feedback.events import Word
from encounter_feedback.media.audio import SAMPLE_RATE
from encounter_feedback.speech.asr import AsrConfig, AsrSegment

WAIT_S = 10.0
"""Longest any test waits for the scheduler to start a decode (a failure, not a timing)."""


def clip(n: int, seconds: float = 1.0) -> np.ndarray:
    """A clip the gated engine hears as the word `w{n}`: a constant level of n/100."""
    return np.full(round(seconds * SAMPLE_RATE), n / 100, np.float32)


@dataclass(eq=False)
class Decode:
    """One decode the gated engine has started; it returns when the test calls `release` or `fail`."""

    words: list[str]
    """What the audio holds: one word per clip, in order (packed clips give several)."""
    prompt: str | None
    go: threading.Event = field(default_factory=threading.Event)
    error: Exception | None = None

    def release(self) -> None:
        self.go.set()

    def fail(self, error: Exception) -> None:
        self.error = error
        self.go.set()


class GatedEngine:
    """An AsrEngine that hears each `clip(n)` as the word `w{n}` and decodes only when released."""

    name = "gated"
    config = AsrConfig()

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._started: asyncio.Queue[Decode] = asyncio.Queue()

    def transcribe(self, audio: np.ndarray, prompt: str | None = None) -> list[AsrSegment]:
        """Runs on the scheduler's thread: announce the decode, then wait for the test."""
        runs = _runs(audio)
        decode = Decode([f"w{round(audio[a] * 100)}" for a, _ in runs], prompt)
        self._loop.call_soon_threadsafe(self._started.put_nowait, decode)
        if not decode.go.wait(WAIT_S):
            raise TimeoutError("the test never released this decode")
        if decode.error is not None:
            raise decode.error
        words = tuple(Word(w, a / SAMPLE_RATE, b / SAMPLE_RATE, 0.9) for w, (a, b) in zip(decode.words, runs))
        return [AsrSegment(words, avg_logprob=-0.1, no_speech_prob=0.0)]

    async def next_decode(self) -> Decode:
        """The next decode the scheduler starts."""
        return await asyncio.wait_for(self._started.get(), WAIT_S)

    def idle(self) -> bool:
        return self._started.empty()


def _runs(audio: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) sample indices of the non-silent stretches."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], (audio != 0).astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now
