"""Offline transcription: whole recorded tracks in, speaker-labelled segments out, at full speed.

    16 kHz mono track -> UtteranceCutter (VAD + endpointing) -> utterance clips -> ASR, packed -> segments

The live server drives the same `UtteranceCutter` with WebRTC frames (speech/streaming.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from encounter_feedback.events import Segment
from encounter_feedback.media.audio import SAMPLE_RATE
from encounter_feedback.speech.asr import AsrEngine, transcribe_clips
from encounter_feedback.speech.utterances import Utterance, UtteranceCutter, make_segments
from encounter_feedback.speech.vad import VadConfig

Progress = Callable[[float], None]
"""Called with how much work was just done, in seconds of audio."""


@dataclass(frozen=True)
class Track:
    """One role's audio, 16 kHz mono float32, starting `offset` s into the encounter."""

    speaker: str
    samples: np.ndarray
    offset: float = 0.0


CHUNK_S = 10.0
"""Offline analysis feeds the cutter in chunks of this many seconds (progress granularity)."""


def transcribe_tracks(
    encounter: str,
    tracks: list[Track],
    engine: AsrEngine,
    vad: VadConfig = VadConfig(),
    progress: Progress | None = None,
) -> list[tuple[Segment, Utterance]]:
    """Run the whole pipeline over recorded tracks: segments of all tracks in time order, each with its utterance.

    Decoding options belong to the engine (`engine.config`); endpointing to `vad`.

    Progress is reported twice per second of audio: once when it is cut, once when decoded.
    """
    report = progress or (lambda _: None)
    pairs: list[tuple[Segment, Utterance]] = []
    for track in tracks:
        cutter = UtteranceCutter(track.speaker, vad, track.offset)
        utterances: list[Utterance] = []
        step = round(CHUNK_S * SAMPLE_RATE)
        for i in range(0, len(track.samples), step):
            chunk = track.samples[i : i + step]
            utterances += cutter.feed(chunk)
            report(len(chunk) / SAMPLE_RATE)
        utterances += cutter.flush()
        seconds = len(track.samples) / SAMPLE_RATE
        transcripts = transcribe_clips(engine, [u.audio for u in utterances], _in_seconds(report, seconds))
        if not utterances:
            report(seconds)
        pairs += make_segments(encounter, utterances, transcripts)
    return sorted(pairs, key=lambda pair: (pair[0].t0, pair[0].speaker))


def _in_seconds(report: Progress, seconds: float) -> Callable[[float], None]:
    """Progress as a share of one track's audio, reported in seconds of it."""
    return lambda share: report(share * seconds)


def analyze_tracks(
    encounter: str,
    tracks: list[Track],
    engine: AsrEngine,
    vad: VadConfig = VadConfig(),
    progress: Progress | None = None,
) -> list[Segment]:
    """`transcribe_tracks`, the segments only."""
    return [segment for segment, _ in transcribe_tracks(encounter, tracks, engine, vad, progress)]
