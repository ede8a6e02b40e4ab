"""Recording live tracks to disk for debrief playback.

Each role is written as 16 kHz mono 16-bit WAV on the encounter clock: sample 0 is encounter
time 0, so a track that joined late starts with silence and every recording lines up with
the events and with the other roles. Python's `wave` rewrites the header after each write, so
the file is a valid WAV at every moment, even if the server dies mid-encounter. Recordings are
voices of identifiable people: the file and its folder are owner-only (private.py).
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from encounter_feedback.media.audio import SAMPLE_RATE
from encounter_feedback.private import open_private, private_dir


class WavRecorder:
    """Appends float32 samples to a 16-bit mono WAV file, always readable."""

    def __init__(self, path: Path) -> None:
        private_dir(path.parent)
        self.path = path
        self.samples = 0
        self._file = open_private(path)
        self._wav = wave.open(self._file, "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(SAMPLE_RATE)

    @property
    def duration(self) -> float:
        """Seconds written so far."""
        return self.samples / SAMPLE_RATE

    def write(self, samples: np.ndarray) -> None:
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
        self._wav.writeframes(pcm.tobytes())
        self.samples += len(samples)

    def write_silence(self, seconds: float) -> None:
        self.write(np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32))

    def close(self) -> None:
        self._wav.close()  # writes the final header; the file it was given stays open
        self._file.close()
