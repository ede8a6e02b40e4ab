"""Replay recordings into a live encounter over real WebRTC, in real time (`encounter stream`).

Each role gets its own peer connection, as a station in the exam room would. The tracks are
paced from one shared start, taken once every connection is up, so the roles of a two-channel
file stay in step on the server's clock; `ReplayClock.start` lets a benchmark tie any audio
time to the wall-clock moment it was sent.

While it sends, replay checks every WATCH_S that the server still answers (the station's own
`GET .../station`) and that no connection was hung up: a server that died, or finished the
encounter, stops the replay with a ReplayError instead of audio sent into the void.

aiortc's `MediaPlayer` plays one file as one track. Replay needs one track per *channel* of a
file and a start it controls, so it paces decoded samples itself (`PacedAudioTrack`), frame by
frame like `MediaPlayer` does.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TextIO

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from encounter_feedback.errors import UserError
from encounter_feedback.media.audio import SAMPLE_RATE, to_mono
from encounter_feedback.stations.api_client import ApiClient, ApiError
from encounter_feedback.transcript import flag_line, transcript_line

FRAME_S = 0.02
"""Audio per frame, as browsers send it."""
WATCH_S = 2.0
"""How often a replay checks that the server is still there."""


@dataclass
class ReplayClock:
    """The wall-clock moment (time.time()) at which sample 0 of every replayed track is sent."""

    go: asyncio.Event = field(default_factory=asyncio.Event)
    start: float = 0.0

    def begin(self) -> None:
        self.start = time.time()
        self.go.set()


class PacedAudioTrack(MediaStreamTrack):
    """16 kHz mono samples sent as 20 ms frames in real time from the clock's start."""

    kind = "audio"

    def __init__(self, samples: np.ndarray, clock: ReplayClock) -> None:
        super().__init__()
        self._pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)
        self._clock = clock
        self._index = 0
        self._step = round(FRAME_S * SAMPLE_RATE)

    @property
    def duration(self) -> float:
        return len(self._pcm) / SAMPLE_RATE

    async def recv(self) -> av.AudioFrame:
        await self._clock.go.wait()
        if self._index >= len(self._pcm):
            self.stop()
            raise MediaStreamError
        delay = self._clock.start + self._index / SAMPLE_RATE - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        chunk = self._pcm[self._index : self._index + self._step]
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._index
        frame.time_base = Fraction(1, SAMPLE_RATE)
        self._index += len(chunk)
        return frame


class ReplayError(UserError):
    """Replay could not connect; the message says why."""


async def replay(
    api: ApiClient,
    encounter: str,
    token: str,
    tracks: dict[str, np.ndarray],
    clock: ReplayClock | None = None,
    connect_timeout: float = 15.0,
) -> ReplayClock:
    """Stream each role's samples over its own peer connection; returns once all have been sent."""
    clock = clock or ReplayClock()
    peers: list[RTCPeerConnection] = []
    try:
        for role, samples in tracks.items():
            peers.append(await _connect(api, encounter, token, role, PacedAudioTrack(samples, clock)))
        await asyncio.wait_for(asyncio.gather(*(_connected(pc) for pc in peers)), connect_timeout)
        clock.begin()
        longest = max(len(s) for s in tracks.values()) / SAMPLE_RATE
        await _watch_until(clock.start + longest + 2 * FRAME_S, api, encounter, token, peers)
    except TimeoutError:
        raise ReplayError(
            f"no WebRTC connection to {api.base_url} within {connect_timeout:.0f} s "
            "(ICE failed: is the server reachable from here?)"
        ) from None
    finally:
        await asyncio.gather(*(pc.close() for pc in peers))
    return clock


async def _watch_until(end: float, api: ApiClient, encounter: str, token: str, peers: list[RTCPeerConnection]) -> None:
    """Return at `end` (time.time()); ReplayError as soon as the server is gone or hung up."""
    while (left := end - time.time()) > 0:
        await asyncio.sleep(min(WATCH_S, left))
        lost = [pc.connectionState for pc in peers if pc.connectionState in ("failed", "closed")]
        if lost:
            raise ReplayError(f"the server hung up (WebRTC connection {lost[0]})")
        try:
            await api.station(encounter, token)
        except ApiError as exc:
            if exc.status == 0:
                raise ReplayError(f"the server stopped answering: {exc.detail}") from None
            raise ReplayError(f"the server refused the station: {exc.detail}") from None


async def _connect(api: ApiClient, encounter: str, token: str, role: str, track: MediaStreamTrack) -> RTCPeerConnection:
    pc = RTCPeerConnection()
    try:
        pc.addTrack(track)
        await pc.setLocalDescription(await pc.createOffer())
        answer = await api.offer(encounter, pc.localDescription.sdp, role, token)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type=answer["type"]))
    except BaseException:
        await pc.close()
        raise
    return pc


async def _connected(pc: RTCPeerConnection) -> None:
    done = asyncio.Event()

    @pc.on("connectionstatechange")
    def changed() -> None:
        if pc.connectionState in ("connected", "failed", "closed"):
            done.set()

    if pc.connectionState != "connected":
        await done.wait()
    if pc.connectionState != "connected":
        raise ReplayError(f"WebRTC connection {pc.connectionState}")


async def follow_transcript(api: ApiClient, encounter: str, out: TextIO) -> None:
    """Print the encounter's final segments as they arrive, until it finishes.

    A second-pass revision of an earlier line is printed again, marked `revised:`, where it
    arrives: a terminal cannot rewrite a line that has scrolled away; so is what changes in a
    flag (its responsiveness score, a withdrawal).
    """
    flagged: set[str] = set()
    async for event in api.subscribe(encounter):
        if event["type"] == "segment" and event["final"] and event["text"]:
            marker = "  revised: " if event.get("revision") else ""
            print(marker + transcript_line(event), file=out, flush=True)
        elif event["type"] in ("moment", "response"):
            line = flag_line(event, again=event["id"] in flagged)
            flagged.add(event["id"])
            if line:
                print(line, file=out, flush=True)
        elif event["type"] == "status" and event["state"] in ("degraded", "recovered", "error"):
            print(f"[{event['state']}] {event['message']}", file=out, flush=True)
        elif event["type"] == "status" and event["state"] == "finished":
            return


def split_roles(audio: np.ndarray, role: str | None, channels: list[str] | None) -> dict[str, np.ndarray]:
    """Tracks to replay: one channel per role with `channels`, else the whole file (mixed) as `role`."""
    if channels:
        if len(channels) != audio.shape[0]:
            raise ReplayError(f"--channels names {len(channels)} roles but the file has {audio.shape[0]} channel(s)")
        return {name: audio[i] for i, name in enumerate(channels)}
    return {role or "room": to_mono(audio)}
