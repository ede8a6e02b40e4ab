"""Live encounters: WebRTC audio in, through the streaming pipeline, events out.

    station's RTCPeerConnection --(Opus over SRTP)--> RoleChannel per role
        -> Resampler (48 kHz stereo -> 16 kHz mono, one per connection)
        -> WavRecorder (the debrief recording, on the encounter clock)
        -> StreamingTranscriber -> events -> Store (source of truth) + Hub (subscribers)

The encounter audio clock starts at the first audio sample any station sends. A role that
joins late, or reconnects after a drop, is placed on that clock by wall time (the gap is
silence in its recording); inside a connection, time is counted in samples, with gaps in
the RTP timestamps filled with silence, so packet loss cannot shift later words.

A station's connection lives as long as the task reading its audio (`Connection`): a new offer
for the role cancels the old one whatever state it is in (connected, connecting, or never to
connect), one that brings no audio within `connect_timeout_s` or goes silent for
`silence_timeout_s` ends by itself, and either way its last utterance is finalized before its
`track_ended`, which is stamped where its audio stopped. Offers and the finish take turns (one
lock per encounter): once the finish has begun, an offer is refused (`Finishing`), and the finish
itself ends in bounded time, abandoning what will not close. An encounter no station has sent to
for `idle_close_s` finishes by itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np
from aiortc import MediaStreamTrack, RTCIceServer, RTCPeerConnection, RTCSessionDescription

from encounter_feedback.analysis.classifier import Classifier, case_context_of
from encounter_feedback.analysis.live import LiveAnalysis, ProsodyWorker
from encounter_feedback.analysis.time_order import earliest
from encounter_feedback.errors import UserError
from encounter_feedback.events import ROLE_SPEAKERS, Event, Segment, Status
from encounter_feedback.media.audio import SAMPLE_RATE
from encounter_feedback.media.recording import WavRecorder
from encounter_feedback.media.webrtc import OfferError, answer_offer, hang_up, receive_audio
from encounter_feedback.pipeline.reannotate import follow_speakers
from encounter_feedback.pipeline.room import LiveRoom
from encounter_feedback.scenarios import scenario_or_none
from encounter_feedback.speech.scheduler import AsrScheduler
from encounter_feedback.speech.streaming import StreamingConfig, StreamingTranscriber
from encounter_feedback.store.database import Encounter, Store
from encounter_feedback.store.hub import Hub

log = logging.getLogger(__name__)

CONTEXT_WORDS = 80
SHUTDOWN_DRAIN_S = 5.0
"""At a server stop (SIGTERM) a finish waits this long for the last finals: the process must exit."""
"""Words of preceding finals given to Whisper as its prompt (on CAR0001, 80 words: 0.4 WER points better than 40)."""


class Finishing(UserError):
    """The encounter is finishing or has finished: it takes no more stations."""


@dataclass(frozen=True)
class LiveConfig:
    streaming: StreamingConfig = StreamingConfig()
    ice_servers: tuple[RTCIceServer, ...] = ()
    """None by default: stations and server meet on the LAN with host candidates, offline."""
    rejoin_gap_s: float = 0.05
    """A reconnecting role further behind the clock than this gets the gap filled with silence."""
    tick_s: float = 0.25
    """How often the analysis is told the time (turns close `turns.TURN_CLOSE_S` after their speaker stops)."""
    connect_timeout_s: float = 10.0
    """A connection that brings no audio this long after its offer was answered never connected (a page
    reloaded, ICE failed): it is hung up. On a LAN a station connects within a second or two."""
    silence_timeout_s: float = 5.0
    """A connection that sends no packet this long has vanished (browsers send audio even in silence)."""
    idle_close_s: float | None = 1800.0
    """A live encounter that no station has sent to for this long finishes by itself (None: never)."""
    hang_up_s: float = 2.0
    """How long hanging up one connection may take before it is abandoned."""
    drain_s: float = 30.0
    """How long a finish waits for the last finals and their second pass before it closes anyway."""


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

    def __init__(
        self, record: Encounter, shared: Shared, on_closed: Callable[[LiveEncounter], None] = lambda encounter: None
    ) -> None:
        self.id = record.id
        self.store = shared.store
        self.hub = shared.hub
        self.scheduler = shared.scheduler
        self.recordings = shared.store.recordings_dir(record.id)
        """Made (owner-only) with the first recording."""
        self.config = shared.config
        self.channels: dict[str, RoleChannel] = {}
        self._clock_start: float | None = None
        self._connections: dict[str, Connection] = {}
        """Each role's current connection, while its reader runs."""
        self._lock = asyncio.Lock()
        """Offers and the finish take turns, so no station joins an encounter that is closing."""
        self._status_count = 0
        self._recent_words: deque[str] = deque(maxlen=CONTEXT_WORDS)
        self.analysis = LiveAnalysis(
            record.id,
            self.publish,
            shared.prosody,
            shared.classifier,
            case_context_of(scenario_or_none(record.scenario)),
        )
        self._classifier = shared.classifier
        self._relabelled = False
        """A room track's voices were re-estimated with new speakers for segments the analysis had heard."""
        self._ticker: asyncio.Task[None] | None = None
        self._idle: asyncio.Task[None] | None = None
        self._on_closed = on_closed
        self.closing = False
        """The finish has begun: offers are refused."""
        self.finished = False
        """Closed in the store."""
        self._closed = asyncio.Event()

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
        """Store the event (unless it is a partial, or the withdrawal of partials) and send it to
        subscribers. A revised final without words (a room segment's part that no longer exists) is
        stored: it withdraws the part's earlier versions."""
        body = event.to_dict()
        seq = None
        if not (isinstance(event, Segment) and (not event.final or not (event.words or event.revision))):
            [seq] = self.store.add_events([event])
        self.hub.publish(self.id, {**body, "seq": seq})
        if isinstance(event, Segment) and event.final and event.words and not event.revision:
            self._recent_words.extend(event.text.split())

    def relabelled(self) -> None:
        """A room track's re-estimated voices changed the speaker of segments already analysed: the
        moments and responses coded on them follow (pipeline/reannotate.py), now and at the finish."""
        self._relabelled = True
        self._follow_speakers()

    def _follow_speakers(self) -> None:
        if self._classifier is not None:
            follow_speakers(self.store, self.hub, self.id, self._classifier)

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
        starts = ((c.speaker, c.track.in_flight_since if c.track else None) for c in self.channels.values())
        return earliest((speaker, since) for speaker, since in starts if since is not None)

    def status(self, state: str, speaker: str, message: str = "", t: float | None = None) -> None:
        """A status event at encounter time `t` (default: now)."""
        self._status_count += 1
        t = self._elapsed() if t is None else t
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
        """Answer a station's offer to send `role`'s audio; Finishing once the finish has begun. The
        role's previous connection, whatever its state, is hung up: its audio so far stays, its
        utterance in progress is finalized, and the new connection's audio follows on the clock."""
        if role not in ROLE_SPEAKERS:
            raise OfferError(f"unknown role {role!r}: use one of {', '.join(ROLE_SPEAKERS)}")
        if kind != "offer":
            raise OfferError(f"type must be 'offer', got {kind!r}")
        async with self._lock:
            if self.closing:
                raise Finishing("the encounter is finishing: it takes no more stations")
            pc, track = await answer_offer(sdp, self.config.ice_servers, f"{self.id}/{role}")
            channel = self.channels.get(role) or self.channels.setdefault(role, RoleChannel(self, role))
            connection = Connection(pc, channel.receive(pc, track))
            previous, self._connections[role] = self._connections.get(role), connection
            connection.reader.add_done_callback(lambda _: self._gone(role, connection))
            if self._idle is not None:
                self._idle.cancel()
                self._idle = None
        if previous is not None:
            previous.reader.cancel()  # superseded; its reader closes its peer connection
        return pc.localDescription

    def _gone(self, role: str, connection: Connection) -> None:
        """A connection's reader ended (hung up, superseded, vanished, never connected). With no
        station left, the encounter waits `idle_close_s` for one, then finishes."""
        if self._connections.get(role) is connection:
            del self._connections[role]
        if self._connections or self.closing or self.config.idle_close_s is None or self._idle is not None:
            return
        self._idle = asyncio.get_running_loop().create_task(self._close_when_idle(self.config.idle_close_s))

    async def _close_when_idle(self, after_s: float) -> None:
        await asyncio.sleep(after_s)
        self._idle = None
        await self.close("finished", f"no station sent audio for {_duration(after_s)}")

    async def close(self, state: str = "finished", message: str = "", drain_s: float | None = None) -> None:
        """Hang up every station, finish every utterance, and close the encounter in the store. It
        ends in bounded time: a connection that will not close is abandoned after `hang_up_s`, and
        the last finals get `drain_s` (default the config's) before the encounter closes anyway.
        A second call waits for the first."""
        if self.closing:
            await self._closed.wait()
            return
        self.closing = True
        if self._idle is not None:
            self._idle.cancel()
        try:
            async with self._lock:  # an offer being answered is answered first; any later one is refused
                connections = list(self._connections.values())
            await asyncio.gather(*(connection.hang_up(self.config.hang_up_s) for connection in connections))
            drain = asyncio.gather(*(channel.drain() for channel in self.channels.values()))
            if not await _within(drain, self.config.drain_s if drain_s is None else drain_s):
                log.warning("%s: the last finals did not come within the drain time; closed without them", self.id)
            for channel in self.channels.values():
                channel.finish()
            if self._ticker is not None:
                self._ticker.cancel()
            await self.analysis.finish(self._elapsed())
            # What the analysis coded after the last relabel or faculty correction follows it too.
            if self._relabelled or any(e.get("corrected") for e in self.store.latest_events(self.id)):
                self._follow_speakers()
            if state != "finished":
                self.status(state, "unknown", message)
            self.status("finished", "unknown", message)
        finally:  # whatever failed above, the encounter is closed: no finish may wait forever
            self.store.finish(self.id)
            self.finished = True
            self._closed.set()
            self._on_closed(self)


@dataclass(eq=False)
class Connection:
    """One station's peer connection, and the task reading its audio (the connection lives as long
    as that task: when it ends, for whatever reason, it closes the peer connection)."""

    pc: RTCPeerConnection
    reader: asyncio.Task[None]

    async def hang_up(self, within_s: float) -> None:
        """Close the connection so its reader takes its last audio and ends; a reader still waiting
        after `within_s` (a connection that never came up has a track that never ends) is cancelled."""
        await hang_up(self.pc, within_s)
        done, _ = await asyncio.wait([self.reader], timeout=within_s)
        if not done:
            self.reader.cancel()
            await asyncio.wait([self.reader], timeout=within_s)


@dataclass(eq=False)
class RoleChannel:
    """Everything one role sends, across reconnections: its connections' audio, one after another,
    into one `RoleTrack` from the role's first audio frame on."""

    encounter: LiveEncounter
    role: str
    track: RoleTrack | None = None
    """None until the role's first audio arrives."""
    _reader: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def speaker(self) -> str:
        return ROLE_SPEAKERS[self.role]

    def receive(self, pc: RTCPeerConnection, track: MediaStreamTrack) -> asyncio.Task[None]:
        """The task reading a connection's audio (after the role's previous connection's)."""
        self._reader = asyncio.get_running_loop().create_task(self._read(pc, track, self._reader))
        return self._reader

    async def _read(self, pc: RTCPeerConnection, track: MediaStreamTrack, previous: asyncio.Task[None] | None) -> None:
        config = self.encounter.config
        try:
            if previous is not None:
                await asyncio.wait([previous])  # cancelled when superseded, so this is quick
            await receive_audio(track, self._join, config.connect_timeout_s, config.silence_timeout_s)
        finally:
            await hang_up(pc, config.hang_up_s)

    def _join(self) -> RoleTrack:
        """A connection's first frame: place the role on the encounter clock."""
        now = self.encounter.now()
        if self.track is None:
            self.track = RoleTrack.start(self.encounter, self.role, now)
        else:
            self.track.rejoin(now)
        self.encounter.store.add_track(self.encounter.id, self.role, str(self.track.recorder.path), None, None)
        self.encounter.status("track_added", self.speaker, f"{self.role} joined")
        return self.track

    async def drain(self) -> None:
        """Wait until the role's last final and its second pass have gone out."""
        if self.track is not None:
            await self.track.drain()

    def finish(self) -> None:
        """The encounter closes: the role's end is announced (if a drain cut short has not) and its
        recording closed."""
        if self.track is not None:
            self.track.announce_end()
            self.track.recorder.close()


@dataclass(eq=False)
class RoleTrack:
    """One role's audio on the encounter clock: its recording and its transcriber (an AudioSink
    for each of the role's connections in turn)."""

    encounter: LiveEncounter
    role: str
    recorder: WavRecorder
    transcriber: StreamingTranscriber
    room: LiveRoom | None = None
    """Speaker labels, for a room microphone."""
    _ended: tuple[float, float] | None = field(default=None, repr=False)
    """Where the last connection's audio stopped and the recording's length then, until announced."""
    _announcing: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def in_flight_since(self) -> float | None:
        """Where this track's earliest speech not yet handed to the analysis began."""
        starts = [self.transcriber.in_flight_since, self.room.in_flight_since if self.room else None]
        return min((t for t in starts if t is not None), default=None)

    @classmethod
    def start(cls, encounter: LiveEncounter, role: str, now: float) -> RoleTrack:
        """The role's first audio, at encounter time `now`: its recording starts with `now` of silence."""
        recorder = WavRecorder(encounter.recordings / f"{role}.wav")
        recorder.write_silence(now)
        # A room microphone's finals go out through LiveRoom, which adds who said them.
        room = (
            LiveRoom(encounter.publish, encounter.analysis.final, on_relabel=encounter.relabelled)
            if role == "room"
            else None
        )
        transcriber = StreamingTranscriber(
            encounter.id,
            ROLE_SPEAKERS[role],
            encounter.scheduler,
            room.emit if room else encounter.publish,
            encounter.config.streaming,
            offset=now,
            context=encounter.context,
            on_final=room.final if room else encounter.analysis.final,  # first-pass finals (always with words)
        )
        return cls(encounter, role, recorder, transcriber, room)

    def rejoin(self, now: float) -> None:
        """A new connection's first frame at encounter time `now`: the time it was away is silence."""
        self.announce_end()  # the last connection's end comes before the new one's start
        if now - self.transcriber.position > self.encounter.config.rejoin_gap_s:
            self.write(np.zeros(round((now - self.transcriber.position) * SAMPLE_RATE), np.float32))

    def write(self, samples: np.ndarray) -> None:
        self.recorder.write(samples)
        self.transcriber.feed(samples)

    def end(self) -> None:
        """The connection ended (hung up, superseded, or vanished): finalize the utterance in
        progress; `track_ended` follows its final, stamped where the audio stopped."""
        self.transcriber.end()
        self._ended = (self.transcriber.position, self.recorder.duration)
        self._announcing = asyncio.get_running_loop().create_task(
            _after(self.transcriber.finals_out(), self.announce_end)
        )

    def announce_end(self) -> None:
        """`track_ended` for the last connection, once (its final is out, the role rejoined, or the
        encounter closes)."""
        if self._ended is None:
            return
        at, duration = self._ended
        self._ended = None
        self.encounter.store.add_track(self.encounter.id, self.role, str(self.recorder.path), None, duration)
        self.encounter.status("track_ended", ROLE_SPEAKERS[self.role], f"{self.role} left", t=at)

    async def drain(self) -> None:
        """Wait until the last final and its second pass have gone out."""
        await self.transcriber.finals_out()
        self.announce_end()
        await self.transcriber.drain()
        if self.room is not None:
            await self.room.drain()


async def _within(awaitable: Awaitable[object], seconds: float) -> bool:
    """Whether `awaitable` finished within `seconds` (it is cancelled if not)."""
    try:
        await asyncio.wait_for(awaitable, seconds)
    except TimeoutError:
        return False
    except Exception:  # its own failure is logged where it happens; here it has ended
        return True
    return True


async def _after(awaitable: Awaitable[object], then: Callable[[], None]) -> None:
    try:
        await awaitable
    finally:
        then()


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
