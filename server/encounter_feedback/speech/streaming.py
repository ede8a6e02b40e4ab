"""Live transcription of one role's audio: partial segments while someone speaks, a final at the end.

    16 kHz samples -> UtteranceCutter (streaming Silero VAD + endpointing)
      speaking:        a partial every `partial_every_s` of new speech (coalesced by the scheduler)
      a pause begins:  after `speculate_after_s`, a speculative final of the speech so far
      endpoint:        the final; it is the speculation when that covered exactly this utterance,
                       so the transcript is usually ready the moment the pause ends the utterance
      final emitted:   handed to the second pass (speech/second_pass.py), which re-decodes
                       finished utterances together later and emits `revision: 1` finals

Partials and the final of one utterance share an id; the final replaces the partials. Partials
carry `stable`, the number of leading words the previous partial agreed on (LocalAgreement-2),
so a viewer can show settled words solid and the rest tentative.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from encounter_feedback.events import Event, Segment, Status
from encounter_feedback.media.audio import SAMPLE_RATE
from encounter_feedback.speech.asr import ClipTranscript
from encounter_feedback.speech.scheduler import AsrScheduler
from encounter_feedback.speech.second_pass import SecondPass
from encounter_feedback.speech.utterances import Utterance, UtteranceCutter, segment_id, to_segment
from encounter_feedback.speech.vad import SpeechSpan, VadConfig


@dataclass(frozen=True)
class StreamingConfig:
    """When partials and speculative finals are decoded. Times in seconds."""

    vad: VadConfig = VadConfig()
    first_partial_s: float = 0.8
    """No partial before this much speech: a word or two is not worth a decode."""
    partial_every_s: float = 1.0
    """A new partial is requested after this much more speech."""
    speculate_after_s: float = 0.1
    """A pause this long starts the speculative final (the endpoint needs `vad.min_silence_ms`)."""
    revise_after_s: float = 20.0
    """Finished utterances are decoded again together (speech/second_pass.py) once this much audio has gathered."""


@dataclass(eq=False)
class _Speculation:
    end: int
    """Track sample where the pause began: the utterance's end if the pause ends it."""
    utterance: Utterance
    future: asyncio.Future[ClipTranscript]


@dataclass(eq=False)
class _OpenUtterance:
    """What the transcriber knows about one utterance until its final is out."""

    start: int
    """Track sample where the speech began."""
    index: int | None = None
    """Its number in the segment id, given when its first event goes out."""
    requested_to: int = 0
    """Track sample up to which a partial was last requested."""
    shown_to: float = 0.0
    """Encounter time the newest emitted partial reached: older decodes arriving late are dropped."""
    hypothesis: list[str] = field(default_factory=list)
    speculation: _Speculation | None = None
    closed: bool = False


Emit = Callable[[Event], None]
Context = Callable[[], "str | None"]
OnFinal = Callable[[Utterance, Segment], None]


class StreamingTranscriber:
    """Partial and final segments for one role's live track; runs on the event loop."""

    def __init__(
        self,
        encounter: str,
        speaker: str,
        scheduler: AsrScheduler,
        emit: Emit,
        config: StreamingConfig = StreamingConfig(),
        offset: float = 0.0,
        context: Context = lambda: None,
        on_final: OnFinal = lambda utterance, segment: None,
    ) -> None:
        """`context` gives the words said just before (by anyone), Whisper's prompt: each
        utterance is decoded alone, and the prompt restores some of the context that packing
        several utterances into one window gives offline (2.1 WER points on CAR0001).
        `on_final` hears each first-pass final with its utterance (audio and VAD span), after
        it was emitted: the prosody of the utterance is measured from that audio."""
        self.encounter = encounter
        self.context = context
        self.on_final = on_final
        self.speaker = speaker
        self.config = config
        self._scheduler = scheduler
        self._emit = emit
        self._cutter = UtteranceCutter(speaker, config.vad, offset)
        self._offset = offset
        self._open: _OpenUtterance | None = None
        self._partial: tuple[np.ndarray, _OpenUtterance, Utterance] | None = None
        self._last_index = 0
        self._last_final: asyncio.Task[None] | None = None
        self._finals: dict[asyncio.Task[None], float] = {}
        """Finals not yet emitted: each one's task, and where its utterance began (encounter time)."""
        self._second_pass = SecondPass(encounter, scheduler, emit, config.revise_after_s)

    @property
    def position(self) -> float:
        """Encounter time up to which audio has been fed, in seconds."""
        return self._offset + self._cutter.received / SAMPLE_RATE

    @property
    def in_flight_since(self) -> float | None:
        """Encounter time where the earliest speech not yet out as a final began; None if all is out."""
        starts = list(self._finals.values())
        if self._cutter.speech_start is not None:
            starts.append(self._time(self._cutter.speech_start))
        return min(starts, default=None)

    def feed(self, samples: np.ndarray) -> None:
        """Add audio; events go out through `emit` as decodes finish."""
        for utterance in self._cutter.feed(samples):
            self._finish(utterance)
        self._follow_open_utterance()

    def end(self) -> None:
        """The track ended (or the peer vanished): finalize the utterance in progress."""
        for utterance in self._cutter.flush():
            self._finish(utterance)
        self._follow_open_utterance()
        self._scheduler.forget(self)

    async def finals_out(self) -> None:
        """Wait until every first-pass final this track owes has gone out."""
        while self._finals:
            await asyncio.gather(*self._finals, return_exceptions=True)

    async def drain(self) -> None:
        """Wait until every final this track owes, and its second pass, has gone out."""
        await self.finals_out()
        await self._second_pass.finish()

    # -- the utterance in progress --------------------------------------------------------

    def _follow_open_utterance(self) -> None:
        start = self._cutter.speech_start
        if self._open is not None and self._open.start != start:
            self._open.closed = True  # dropped by the endpointer (too short) without a final
            self._withdraw(self._open)
            self._open = None
        if start is None:
            return
        if self._open is None:
            self._open = _OpenUtterance(start=start, requested_to=start)
        pause, received = self._cutter.pause_start, self._cutter.received
        if pause is None:
            speech = (received - start) / SAMPLE_RATE
            fresh = (received - self._open.requested_to) / SAMPLE_RATE
            if speech >= self.config.first_partial_s and fresh >= self.config.partial_every_s:
                self._open.requested_to = received
                self._scheduler.request_partial(self)
        elif (received - pause) / SAMPLE_RATE >= self.config.speculate_after_s:
            self._speculate(self._open, SpeechSpan(start, pause))

    def _speculate(self, state: _OpenUtterance, span: SpeechSpan) -> None:
        if state.speculation is not None and state.speculation.end == span.end:
            return
        if state.speculation is not None:
            state.speculation.future.cancel()  # superseded: the speaker went on and paused again
        utterance = self._cutter.clip(span)
        future = self._scheduler.final(utterance.audio, speculative=True, prompt=self.context())
        state.speculation = _Speculation(span.end, utterance, future)
        future.add_done_callback(lambda f: self._speculation_done(state, utterance, f))

    def _speculation_done(self, state: _OpenUtterance, utterance: Utterance, future: asyncio.Future) -> None:
        """While the pause may still end in more speech, the speculation is shown as a partial."""
        if not state.closed and not future.cancelled() and future.exception() is None:
            self._show_partial(state, utterance, future.result())

    # -- PartialSource ----------------------------------------------------------------------

    def partial_clip(self) -> np.ndarray | None:
        if self._open is None or self._cutter.pause_start is not None:
            return None  # in a pause the speculative final shows the text instead
        utterance = self._cutter.clip(SpeechSpan(self._open.start, self._cutter.received))
        self._partial = (utterance.audio, self._open, utterance)
        return utterance.audio

    def on_partial(self, clip: np.ndarray, transcript: ClipTranscript) -> None:
        if self._partial is None or self._partial[0] is not clip:
            return
        _, state, utterance = self._partial
        self._partial = None
        if not state.closed:
            self._show_partial(state, utterance, transcript)

    def _show_partial(self, state: _OpenUtterance, utterance: Utterance, transcript: ClipTranscript) -> None:
        if utterance.t1 <= state.shown_to:
            return
        segment = to_segment(self.encounter, self._id(state), utterance, transcript, final=False)
        if segment is None:
            return
        hypothesis = [w["w"].lower().strip(".,?!") for w in segment.words]
        segment.stable = _common_prefix(state.hypothesis, hypothesis)
        state.hypothesis, state.shown_to = hypothesis, utterance.t1
        self._emit(segment)

    # -- finals ---------------------------------------------------------------------------------

    def _finish(self, utterance: Utterance) -> None:
        """The endpointer closed an utterance: its final decode is the speculation or a new one."""
        state = self._open
        if state is None or self._time(state.start) != utterance.t0:
            state = _OpenUtterance(start=-1)  # never seen open: fed in one piece with its end
        else:
            self._open = None
        state.closed = True
        spec = state.speculation
        if spec is not None and self._time(spec.end) == utterance.t1 and not spec.future.cancelled():
            utterance, future = spec.utterance, spec.future
            self._scheduler.promote(future)
        else:
            future = self._scheduler.final(utterance.audio, prompt=self.context())
        task = asyncio.get_running_loop().create_task(self._emit_final(state, utterance, future, self._last_final))
        self._last_final = task
        self._finals[task] = utterance.t0
        task.add_done_callback(lambda t: self._finals.pop(t, None))

    async def _emit_final(
        self,
        state: _OpenUtterance,
        utterance: Utterance,
        future: asyncio.Future[ClipTranscript],
        previous: asyncio.Task[None] | None,
    ) -> None:
        try:
            transcript = await future
        except asyncio.CancelledError:  # a speculation dropped under load just before promotion
            transcript = await self._scheduler.final(utterance.audio, prompt=self.context())
        except Exception as exc:
            transcript = None
            error = exc
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)  # finals go out in order
        if transcript is None:
            self._emit(self._status("error", utterance, f"transcription failed for {self.speaker}: {error}"))
            return
        segment = to_segment(self.encounter, "", utterance, transcript)
        if segment is None:
            self._withdraw(state)
            return
        segment.id = self._id(state)
        said_before = self.context()  # before this final joins the context: the second pass's prompt
        self._emit(segment)
        self.on_final(utterance, segment)
        self._second_pass.add(utterance, segment, said_before)

    def _withdraw(self, state: _OpenUtterance) -> None:
        """An utterance whose partials went out turned out to hold no words: an empty final."""
        if state.index is None:
            return
        t = self._time(state.start)
        self._emit(
            Segment(
                id=self._id(state),
                encounter=self.encounter,
                speaker=self.speaker,
                t0=t,
                t1=t,
                text="",
                final=True,
                words=[],
                avg_logprob=0.0,
            )
        )

    def _time(self, sample: int) -> float:
        """Encounter time of a track sample (the same arithmetic as `UtteranceCutter.clip`)."""
        return self._offset + sample / SAMPLE_RATE

    def _id(self, state: _OpenUtterance) -> str:
        if state.index is None:
            self._last_index += 1
            state.index = self._last_index
        return segment_id(self.speaker, state.index)

    def _status(self, state: str, utterance: Utterance, message: str) -> Status:
        return Status(
            id=f"status-{self.speaker}-{utterance.t0:.3f}",
            encounter=self.encounter,
            speaker=self.speaker,
            t0=utterance.t0,
            t1=utterance.t1,
            state=state,
            message=message,
        )


def _common_prefix(a: list[str], b: list[str]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n
