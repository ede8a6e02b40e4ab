"""Speech synthesis with eSpeak NG, for the demo and for test fixtures made on any machine.

eSpeak NG is loaded from the `espeakng-loader` wheel (library and voice data included), so
no system package is needed. It is GPL-3 licensed: it is an optional extra (`[demo]`) used
to *make* audio, never part of the analysis pipeline.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from encounter_feedback.errors import UserError
from encounter_feedback.media.audio import SAMPLE_RATE, resample

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE = 1
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

VOICES = {"patient": "en-us", "provider": "en-us+m3", "unknown": "en-us"}
"""A distinct voice per role, so a mixed recording still sounds like two people. These two
are the variants tiny.en understands best (about 3% WER on our lines; the female variants
score 10-13%)."""


class TtsError(UserError):
    """eSpeak NG is not installed or refused the request."""


class _Espeak:
    """The eSpeak NG library: one global engine, so every call holds a lock."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:
            raise TtsError("speech synthesis needs eSpeak NG: pip install 'encounter-feedback[demo]'") from exc
        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data = espeakng_loader.get_data_path().encode()
        self.rate = self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0)
        if self.rate <= 0:
            raise TtsError("eSpeak NG failed to initialize")
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # kept alive as long as the library uses it
        self._lib.espeak_SetSynthCallback(self._callback)
        self.lock = threading.Lock()

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0

    def synthesize(self, text: str, voice: str, words_per_minute: int) -> np.ndarray:
        with self.lock:
            self._chunks = []
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise TtsError(f"eSpeak NG has no voice {voice!r}")
            self._lib.espeak_SetParameter(_RATE, words_per_minute, 0)
            data = text.encode()
            status = self._lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            self._lib.espeak_Synchronize()
            if status != 0:
                raise TtsError(f"eSpeak NG could not synthesize {text[:40]!r} (error {status})")
            pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return pcm.astype(np.float32) / 32768.0


_engine: _Espeak | None = None


def synthesize(text: str, voice: str = VOICES["unknown"], words_per_minute: int = 150) -> np.ndarray:
    """Speak `text`; 16 kHz mono float32 with eSpeak's leading and trailing silence trimmed."""
    global _engine
    if _engine is None:
        _engine = _Espeak()
    audio = resample(_engine.synthesize(text, voice, words_per_minute), _engine.rate)
    return trim_silence(audio)


def trim_silence(audio: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    """Cut leading and trailing samples quieter than `threshold` (full scale = 1)."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    return audio[loud[0] : loud[-1] + 1] if len(loud) else audio[:0]


@dataclass(frozen=True)
class Placement:
    """Where a synthesized line was put on the encounter clock (speech only, seconds)."""

    role: str
    text: str
    t0: float
    t1: float


@dataclass(frozen=True)
class RenderedDialogue:
    """A spoken dialogue: one track per role, all the same length, and where each line is."""

    tracks: dict[str, np.ndarray]
    placements: list[Placement]

    def mix(self) -> np.ndarray:
        """All roles on one track, as a single room microphone would hear them."""
        return np.clip(sum(self.tracks.values()), -1.0, 1.0).astype(np.float32)


def render_dialogue(
    lines: Sequence[tuple[str, str]],
    gap_s: float = 0.8,
    lead_s: float = 0.5,
    tail_s: float = 1.0,
    voices: Mapping[str, str] = VOICES,
) -> RenderedDialogue:
    """Speak (role, text) lines one after another, each role on its own track, in `voices[role]`.

    Lines start `gap_s` after the previous one ends, the first at `lead_s`.
    """
    clips = [(role, text, synthesize(text, voices[role])) for role, text in lines]
    placements, t = [], lead_s
    for role, text, clip in clips:
        placements.append(Placement(role, text, round(t, 3), round(t + len(clip) / SAMPLE_RATE, 3)))
        t += len(clip) / SAMPLE_RATE + gap_s
    total = round((t - gap_s + tail_s) * SAMPLE_RATE)
    tracks = {role: np.zeros(total, dtype=np.float32) for role, _, _ in clips}
    for (role, _, clip), place in zip(clips, placements):
        start = round(place.t0 * SAMPLE_RATE)
        tracks[role][start : start + len(clip)] += clip
    return RenderedDialogue(tracks, placements)
