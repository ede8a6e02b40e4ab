"""`encounter bench live`: concurrent encounters over loopback WebRTC against a real server process.

The server runs as its own process (`encounter serve`), so its CPU time and memory are measured
alone; this process plays the stations (aiortc peers pacing the files in real time) and the
dashboards (WebSocket subscribers stamping each event's arrival).

Latency of a segment = its arrival at the subscriber minus the wall-clock moment the station
sent the audio of the segment's end. It includes everything a viewer waits for: WebRTC
transport and jitter buffer, endpointing (the pause that ends an utterance), queueing and
decoding. The end is measured two ways: the end of the last word (`t1`, Whisper's alignment),
and the end of speech as the endpointer sees it (Silero VAD run offline over the same audio,
which sits ~0.1 s after Whisper's word ends).
"""

from __future__ import annotations

import asyncio
import bisect
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil

from encounter_feedback.bench.wer import WordErrors, batch_transcript, reference_for, word_errors
from encounter_feedback.media.audio import SAMPLE_RATE, decode_file
from encounter_feedback.speech.streaming import StreamingConfig
from encounter_feedback.speech.utterances import UtteranceCutter
from encounter_feedback.stations.api_client import ApiClient
from encounter_feedback.stations.replay import ReplayClock, replay, split_roles

KEY = "bench"


@dataclass(frozen=True)
class Sample:
    """The server once a second."""

    t: float
    backlog_s: float
    pending_finals: int
    degraded: bool
    cpu_percent: float
    """Of one core, over the last second."""
    rss_mb: float


@dataclass
class EncounterRun:
    file: Path
    audio_s: float
    speech_ends: list[float]
    """Where the endpointer ends utterances in this run's audio (all tracks), sorted."""
    clock: ReplayClock = field(default_factory=ReplayClock)
    arrivals: list[tuple[float, dict]] = field(default_factory=list)

    def latencies(self, final: bool) -> list[float]:
        """From the end of each segment's last word."""
        return [arrival - (self.clock.start + e["t1"]) for arrival, e in self._segments(final)]

    def speech_end_latencies(self) -> list[float]:
        """From the end of speech the endpointer found just after each final's last word."""
        out = []
        for arrival, e in self._segments(final=True):
            i = bisect.bisect_left(self.speech_ends, e["t1"] - 0.3)
            if i < len(self.speech_ends) and self.speech_ends[i] <= e["t1"] + 1.0:
                out.append(arrival - (self.clock.start + self.speech_ends[i]))
        return out

    def _segments(self, final: bool) -> list[tuple[float, dict]]:
        """Live segments: partials, or finals of the first pass (revisions come later by design)."""
        return [
            (a, e)
            for a, e in self.arrivals
            if e["type"] == "segment" and e["final"] == final and e["words"] and not e["revision"]
        ]

    def text(self, revised: bool) -> str:
        """The transcript: each utterance's live final, or its latest revision."""
        latest: dict[str, dict] = {}
        for _, e in self.arrivals:
            if e["type"] == "segment" and e["final"] and e["words"] and (revised or not e["revision"]):
                latest[e["id"]] = e
        return " ".join(e["text"] for e in sorted(latest.values(), key=lambda e: e["t0"]))


@dataclass
class LiveResult:
    runs: list[EncounterRun]
    samples: list[Sample]
    wall_s: float
    cpu_s: float
    asr: dict
    prosody_s: float
    """CPU seconds the server spent measuring prosody (pitch, loudness, speech spans)."""
    wer: list[tuple[str, WordErrors, WordErrors, WordErrors | None]] = field(default_factory=list)
    """(file, live finals, after the second pass, batch) word errors, for files with a reference transcript."""


async def bench_live(
    files: list[Path],
    encounters: int,
    channels: list[str] | None = None,
    limit_s: float | None = None,
    model: str | None = None,
    baseline: bool = True,
    on_tick: Callable[[float], None] | None = None,
    stagger_s: float = 0.0,
) -> LiveResult:
    """Run `encounters` concurrent encounters, file i % len(files) each, encounter i starting
    `i * stagger_s` seconds after the first; see the module doc."""
    audio = {path: decode_file(path).channels for path in dict.fromkeys(files)}
    if limit_s is not None:
        audio = {path: a[:, : round(limit_s * SAMPLE_RATE)] for path, a in audio.items()}
    tracks = {path: split_roles(a, None, channels) for path, a in audio.items()}
    ends = {path: _speech_ends(t) for path, t in tracks.items()}
    runs = [
        EncounterRun(path, audio[path].shape[1] / SAMPLE_RATE, ends[path])
        for path in (files[i % len(files)] for i in range(encounters))
    ]
    with tempfile.TemporaryDirectory(prefix="bench-live-") as data, ServerProcess(Path(data), model) as (url, process):
        async with ApiClient(url, KEY) as api:
            samples: list[Sample] = []
            start = time.time()
            cpu_start = _cpu(process)
            monitor = asyncio.create_task(_monitor(api, process, start, samples, on_tick))
            await asyncio.gather(*(_run(api, run, tracks[run.file], i * stagger_s) for i, run in enumerate(runs)))
            cpu_s, wall_s = _cpu(process) - cpu_start, time.time() - start
            monitor.cancel()
            status = await api.server_status()
    result = LiveResult(runs, samples, wall_s, cpu_s, status["asr"], status["prosody"]["busy_s"])
    if limit_s is None:
        result.wer = _wer(runs, model, baseline)
    return result


def _speech_ends(tracks: dict[str, np.ndarray]) -> list[float]:
    """Utterance ends as the live endpointer finds them (same VAD settings), all tracks."""
    ends = []
    for samples in tracks.values():
        cutter = UtteranceCutter("bench", StreamingConfig().vad)
        step = round(0.02 * SAMPLE_RATE)
        for i in range(0, len(samples), step):
            ends += [u.t1 for u in cutter.feed(samples[i : i + step])]
        ends += [u.t1 for u in cutter.flush()]
    return sorted(ends)


async def _run(api: ApiClient, run: EncounterRun, tracks: dict[str, np.ndarray], delay_s: float) -> None:
    await asyncio.sleep(delay_s)
    joined = await api.create_encounter(None, station="bench")

    async def listen() -> None:
        async for event in api.subscribe(joined.id):
            run.arrivals.append((time.time(), event))
            if event["type"] == "status" and event["state"] == "finished":
                return

    listener = asyncio.create_task(listen())
    await replay(api, joined.id, joined.join_token, tracks, run.clock)
    await api.finish(joined.id)  # waits for the last finals
    await asyncio.wait_for(listener, 30)


async def _monitor(
    api: ApiClient,
    process: psutil.Process,
    start: float,
    samples: list[Sample],
    on_tick: Callable[[float], None] | None,
) -> None:
    process.cpu_percent()
    while True:
        await asyncio.sleep(1.0)
        asr = (await api.server_status())["asr"]
        samples.append(
            Sample(
                round(time.time() - start, 1),
                asr["backlog_s"],
                asr["pending_finals"],
                asr["degraded"],
                process.cpu_percent(),
                process.memory_info().rss / 2**20,
            )
        )
        if on_tick:
            on_tick(1.0)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


class ServerProcess:
    """`encounter serve` in a child process on a free port: `with ServerProcess(...) as (url, process)`."""

    def __init__(self, data: Path, model: str | None = None, key: str = KEY) -> None:
        serve = ["serve", "--port", "0", "--data", str(data), "--key", key]
        model_option = ["--model", model] if model else []
        self.command = [sys.executable, "-m", "encounter_feedback.cli.main", *serve, *model_option]

    def __enter__(self) -> tuple[str, psutil.Process]:
        self.child = subprocess.Popen(self.command, stdout=subprocess.PIPE, text=True)
        for line in self.child.stdout or ():  # always a pipe (stdout=PIPE)
            if line.startswith("Serving on "):
                return line.split()[2], psutil.Process(self.child.pid)
        raise RuntimeError(f"the server exited with {self.child.wait()} before serving")

    def __exit__(self, *exc: object) -> None:
        self.child.terminate()
        self.child.wait(30)


def _wer(
    runs: list[EncounterRun], model: str | None, baseline: bool
) -> list[tuple[str, WordErrors, WordErrors, WordErrors | None]]:
    from encounter_feedback.speech.asr import resolve_model_dir
    from encounter_feedback.speech.engine_faster_whisper import FasterWhisperEngine

    engine = FasterWhisperEngine(resolve_model_dir(model)) if baseline else None  # batch: plain faster-whisper
    rows = []
    for run in runs:
        reference = reference_for(run.file)
        if reference is not None:
            batch = word_errors(reference, batch_transcript(engine, run.file)) if engine is not None else None
            rows.append(
                (
                    run.file.name,
                    word_errors(reference, run.text(revised=False)),
                    word_errors(reference, run.text(revised=True)),
                    batch,
                )
            )
    return rows


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def format_live(result: LiveResult) -> str:
    """The report: latency, CPU, memory, backlog over time, and WER where references exist."""
    finals = [x for run in result.runs for x in run.latencies(final=True)]
    partials = [x for run in result.runs for x in run.latencies(final=False)]
    vad = [x for run in result.runs for x in run.speech_end_latencies()]
    audio_s = sum(run.audio_s for run in result.runs)
    lines = [
        f"encounters {len(result.runs)}, audio {audio_s:.0f} s in all, wall {result.wall_s:.0f} s",
        f"final latency    n={len(finals):4d}  p50 {_percentile(finals, 50):.2f} s  p95 {_percentile(finals, 95):.2f} s"
        f"  max {max(finals, default=float('nan')):.2f} s   (from the end of the last word)",
        f"final latency    n={len(vad):4d}  p50 {_percentile(vad, 50):.2f} s  p95 {_percentile(vad, 95):.2f} s"
        f"  max {max(vad, default=float('nan')):.2f} s   (from the end of speech, VAD)",
        f"partial latency  n={len(partials):4d}  p50 {_percentile(partials, 50):.2f} s"
        f"  p95 {_percentile(partials, 95):.2f} s",
        f"prosody          {result.prosody_s:.1f} s CPU = {100 * result.prosody_s / result.cpu_s:.1f}%"
        f" of the server's CPU, {result.prosody_s / audio_s:.4f} s CPU per s of audio",
        f"server CPU       {100 * result.cpu_s / result.wall_s:.0f}% of one core on average"
        f" ({result.cpu_s:.0f} s over {result.wall_s:.0f} s; ASR busy {result.asr['busy_s']:.0f} s)",
        f"server peak RSS  {max((s.rss_mb for s in result.samples), default=0):.0f} MB",
        f"ASR queue        {result.asr['decodes']} decodes, {result.asr['partials']} partials,"
        f" {result.asr['revisions']} revisions, {result.asr['partials_dropped']} partials,"
        f" {result.asr['speculations_dropped']} speculations and {result.asr['revisions_dropped']} revisions dropped,"
        f" degraded {sum(s.degraded for s in result.samples)} s",
        "backlog over time (max per minute, s of audio waiting for a final): "
        + " ".join(f"{m}:{b:.1f}" for m, b in _per_minute(result.samples)),
    ]
    rows = list(result.wer)
    if len(rows) > 1:
        batches = [batch for *_, batch in rows if batch is not None]
        pooled_batch = sum(batches, WordErrors(0, 0)) if len(batches) == len(rows) else None
        pooled_live = sum((live for _, live, _, _ in rows), WordErrors(0, 0))
        pooled_revised = sum((revised for _, _, revised, _ in rows), WordErrors(0, 0))
        rows.append(("pooled", pooled_live, pooled_revised, pooled_batch))
    for name, live, revised, batch in rows:
        line = f"WER {name}: live finals {100 * live.wer:.2f}%, after second pass {100 * revised.wer:.2f}%"
        if batch is not None:
            line += (
                f", batch {100 * batch.wer:.2f}% ({100 * (live.wer - batch.wer):+.2f} / "
                f"{100 * (revised.wer - batch.wer):+.2f} points)"
            )
        lines.append(line)
    return "\n".join(lines)


def _per_minute(samples: list[Sample]) -> list[tuple[int, float]]:
    minutes: dict[int, float] = {}
    for s in samples:
        minute = int(s.t // 60)
        minutes[minute] = max(minutes.get(minute, 0.0), s.backlog_s)
    return sorted(minutes.items())
