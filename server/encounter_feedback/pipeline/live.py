"""Live encounters: WebRTC audio in, through the streaming pipeline, events out.

    station's RTCPeerConnection --(Opus over SRTP)--> RoleChannel per role
        -> Resampler (48 kHz stereo -> 16 kHz mono, one per connection)
        -> WavRecorder (the debrief recording, on the encounter clock)
        -> StreamingTranscriber -> events -> Store (source of truth) + Hub (subscribers)

The encounter audio clock starts at the first audio sample any station sends. A role that
joins late, or reconnects after a drop, is placed on that clock by wall time (the gap is
silence in its recording); inside a connection, time is counted in samples, with gaps in
the RTP timestamps filled with silence, so packet loss cannot shift later words.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from aiortc import MediaStreamTrack, RTCIceServer, RTCPeerConnection, RTCSessionDescription

from encounter_feedback.analysis.classifier import Classifier, case_context_of
from encounter_feedback.analysis.dynamics import earliest
from encounter_feedback.analysis.live import LiveAnalysis, ProsodyWorker
from encounter_feedback.events import ROLE_SPEAKERS, Event, Segment, Status
from encounter_feedback.media.audio import SAMPLE_RATE
from encounter_feedback.media.recording import WavRecorder
from encounter_feedback.media.webrtc import OfferError, answer_offer, receive_audio
from encounter_feedback.scenarios import scenario_or_none
from encounter_feedback.speech.scheduler import AsrScheduler
from encounter_feedback.speech.streaming import StreamingConfig, StreamingTranscriber
from encounter_feedback.store.database import Encounter, Store
from encounter_feedback.store.hub import Hub

log = logging.getLogger(__name__)

CONTEXT_WORDS = 80
"""Words of preceding finals given to Whisper as its prompt (on CAR0001, 80 words: 0.4 WER points better than 40)."""


@dataclass(frozen=True)
class LiveConfig:
    streaming: StreamingConfig = StreamingConfig()
    ice_servers: tuple[RTCIceServer, ...] = ()
    """None by default: stations and server meet on the LAN with host candidates, offline."""
    rejoin_gap_s: float = 0.05
    """A reconnecting role further behind the clock than this gets the gap filled with silence."""
    turn_close_s: float = 2.0
    """A speaker silent this long (nothing in flight) has finished their turn: it is classified."""
    tick_s: float = 0.25
    """How often the annotator is told the time."""


@dataclass(frozen=True)
class Shared:
    """What every live encounter of one server shares: where events go, and the compute."""

    store: Store
    hub: Hub
    scheduler: AsrScheduler
    prosody: ProsodyWorker
    classifier: Classifier | None
    """Moment and response models; None transcribes and measures cues only."""
    config: LiveConfig = LiveConfig()


class LiveEncounter:
    """One encounter in progress: its clock, its stations' connections, where its events go."""

    def __init__(self, record: Encounter, shared: Shared) -> None:
        self.id = record.id
        self.store = shared.store
        self.hub = shared.hub
        self.scheduler = shared.scheduler
        self.recordings = shared.store.data_dir / "recordings" / record.id
        self.config = shared.config
        self.channels: dict[str, RoleChannel] = {}
        self._clock_start: float | None = None
        self._peers: dict[str, RTCPeerConnection] = {}
        self._status_count = 0
        self._recent_words: deque[str] = deque(maxlen=CONTEXT_WORDS)
        self.analysis = LiveAnalysis(
            record.id,
            self.publish,
            shared.prosody,
            shared.classifier,
            shared.config.turn_close_s,
            case_context_of(scenario_or_none(record.scenario)),
        )
        self._ticker: asyncio.Task[None] | None = None
        self.finished = False

    # -- the clock and the events -------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._clock_start is not None

    def now(self) -> float:
        """Seconds on the encounter clock; the first call starts the clock (first audio sample)."""
        if self._clock_start is None:
            self._clock_start = time.monotonic()
            self.status("started", "unknown", "first audio received")
            self._ticker = asyncio.get_running_loop().create_task(self._tick())
        return time.monotonic() - self._clock_start

    def _elapsed(self) -> float:
        """Seconds on the encounter clock, 0.0 before it starts (without starting it, unlike `now`)."""
        return 0.0 if self._clock_start is None else time.monotonic() - self._clock_start

    def publish(self, event: Event) -> None:
        """Store the event (unless it is a partial or a withdrawal) and send it to subscribers."""
        body = event.to_dict()
        seq = None
        if not (isinstance(event, Segment) and (not event.final or not event.words)):
            [seq] = self.store.add_events([event])
        self.hub.publish(self.id, {**body, "seq": seq})
        if isinstance(event, Segment) and event.final and event.words and not event.revision:
            self._recent_words.extend(event.text.split())

    def context(self) -> str | None:
        """The last words anyone said in the encounter: the prompt for the next decode."""
        return " ".join(self._recent_words) or None

    async def _tick(self) -> None:
        """Tell the analysis the time and what is still in flight, so turns close when their speaker
        has stopped (not only when someone answers) and cues come out once every track is complete."""
        while True:
            await asyncio.sleep(self.config.tick_s)
            self.analysis.tick(self.now(), self._in_flight())

    def _in_flight(self) -> dict[str, float]:
        """Per speaker, where their earliest speech not yet out as a final began."""
        starts = ((c.speaker, c.transcriber.in_flight_since if c.transcriber else None) for c in self.channels.values())
        return earliest((speaker, since) for speaker, since in starts if since is not None)

    def status(self, state: str, speaker: str, message: str = "") -> None:
        self._status_count += 1
        t = self._elapsed()
        self.publish(
            Status(
                id=f"status-{self._status_count}",
                encounter=self.id,
                speaker=speaker,
                t0=t,
                t1=t,
                state=state,
                message=message,
            )
        )

    # -- stations ---------------------------------------------------------------------------

    async def accept(self, sdp: str, kind: str, role: str) -> RTCSessionDescription:
        """Answer a station's offer to send `role`'s audio. A role's new connection replaces its old one."""
        if self.finished:
            raise OfferError("the encounter has finished")
        if role not in ROLE_SPEAKERS:
            raise OfferError(f"unknown role {role!r}: use one of {', '.join(ROLE_SPEAKERS)}")
        if kind != "offer":
            raise OfferError(f"type must be 'offer', got {kind!r}")
        channel = self.channels.get(role) or self.channels.setdefault(role, RoleChannel(self, role))
        pc = await answer_offer(sdp, self.config.ice_servers, channel.attach, f"{self.id}/{role}")
        previous = self._peers.get(role)
        self._peers[role] = pc
        if previous is not None:
            await previous.close()
        return pc.localDescription

    async def close(self, state: str = "finished", message: str = "") -> None:
        """Hang up every station, finish every utterance, and close the encounter in the store."""
        if self.finished:
            return
        self.finished = True
        await asyncio.gather(*(pc.close() for pc in self._peers.values()))
        await asyncio.gather(*(channel.closed() for channel in self.channels.values()))
        if self._ticker is not None:
            self._ticker.cancel()
        await self.analysis.finish(self._elapsed())
        if state != "finished":
            self.status(state, "unknown", message)
        self.status("finished", "unknown", message)
        self.store.finish(self.id)


@dataclass(eq=False)
class RoleChannel:
    """Everything one role sends, across reconnections: its recording and its transcriber."""

    encounter: LiveEncounter
    role: str
    recorder: WavRecorder | None = None
    transcriber: StreamingTranscriber | None = None
    _consumer: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def speaker(self) -> str:
        return ROLE_SPEAKERS[self.role]

    def attach(self, track: MediaStreamTrack) -> None:
        """Start consuming a connection's audio track (after the role's previous one ends)."""
        self._consumer = asyncio.get_running_loop().create_task(self._consume(track, self._consumer))

    async def closed(self) -> None:
        """Wait until the role's tracks have ended and its last final has gone out."""
        if self._consumer is not None:
            await asyncio.gather(self._consumer, return_exceptions=True)
        if self.transcriber is not None:
            await self.transcriber.drain()
        if self.recorder is not None:
            self.recorder.close()

    async def _consume(self, track: MediaStreamTrack, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        await receive_audio(track, self._join, self._write, self._leave)

    def _join(self) -> None:
        """A connection's first frame: place the role on the encounter clock."""
        now = self.encounter.now()
        if self.transcriber is None:
            path = self.encounter.recordings / f"{self.role}.wav"
            self.recorder = WavRecorder(path)
            self.recorder.write_silence(now)
            self.transcriber = StreamingTranscriber(
                self.encounter.id,
                self.speaker,
                self.encounter.scheduler,
                self.encounter.publish,
                self.encounter.config.streaming,
                offset=now,
                context=self.encounter.context,
                on_final=self.encounter.analysis.final,  # a track's first-pass finals (always with words)
            )
        elif now - self.transcriber.position > self.encounter.config.rejoin_gap_s:
            self._write(np.zeros(round((now - self.transcriber.position) * SAMPLE_RATE), np.float32))
        self.encounter.store.add_track(self.encounter.id, self.role, str(self.recorder.path), None, None)
        self.encounter.status("track_added", self.speaker, f"{self.role} joined")

    def _write(self, samples: np.ndarray) -> None:
        self.recorder.write(samples)
        self.transcriber.feed(samples)

    def _leave(self) -> None:
        """The connection ended (hung up, replaced, or vanished): finish the utterance in progress."""
        self.transcriber.end()
        self.encounter.store.add_track(
            self.encounter.id, self.role, str(self.recorder.path), None, self.recorder.duration
        )
        self.encounter.status("track_ended", self.speaker, f"{self.role} left")
