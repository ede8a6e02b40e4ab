"""The second pass of one live track: its finished utterances decoded again, together.

Decoding each utterance alone as soon as it ends is what makes live finals fast, but short
utterances lose the context Whisper gets from a full window. So once about `revise_after_s` of
first-pass finals have gathered, they are decoded again packed into one window, with the words
said before them as prompt; the scheduler runs that when the model is idle (speech/scheduler.py).
Where the words changed, a `revision: 1` final with the same id replaces the first one.

    first-pass final (speech/streaming.py) -> SecondPass.add -> batch of ~revise_after_s
      -> AsrScheduler.revision -> `revision: 1` segments where the words changed
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from encounter_feedback.events import Event, Segment
from encounter_feedback.media.audio import SAMPLE_RATE
from encounter_feedback.speech.asr import ClipTranscript
from encounter_feedback.speech.scheduler import AsrScheduler
from encounter_feedback.speech.utterances import Utterance, to_segment

Emit = Callable[[Event], None]


class SecondPass:
    """Revisions of one track's finals; runs on the event loop."""

    def __init__(self, encounter: str, scheduler: AsrScheduler, emit: Emit, revise_after_s: float) -> None:
        self.encounter = encounter
        self.revise_after_s = revise_after_s
        self._scheduler = scheduler
        self._emit = emit
        self._batch: list[tuple[Utterance, Segment]] = []
        self._prompt: str | None = None
        """What was said before the batch's first final."""
        self._decoding: set[asyncio.Task[None]] = set()

    def add(self, utterance: Utterance, segment: Segment, prompt: str | None) -> None:
        """A first-pass final just emitted, and its utterance. `prompt`: what was said before it
        (the batch is decoded with its first final's prompt)."""
        if not self._batch:
            self._prompt = prompt
        self._batch.append((utterance, segment))
        if sum(len(u.audio) for u, _ in self._batch) / SAMPLE_RATE >= self.revise_after_s:
            self._revise()

    async def finish(self) -> None:
        """The track's last final is out: revise what has gathered, and wait until every revision is out."""
        if self._batch:
            self._revise()
        while self._decoding:
            await asyncio.gather(*self._decoding, return_exceptions=True)

    def _revise(self) -> None:
        batch, self._batch = self._batch, []
        future = self._scheduler.revision([u.audio for u, _ in batch], self._prompt)
        task = asyncio.get_running_loop().create_task(self._emit_revisions(batch, future))
        self._decoding.add(task)
        task.add_done_callback(self._decoding.discard)

    async def _emit_revisions(
        self, batch: list[tuple[Utterance, Segment]], future: asyncio.Future[list[ClipTranscript]]
    ) -> None:
        """Replace finals whose words the second pass heard differently (an empty result keeps the first)."""
        try:
            transcripts = await future
        except (asyncio.CancelledError, Exception):  # dropped under load, or failed: the finals stand
            return
        for (utterance, first), transcript in zip(batch, transcripts):
            revised = to_segment(self.encounter, first.id, utterance, transcript)
            if revised is not None and [w["w"] for w in revised.words] != [w["w"] for w in first.words]:
                revised.revision = 1
                self._emit(revised)
