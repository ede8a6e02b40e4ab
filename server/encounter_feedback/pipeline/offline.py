"""`encounter analyze`: recorded audio in, stored encounter plus annotations and transcript out.

Three input layouts: one mixed track (a room microphone: speakers told apart by voice, see
pipeline/room.py), a multichannel file with one role per channel (`--channels
patient,provider`), or one file per role (`--patient`, `--provider`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from encounter_feedback.analysis.annotator import annotate
from encounter_feedback.analysis.classifier import Classifier, case_context_of
from encounter_feedback.analysis.dynamics import replay_cues
from encounter_feedback.analysis.prosody import measure_utterance
from encounter_feedback.analysis.summary import summarize
from encounter_feedback.errors import UserError
from encounter_feedback.events import ROLES, Event, Moment, Segment, Status
from encounter_feedback.media.audio import SAMPLE_RATE, decode_file, to_mono
from encounter_feedback.pipeline.room import attribute_room
from encounter_feedback.scenarios import find_scenario
from encounter_feedback.speech.asr import AsrEngine
from encounter_feedback.speech.crosstalk import suppress_crosstalk
from encounter_feedback.speech.transcribe import Progress, Track, transcribe_tracks
from encounter_feedback.store.database import Store
from encounter_feedback.transcript import format_transcript


class InputError(UserError):
    """The inputs do not form a valid layout; the message says which option to fix."""


@dataclass(frozen=True)
class TrackSource:
    """Where a track's audio came from."""

    track: Track
    path: Path
    channel: int | None


def load_sources(
    mixed: Path | None = None,
    channels: list[str] | None = None,
    per_role: dict[str, Path] | None = None,
) -> list[TrackSource]:
    """Decode the inputs of one encounter into role-labelled 16 kHz tracks."""
    per_role = {role: path for role, path in (per_role or {}).items() if path is not None}
    if (mixed is None) == (not per_role):
        raise InputError("give either recordings (INPUT) or --patient/--provider files, not both")
    if mixed is None:
        if channels:
            raise InputError("--channels applies to a single multichannel INPUT, not to --patient/--provider")
        return [
            TrackSource(Track(role, to_mono(decode_file(path).channels)), path, None) for role, path in per_role.items()
        ]
    audio = decode_file(mixed)
    if not channels:
        return [TrackSource(Track("unknown", to_mono(audio.channels)), mixed, None)]
    _check_channel_roles(channels)
    if len(channels) != audio.channels.shape[0]:
        raise InputError(
            f"--channels names {len(channels)} roles but {mixed} has {audio.channels.shape[0]} channel(s); "
            "name one role per channel, e.g. --channels patient,provider"
        )
    return [TrackSource(Track(role, audio.channels[i]), mixed, i) for i, role in enumerate(channels)]


def _check_channel_roles(channels: list[str]) -> None:
    for role in channels:
        if role not in ROLES:
            raise InputError(f"--channels: unknown role {role!r}; use {' and '.join(ROLES)}")
    if len(set(channels)) != len(channels):
        raise InputError(f"--channels: each role may appear once, got {','.join(channels)}")


@dataclass(frozen=True)
class Analysis:
    encounter: str
    events: list[Event]
    summary: dict[str, Any]

    @property
    def segments(self) -> list[Segment]:
        return [e for e in self.events if isinstance(e, Segment)]


def analyze(
    sources: list[TrackSource],
    engine: AsrEngine,
    store: Store,
    out_dir: Path | None = None,
    scenario: str | None = None,
    progress: Progress | None = None,
    classifier: Classifier | None = None,
) -> Analysis:
    """Analyze one encounter's tracks, store it, and write its files into `out_dir`.

    One mixed track gets each word's speaker from diarization (how, in the summary's
    `speakers`). With a classifier, racially charged moments and the provider's responses are annotated too.
    """
    encounter = store.create_encounter(scenario, {"source": [str(s.path) for s in sources]})
    duration = max(len(s.track.samples) for s in sources) / SAMPLE_RATE
    events: list[Event] = [
        Status(id="status-started", encounter=encounter.id, speaker="unknown", t0=0, t1=0, state="started")
    ]
    for source in sources:
        seconds = len(source.track.samples) / SAMPLE_RATE
        store.add_track(encounter.id, source.track.speaker, str(source.path), source.channel, seconds)
        events.append(
            Status(
                id=f"status-track-{source.track.speaker}",
                encounter=encounter.id,
                speaker=source.track.speaker,
                t0=0,
                t1=0,
                state="track_added",
                message=f"{source.path}",
            )
        )
    tracks, muted = without_crosstalk([s.track for s in sources])
    pairs = transcribe_tracks(encounter.id, tracks, engine, progress=progress)
    speakers = None
    if [s.track.speaker for s in sources] == ["unknown"]:
        pairs, speakers = attribute_room(encounter.id, pairs)
    segments = [segment for segment, _ in pairs]
    script = find_scenario(scenario) if scenario else None
    annotations = annotate(encounter.id, segments, classifier, case_context_of(script)) if classifier else []
    moments = [e for e in annotations if isinstance(e, Moment)]
    cues, dynamics = replay_cues(encounter.id, [(s, measure_utterance(u)) for s, u in pairs], moments, duration)
    events += sorted(
        [*segments, *annotations, *cues], key=lambda e: (e.t1, e.type != "segment")
    )  # flags after their turn
    events.append(
        Status(
            id="status-finished", encounter=encounter.id, speaker="unknown", t0=duration, t1=duration, state="finished"
        )
    )
    store.add_events(events)
    store.finish(encounter.id)
    summary = summarize([e.to_dict() for e in events], script)
    summary["dynamics"] = dynamics
    if speakers is not None:
        summary["speakers"] = speakers
    if muted is not None:
        summary["crosstalk"] = {"muted_s": muted}
    result = Analysis(encounter.id, events, summary)
    if out_dir is not None:
        write_outputs(result, out_dir)
    return result


def without_crosstalk(tracks: list[Track]) -> tuple[list[Track], dict[str, float] | None]:
    """Two role tracks with what each microphone heard of the other person muted (speech/crosstalk.py),
    and the seconds muted per role; any other layout unchanged (None)."""
    if len(tracks) != 2:
        return tracks, None
    cleaned, muted = [], {}
    for own, other in (tracks, tracks[::-1]):
        samples, seconds = suppress_crosstalk(own.samples, other.samples)
        cleaned.append(Track(own.speaker, samples, own.offset))
        muted[own.speaker] = round(seconds, 2)
    return cleaned, muted


def write_outputs(result: Analysis, out_dir: Path) -> None:
    """`annotations.jsonl` (every event), `transcript.txt` (one line per segment, flags under
    their turn) and `summary.json` (the scripted challenges and what came of them)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "annotations.jsonl", "w", encoding="utf-8") as f:
        for event in result.events:
            f.write(json.dumps(event.to_dict()) + "\n")
    (out_dir / "transcript.txt").write_text(format_transcript(result.events), encoding="utf-8")
    (out_dir / "summary.json").write_text(json.dumps(result.summary, indent=2) + "\n", encoding="utf-8")
