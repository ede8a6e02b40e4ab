"""Benchmarks the project ships (`encounter bench ...`): figures are measured, never asserted in tests.

`wer` scores our pipeline against human transcripts and, in the same run with the same model,
plain batch faster-whisper (the reference point), with Whisper's English text normalizer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jiwer
from whisper_normalizer.english import EnglishTextNormalizer

from encounter_feedback.media.audio import decode_file, to_mono
from encounter_feedback.speech.engine_faster_whisper import FasterWhisperEngine
from encounter_feedback.speech.transcribe import Track, analyze_tracks

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".m4a", ".ogg", ".opus", ".webm")
_TURN = re.compile(r"^\s*[A-Za-z]{1,12}\s*:\s*")

_normalizer = EnglishTextNormalizer()


def normalize(text: str) -> str:
    """Whisper's English normalizer (numbers, spellings, punctuation, fillers)."""
    return _normalizer(text)


def reference_text(path: Path) -> str:
    """A human transcript as plain text: `D:`/`P:` turn labels and blank lines removed."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return " ".join(_TURN.sub("", line).strip() for line in lines if line.strip())


@dataclass(frozen=True)
class WerRow:
    """One file's result for one system."""

    name: str
    system: str
    audio_s: float
    compute_s: float
    scored: WordErrors

    @property
    def wer(self) -> float:
        return self.scored.wer

    @property
    def speed(self) -> float:
        """Times faster than real time."""
        return self.audio_s / max(1e-9, self.compute_s)


def find_pairs(directory: Path) -> list[tuple[Path, Path]]:
    """(audio, transcript) pairs: `audio/X.*` with `transcripts/X.txt`, or side by side."""
    audio_files = sorted(p for p in directory.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    return [(audio, ref) for audio in audio_files if (ref := _transcript_of(audio, directory)) is not None]


def _transcript_of(audio: Path, directory: Path) -> Path | None:
    for ref in (audio.with_suffix(".txt"), directory / "transcripts" / f"{audio.stem}.txt"):
        if ref.is_file():
            return ref
    return None


def reference_for(audio: Path) -> str | None:
    """The human transcript of an audio file (`X.txt` beside it or in `../transcripts/`), if any."""
    ref = _transcript_of(audio, audio.parent.parent)
    return None if ref is None else reference_text(ref)


@dataclass(frozen=True)
class WordErrors:
    errors: int
    ref_words: int

    @property
    def wer(self) -> float:
        return self.errors / max(1, self.ref_words)

    def __add__(self, other: WordErrors) -> WordErrors:
        return WordErrors(self.errors + other.errors, self.ref_words + other.ref_words)


def word_errors(reference: str, hypothesis: str) -> WordErrors:
    """Substitutions, deletions and insertions after Whisper's English normalizer."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    out = jiwer.process_words(ref, hyp)
    return WordErrors(out.substitutions + out.deletions + out.insertions, len(ref.split()))


def batch_transcript(engine: FasterWhisperEngine, audio_path: Path) -> str:
    """Plain faster-whisper as most people run it: the same loaded model, greedy decoding, its
    built-in VAD, conditioning on previous text, no word timestamps."""
    segments, _ = engine.model.transcribe(
        str(audio_path), language=engine.config.language, beam_size=1, vad_filter=True
    )
    return " ".join(s.text.strip() for s in segments)


def bench_wer(
    directory: Path,
    engine: FasterWhisperEngine,
    on_file: Callable[[Path], None] | None = None,
) -> list[WerRow]:
    """Score `ours` (the pipeline on one mixed track) and `batch` (`batch_transcript`) per file."""
    pairs = find_pairs(directory)
    if not pairs:
        raise FileNotFoundError(f"{directory}: no audio file with a matching .txt transcript")
    rows = []
    for audio_path, ref_path in pairs:
        if on_file:
            on_file(audio_path)
        reference = reference_text(ref_path)

        start = time.perf_counter()
        audio = decode_file(audio_path)
        segments = analyze_tracks("bench", [Track("unknown", to_mono(audio.channels))], engine)
        ours = " ".join(s.text for s in segments)
        rows.append(
            WerRow(audio_path.stem, "ours", audio.duration, time.perf_counter() - start, word_errors(reference, ours))
        )

        start = time.perf_counter()
        batch = batch_transcript(engine, audio_path)
        rows.append(
            WerRow(audio_path.stem, "batch", audio.duration, time.perf_counter() - start, word_errors(reference, batch))
        )
    return rows


def format_wer(rows: list[WerRow]) -> str:
    """A table per file and a total line per system (WER pooled over all words)."""
    lines = [f"{'file':<12} {'system':<6} {'audio s':>8} {'WER %':>6} {'x real time':>11}"]
    for row in rows:
        lines.append(f"{row.name:<12} {row.system:<6} {row.audio_s:8.1f} {100 * row.wer:6.2f} {row.speed:11.1f}")
    for system in ("ours", "batch"):
        mine = [r for r in rows if r.system == system]
        total = WerRow(
            "TOTAL",
            system,
            sum(r.audio_s for r in mine),
            sum(r.compute_s for r in mine),
            sum((r.scored for r in mine), WordErrors(0, 0)),
        )
        lines.append(
            f"{total.name:<12} {total.system:<6} {total.audio_s:8.1f} {100 * total.wer:6.2f} {total.speed:11.1f}"
        )
    return "\n".join(lines)
