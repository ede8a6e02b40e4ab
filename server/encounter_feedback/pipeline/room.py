"""Speakers of a room microphone: diarization's voices become roles, segments get a speaker each.

    (segment, utterance) pairs of one mixed track -> RoomDiarizer (speech/diarization.py)
      -> a voice per word -> which voice is the provider (analysis/roles.py)
      -> each segment split where its speaker changes, parts labelled patient / provider

Words stay `unknown` while only one voice has been heard. Offline, `attribute_room` does it
once for a whole recording; live, `LiveRoom` labels each final as it comes and re-labels
earlier ones as the voices are re-estimated (and the flags coded on them follow:
pipeline/reannotate.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from encounter_feedback.analysis.roles import RoleAssignment, assign_roles
from encounter_feedback.events import Event, Segment, Word
from encounter_feedback.speech.diarization import RoomDiarizer, speaker_runs
from encounter_feedback.speech.utterances import Utterance, segment_id

UNKNOWN = "unknown"


@dataclass(frozen=True)
class RoomLabels:
    """The speaker of every word of every segment, and how the roles were decided."""

    words: dict[str, list[str]]
    """Segment id to one speaker per word."""
    roles: RoleAssignment | None

    def summary(self, diarizer: RoomDiarizer) -> dict[str, Any]:
        """The `speakers` block of the summary: what was heard and how roles were assigned."""
        counts = {role: 0 for role in ("provider", "patient", UNKNOWN)}
        for speakers in self.words.values():
            for speaker in speakers:
                counts[speaker] += 1
        return {
            "source": "one room microphone: voices told apart by voice embeddings",
            **diarizer.voices.to_dict(),
            "speech_s": round(diarizer.speech_s, 1),
            "words": counts,
            "roles": None if self.roles is None else self.roles.to_dict(),
        }


def label_words(diarizer: RoomDiarizer, segments: Sequence[Segment]) -> RoomLabels:
    """Each word's speaker under the diarizer's current voices."""
    voices = {s.id: diarizer.word_voices(s) for s in segments}
    if diarizer.voices.count < 2:
        return RoomLabels({s.id: [UNKNOWN] * len(s.words) for s in segments}, None)
    texts = ["", ""]
    for segment in segments:
        for word, voice in zip(segment.words, voices[segment.id]):
            if voice is not None:
                texts[voice] += word["w"] + " "
    roles = assign_roles((texts[0], texts[1]))
    by_voice = roles.roles
    return RoomLabels(
        {s.id: [by_voice[v] if v is not None else UNKNOWN for v in _filled(voices[s.id])] for s in segments}, roles
    )


def _filled(voices: list[int | None]) -> list[int | None]:
    """Words without a voice take the previous word's, or the next one's at the start."""
    filled = list(voices)
    for i in range(1, len(filled)):
        if filled[i] is None:
            filled[i] = filled[i - 1]
    for i in range(len(filled) - 2, -1, -1):
        if filled[i] is None:
            filled[i] = filled[i + 1]
    return filled


def split_by_speaker(segment: Segment, speakers: Sequence[str]) -> list[tuple[str, list[Word]]]:
    """The segment's words in runs of one speaker (one run when nobody changes)."""
    return [(speaker, [Word(**w) for w in words]) for speaker, words in speaker_runs(segment.words, speakers)]


def attribute_room(
    encounter: str, pairs: Sequence[tuple[Segment, Utterance]]
) -> tuple[list[tuple[Segment, Utterance]], dict[str, Any]]:
    """A recorded room track's segments with speakers, split where the speaker changes and
    numbered per speaker as two-track segments are; and the summary's `speakers` block."""
    diarizer = RoomDiarizer()
    diarizer.add(pairs)
    diarizer.update()
    labels = label_words(diarizer, [s for s, _ in pairs])
    counts: dict[str, int] = {}
    out: list[tuple[Segment, Utterance]] = []
    for segment, utterance in pairs:
        runs = split_by_speaker(segment, labels.words[segment.id])
        for k, (speaker, words) in enumerate(runs):
            counts[speaker] = counts.get(speaker, 0) + 1
            part = Segment.from_words(
                id=segment_id(speaker, counts[speaker]),
                encounter=encounter,
                speaker=speaker,
                words=words,
                final=True,
                avg_logprob=segment.avg_logprob,
                model=segment.model,
            )
            out.append((part, part_utterance(utterance, part, k, len(runs))))
    return out, labels.summary(diarizer)


def part_utterance(utterance: Utterance, part: Segment, k: int, parts: int) -> Utterance:
    """The utterance of part `k` of `parts` of a split segment: the same audio, its own span (the
    first part starts where the VAD heard speech start, the last ends where it ended)."""
    t0 = utterance.t0 if k == 0 else part.t0
    t1 = utterance.t1 if k == parts - 1 else part.t1
    return Utterance(part.speaker, t0, t1, utterance.audio, utterance.audio_t0)


@dataclass(frozen=True)
class LiveRoomConfig:
    recluster_every_s: float = 10.0
    """Voices are re-estimated after this much more speech (clustering grows with the square of
    the windows: about a second for an hour of speech on a busy two-core machine)."""


class LiveRoom:
    """Speaker labels for a live room track: its finals pass through here on their way out.

    A final goes out at once with speaker `unknown` (the transcript is not delayed); its
    utterance is embedded on a worker thread, and as soon as that is done the labelled version
    follows under the same id, as a revision (a part after a change of speaker gets `<id>.2`,
    ...). Every `recluster_every_s` of new speech the voices are re-estimated; segments whose
    labels change are sent again (the latest version of an id wins) and parts that no longer
    exist are withdrawn (a final without words). Until two voices are heard (about 15 s of
    speech at the earliest), segments stay `unknown`.

    The analysis (moments, responses, cues) hears each segment once, labelled: finals wait for
    two voices (`in_flight_since` tells the analysis to wait for them), and are handed over when
    they are found, or as `unknown` when the encounter ends with one voice. When a later relabel
    changes the speaker of segments it has already heard, `on_relabel` is called once (after all
    of that re-estimate's revisions are out), so the flags coded on them can follow
    (pipeline/reannotate.py); cues already derived stay.
    """

    def __init__(
        self,
        emit: Callable[[Event], None],
        on_final: Callable[[Utterance, Segment], None],
        config: LiveRoomConfig = LiveRoomConfig(),
        on_relabel: Callable[[], None] = lambda: None,
    ) -> None:
        self._emit = emit
        self._on_final = on_final
        self._on_relabel = on_relabel
        self.config = config
        self.diarizer = RoomDiarizer()
        self._segments: dict[str, Segment] = {}
        """Latest transcript of each final (speaker `unknown`), by id."""
        self._utterances: dict[str, Utterance] = {}
        self._parts: dict[str, list[Segment]] = {}
        """What is out for each segment: its parts as last published."""
        self._held: list[str] = []
        """First-pass finals the analysis has not heard yet (waiting for two voices)."""
        self._embedded: set[str] = set()
        """Finals whose utterance has been embedded (or failed to be: their words stay `unknown`)."""
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="room")
        self._pending: dict[asyncio.Task[None], float] = {}
        self._clustered_s = 0.0

    @property
    def in_flight_since(self) -> float | None:
        """Where the earliest final not yet handed to the analysis begins."""
        starts = [*self._pending.values(), *(self._segments[i].t0 for i in self._held)]
        return min(starts, default=None)

    def emit(self, event: Event) -> None:
        """The room transcriber's events: all go out; a revised final is labelled again."""
        self._emit(event)
        if isinstance(event, Segment) and event.final and event.words and event.id in self._utterances:
            self._segments[event.id] = event
            self._parts[event.id] = [event, *self._parts.get(event.id, [])[1:]]
            self._label(event.id)

    def final(self, utterance: Utterance, segment: Segment) -> None:
        """A first-pass final (already out as `unknown`) and its utterance: label it."""
        self._segments[segment.id] = segment
        self._utterances[segment.id] = utterance
        self._parts[segment.id] = [segment]
        self._held.append(segment.id)
        self._label(segment.id)

    def _label(self, key: str) -> None:
        segment = self._segments[key]
        task = asyncio.get_running_loop().create_task(self._embed_and_label(segment))
        self._pending[task] = segment.t0
        task.add_done_callback(lambda t: self._pending.pop(t, None))

    async def _embed_and_label(self, segment: Segment) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._pool, self.diarizer.add, [(segment, self._utterances[segment.id])])
        finally:
            self._embedded.add(segment.id)
        relabelled = self._publish(segment)  # under the voices as they stand: re-clustering takes longer
        if self.diarizer.speech_s - self._clustered_s >= self.config.recluster_every_s:
            relabelled = await self._reestimate() or relabelled
        if relabelled:
            self._on_relabel()
        if self.diarizer.voices.count == 2:
            self._release()

    async def _reestimate(self) -> bool:
        """Re-estimate the voices from all the speech so far and publish every segment again under
        them. Whether the analysis had heard any of them otherwise."""
        self._clustered_s = self.diarizer.speech_s
        await asyncio.get_running_loop().run_in_executor(self._pool, self.diarizer.update)
        return any([self._publish(segment) for segment in self._segments.values()])

    def _release(self) -> None:
        """Hand the held finals to the analysis, labelled under the voices as they stand now (a
        re-estimate may have finished since a final was last published), in the order they were
        spoken: up to the first one whose utterance is still being embedded (no voice yet)."""
        while self._held and self._held[0] in self._embedded:
            key = self._held[0]
            self._publish(self._segments[key])
            self._held.pop(0)
            parts = self._parts[key]
            for k, part in enumerate(parts):
                self._on_final(part_utterance(self._utterances[key], part, k, len(parts)), part)

    def _publish(self, segment: Segment) -> bool:
        """Label `segment` under the current voices; send its parts where they changed. Whether the
        analysis had heard it otherwise (it is no longer held, and its parts' speakers or words changed)."""
        runs = split_by_speaker(segment, label_words(self.diarizer, [segment]).words[segment.id])
        parts = [
            Segment.from_words(
                id=segment.id if k == 0 else f"{segment.id}.{k + 1}",
                encounter=segment.encounter,
                speaker=speaker,
                words=words,
                final=True,
                avg_logprob=segment.avg_logprob,
                model=segment.model,
            )
            for k, (speaker, words) in enumerate(runs)
        ]
        before = self._parts.get(segment.id, [])
        changed = [(p.id, p.speaker, p.words) for p in before] != [(p.id, p.speaker, p.words) for p in parts]
        if changed:
            for part in parts:
                part.revision = max(1, segment.revision)
                self._emit(part)
            for stale in before[len(parts) :]:
                self._emit(_withdrawal(stale))
        self._parts[segment.id] = parts
        heard = segment.id not in self._held
        return heard and changed

    async def drain(self) -> None:
        """Wait until every final is labelled; label them all once more under voices estimated
        from the whole encounter (the last seconds of speech may not have had a re-estimate);
        hand what is still held to the analysis; stop the worker."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
        if self.diarizer.speech_s > self._clustered_s and await self._reestimate():
            self._on_relabel()
        self._release()
        self._pool.shutdown(wait=True)


def _withdrawal(part: Segment) -> Segment:
    """A final without words: the part no longer exists."""
    return Segment(
        id=part.id,
        encounter=part.encounter,
        speaker=part.speaker,
        t0=part.t0,
        t1=part.t1,
        text="",
        final=True,
        words=[],
        avg_logprob=0.0,
        revision=1,
    )
