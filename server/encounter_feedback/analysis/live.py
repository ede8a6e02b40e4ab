"""Everything the live server derives from a transcript: moments, responses, cues and metrics.

    first-pass final + its utterance audio
      -> Annotator (analysis/annotator.py)      -> moment, response events
      -> ProsodyWorker.measure (a thread)     -> Acoustics -> CueTracker (analysis/dynamics.py)
                                                             -> cue, metrics events
    moments                                   -> CueTracker (how the provider's reply sounded)
    the encounter clock, and what is still in flight on each track -> both, so turns close
    and cues come out once the facts are in

It reads segments and audio clips handed to it and emits events; transport, the clock and
the store belong to pipeline/live.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from encounter_feedback.analysis.annotator import Annotator
from encounter_feedback.analysis.classifier import GENERAL, CaseContext, Classifier
from encounter_feedback.analysis.dynamics import CueTracker
from encounter_feedback.analysis.prosody import Acoustics, measure_utterance, warm_up
from encounter_feedback.analysis.time_order import earliest
from encounter_feedback.events import Event, Moment, Segment
from encounter_feedback.speech.utterances import Utterance

Emit = Callable[[Event], None]


class ProsodyWorker:
    """Measures utterance acoustics (pitch, loudness, speech spans) on one thread for all encounters.

    Pitch is cheap (about 1% of the ASR's CPU) but still too slow for the event loop, which
    carries every station's audio; `busy_s` adds up the time spent, for `GET /api/server`.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prosody")
        self._pool.submit(warm_up)  # librosa compiles its pitch code on first use (~2 s): not during an encounter
        self.busy_s = 0.0

    async def measure(self, utterance: Utterance) -> Acoustics:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._timed, utterance)

    def _timed(self, utterance: Utterance) -> Acoustics:
        start = time.thread_time()
        try:
            return measure_utterance(utterance)
        finally:
            self.busy_s += time.thread_time() - start

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class LiveAnalysis:
    """Moments, responses, cues and metrics of one live encounter (see the module doc)."""

    def __init__(
        self,
        encounter: str,
        emit: Emit,
        worker: ProsodyWorker,
        classifier: Classifier | None,
        case_context: CaseContext = GENERAL,
    ) -> None:
        self._emit = emit
        self._worker = worker
        self._cues = CueTracker(encounter, emit)
        self._annotator = Annotator(encounter, classifier, self._annotation, case_context) if classifier else None
        self._moments: set[str] = set()
        self._measuring: dict[asyncio.Task[None], tuple[str, float]] = {}  # task -> (speaker, utterance start)

    def final(self, utterance: Utterance, segment: Segment) -> None:
        """A first-pass final with words, just emitted, and the utterance it came from."""
        if self._annotator is not None:
            self._annotator.add(segment)
        task = asyncio.get_running_loop().create_task(self._measure(utterance, segment))
        self._measuring[task] = (segment.speaker, utterance.t0)
        task.add_done_callback(lambda t: self._measuring.pop(t, None))

    async def _measure(self, utterance: Utterance, segment: Segment) -> None:
        self._cues.add_utterance(segment, await self._worker.measure(utterance))

    def _annotation(self, event: Event) -> None:
        self._emit(event)
        if isinstance(event, Moment) and event.id not in self._moments:  # not again when its score changes
            self._moments.add(event.id)
            self._cues.moment(event)

    def tick(self, now: float, in_flight: dict[str, float]) -> None:
        """`in_flight`: per speaker, where their earliest speech not yet out as a final began."""
        if self._annotator is not None:
            self._annotator.tick(now, in_flight)
        self._cues.tick(now, earliest([*in_flight.items(), *self._measuring.values()]))

    async def finish(self, now: float) -> None:
        """Every final is out: close the last turn, emit the last cues and metrics."""
        await asyncio.gather(*self._measuring, return_exceptions=True)
        if self._annotator is not None:
            self._annotator.finish()
        self._cues.finish(now)
