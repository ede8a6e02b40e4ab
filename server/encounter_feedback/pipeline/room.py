"""Speakers of a room microphone: diarization's voices become roles, segments get a speaker each.

    (segment, utterance) pairs of one mixed track -> RoomDiarizer (speech/diarization.py)
      -> a voice per word -> which voice is the provider (analysis/roles.py)
      -> each segment split where its speaker changes, parts labelled patient / provider

Words stay `unknown` while only one voice has been heard. Offline, `attribute_room` does it
once for a whole recording.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from encounter_feedback.analysis.roles import RoleAssignment, assign_roles
from encounter_feedback.events import Segment, Word
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
            )
            t0 = utterance.t0 if k == 0 else words[0].t0
            t1 = utterance.t1 if k == len(runs) - 1 else words[-1].t1
            out.append((part, Utterance(speaker, t0, t1, utterance.audio, utterance.audio_t0)))
    return out, labels.summary(diarizer)
