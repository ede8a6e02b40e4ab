"""Benchmarks the project ships (`encounter bench ...`): figures are measured, never asserted in tests.

`wer` scores our pipeline with each engine and model asked for against human transcripts and,
in the same run with the same models, plain batch faster-whisper (the reference point), with
Whisper's English text normalizer; speed as the real-time factor and CPU seconds per second of
audio.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import jiwer
from whisper_normalizer.english import EnglishTextNormalizer

from encounter_feedback.media.audio import decode_file, to_mono
from encounter_feedback.speech.asr import AsrEngine
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
    """`ENGINE:MODEL` for our pipeline, `batch:MODEL` for plain faster-whisper."""
    audio_s: float
    wall_s: float
    cpu_s: float
    """CPU time of this process (every thread) while the system ran."""
    scored: WordErrors

    @property
    def wer(self) -> float:
        return self.scored.wer

    @property
    def rtf(self) -> float:
        """Real-time factor: wall-clock seconds per second of audio (below 1 is faster than real time)."""
        return self.wall_s / max(1e-9, self.audio_s)

    @property
    def cpu_per_audio_s(self) -> float:
        """CPU seconds per second of audio: the cost on a machine whatever its number of cores."""
        return self.cpu_s / max(1e-9, self.audio_s)


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
    engines: Sequence[AsrEngine],
    baseline: bool = True,
    on_file: Callable[[Path], None] | None = None,
) -> list[WerRow]:
    """Score each engine's pipeline (one mixed track) per file, and with `baseline` plain batch
    faster-whisper (`batch_transcript`) once per faster-whisper model among them."""
    pairs = find_pairs(directory)
    if not pairs:
        raise FileNotFoundError(f"{directory}: no audio file with a matching .txt transcript")
    batch_engines = {
        engine.name.split(":", 1)[1]: engine for engine in engines if isinstance(engine, FasterWhisperEngine)
    }
    rows = []
    for audio_path, ref_path in pairs:
        if on_file:
            on_file(audio_path)
        reference = reference_text(ref_path)
        audio = decode_file(audio_path)
        track = Track("unknown", to_mono(audio.channels))
        for engine in engines:
            with _Timed() as timed:
                text = " ".join(s.text for s in analyze_tracks("bench", [track], engine))
            rows.append(timed.row(audio_path.stem, engine.name, audio.duration, word_errors(reference, text)))
        for model, engine in batch_engines.items() if baseline else ():
            with _Timed() as timed:
                text = batch_transcript(engine, audio_path)
            rows.append(timed.row(audio_path.stem, f"batch:{model}", audio.duration, word_errors(reference, text)))
    return rows


class _Timed:
    """Wall-clock and process CPU time of a `with` block."""

    def __enter__(self) -> _Timed:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def row(self, name: str, system: str, audio_s: float, scored: WordErrors) -> WerRow:
        return WerRow(name, system, audio_s, self.wall, self.cpu, scored)


def format_wer(rows: list[WerRow]) -> str:
    """A table per file, then a total line per system (WER pooled over all words), in the order systems ran."""
    width = max(len("system"), *(len(r.system) for r in rows))
    header = f"{'file':<12} {'system':<{width}} {'audio s':>8} {'WER %':>6} {'RTF':>6} {'CPU s/s':>7}"

    def line(row: WerRow) -> str:
        return (
            f"{row.name:<12} {row.system:<{width}} {row.audio_s:8.1f} {100 * row.wer:6.2f}"
            f" {row.rtf:6.3f} {row.cpu_per_audio_s:7.3f}"
        )

    totals = []
    for system in dict.fromkeys(r.system for r in rows):
        mine = [r for r in rows if r.system == system]
        totals.append(
            WerRow(
                "TOTAL",
                system,
                sum(r.audio_s for r in mine),
                sum(r.wall_s for r in mine),
                sum(r.cpu_s for r in mine),
                sum((r.scored for r in mine), WordErrors(0, 0)),
            )
        )
    return "\n".join([header, *map(line, rows), *map(line, totals)])
