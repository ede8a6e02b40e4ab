"""`bench wer` on a generated corpus, and the live demo command end to end."""

from __future__ import annotations

import re

import pytest

from conftest import without_load_notices
from encounter_feedback.bench.wer import bench_wer, find_pairs, format_wer, reference_text
from encounter_feedback.cli.main import main
from encounter_feedback.media.audio import decode_file, write_wav


def test_reference_text_strips_turn_labels(tmp_path):
    ref = tmp_path / "a.txt"
    ref.write_text("D: What brought you in today?\n\nP: Sure, chest pain.\n")
    assert reference_text(ref) == "What brought you in today? Sure, chest pain."


def _corpus(tmp_path, dialogue):
    """The dialogue as one mixed recording with its D:/P: transcript, laid out as bench wer reads it."""
    (tmp_path / "audio").mkdir()
    (tmp_path / "transcripts").mkdir()
    write_wav(tmp_path / "audio" / "tts1.wav", dialogue.mix())
    (tmp_path / "transcripts" / "tts1.txt").write_text(
        "\n".join(f"{'D' if p.role == 'provider' else 'P'}: {p.text}" for p in dialogue.placements)
    )
    return tmp_path


def test_bench_wer_scores_the_pipeline_and_batch_faster_whisper(tmp_path, engine, dialogue):
    corpus = _corpus(tmp_path, dialogue)
    assert [a.name for a, _ in find_pairs(corpus)] == ["tts1.wav"]
    rows = bench_wer(corpus, [engine])
    assert [r.system for r in rows] == ["faster-whisper:tiny.en", "batch:tiny.en"]
    # speed is reported, not held to anything here
    assert all(r.scored.ref_words == 51 and r.wer < 0.15 and r.rtf > 0 and r.cpu_per_audio_s > 0 for r in rows)
    table = format_wer(rows).splitlines()
    assert table[0].split() == ["file", "system", "audio", "s", "WER", "%", "RTF", "CPU", "s/s"]
    assert [line.split()[:2] for line in table[-2:]] == [
        ["TOTAL", "faster-whisper:tiny.en"],
        ["TOTAL", "batch:tiny.en"],
    ]


@pytest.mark.slow  # openai-whisper is slow on a CPU
def test_bench_wer_compares_engines_side_by_side(tmp_path, engine, openai_engine, dialogue):
    rows = bench_wer(_corpus(tmp_path, dialogue), [engine, openai_engine], baseline=False)
    assert [r.system for r in rows] == ["faster-whisper:tiny.en", "openai-whisper:tiny.en"]
    assert all(r.scored.ref_words == 51 and r.wer < 0.15 for r in rows)


@pytest.mark.slow
def test_live_demo_streams_the_scenario_and_prints_the_transcript(tmp_path, capsys):
    assert main(["demo", "--data", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    lines = without_load_notices(captured.out)
    out = [line for line in lines if line.startswith("[")]
    flags = [line for line in lines if line.startswith("    >> ")]
    assert len(out) == 8, lines
    assert all(line.startswith(("  revised: [00:", "    >> ")) for line in lines if line not in out)
    assert [f.split()[1] for f in flags] == ["MOMENT", "RESPONSE", "SCORE"], flags
    assert "discrimination_disclosure" in flags[0] and "responsive" in flags[1]
    assert flags[2].startswith("    >> SCORE +") and flags[2].endswith("for the discrimination_disclosure moment")
    assert "challenge discrimination_disclosure: discrimination_disclosure at 00:" in captured.err
    assert out[0].startswith("[00:00") and "PROVIDER: " in out[0]
    challenge = next(line for line in out if "emergency room" in line.lower())
    assert "PATIENT: " in challenge and "black" in challenge.lower()
    assert "Live view: http://127.0.0.1:" in captured.err
    # not run from a terminal: it stops, and says how to open the debrief again
    [encounter_id] = re.findall(r"Encounter (enc-\w+) finished", captured.err)
    assert f"encounter serve --data {tmp_path}" in captured.err
    assert f"http://127.0.0.1:8000/debrief.html?encounter={encounter_id}&key=" in captured.err
    [encounter] = (tmp_path / "recordings").iterdir()
    assert sorted(p.name for p in encounter.iterdir()) == ["patient.wav", "provider.wav"]
    assert decode_file(encounter / "patient.wav").duration > 50
