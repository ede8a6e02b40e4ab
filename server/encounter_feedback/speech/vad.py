"""Voice activity detection and endpointing, streaming.

`SileroVad` turns audio into one speech probability per 32 ms frame with the Silero VAD v6
ONNX model that faster-whisper ships (no download). It keeps the LSTM state and the 64-sample
context between calls, so feeding a track in 20 ms WebRTC frames or in one piece gives the
same probabilities.

`Endpointer` turns those probabilities into utterances, cut at pauses. It is the online form
of Silero's `get_speech_timestamps`: it decides as each frame arrives, which is what the live
server needs, and offline analysis runs the very same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime

from encounter_feedback.media.audio import SAMPLE_RATE

FRAME = 512
"""Samples per VAD frame (32 ms at 16 kHz), fixed by the Silero model."""
_CONTEXT = 64


@dataclass(frozen=True)
class VadConfig:
    """Endpointing parameters. Times in milliseconds or seconds as named."""

    threshold: float = 0.5
    """A frame with speech probability at or above this starts or continues speech."""
    neg_threshold: float = 0.35
    """Below this a frame counts as silence; between the two it keeps the current state."""
    min_silence_ms: int = 500
    """Silence that ends an utterance: a pause shorter than this stays inside it."""
    min_speech_ms: int = 200
    """Utterances shorter than this are clicks or breaths and are dropped."""
    max_utterance_s: float = 20.0
    """Longer speech is cut, at its last pause of 100 ms or more when there is one."""
    speech_pad_ms: int = 200
    """Audio kept on each side of an utterance when it is sent to ASR."""


def _silero_model_path() -> Path:
    from faster_whisper.utils import get_assets_path

    return Path(get_assets_path()) / "silero_vad_v6.onnx"


class SileroVad:
    """Streaming Silero VAD: audio in any chunk size, speech probabilities per frame out."""

    def __init__(self) -> None:
        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 4
        self._session = onnxruntime.InferenceSession(
            str(_silero_model_path()), providers=["CPUExecutionProvider"], sess_options=opts
        )
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Speech probability for every frame completed by `samples` (16 kHz float32)."""
        audio = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        n_frames = len(audio) // FRAME
        self._pending = audio[n_frames * FRAME :]
        if n_frames == 0:
            return np.zeros(0, dtype=np.float32)
        frames = audio[: n_frames * FRAME].reshape(n_frames, FRAME)
        contexts = np.vstack([self._context, frames[:-1, -_CONTEXT:]])
        self._context = frames[-1, -_CONTEXT:].copy()
        batch = np.concatenate([contexts, frames], axis=1)
        probs, self._h, self._c = self._session.run(None, {"input": batch, "h": self._h, "c": self._c})
        return probs.reshape(-1)


@dataclass(frozen=True)
class SpeechSpan:
    """Where speech was heard, in samples of the track (end exclusive), without padding."""

    start: int
    end: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return (self.end - self.start) / SAMPLE_RATE


class Endpointer:
    """Online endpointing: speech probabilities per frame in, finished speech spans out."""

    def __init__(self, config: VadConfig = VadConfig()) -> None:
        self.config = config
        self._frame = 0  # index of the next frame to arrive
        self._start: int | None = None  # frame where the current speech began
        self._silence_start: int | None = None  # first silent frame of the current pause
        self._last_pause: int | None = None  # start of the latest pause >= 100 ms in this speech
        self._min_silence = _frames(config.min_silence_ms / 1000)
        self._min_speech = _frames(config.min_speech_ms / 1000)
        self._max_speech = _frames(config.max_utterance_s)
        self._short_pause = _frames(0.1)

    @property
    def in_speech(self) -> bool:
        """Whether someone is speaking right now (an utterance is open)."""
        return self._start is not None

    @property
    def position(self) -> int:
        """Samples decided so far (the VAD holds back up to one frame)."""
        return self._frame * FRAME

    @property
    def speech_start(self) -> int | None:
        """Sample where the open utterance began, or None."""
        return None if self._start is None else self._start * FRAME

    @property
    def silence_start(self) -> int | None:
        """Sample where the current pause inside the open utterance began, or None while speaking."""
        return None if self._silence_start is None else self._silence_start * FRAME

    def push(self, probs: np.ndarray) -> list[SpeechSpan]:
        """Advance by one probability per frame; return the utterances that ended."""
        ended: list[SpeechSpan] = []
        for p in probs:
            span = self._step(float(p))
            if span is not None:
                ended.append(span)
            self._frame += 1
        return ended

    def flush(self) -> list[SpeechSpan]:
        """End of audio: close the open utterance, if any."""
        end = self._silence_start if self._silence_start is not None else self._frame
        return [s for s in [self._close(end)] if s is not None]

    def _step(self, p: float) -> SpeechSpan | None:
        cfg, i = self.config, self._frame
        if self._start is None:
            if p >= cfg.threshold:
                self._start, self._silence_start, self._last_pause = i, None, None
            return None
        if p >= cfg.threshold:
            self._silence_start = None
        elif p < cfg.neg_threshold and self._silence_start is None:
            self._silence_start = i
        if self._silence_start is not None:
            pause = i - self._silence_start
            if pause >= self._short_pause:
                self._last_pause = self._silence_start
            if pause >= self._min_silence:
                return self._close(self._silence_start)
        if i - self._start >= self._max_speech:
            return self._cut_long(i)
        return None

    def _cut_long(self, i: int) -> SpeechSpan | None:
        """Split over-long speech at its last pause, or right here if it had none.

        The speaker has not stopped, so a new utterance opens at the cut.
        """
        cut = self._last_pause if self._last_pause is not None else i
        silence_start = self._silence_start
        span = self._close(cut)
        self._start, self._silence_start = cut, silence_start
        return span

    def _close(self, end_frame: int) -> SpeechSpan | None:
        start = self._start
        self._start = self._silence_start = self._last_pause = None
        if start is None or end_frame - start < self._min_speech:
            return None
        return SpeechSpan(start * FRAME, end_frame * FRAME)


def _frames(seconds: float) -> int:
    return max(1, round(seconds * SAMPLE_RATE / FRAME))
