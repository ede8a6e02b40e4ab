"""Two role microphones in one room: each hears the other person quieter and later; every word
must be transcribed once, under its speaker, and a backchannel over the other's speech kept."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import words_of
from encounter_feedback.bench.crosstalk import leaky_microphones, with_backchannel
from encounter_feedback.media.audio import write_wav
from encounter_feedback.media.tts import render_dialogue
from encounter_feedback.pipeline.offline import analyze, load_sources
from encounter_feedback.speech.crosstalk import duplicated_words, suppress_crosstalk
from encounter_feedback.store.database import Store
from test_speakers import INTERVIEW, ROOM_VOICES


@pytest.fixture(scope="module")
def microphones():
    """INTERVIEW on two leaky microphones (-12 dB, 4 and 7 ms), with the provider's "Okay."
    one second into the patient's longest line; and where the backchannel is."""
    dialogue = render_dialogue(INTERVIEW, gap_s=0.6, voices=ROOM_VOICES)
    line = max((p for p in dialogue.placements if p.role == "patient"), key=lambda p: p.t1 - p.t0)
    provider, t0, t1 = with_backchannel(dialogue.tracks["provider"], line.t0 + 1.0, ROOM_VOICES["provider"])
    return dialogue, leaky_microphones({"patient": dialogue.tracks["patient"], "provider": provider}), (t0, t1)


def test_each_word_once_under_its_speaker_and_the_backchannel_kept(tmp_path, engine, microphones):
    dialogue, mics, (b0, b1) = microphones
    paths = {}
    for role, samples in mics.items():
        paths[role] = tmp_path / f"{role}.wav"
        write_wav(paths[role], samples)
    result = analyze(load_sources(per_role=paths), engine, Store(tmp_path / "data"))
    segments = result.segments
    assert duplicated_words(segments) == 0
    for line in dialogue.placements:
        heard = [s for s in segments if line.t0 - 0.3 <= (s.t0 + s.t1) / 2 <= line.t1 + 0.3]
        assert heard and {s.speaker for s in heard} <= {line.role, "provider"}, (line, heard)
        own = " ".join(s.text for s in heard if s.speaker == line.role)
        assert len(set(words_of(own)) & set(words_of(line.text))) >= len(set(words_of(line.text))) // 2, line
    backchannel = [s for s in segments if s.speaker == "provider" and s.t0 <= b1 + 0.5 and s.t1 >= b0 - 0.5]
    assert any("okay" in words_of(s.text) for s in backchannel), backchannel
    assert all(seconds > 5 for seconds in result.summary["crosstalk"]["muted_s"].values())


def test_isolated_tracks_are_left_alone(dialogue):
    patient, provider = dialogue.tracks["patient"], dialogue.tracks["provider"]
    noise = np.random.default_rng(0).normal(0, 1e-3, len(patient)).astype(np.float32)
    cleaned, muted = suppress_crosstalk(patient + noise, provider)
    assert muted == 0.0 and np.array_equal(cleaned, patient + noise)
