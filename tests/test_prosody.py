"""Prosody: F0 on signals with known pitch, against Praat on real speech, speech timing and
level on known signals, syllables and rates."""

from __future__ import annotations

import numpy as np
import pytest

from encounter_feedback.analysis.prosody import (
    Acoustics,
    count_syllables,
    frame_levels_db,
    hz_to_semitones,
    measure_audio,
    pitch_track,
    utterance_prosody,
)
from encounter_feedback.media.audio import SAMPLE_RATE, decode_file, to_mono

SILENCE = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)


def harmonic(f0: float | np.ndarray, seconds: float, amplitude: float = 0.3) -> np.ndarray:
    """A voiced-like signal: 8 harmonics with 1/k amplitudes. `f0` may be a per-sample contour."""
    n = round(seconds * SAMPLE_RATE)
    phase = 2 * np.pi * np.cumsum(np.broadcast_to(f0, (n,))) / SAMPLE_RATE
    return (amplitude / 2 * sum(np.sin(k * phase) / k for k in range(1, 9))).astype(np.float32)


def test_semitones_are_re_27_5_hz():
    assert hz_to_semitones(27.5) == pytest.approx(0.0)
    assert hz_to_semitones(110.0) == pytest.approx(24.0)
    assert hz_to_semitones(np.array([55.0, 220.0])) == pytest.approx([12.0, 36.0])


@pytest.mark.parametrize("f0", [100.0, 150.0, 220.0])
def test_f0_of_a_steady_voice_is_within_2_percent(f0):
    track = pitch_track(np.concatenate([SILENCE, harmonic(f0, 1.0), SILENCE]))
    inside = (track.times >= 0.55) & (track.times <= 1.45)
    assert track.voiced[inside].all()
    assert np.abs(track.f0_hz[inside] / f0 - 1).max() < 0.02
    assert not track.voiced[(track.times < 0.45) | (track.times > 1.55)].any()  # silence is unvoiced


def test_f0_follows_a_glide_within_2_percent():
    seconds = 2.0
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    contour = 100.0 * 2 ** (t / seconds)  # one octave up, 100 -> 200 Hz
    track = pitch_track(harmonic(contour, seconds))
    truth = 100.0 * 2 ** (track.times / seconds)
    inside = (track.times > 0.05) & (track.times < seconds - 0.05)
    assert track.voiced[inside].all()
    assert np.abs(track.f0_hz[inside] / truth[inside] - 1).max() < 0.02


def test_noise_is_not_voiced():
    rng = np.random.default_rng(0)
    track = pitch_track((0.1 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32))
    assert track.voiced.mean() < 0.05


def test_levels_are_rms_db_re_full_scale():
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    levels = frame_levels_db((0.5 * np.sin(2 * np.pi * 200 * t)).astype(np.float32))
    assert len(levels) == SAMPLE_RATE // 160 + 1
    assert np.median(levels) == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.1)  # -9.03 dB


def test_measure_audio_finds_speech_pauses_pitch_and_level():
    """A 150 Hz voice from 0.5 to 2.7 s of the clip with a 0.4 s pause at 1.5 s; the VAD span is
    off by 0.1 s and the clip starts 12.0 s into the encounter."""
    clip = np.concatenate([SILENCE, harmonic(150, 1.0), np.zeros(6400, np.float32), harmonic(150, 0.8), SILENCE])
    acoustics = measure_audio(clip, audio_t0=12.0, t0=12.6, t1=14.6)
    assert acoustics.t0 == pytest.approx(12.5, abs=0.02)
    assert acoustics.t1 == pytest.approx(14.7, abs=0.02)
    assert acoustics.pauses == [pytest.approx((13.5, 13.9), abs=0.02)]
    assert acoustics.speech_time == pytest.approx(1.8, abs=0.03)
    assert acoustics.f0_mean_st == pytest.approx(hz_to_semitones(150.0), abs=0.05)
    assert acoustics.f0_sd_st < 0.05 and acoustics.f0_range_st < 0.05
    expected_db = 10 * np.log10(np.mean(harmonic(150, 1.0) ** 2))
    assert acoustics.level_db == pytest.approx(expected_db, abs=0.3)


def test_a_short_pause_is_bridged_and_a_neighbour_outside_the_span_ignored():
    """A 0.15 s gap (a stop closure, not a pause); a burst in the padding outside the VAD span."""
    clip = np.concatenate(
        [
            harmonic(120, 0.2),
            np.zeros(4800, np.float32),
            harmonic(120, 0.6),
            np.zeros(2400, np.float32),
            harmonic(120, 0.6),
            SILENCE,
        ]
    )
    acoustics = measure_audio(clip, audio_t0=0.0, t0=0.55, t1=1.95)
    assert acoustics.pauses == []
    assert (acoustics.t0, acoustics.t1) == pytest.approx((0.5, 1.85), abs=0.02)


def test_unvoiced_speech_has_no_pitch_statistics():
    rng = np.random.default_rng(1)
    clip = np.concatenate([SILENCE, (0.1 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32), SILENCE])
    acoustics = measure_audio(clip, 0.0)
    assert acoustics.f0_mean_st is None and acoustics.f0_sd_st is None and acoustics.f0_range_st is None
    assert acoustics.level_db == pytest.approx(-20.0, abs=0.3)  # RMS 0.1


@pytest.mark.parametrize(
    "word, syllables",
    [
        ("the", 1),
        ("make", 1),
        ("table", 2),
        ("people", 2),
        ("walked", 1),
        ("wanted", 2),
        ("makes", 1),
        ("boxes", 2),
        ("didn't", 2),
        ("don't", 1),
        ("I've", 1),
        ("mm-hm", 2),
        ("emergency", 4),
        ("headache", 2),
        ("today?", 2),
        ("medications", 4),
        ("because", 2),
        ("1990", 4),
        ("...", 0),
    ],
)
def test_syllable_counts(word, syllables):
    assert count_syllables(word) == syllables


def test_speech_and_articulation_rates():
    """12 syllables over 3 s of which 0.5 s is a pause: 4 syllables/s overall, 4.8 speaking."""
    acoustics = Acoustics(
        t0=10.0,
        t1=13.0,
        spans=((10.0, 11.0), (11.5, 13.0)),
        voiced_frames=200,
        f0_mean_st=30.0,
        f0_sd_st=2.0,
        f0_range_st=3.0,
        level_db=-20.0,
    )
    text = "My head has hurt for three days, it is getting worse."
    words = [{"w": w, "t0": 0, "t1": 0, "p": 1} for w in text.split()]
    prosody = utterance_prosody(acoustics, words)
    assert prosody.syllables == 12
    assert prosody.speech_rate == pytest.approx(4.0)
    assert prosody.articulation_rate == pytest.approx(4.8)
    assert prosody.to_dict()["pauses"] == [[11.0, 11.5]]


# -- agreement with Praat on real speech ---------------------------------------------------------


def praat_f0(audio: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Praat's To Pitch (autocorrelation), same time step and range, at our frame times; NaN unvoiced."""
    parselmouth = pytest.importorskip("parselmouth", reason="praat-parselmouth is a test-only reference")
    from encounter_feedback.analysis.prosody import FMAX_HZ, FMIN_HZ, HOP_S

    pitch = parselmouth.Sound(audio.astype(np.float64), sampling_frequency=SAMPLE_RATE).to_pitch(
        time_step=HOP_S, pitch_floor=FMIN_HZ, pitch_ceiling=FMAX_HZ
    )
    f0, xs = pitch.selected_array["frequency"], pitch.xs()
    index = np.round((times - xs[0]) / HOP_S).astype(int)
    inside = (index >= 0) & (index < len(f0))
    out = np.full(len(times), np.nan)
    out[inside] = np.where(f0[index[inside]] > 0, f0[index[inside]], np.nan)
    return out


@pytest.mark.data
@pytest.mark.parametrize("name, seconds", [("speech/jfk.flac", None), ("osce-dev/audio/CAR0001.mp3", 120)])
def test_f0_agrees_with_praat_on_real_speech(shared_data, name, seconds):
    audio = to_mono(decode_file(shared_data / name).channels)
    audio = audio[: seconds * SAMPLE_RATE] if seconds else audio
    ours = pitch_track(audio)
    praat = praat_f0(audio, ours.times)
    both = ours.voiced & ~np.isnan(praat)
    error = np.abs(hz_to_semitones(ours.f0_hz[both]) - hz_to_semitones(praat[both]))
    assert both.sum() >= 0.75 * (~np.isnan(praat)).sum()  # we call most of Praat's voiced frames voiced too
    assert np.median(error) <= 1.0  # the acceptance; measured ~0.1 semitone
    assert np.mean(error > 1.0) < 0.1  # octave and other gross errors stay rare
