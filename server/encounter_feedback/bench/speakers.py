"""`encounter bench speakers DIR`: who-said-it on room recordings, against D:/P: human transcripts.

Each recording is analysed as one mixed track (transcription, then diarization and roles as
`encounter analyze` does) and scored with Whisper's English normalizer:

- speaker-blind WER: all words, speakers ignored (the floor speaker attribution can reach);
- speaker-attributed WER: each role's words against that role's reference words, errors
  summed over both roles, with the system's own role mapping, and with the oracle mapping
  (the better of the two); a word on the wrong speaker costs a deletion and an insertion;
- wrong speaker: share of the words aligned to the reference (blind alignment) whose speaker
  differs from the reference turn's (`unknown` counts as wrong);
- roles right: whether the system's mapping is the oracle's;
- CPU: diarization's CPU seconds (embedding, clustering, labelling) as a share of the audio.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import jiwer

from encounter_feedback.bench.references import reference_turns
from encounter_feedback.bench.wer import WordErrors, find_pairs, normalize
from encounter_feedback.events import ROLES, Segment
from encounter_feedback.media.audio import decode_file, to_mono
from encounter_feedback.pipeline.room import attribute_room
from encounter_feedback.speech.asr import AsrEngine
from encounter_feedback.speech.transcribe import Track, transcribe_tracks

_SWAP = {"patient": "provider", "provider": "patient"}


def labelled_tokens(pieces: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """(normalized word, speaker) of (speaker, text) pieces, in order."""
    return [(token, speaker) for speaker, text in pieces for token in normalize(text).split()]


def _errors(reference: list[str], hypothesis: list[str]) -> WordErrors:
    if not hypothesis:
        return WordErrors(len(reference), len(reference))
    if not reference:
        return WordErrors(len(hypothesis), 0)
    out = jiwer.process_words(" ".join(reference), " ".join(hypothesis))
    return WordErrors(out.substitutions + out.deletions + out.insertions, len(reference))


def attributed_errors(
    reference: list[tuple[str, str]], hypothesis: list[tuple[str, str]], swap: bool = False
) -> dict[str, WordErrors]:
    """Per role: that role's reference words against the words the system gave that role."""
    return {
        role: _errors(
            [t for t, s in reference if s == role],
            [t for t, s in hypothesis if (_SWAP.get(s, s) if swap else s) == role],
        )
        for role in ROLES
    }


def wrong_speaker(reference: list[tuple[str, str]], hypothesis: list[tuple[str, str]]) -> tuple[int, int]:
    """(aligned words on another speaker than the reference's, aligned words)."""
    out = jiwer.process_words(" ".join(t for t, _ in reference), " ".join(t for t, _ in hypothesis))
    aligned = wrong = 0
    for chunk in out.alignments[0]:
        if chunk.type in ("equal", "substitute"):
            for i, j in zip(
                range(chunk.ref_start_idx, chunk.ref_end_idx), range(chunk.hyp_start_idx, chunk.hyp_end_idx)
            ):
                aligned += 1
                wrong += reference[i][1] != hypothesis[j][1]
    return wrong, aligned


@dataclass(frozen=True)
class SpeakerRow:
    """One recording's figures."""

    name: str
    audio_s: float
    diarize_cpu_s: float
    blind: WordErrors
    per_role: dict[str, WordErrors]
    oracle: WordErrors
    wrong: int
    aligned: int
    voices: int
    confident: bool | None

    @property
    def attributed(self) -> WordErrors:
        return sum(self.per_role.values(), WordErrors(0, 0))

    @property
    def roles_right(self) -> bool:
        return self.attributed.errors <= self.oracle.errors


def score_recording(
    name: str,
    reference: list[tuple[str, str]],
    segments: Sequence[Segment],
    audio_s: float,
    cpu_s: float,
    summary: dict,
) -> SpeakerRow:
    """A recording's row from its speaker-labelled segments and the human transcript."""
    ref = labelled_tokens(reference)
    hyp = labelled_tokens([(s.speaker, s.text) for s in segments])
    per_role = attributed_errors(ref, hyp)
    swapped = sum(attributed_errors(ref, hyp, swap=True).values(), WordErrors(0, 0))
    attributed = sum(per_role.values(), WordErrors(0, 0))
    wrong, aligned = wrong_speaker(ref, hyp)
    roles = summary.get("roles")
    return SpeakerRow(
        name=name,
        audio_s=audio_s,
        diarize_cpu_s=cpu_s,
        blind=_errors([t for t, _ in ref], [t for t, _ in hyp]),
        per_role=per_role,
        oracle=min(attributed, swapped, key=lambda e: e.errors),
        wrong=wrong,
        aligned=aligned,
        voices=summary["voices"],
        confident=None if roles is None else roles["confident"],
    )


def bench_speakers(
    directory: Path, engine: AsrEngine, on_file: Callable[[Path], None] | None = None
) -> list[SpeakerRow]:
    """Transcribe each recording as one room track, attribute speakers, score against D:/P:."""
    pairs = find_pairs(directory)
    if not pairs:
        raise FileNotFoundError(f"{directory}: no audio file with a matching .txt transcript")
    rows = []
    for audio_path, ref_path in pairs:
        if on_file:
            on_file(audio_path)
        reference = reference_turns(ref_path)
        audio = decode_file(audio_path)
        transcribed = transcribe_tracks("bench", [Track("unknown", to_mono(audio.channels))], engine)
        start = time.process_time()
        attributed, summary = attribute_room("bench", transcribed)
        cpu = time.process_time() - start
        segments = [segment for segment, _ in attributed]
        rows.append(score_recording(audio_path.stem, reference, segments, audio.duration, cpu, summary))
    return rows


def format_speakers(rows: list[SpeakerRow]) -> str:
    """A table per recording and a pooled total (WER over all words, CPU over all audio)."""
    head = (
        f"{'file':<10} {'audio s':>7} {'blind %':>7} {'attrib %':>8} {'+pts':>5} {'oracle %':>8} "
        f"{'patient %':>9} {'provider %':>10} {'wrong spk %':>11} {'roles':>5} {'voices':>6} {'CPU % RT':>8}"
    )
    right = sum(r.voices == 2 and r.roles_right for r in rows)
    lines = [head, *(_line(row, _roles(row)) for row in rows), _line(_total(rows), f"{right}/{len(rows)}")]
    return "\n".join(lines)


def _line(row: SpeakerRow, roles: str) -> str:
    attributed = row.attributed
    return (
        f"{row.name:<10} {row.audio_s:7.0f} {100 * row.blind.wer:7.2f} {100 * attributed.wer:8.2f} "
        f"{100 * (attributed.wer - row.blind.wer):5.2f} {100 * row.oracle.wer:8.2f} "
        f"{100 * row.per_role['patient'].wer:9.2f} {100 * row.per_role['provider'].wer:10.2f} "
        f"{100 * row.wrong / max(1, row.aligned):11.2f} {roles:>5} {row.voices:6d} "
        f"{100 * row.diarize_cpu_s / max(1e-9, row.audio_s):8.2f}"
    )


def _roles(row: SpeakerRow) -> str:
    if row.voices < 2:
        return "-"
    return ("right" if row.roles_right else "WRONG") + ("" if row.confident else "?")


def _total(rows: list[SpeakerRow]) -> SpeakerRow:
    def pooled(errors: Sequence[WordErrors]) -> WordErrors:
        return sum(errors, WordErrors(0, 0))

    return SpeakerRow(
        name="TOTAL",
        audio_s=sum(r.audio_s for r in rows),
        diarize_cpu_s=sum(r.diarize_cpu_s for r in rows),
        blind=pooled([r.blind for r in rows]),
        per_role={role: pooled([r.per_role[role] for r in rows]) for role in ROLES},
        oracle=pooled([r.oracle for r in rows]),
        wrong=sum(r.wrong for r in rows),
        aligned=sum(r.aligned for r in rows),
        voices=min(r.voices for r in rows),
        confident=None,
    )
