"""`bench wer` on a generated corpus, and the live demo command end to end."""

from __future__ import annotations

import pytest

from conftest import without_load_notices
from encounter_feedback.bench.wer import bench_wer, find_pairs, format_wer, reference_text
from encounter_feedback.cli.main import main
from encounter_feedback.media.audio import decode_file, write_wav


def test_reference_text_strips_turn_labels(tmp_path):
    ref = tmp_path / "a.txt"
    ref.write_text("D: What brought you in today?\n\nP: Sure, chest pain.\n")
    assert reference_text(ref) == "What brought you in today? Sure, chest pain."


def test_bench_wer_scores_both_systems(tmp_path, engine, dialogue):
    (tmp_path / "audio").mkdir()
    (tmp_path / "transcripts").mkdir()
    write_wav(tmp_path / "audio" / "tts1.wav", dialogue.mix())
    (tmp_path / "transcripts" / "tts1.txt").write_text(
        "\n".join(f"{'D' if p.role == 'provider' else 'P'}: {p.text}" for p in dialogue.placements)
    )
    assert [a.name for a, _ in find_pairs(tmp_path)] == ["tts1.wav"]
    rows = bench_wer(tmp_path, engine)
    assert [r.system for r in rows] == ["ours", "batch"]
    assert all(r.scored.ref_words == 51 and r.wer < 0.15 and r.speed > 0 for r in rows)  # speed: reported, not held
    table = format_wer(rows)
    assert "TOTAL        ours" in table and "TOTAL        batch" in table


@pytest.mark.slow
def test_live_demo_streams_the_scenario_and_prints_the_transcript(tmp_path, capsys):
    assert main(["demo", "--data", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    lines = without_load_notices(captured.out)
    out = [line for line in lines if line.startswith("[")]
    flags = [line for line in lines if line.startswith("    >> ")]
    assert len(out) == 8, lines
    assert all(line.startswith(("  revised: [00:", "    >> ")) for line in lines if line not in out)
    assert [f.split()[1] for f in flags] == ["MOMENT", "RESPONSE"], flags
    assert "discrimination_disclosure" in flags[0] and "responsive" in flags[1]
    assert "challenge discrimination_disclosure: discrimination_disclosure at 00:" in captured.err
    assert out[0].startswith("[00:00") and "PROVIDER: " in out[0]
    challenge = next(line for line in out if "emergency room" in line.lower())
    assert "PATIENT: " in challenge and "black" in challenge.lower()
    assert "Dashboard: http://127.0.0.1:" in captured.err
    [encounter] = (tmp_path / "recordings").iterdir()
    assert sorted(p.name for p in encounter.iterdir()) == ["patient.wav", "provider.wav"]
    assert decode_file(encounter / "patient.wav").duration > 50
