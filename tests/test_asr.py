"""ASR engine guards, packing, model resolution, and silence/noise producing no words."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import words_of
from encounter_feedback.media.audio import SAMPLE_RATE
from encounter_feedback.media.tts import synthesize
from encounter_feedback.speech.asr import (
    AsrConfig,
    AsrSegment,
    Word,
    _pack,
    drop_repetitions,
    looks_like_loop,
    passes_gates,
    transcribe_clips,
)
from encounter_feedback.speech.models import ModelError, resolve_model_dir
from encounter_feedback.speech.transcribe import Track, analyze_tracks


def _words(text: str) -> list[Word]:
    return [Word(w, i, i + 0.5, 0.9) for i, w in enumerate(text.split())]


def test_repetition_loops_are_cut_but_natural_repeats_stay():
    looped = drop_repetitions(_words("thank you " * 8 + "doctor"), max_repeats=3)
    assert " ".join(w.w for w in looped) == "thank you thank you thank you doctor"
    natural = "no, no, no it is here here"
    assert [w.w for w in drop_repetitions(_words(natural), 3)] == natural.split()


def test_gates_drop_likely_silence_and_loops():
    cfg = AsrConfig()
    words = tuple(_words("hello there"))
    assert passes_gates(AsrSegment(words, -0.3, 0.1), cfg)
    assert not passes_gates(AsrSegment(words, -1.5, 0.9), cfg)  # silence, low confidence
    assert passes_gates(AsrSegment(words, -0.3, 0.9), cfg)  # confident speech stays
    assert not passes_gates(AsrSegment((), -0.3, 0.1), cfg)
    assert looks_like_loop(_words("we can go to the " * 6 + "store"), cfg)
    assert not looks_like_loop(_words("I have had a bad headache for three days, and it keeps getting worse."), cfg)
    assert not looks_like_loop([], cfg)


def test_pack_respects_the_window():
    cfg = AsrConfig(max_window_s=10, clip_gap_s=0.5)
    clips = [np.zeros(round(s * SAMPLE_RATE)) for s in (4, 4, 3, 9, 1)]
    assert _pack(clips, cfg) == [[0, 1], [2], [3], [4]]


def test_unknown_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="unknown model 'large-v9'.*never downloaded"):
        resolve_model_dir("large-v9", tmp_path)
    with pytest.raises(ModelError, match="CTranslate2 Whisper model"):
        resolve_model_dir(str(tmp_path), tmp_path)
    assert (resolve_model_dir(None, tmp_path) / "model.bin").is_file()
    assert (resolve_model_dir("tiny.en", tmp_path) / "model.bin").is_file()


def test_packed_clips_get_their_own_words(each_engine):
    engine = each_engine
    lines = ["My chest hurts when I breathe.", "Since yesterday evening.", "No, I do not smoke."]
    clips = [np.concatenate([np.zeros(3200, np.float32), synthesize(t), np.zeros(3200, np.float32)]) for t in lines]
    results = transcribe_clips(engine, clips)
    assert [words_of(" ".join(w.w for w in r.words)) for r in results] == [words_of(t) for t in lines]
    for clip, result in zip(clips, results):
        assert 0 <= result.words[0].t0 < result.words[-1].t1 <= len(clip) / SAMPLE_RATE
        assert all(a.t1 <= b.t0 + 0.01 for a, b in zip(result.words, result.words[1:]))  # in order, no overlap
        assert result.model == engine.name


@pytest.mark.parametrize("kind", ["silence", "white", "pink", "hum"])
def test_a_minute_of_non_speech_gives_no_words(each_engine, kind):
    rng = np.random.default_rng(7)
    n = 60 * SAMPLE_RATE
    if kind == "silence":
        audio = np.zeros(n, np.float32)
    elif kind == "white":
        audio = 0.1 * rng.standard_normal(n)
    elif kind == "pink":
        spectrum = np.fft.rfft(rng.standard_normal(n)) / np.sqrt(np.arange(1, n // 2 + 2))
        audio = np.fft.irfft(spectrum, n)
        audio *= 0.1 / audio.std()
    else:  # mains hum with harmonics, as from a badly grounded room mixer
        t = np.arange(n) / SAMPLE_RATE
        audio = 0.05 * sum(np.sin(2 * np.pi * 60 * k * t) / k for k in range(1, 6))
    segments = analyze_tracks("noise", [Track("unknown", audio.astype(np.float32))], each_engine)
    assert [s.text for s in segments] == []
