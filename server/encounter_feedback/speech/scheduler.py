"""One shared Whisper model for every live track: a priority queue in front of one worker thread.

Why one thread: CTranslate2 already spreads one decode over every core, and Whisper encodes a
full 30 s window per decode (~0.3 s on 2 cores) however short the clip, so two decodes at once
would only slow each other down. What matters is which decode runs next:

1. **finals**: someone stopped talking and the transcript is waiting. Several waiting finals
   are packed into one window (`transcribe_clips`), so the backlog drains at up to ~28 s of
   audio per decode: faster than any number of speakers can talk, never growing without bound.
2. **speculative finals**: a pause has begun and may turn into the end of the utterance;
   decoding now makes the final ready by the time the pause is long enough.
3. **partials**: the growing text of someone still talking; at most one request per track is
   kept, and its audio is taken when the decode starts, so it is always the freshest.
4. **revisions**: a second pass over ~20 s of a track's finished utterances, packed into one
   window with the preceding words as prompt: the context that decoding utterances one by one
   lacks. It waits for a moment when nothing else is queued; after `revision_patience_s` it
   goes before partials, so that constant talk elsewhere cannot starve it.

When a final has waited longer than `degrade_after_s`, the scheduler is *degraded*: it drops
partials, speculation and revisions (finals first) and says so to its listeners until it has kept up for
`recover_after_s`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from encounter_feedback.media.audio import SAMPLE_RATE
from encounter_feedback.speech.asr import AsrEngine, ClipTranscript, transcribe_clips

log = logging.getLogger(__name__)


class PartialSource(Protocol):
    """A track that wants partial transcripts of the utterance it is hearing."""

    def partial_clip(self) -> np.ndarray | None:
        """Audio of the open utterance as it is now; None if there is none any more."""

    def context(self) -> str | None:
        """What was said just before, as Whisper's prompt."""

    def on_partial(self, clip: np.ndarray, transcript: ClipTranscript) -> None:
        """The decode of a clip returned by `partial_clip`."""


@dataclass(eq=False)
class _Final:
    clip: np.ndarray
    speculative: bool
    prompt: str | None
    future: asyncio.Future[ClipTranscript]
    submitted: float


@dataclass(eq=False)
class _Revision:
    clips: list[np.ndarray]
    prompt: str | None
    future: asyncio.Future[list[ClipTranscript]]
    submitted: float


@dataclass(frozen=True)
class SchedulerStats:
    """A snapshot of the queue, for `GET /api/server` and `encounter bench live`."""

    pending_finals: int
    """Utterances that ended and wait for their transcript (speculative decodes not counted)."""
    backlog_s: float
    """Audio of those utterances, in seconds."""
    oldest_wait_s: float
    """How long the oldest waiting final has waited, in seconds."""
    degraded: bool
    decodes: int
    """Decodes run (one may hold several packed finals)."""
    partials: int
    partials_dropped: int
    speculations_dropped: int
    revisions: int
    revisions_dropped: int
    busy_s: float
    """Time spent decoding since start, in seconds."""


class AsrScheduler:
    """Runs final, speculative and partial decodes for every live track on one thread."""

    def __init__(
        self,
        engine: AsrEngine,
        partial_engine: AsrEngine | None = None,
        revision_engine: AsrEngine | None = None,
        degrade_after_s: float = 1.0,
        recover_after_s: float = 3.0,
        revision_patience_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`clock` (seconds) times waits, patience and busy time; a test may pass its own."""
        self.engine = engine
        self.partial_engine = partial_engine or engine
        self.revision_engine = revision_engine or engine
        self.degrade_after_s = degrade_after_s
        self.recover_after_s = recover_after_s
        self.revision_patience_s = revision_patience_s
        self._clock = clock
        self.listeners: list[Callable[[bool, str], None]] = []
        """Called with (degraded, message) whenever the scheduler degrades or recovers."""
        self._finals: list[_Final] = []
        self._partials: dict[PartialSource, None] = {}  # insertion-ordered set: oldest request first
        self._revisions: list[_Revision] = []
        self._wake = asyncio.Event()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asr")
        self._task: asyncio.Task[None] | None = None
        self._degraded = False
        self._last_late = 0.0
        self._decodes = self._partials_done = self._partials_dropped = self._speculations_dropped = 0
        self._revisions_done = self._revisions_dropped = 0
        self._busy = 0.0

    def start(self) -> None:
        """Start the worker loop on the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="asr-scheduler")
        self._task.add_done_callback(_report_crash)

    async def stop(self) -> None:
        """Stop after the decode in progress; waiting finals fail with CancelledError."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for final in self._finals:
            final.future.cancel()
        for revision in self._revisions:
            revision.future.cancel()
        self._finals.clear()
        self._revisions.clear()
        self._pool.shutdown(wait=True)

    def final(
        self, clip: np.ndarray, speculative: bool = False, prompt: str | None = None
    ) -> asyncio.Future[ClipTranscript]:
        """Queue an utterance clip for its final transcript (speculative: only if idle enough).

        `prompt` is what was said before; packed clips share the first one's prompt.
        """
        job = _Final(clip, speculative, prompt, asyncio.get_running_loop().create_future(), self._clock())
        self._finals.append(job)
        self._wake.set()
        return job.future

    def promote(self, future: asyncio.Future[ClipTranscript]) -> None:
        """A speculative final turned out to be the real one: it may no longer be dropped."""
        for job in self._finals:
            if job.future is future:
                job.speculative, job.submitted = False, self._clock()
        self._wake.set()

    def revision(self, clips: list[np.ndarray], prompt: str | None) -> asyncio.Future[list[ClipTranscript]]:
        """Queue a second pass over finished utterance clips (cancelled if the scheduler degrades)."""
        job = _Revision(clips, prompt, asyncio.get_running_loop().create_future(), self._clock())
        self._revisions.append(job)
        self._wake.set()
        return job.future

    def request_partial(self, source: PartialSource) -> None:
        """Ask for a partial of `source`'s open utterance; repeated requests coalesce."""
        self._partials.setdefault(source, None)
        self._wake.set()

    def forget(self, source: PartialSource) -> None:
        """Drop a pending partial request (the track ended)."""
        self._partials.pop(source, None)

    @property
    def stats(self) -> SchedulerStats:
        now = self._clock()
        waiting = [j for j in self._finals if not j.future.done() and not j.speculative]
        return SchedulerStats(
            pending_finals=len(waiting),
            backlog_s=round(sum(len(j.clip) for j in waiting) / SAMPLE_RATE, 3),
            oldest_wait_s=round(max((now - j.submitted for j in waiting), default=0.0), 3),
            degraded=self._degraded,
            decodes=self._decodes,
            partials=self._partials_done,
            partials_dropped=self._partials_dropped,
            speculations_dropped=self._speculations_dropped,
            revisions=self._revisions_done,
            revisions_dropped=self._revisions_dropped,
            busy_s=round(self._busy, 3),
        )

    async def _run(self) -> None:
        while True:
            self._finals = [j for j in self._finals if not j.future.done()]
            self._update_load()
            finals = [j for j in self._finals if not j.speculative]
            speculative = [j for j in self._finals if j.speculative]
            if finals:
                await self._decode_finals(finals)
            elif speculative:
                await self._decode_finals(speculative)
            elif self._revisions and self._clock() - self._revisions[0].submitted > self.revision_patience_s:
                await self._decode_revision(self._revisions.pop(0))
            elif self._partials:
                source = next(iter(self._partials))
                del self._partials[source]
                await self._decode_partial(source)
            elif self._revisions:
                await self._decode_revision(self._revisions.pop(0))
            else:
                self._wake.clear()
                await self._wake.wait()

    def _update_load(self) -> None:
        """Degrade when a final has waited too long; recover after keeping up for a while."""
        now = self._clock()
        late = [j for j in self._finals if not j.speculative and now - j.submitted > self.degrade_after_s]
        if late:
            self._last_late = now
            if not self._degraded:
                self._set_degraded(True, f"transcription is {now - late[0].submitted:.1f} s behind: partials paused")
        elif self._degraded and now - self._last_late >= self.recover_after_s:
            self._set_degraded(False, "transcription caught up: partials resumed")
        if self._degraded:
            self._partials_dropped += len(self._partials)
            self._partials.clear()
            for job in [j for j in self._finals if j.speculative]:
                job.future.cancel()
                self._speculations_dropped += 1
            self._finals = [j for j in self._finals if not j.speculative]
            for revision in self._revisions:
                revision.future.cancel()
                self._revisions_dropped += 1
            self._revisions.clear()

    def _set_degraded(self, degraded: bool, message: str) -> None:
        self._degraded = degraded
        log.warning(message) if degraded else log.info(message)
        for listener in self.listeners:
            listener(degraded, message)

    async def _decode_finals(self, jobs: list[_Final]) -> None:
        """Decode the oldest waiting clips, packed, as many as fit one window."""
        batch: list[_Final] = []
        length = 0.0
        for job in jobs:
            seconds = len(job.clip) / SAMPLE_RATE + self.engine.config.clip_gap_s
            if batch and length + seconds > self.engine.config.max_window_s:
                break
            batch.append(job)
            length += seconds
        self._finals = [j for j in self._finals if j not in batch]
        try:
            transcripts = await self._in_thread(
                transcribe_clips, self.engine, [j.clip for j in batch], None, batch[0].prompt
            )
        except Exception as exc:  # the engine failed: every waiting caller hears why
            log.exception("final decode failed")
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        for job, transcript in zip(batch, transcripts):
            if not job.future.done():
                job.future.set_result(transcript)

    async def _decode_partial(self, source: PartialSource) -> None:
        clip = source.partial_clip()
        if clip is None:
            return
        try:
            [transcript] = await self._in_thread(transcribe_clips, self.partial_engine, [clip], None, source.context())
        except Exception:  # a lost partial costs nothing: the final follows
            log.exception("partial decode failed")
            return
        self._partials_done += 1
        source.on_partial(clip, transcript)

    async def _decode_revision(self, job: _Revision) -> None:
        if job.future.done():
            return
        try:
            transcripts = await self._in_thread(transcribe_clips, self.revision_engine, job.clips, None, job.prompt)
        except Exception as exc:
            log.exception("revision decode failed")
            job.future.set_exception(exc)
            return
        self._revisions_done += 1
        if not job.future.done():
            job.future.set_result(transcripts)

    async def _in_thread(self, fn: Callable[..., list[ClipTranscript]], *args: object) -> list[ClipTranscript]:
        start = self._clock()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        finally:
            self._decodes += 1
            self._busy += self._clock() - start


def _report_crash(task: asyncio.Task[None]) -> None:
    """The loop only ends by being stopped; anything else is a bug that must not pass silently."""
    if not task.cancelled() and task.exception() is not None:
        log.critical("the ASR scheduler stopped", exc_info=task.exception())
