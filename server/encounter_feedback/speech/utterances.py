"""Utterances: a track's audio cut into stretches of speech, and their transcripts as segment events.

    16 kHz mono audio -> SileroVad -> Endpointer -> Utterance (on the encounter clock, padded audio)

`UtteranceCutter` takes audio in chunks of any size and hands back finished utterances.
speech/transcribe.py drives it over decoded files at full speed; speech/streaming.py drives the
same class with WebRTC frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from encounter_feedback.events import Segment
from encounter_feedback.media.audio import SAMPLE_RATE
from encounter_feedback.speech.asr import ClipTranscript
from encounter_feedback.speech.vad import Endpointer, SileroVad, SpeechSpan, VadConfig


@dataclass(frozen=True)
class Utterance:
    """A finished stretch of speech: where it is on the encounter clock, and its audio."""

    speaker: str
    t0: float
    t1: float
    audio: np.ndarray
    audio_t0: float
    """Encounter time of `audio[0]` (the clip includes padding before `t0`)."""


class UtteranceCutter:
    """Streaming VAD and endpointing for one track; keeps only the audio it may still need."""

    def __init__(self, speaker: str, config: VadConfig = VadConfig(), offset: float = 0.0) -> None:
        self.speaker = speaker
        self.offset = offset
        self._vad = SileroVad()
        self._endpointer = Endpointer(config)
        self._pad = round(config.speech_pad_ms / 1000 * SAMPLE_RATE)
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_start = 0  # track sample index of _buffer[0]
        self._received = 0  # samples received so far

    @property
    def received(self) -> int:
        """Samples fed so far."""
        return self._received

    @property
    def speech_start(self) -> int | None:
        """Sample where the utterance in progress began; None between utterances."""
        return self._endpointer.speech_start

    @property
    def pause_start(self) -> int | None:
        """Sample where the current pause inside the utterance in progress began; None while speaking.

        The live server decodes partials while someone speaks and, once a pause begins, a
        speculative final that is ready by the time the pause is long enough to end the utterance.
        """
        return self._endpointer.silence_start

    def feed(self, samples: np.ndarray) -> list[Utterance]:
        """Add audio; return the utterances it completed."""
        self._buffer = np.concatenate([self._buffer, samples.astype(np.float32, copy=False)])
        self._received += len(samples)
        spans = self._endpointer.push(self._vad.process(samples))
        utterances = [self.clip(span) for span in spans]
        self._trim()
        return utterances

    def flush(self) -> list[Utterance]:
        """End of the track: finish the utterance in progress, if any."""
        return [self.clip(span) for span in self._endpointer.flush()]

    def clip(self, span: SpeechSpan) -> Utterance:
        """The utterance for `span`, its audio padded on both sides as far as received."""
        lo = max(span.start - self._pad, self._buffer_start)
        hi = min(span.end + self._pad, self._received)
        audio = self._buffer[lo - self._buffer_start : hi - self._buffer_start]
        return Utterance(
            speaker=self.speaker,
            t0=self.offset + span.start / SAMPLE_RATE,
            t1=self.offset + span.end / SAMPLE_RATE,
            audio=audio,
            audio_t0=self.offset + lo / SAMPLE_RATE,
        )

    def _trim(self) -> None:
        """Drop audio older than any utterance can still reach back to."""
        start = self._endpointer.speech_start
        keep_from = (start if start is not None else self._endpointer.position) - self._pad
        drop = min(max(0, keep_from - self._buffer_start), len(self._buffer))
        if drop:
            self._buffer = self._buffer[drop:]
            self._buffer_start += drop


def segment_id(speaker: str, index: int) -> str:
    """`<speaker>-<n>`: numbered per speaker, so ids are unique across tracks."""
    return f"{speaker}-{index}"


def to_segment(
    encounter: str, id: str, utterance: Utterance, transcript: ClipTranscript, final: bool = True
) -> Segment | None:
    """The segment event for a transcribed utterance, on the encounter clock; None if no words."""
    if not transcript.words:
        return None
    return Segment.from_words(
        id=id,
        encounter=encounter,
        speaker=utterance.speaker,
        words=[w.shifted(utterance.audio_t0) for w in transcript.words],
        final=final,
        avg_logprob=transcript.avg_logprob,
        model=transcript.model,
    )


def make_segments(
    encounter: str, utterances: list[Utterance], transcripts: list[ClipTranscript]
) -> list[tuple[Segment, Utterance]]:
    """Final segment events for transcribed utterances, numbered from 1, each with the utterance it
    came from (its audio is what prosody is measured on); utterances with no words give none."""
    pairs: list[tuple[Segment, Utterance]] = []
    for utterance, transcript in zip(utterances, transcripts):
        segment = to_segment(encounter, segment_id(utterance.speaker, len(pairs) + 1), utterance, transcript)
        if segment is not None:
            pairs.append((segment, utterance))
    return pairs
