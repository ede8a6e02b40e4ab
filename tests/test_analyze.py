"""End to end: recorded tracks through `analyze` into events, files and the store."""

from __future__ import annotations

import json

import jiwer
import numpy as np
import pytest

from conftest import words_of
from encounter_feedback.bench.wer import normalize
from encounter_feedback.cli.main import main
from encounter_feedback.media.audio import write_wav
from encounter_feedback.pipeline.offline import InputError, analyze, load_sources
from encounter_feedback.store.database import Store


def _wer(ref: str, hyp: str) -> float:
    return jiwer.wer(normalize(ref), normalize(hyp))


@pytest.mark.parametrize("asr", ["engine", pytest.param("openai_engine", marks=pytest.mark.slow)])
def test_two_track_fixture_text_speaker_and_boundaries(tmp_path, asr, dialogue, request):
    engine = request.getfixturevalue(asr)  # openai-whisper (slow on a CPU) in the slow suite
    paths = {}
    for role, samples in dialogue.tracks.items():
        paths[role] = tmp_path / f"{role}.wav"
        write_wav(paths[role], samples)
    store = Store(tmp_path / "data")
    result = analyze(load_sources(per_role=paths), engine, store, tmp_path / "out")

    segments = result.segments
    assert len(segments) == len(dialogue.placements)
    for placed, seg in zip(dialogue.placements, segments):
        assert seg.speaker == placed.role
        assert _wer(placed.text, seg.text) <= 0.3, (placed.text, seg.text)
        assert abs(seg.t0 - placed.t0) <= 0.3, (placed, seg.t0)
        assert abs(seg.t1 - placed.t1) <= 0.3, (placed, seg.t1)
        assert seg.words[0]["t0"] == seg.t0 and all(w["t0"] <= w["t1"] for w in seg.words)

    spoken = " ".join(p.text for p in dialogue.placements)
    assert _wer(spoken, " ".join(s.text for s in segments)) <= 0.1

    lines = (tmp_path / "out" / "annotations.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["type"] for e in events].count("segment") == len(segments)
    assert events[0]["state"] == "started" and events[-1]["state"] == "finished"
    transcript = (tmp_path / "out" / "transcript.txt").read_text().splitlines()
    assert transcript[1].startswith("[00:0") and "PATIENT: " in transcript[1]

    stored = [body for _, body in store.events(result.encounter)]
    assert stored == events
    assert {t["role"] for t in store.tracks(result.encounter)} == {"patient", "provider"}
    assert store.encounter(result.encounter).finished_at is not None


def test_mixed_track_is_transcribed_with_unknown_speaker(tmp_path, engine, dialogue):
    path = tmp_path / "mix.wav"
    write_wav(path, dialogue.mix())
    result = analyze(load_sources(mixed=path), engine, Store(tmp_path / "data"))
    assert {s.speaker for s in result.segments} == {"unknown"}
    heard = " ".join(s.text for s in result.segments)
    assert _wer(" ".join(p.text for p in dialogue.placements), heard) <= 0.15


def test_stereo_channels_map_to_roles(tmp_path, engine, dialogue):
    path = tmp_path / "stereo.wav"
    write_wav(path, np.stack([dialogue.tracks["patient"], dialogue.tracks["provider"]]))
    result = analyze(load_sources(mixed=path, channels=["patient", "provider"]), engine, Store(tmp_path / "data"))
    by_role = {role: " ".join(s.text for s in result.segments if s.speaker == role) for role in ("patient", "provider")}
    assert "headache" in words_of(by_role["patient"]) and "headache" not in words_of(by_role["provider"])
    assert "morning" in words_of(by_role["provider"]) and "morning" not in words_of(by_role["patient"])


@pytest.mark.data
def test_shared_stereo_file_attributes_each_channel(tmp_path, engine, shared_data):
    speech = shared_data / "speech"
    refs = dict(line.split(": ", 1) for line in (speech / "stereo_diarization.txt").read_text().splitlines() if line)
    sources = load_sources(mixed=speech / "stereo_diarization.wav", channels=["patient", "provider"])
    result = analyze(sources, engine, Store(tmp_path / "data"))
    for role, channel in (("patient", "LEFT"), ("provider", "RIGHT")):
        text = " ".join(s.text for s in result.segments if s.speaker == role)
        assert _wer(refs[channel], text) <= 0.1, (role, text)


@pytest.mark.data
def test_jfk_matches_its_reference(engine, shared_data, tmp_path):
    speech = shared_data / "speech"
    result = analyze(load_sources(mixed=speech / "jfk.flac"), engine, Store(tmp_path / "data"))
    assert _wer((speech / "jfk.txt").read_text(), " ".join(s.text for s in result.segments)) <= 0.05


def test_input_layout_errors(tmp_path, dialogue):
    mono = tmp_path / "mono.wav"
    write_wav(mono, dialogue.mix())
    with pytest.raises(InputError, match="names 2 roles but .* has 1 channel"):
        load_sources(mixed=mono, channels=["patient", "provider"])
    with pytest.raises(InputError, match="unknown role 'doctor'"):
        load_sources(mixed=mono, channels=["doctor"])
    with pytest.raises(InputError, match="each role may appear once"):
        load_sources(mixed=mono, channels=["patient", "patient"])
    with pytest.raises(InputError, match="not both"):
        load_sources(mixed=mono, per_role={"patient": mono})


def test_cli_reports_bad_input_in_one_line(tmp_path, capsys, dialogue):
    mono = tmp_path / "mono.wav"
    write_wav(mono, dialogue.mix())
    empty = tmp_path / "empty.wav"
    write_wav(empty, np.zeros(0, np.float32))
    cases = [
        ([str(mono), "--channels", "patient,provider"], "has 1 channel"),
        ([str(mono), "--model", "large-v9"], "unknown model 'large-v9'"),
        ([str(empty)], "contains no audio samples"),
        ([str(tmp_path / "missing.wav")], "no such file"),
    ]
    for args, message in cases:
        code = main(["analyze", *args, "--out", str(tmp_path / "out"), "--data", str(tmp_path / "data")])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2
        assert err[-1].startswith("encounter: error: ") and message in err[-1], err


def test_cli_analyze_writes_outputs(tmp_path, capsys, dialogue):
    path = tmp_path / "mix.wav"
    write_wav(path, dialogue.mix())
    code = main(["analyze", str(path), "--out", str(tmp_path / "out"), "--data", str(tmp_path / "data")])
    assert code == 0
    assert "segments ->" in capsys.readouterr().out
    transcript = (tmp_path / "out" / "transcript.txt").read_text()
    assert "UNKNOWN: " in transcript and "headache" in transcript.lower()
    assert len(Store(tmp_path / "data").encounters()) == 1
