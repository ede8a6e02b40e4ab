"""Streaming Silero VAD and the endpointer's rules, on synthetic and synthesized audio."""

from __future__ import annotations

import numpy as np

from encounter_feedback.media.audio import SAMPLE_RATE
from encounter_feedback.media.tts import synthesize
from encounter_feedback.speech.utterances import UtteranceCutter
from encounter_feedback.speech.vad import FRAME, Endpointer, SileroVad, VadConfig

FRAME_S = FRAME / SAMPLE_RATE


def _probs(pattern: list[tuple[float, float]]) -> np.ndarray:
    """Frame probabilities from (probability, seconds) runs."""
    return np.concatenate([np.full(round(s / FRAME_S), p) for p, s in pattern])


def test_streaming_probabilities_match_one_shot():
    speech = np.concatenate([np.zeros(8000, np.float32), synthesize("Hello, how are you feeling today?")])
    whole = SileroVad().process(speech)
    vad = SileroVad()
    streamed = np.concatenate([vad.process(speech[i : i + 320]) for i in range(0, len(speech), 320)])
    assert len(streamed) == len(whole) == len(speech) // FRAME
    np.testing.assert_allclose(streamed, whole, atol=1e-5)
    assert whole.max() > 0.9 and whole[:10].max() < 0.2


def test_short_pause_stays_inside_and_long_pause_ends():
    ep = Endpointer(VadConfig(min_silence_ms=500))
    spans = ep.push(_probs([(0.0, 1.0), (0.9, 1.0), (0.1, 0.3), (0.9, 1.0), (0.1, 1.0)]))
    assert len(spans) == 1
    assert abs(spans[0].start / SAMPLE_RATE - 1.0) < FRAME_S
    assert abs(spans[0].end / SAMPLE_RATE - 3.3) < 2 * FRAME_S  # ends where the silence began


def test_blips_are_dropped_and_flush_closes_open_speech():
    ep = Endpointer(VadConfig(min_speech_ms=200))
    assert ep.push(_probs([(0.9, 0.1), (0.0, 1.0)])) == []
    assert ep.push(_probs([(0.9, 0.5)])) == [] and ep.in_speech
    (span,) = ep.flush()
    assert abs(span.duration - 0.5) < 2 * FRAME_S and not ep.in_speech


def test_long_speech_is_cut_at_its_last_pause():
    ep = Endpointer(VadConfig(max_utterance_s=5.0))
    spans = ep.push(_probs([(0.9, 3.0), (0.1, 0.2), (0.9, 4.0), (0.1, 1.0)]))
    assert len(spans) == 2
    assert abs(spans[0].end / SAMPLE_RATE - 3.0) < 2 * FRAME_S
    assert abs(spans[1].end / SAMPLE_RATE - 7.2) < 2 * FRAME_S


def test_cutter_finds_placed_speech_and_pads_it():
    speech = synthesize("I have had a bad headache for three days.")
    track = np.concatenate([np.zeros(SAMPLE_RATE, np.float32), speech, np.zeros(SAMPLE_RATE, np.float32)])
    cutter = UtteranceCutter("patient")
    utterances = [u for i in range(0, len(track), 320) for u in cutter.feed(track[i : i + 320])] + cutter.flush()
    assert len(utterances) == 1
    (u,) = utterances
    assert abs(u.t0 - 1.0) < 0.1 and abs(u.t1 - (1.0 + len(speech) / SAMPLE_RATE)) < 0.15
    assert abs((u.t0 - u.audio_t0) - 0.2) < 1e-6  # speech_pad_ms
