"""A station's connection from offer to goodbye, against a real server with real aiortc peers: a
connection that never comes up does not deafen its role or hang the finish, a finish and an
offer do not interleave, a vanished station is noticed in seconds, an encounter nobody sends to
is closed, and SIGTERM drains what is live and exits."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import subprocess
import sys
import time
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import av
import numpy as np
import pytest
import websockets.sync.client
from aiortc import RTCPeerConnection, RTCSessionDescription

from encounter_feedback.analysis.classifier import Classifier
from encounter_feedback.bench.wer import normalize
from encounter_feedback.media.audio import SAMPLE_RATE
from encounter_feedback.media.tts import VOICES, synthesize
from encounter_feedback.pipeline.live import LiveConfig
from encounter_feedback.stations.api_client import ApiClient, ApiError
from encounter_feedback.stations.replay import PacedAudioTrack, ReplayClock, replay
from encounter_feedback.store.database import Store
from encounter_feedback.web.app import Services, create_app, running

KEY = "lifecycle-key"
LINE = "I went to the emergency room two days ago and they sent me home without any tests"


@functools.cache
def _classifier() -> Classifier:
    return Classifier.load()


@functools.cache
def _speech() -> np.ndarray:
    return synthesize(LINE, VOICES["patient"])


@contextlib.asynccontextmanager
async def live_server(data: Path, engine, **config: float) -> AsyncIterator[tuple[Services, ApiClient]]:
    services = Services(Store(data), engine, KEY, classifier=_classifier(), live_config=LiveConfig(**config))
    async with running(create_app(services)) as server, ApiClient(server.url, KEY) as api:
        yield services, api


async def collect(api: ApiClient, encounter: str, into: list[dict]) -> None:
    """Every event until the encounter finishes, each with the monotonic time it arrived."""
    async for event in api.subscribe(encounter):
        into.append({**event, "arrived": time.monotonic()})
        if event["type"] == "status" and event["state"] == "finished":
            return


async def ghost_offer(api: ApiClient, encounter: str, token: str, role: str = "patient") -> None:
    """An offer whose station goes away before connecting (the page was reloaded, ICE failed): the
    server answers, and nothing ever comes."""
    pc = RTCPeerConnection()
    pc.addTrack(PacedAudioTrack(np.zeros(SAMPLE_RATE, np.float32), ReplayClock()))
    await pc.setLocalDescription(await pc.createOffer())
    await api.offer(encounter, pc.localDescription.sdp, role, token)
    await pc.close()  # the answer is never applied: no ICE checks are answered


def finals(events: list[dict]) -> list[dict]:
    return [e for e in events if e["type"] == "segment" and e["final"] and e["text"] and not e.get("revision")]


def test_a_ghost_offer_does_not_deafen_its_role_and_the_next_station_is_transcribed(tmp_path, engine):
    async def scenario() -> tuple[list[dict], list[dict]]:
        async with live_server(tmp_path / "data", engine) as (services, api):
            joined = await api.create_encounter()
            events: list[dict] = []
            listener = asyncio.create_task(collect(api, joined.id, events))
            await ghost_offer(api, joined.id, joined.join_token)
            silence = np.zeros(SAMPLE_RATE // 2, np.float32)
            await replay(api, joined.id, joined.join_token, {"patient": np.concatenate([silence, _speech(), silence])})
            await api.finish(joined.id)
            await asyncio.wait_for(listener, 30)
            return events, services.store.tracks(joined.id)

    events, tracks = asyncio.run(scenario())
    [final] = finals(events)
    assert normalize(final["text"]).split()[:4] == ["i", "went", "to", "the"]
    assert [t["role"] for t in tracks] == ["patient"] and tracks[0]["duration"] > 3


def test_finish_answers_quickly_after_a_ghost_offer(tmp_path, engine):
    async def scenario() -> tuple[float, dict]:
        async with live_server(tmp_path / "data", engine) as (services, api):
            joined = await api.create_encounter()
            await ghost_offer(api, joined.id, joined.join_token)
            await ghost_offer(api, joined.id, joined.join_token, "provider")
            start = time.monotonic()
            finished = await asyncio.wait_for(api.finish(joined.id), 30)
            return time.monotonic() - start, finished

    seconds, finished = asyncio.run(scenario())
    assert seconds < 10 and finished["finished_at"] is not None and not finished["live"]


def test_an_offer_during_finish_is_refused_and_the_recording_keeps_its_length(tmp_path, engine):
    class Endless(PacedAudioTrack):
        """The speech, then silence for as long as the connection lasts: a station still connected
        when faculty press Finish."""

        async def recv(self) -> av.AudioFrame:
            if self._index >= len(self._pcm):
                self._pcm = np.concatenate([self._pcm, np.zeros(SAMPLE_RATE, np.int16)])
            return await super().recv()

    async def scenario() -> tuple[int, list[int], float, float, float]:
        async with live_server(tmp_path / "data", engine) as (services, api):
            joined = await api.create_encounter()
            clock = ReplayClock()
            pc = RTCPeerConnection()
            pc.addTrack(Endless(_speech(), clock))
            await pc.setLocalDescription(await pc.createOffer())
            answer = await api.offer(joined.id, pc.localDescription.sdp, "patient", joined.join_token)
            await pc.setRemoteDescription(RTCSessionDescription(**answer))
            clock.begin()
            live = services.live[joined.id]
            while not live.started or time.time() - clock.start < 4:  # a few seconds are recorded
                await asyncio.sleep(0.05)
            sent = time.time() - clock.start
            finishing = asyncio.create_task(api.finish(joined.id))
            while not live.closing:  # Finish has begun: the encounter is closing, not yet closed
                await asyncio.sleep(0)
            late = RTCPeerConnection()
            late.addTrack(PacedAudioTrack(np.zeros(SAMPLE_RATE, np.float32), ReplayClock()))
            await late.setLocalDescription(await late.createOffer())
            statuses = []
            try:
                await api.offer(joined.id, late.localDescription.sdp, "patient", joined.join_token)
            except ApiError as exc:
                statuses.append(exc.status)
            finished = await finishing
            try:  # and capture.js's reconnect one second later
                await api.offer(joined.id, late.localDescription.sdp, "patient", joined.join_token)
            except ApiError as exc:
                statuses.append(exc.status)
            await asyncio.gather(pc.close(), late.close())
            [track] = services.store.tracks(joined.id)
            with wave.open(track["source"]) as recording:
                seconds = recording.getnframes() / recording.getframerate()
            return len(finished["tracks"]), statuses, seconds, track["duration"], sent

    tracks, statuses, seconds, duration, sent = asyncio.run(scenario())
    assert statuses == [409, 409] and tracks == 1
    # what was sent until Finish (less what was still on its way), not a recording restarted by the late offer
    assert seconds == duration and sent - 1.0 <= seconds <= sent + 0.5, (seconds, sent)


def test_a_vanished_station_is_noticed_in_seconds_after_its_last_words(tmp_path, engine):
    cut = len(_speech()) * 3 // 5  # the station goes silent mid-sentence and never says goodbye

    class Vanishing(PacedAudioTrack):
        """Sends half a second of silence and part of the line, then nothing, connection open."""

        last_frame = 0.0

        async def recv(self) -> av.AudioFrame:
            if self._index >= len(self._pcm):
                await asyncio.Event().wait()  # no more packets, no hang-up
            frame = await super().recv()
            Vanishing.last_frame = time.monotonic()
            return frame

    async def scenario() -> tuple[list[dict], float]:
        async with live_server(tmp_path / "data", engine, silence_timeout_s=2.0) as (services, api):
            joined = await api.create_encounter()
            events: list[dict] = []
            listener = asyncio.create_task(collect(api, joined.id, events))
            clock = ReplayClock()
            audio = np.concatenate([np.zeros(SAMPLE_RATE // 2, np.float32), _speech()[:cut]])
            pc = RTCPeerConnection()
            pc.addTrack(Vanishing(audio, clock))
            await pc.setLocalDescription(await pc.createOffer())
            answer = await api.offer(joined.id, pc.localDescription.sdp, "patient", joined.join_token)
            await pc.setRemoteDescription(RTCSessionDescription(**answer))
            clock.begin()
            while not any(e["type"] == "status" and e["state"] == "track_ended" for e in events):
                await asyncio.sleep(0.05)
            await api.finish(joined.id)
            await asyncio.wait_for(listener, 30)
            await pc.close()
            return events, Vanishing.last_frame

    events, last_frame = asyncio.run(scenario())
    [ended] = [e for e in events if e["type"] == "status" and e["state"] == "track_ended"]
    [final] = finals(events)
    sent = 0.5 + cut / SAMPLE_RATE
    assert ended["arrived"] - last_frame < 6  # noticed within seconds (silence timeout 2 s), not 30
    assert abs(ended["t0"] - sent) < 0.3, "stamped when the audio really ended"
    assert events.index(final) < events.index(ended), "the last utterance is finalized before track_ended"
    assert normalize(final["text"]).split()[:4] == ["i", "went", "to", "the"] and final["t1"] <= sent + 0.1


def test_an_encounter_without_stations_closes_itself(tmp_path, engine):
    async def scenario() -> tuple[list[dict], dict, float]:
        async with live_server(tmp_path / "data", engine, idle_close_s=1.5) as (services, api):
            joined = await api.create_encounter()
            events: list[dict] = []
            listener = asyncio.create_task(collect(api, joined.id, events))
            await replay(api, joined.id, joined.join_token, {"patient": _speech()[: SAMPLE_RATE * 2]})
            left = time.monotonic()  # the station has hung up; nobody presses Finish
            await asyncio.wait_for(listener, 60)
            return events, await api.request("GET", f"/api/encounters/{joined.id}"), left

    events, record, left = asyncio.run(scenario())
    finished = events[-1]
    assert finished["state"] == "finished" and "no station" in finished["message"]
    assert any(e["type"] == "status" and e["state"] == "track_ended" for e in events)
    assert finished["arrived"] - left >= 1.5 - 0.1  # it waited for a station to come back
    assert record["finished_at"] is not None and not record["live"]


@pytest.mark.slow  # a real server process, a stuck encounter and the drain deadline (about 40 s)
def test_sigterm_drains_a_stuck_encounter_and_exits(tmp_path):
    data = tmp_path / "data"
    command = [sys.executable, "-m", "encounter_feedback.cli.main", "serve", "--port", "0", "--data", str(data)]
    server = subprocess.Popen([*command, "--key", KEY], stdout=subprocess.PIPE, text=True)
    try:
        url = next(line.split()[2] for line in server.stdout if line.startswith("Serving on "))

        async def stuck() -> str:
            async with ApiClient(url, KEY) as api:
                joined = await api.create_encounter()
                await ghost_offer(api, joined.id, joined.join_token)
                await replay(api, joined.id, joined.join_token, {"provider": _speech()[: SAMPLE_RATE * 2]})
                return joined.id

        encounter = asyncio.run(stuck())
        live_view = f"{url.replace('http', 'ws', 1)}/ws/encounters/{encounter}"
        auth = {"Authorization": f"Bearer {KEY}"}
        with websockets.sync.client.connect(live_view, additional_headers=auth):  # a viewer that never lets go
            start = time.monotonic()
            server.send_signal(signal.SIGTERM)
            status = server.wait(20)
        exited = time.monotonic() - start
    finally:
        server.kill()
    record = Store(data).encounter(encounter)
    states = [body["state"] for _, body in Store(data).events(encounter) if body["type"] == "status"]
    assert status in (0, -signal.SIGTERM) and exited < 20  # uvicorn re-raises the signal once it has shut down
    assert record.finished_at is not None and states[-1] == "finished"
