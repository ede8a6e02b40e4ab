"""WebRTC ingest: a station's SDP offer answered, and its audio track turned into 16 kHz mono samples.

    station's RTCPeerConnection --(Opus over SRTP)--> aiortc track
        -> Resampler (48 kHz stereo -> 16 kHz mono, one per connection) -> samples

It knows nothing of transcription or events: pipeline/live.py places the samples on the
encounter clock and hands them on. Inside a connection time is counted in samples, with gaps
in the RTP timestamps filled with silence, so packet loss cannot shift later words.

A connection is given up when it goes quiet: one that brings no audio within a deadline of its
answer never connected (the page was reloaded, ICE failed), one that stops sending has vanished
(browsers send packets even in silence). aiortc would notice neither soon, or ever: the track of
a connection that never connected does not even end when the connection is closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import SessionDescription

from encounter_feedback.errors import UserError
from encounter_feedback.media.audio import SAMPLE_RATE, Resampler, to_mono

log = logging.getLogger(__name__)


class OfferError(UserError):
    """An SDP offer the server cannot answer; the message says what is wrong with it."""


def parse_ice_server(url: str) -> RTCIceServer:
    """`stun:host:port`, or `turn:USER:PASS@host:port` (credentials moved out of the URL)."""
    scheme, _, rest = url.partition(":")
    if scheme not in ("stun", "stuns", "turn", "turns") or not rest:
        raise ValueError(f"ICE server {url!r}: use stun:host:port or turn:USER:PASS@host:port")
    credentials, at, address = rest.rpartition("@")
    if not at:
        return RTCIceServer(urls=url)
    username, _, password = credentials.partition(":")
    return RTCIceServer(urls=f"{scheme}:{address}", username=username, credential=password)


def check_offer(sdp: str) -> None:
    """Refuse offers aiortc would accept but never connect (it ignores most malformed lines)."""
    if not sdp.lstrip().startswith("v=0"):
        raise OfferError("malformed SDP: an SDP offer starts with 'v=0'")
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc's parser raises bare AssertionErrors and ValueErrors
        raise OfferError(f"malformed SDP: {exc or 'a line could not be parsed'}") from exc
    audio = [m for m in parsed.media if m.kind == "audio"]
    if not audio:
        raise OfferError(
            "the offer has no audio track (no m=audio section): add a microphone track before creating the offer"
        )
    for media in audio:
        if media.ice is None or not (media.ice.usernameFragment and media.ice.password):
            raise OfferError("malformed SDP: the audio section has no ICE credentials (a=ice-ufrag, a=ice-pwd)")
        if not media.dtls or not media.dtls.fingerprints:
            raise OfferError("malformed SDP: the audio section has no DTLS fingerprint (a=fingerprint)")


async def answer_offer(
    sdp: str, ice_servers: tuple[RTCIceServer, ...], name: str
) -> tuple[RTCPeerConnection, MediaStreamTrack]:
    """A peer connection answering a station's offer, and the audio track it will receive. A
    connection that fails is closed (which ends the track of one that was connected)."""
    check_offer(sdp)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=list(ice_servers)))
    audio: list[MediaStreamTrack] = []

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            audio.append(track)

    @pc.on("connectionstatechange")
    async def on_state() -> None:
        if pc.connectionState == "failed":
            log.info("%s: connection failed", name)
            await pc.close()

    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
    except (ValueError, AssertionError) as exc:
        await pc.close()
        raise OfferError(f"malformed SDP: {exc}") from exc
    if not audio:
        await pc.close()
        raise OfferError("the offer receives audio but sends none: add the microphone track as sendonly or sendrecv")
    return pc, audio[0]


async def hang_up(pc: RTCPeerConnection, within_s: float) -> None:
    """Close the connection, waiting at most `within_s` for it (a closing that hangs is abandoned)."""
    try:
        await asyncio.wait_for(pc.close(), within_s)
    except TimeoutError:
        log.warning("a peer connection did not close within %.1f s; abandoned", within_s)


class AudioSink(Protocol):
    """Where one connection's audio goes."""

    def write(self, samples: np.ndarray) -> None:
        """16 kHz mono float32 samples, in order, gaps filled with silence."""

    def end(self) -> None:
        """The connection's last samples were written."""


async def receive_audio(
    track: MediaStreamTrack, start: Callable[[], AudioSink], first_frame_s: float, silence_s: float
) -> None:
    """Feed the track's audio as 16 kHz mono float32 until it ends, or until no frame came for
    `first_frame_s` before the first (the connection never came up) or `silence_s` after it (the
    station vanished). `start` runs at the first frame and says where the samples go; that sink's
    `end` runs after the last, however the track ended (cancelled too). Lost packets become silence."""
    resampler = Resampler()
    sink: AudioSink | None = None
    next_pts: int | None = None
    try:
        while True:
            try:
                async with asyncio.timeout(first_frame_s if sink is None else silence_s):
                    frame = await track.recv()
            except TimeoutError:
                log.info(
                    "no audio for %.1f s: the connection is given up", first_frame_s if sink is None else silence_s
                )
                return
            if not isinstance(frame, av.AudioFrame):
                continue  # an audio track sends audio frames only
            if sink is None:
                sink = start()
            elif frame.pts is not None and next_pts is not None and frame.pts > next_pts and frame.time_base:
                # lost packets: keep the clock
                sink.write(np.zeros(round((frame.pts - next_pts) * frame.time_base * SAMPLE_RATE), np.float32))
            if frame.pts is not None:
                next_pts = frame.pts + frame.samples
            sink.write(to_mono(resampler.push(frame)))
    except MediaStreamError:
        pass
    finally:
        if sink is not None:
            sink.write(to_mono(resampler.push(None)))
            sink.end()
