"""Conversation dynamics and rapport cues: who talks how much, who takes the floor and how,
silences, and how the provider's voice answers each racially charged moment.

    final segment + its Acoustics (analysis/prosody.py) -> CueTracker.add_utterance   (arrival order)
    moment events (analysis/annotator.py)               -> CueTracker.moment
    encounter clock                                   -> CueTracker.tick(now, open_since)
                                                           -> `cue` and `metrics` events
    end of the encounter                              -> CueTracker.finish(now), then .summary()

`CueTracker` puts utterances in time order (analysis/time_order.py) and hands each to its parts:

- analysis/floor.py: who holds the floor, and how it changes hands (interruptions,
  backchannels, overlaps, response latencies), long silences, the opening statement;
- analysis/reply_cues.py: each moment's reply (interrupted disclosure, latency, and its prosody
  against the provider's baseline);
- analysis/figures.py: the `metrics` figures, a pure function of the utterances and the floor;

and itself emits each utterance's `prosody` cue and numbers every event. The live server drives
it as finals arrive; `replay_cues` drives the very same class over a recorded encounter. It
reads segments, acoustics and moments and emits events; it never touches audio (measure it
first, off the event loop, with `prosody.measure_audio`).

With one mixed track (speaker `unknown`) nobody is known to take the floor, so every cue that
needs to know who speaks is reported unavailable (None and a reason), never guessed; talk
time, long silences and prosody are still measured.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from typing import Any

from encounter_feedback.analysis.figures import figures
from encounter_feedback.analysis.floor import MIXED, OPENING_MIN_S, Floor, Spoken
from encounter_feedback.analysis.prosody import Acoustics, utterance_prosody
from encounter_feedback.analysis.reply_cues import NO_REPLY, REPLY_MEASURES, ReplyCues
from encounter_feedback.analysis.time_order import TimeOrder, complete_to, earliest
from encounter_feedback.analysis.turns import is_backchannel
from encounter_feedback.events import Cue, Event, Metrics, Moment, Segment

__all__ = ["MIXED", "NO_REPLY", "REPLY_MEASURES", "CueTracker", "replay_cues"]

METRICS_EVERY_S = 10.0
"""`tick` emits a `metrics` event after this much more of the encounter was analysed."""

Emit = Callable[[Event], None]


class CueTracker:
    """Dynamics cues, moment-reply cues and metrics for one encounter; see the module doc.

    Call from one thread (the event loop); `prosody.measure_audio` is the part for a worker.
    """

    def __init__(self, encounter: str, emit: Emit) -> None:
        self.encounter = encounter
        self._emit = emit
        self._order: TimeOrder[Spoken] = TimeOrder(lambda u: (u.t0, u.t1))
        self._floor = Floor(self._cue)
        self._replies = ReplyCues(self._floor, self._cue)
        self._mixed = False
        self._analysed_to = 0.0
        self._metrics_at = 0.0
        self._ids = {"cue": 0, "metrics": 0}

    def add_utterance(self, segment: Segment, acoustics: Acoustics) -> None:
        """A first-pass final segment and the acoustics of its utterance clip, in arrival order.
        Finals without words (withdrawn partials) and revisions are ignored."""
        if not segment.final or not segment.words or segment.revision:
            return
        spoken = Spoken(
            segment.speaker, segment.id, utterance_prosody(acoustics, segment.words), is_backchannel(segment.text)
        )
        self._mixed |= segment.speaker == "unknown"
        self._replies.heard(spoken)
        self._order.add(spoken)

    def moment(self, moment: Moment) -> None:
        """A racially charged patient turn: its reply cues follow once the provider's reply is analysed."""
        if moment.speaker != "patient" or self._mixed:
            self._replies.unavailable(moment, MIXED)
        else:
            self._replies.moment(moment)

    def tick(self, now: float, open_since: Mapping[str, float] | None = None) -> None:
        """The encounter clock reads `now` (s). `open_since`: for every speaker with speech in flight
        (an utterance under way or its final not yet added), when that speech began; an earlier
        time is safe (it only delays cues), a later one is not. Analyses what is now complete."""
        self._advance(complete_to(now, open_since))
        if self._analysed_to - self._metrics_at >= METRICS_EVERY_S:
            self._emit_metrics()

    def finish(self, now: float) -> None:
        """The encounter ended at `now`: analyse everything and emit the last cues and metrics
        (`summary` then has the whole encounter)."""
        self._advance(math.inf)
        self._floor.close()
        self._replies.resolve(final=True)
        self._analysed_to = max(self._analysed_to, now)
        self._emit_metrics()

    def summary(self) -> dict[str, Any]:
        """The encounter's dynamics: the last metrics' figures plus the patient's opening statement,
        every long silence, every moment's reply cues and each utterance's prosody."""
        floor = self._floor
        figured = figures(floor.utterances, floor.counts, self._mixed)
        unavailable = dict(figured["unavailable"])
        opening = None if self._mixed or floor.opening is None else asdict(floor.opening)
        if self._mixed:
            unavailable["opening_statement"] = MIXED
        elif opening is None:
            unavailable["opening_statement"] = f"the patient had no turn of {OPENING_MIN_S:g} s or more yet"
        return {
            **figured,
            "unavailable": unavailable,
            "analysed_to": round(self._analysed_to, 3),
            "opening_statement": opening,
            "silences": [{"t0": a, "t1": b, "duration": round(b - a, 3)} for a, b in floor.counts.silences],
            "interruption_list": [asdict(i) for i in floor.counts.interruptions],
            "moments": list(self._replies.records),
            "utterances": [
                {"segment": u.segment, "speaker": u.speaker, "backchannel": u.backchannel, **u.prosody.to_dict()}
                for u in floor.utterances
            ],
        }

    def _advance(self, complete: float) -> None:
        """Analyse, in time order, the utterances that start before `complete`."""
        for u in self._order.release(complete):
            self._floor.silence_before(u)
            self._prosody_cue(u)
            self._floor.take(u)
        if complete != math.inf:
            self._analysed_to = max(self._analysed_to, complete)
        elif self._floor.utterances:
            self._analysed_to = max(self._analysed_to, max(u.t1 for u in self._floor.utterances))
        self._replies.resolve(final=False)

    def _prosody_cue(self, u: Spoken) -> None:
        """How the utterance sounded, for plots over time: mean F0 as the value, the rest in `detail`."""
        acoustics = u.prosody.acoustics
        self._cue(
            "prosody",
            u.t0,
            u.t1,
            u.speaker,
            acoustics.f0_mean_st,
            "st",
            segment=u.segment,
            detail={
                "f0_sd_st": acoustics.f0_sd_st,
                "f0_range_st": acoustics.f0_range_st,
                "loudness_db": acoustics.level_db,
                "speech_rate": u.prosody.speech_rate,
                "articulation_rate": u.prosody.articulation_rate,
                "syllables": u.prosody.syllables,
                "speech_time": round(acoustics.speech_time, 3),
            },
        )

    def _emit_metrics(self) -> None:
        self._metrics_at = self._analysed_to
        self._ids["metrics"] += 1
        self._emit(
            Metrics(
                id=f"metrics-{self._ids['metrics']}",
                encounter=self.encounter,
                speaker="unknown",
                t0=0.0,
                t1=self._analysed_to,
                **figures(self._floor.utterances, self._floor.counts, self._mixed),
            )
        )

    def _cue(
        self, kind: str, t0: float, t1: float, speaker: str, value: float | None, unit: str, **fields: Any
    ) -> None:
        self._ids["cue"] += 1
        self._emit(
            Cue(
                id=f"cue-{self._ids['cue']}",
                encounter=self.encounter,
                speaker=speaker,
                t0=t0,
                t1=t1,
                kind=kind,
                value=value,
                unit=unit,
                **fields,
            )
        )


# -- offline ----------------------------------------------------------------------------------

ENDPOINT_S = 0.5
"""In a replay, a final arrives this long after its speech ends (the VAD endpoint)."""


def replay_cues(
    encounter: str,
    utterances: Iterable[tuple[Segment, Acoustics]],
    moments: Iterable[Moment] = (),
    end: float | None = None,
    step_s: float = 1.0,
) -> tuple[list[Event], dict[str, Any]]:
    """Offline: the cue and metrics events of a recorded encounter, and its summary.

    Drives `CueTracker` as the live server would: each final arrives `ENDPOINT_S` after its
    speech, each moment when its turn ends, the clock ticks every `step_s`. `end`: the
    encounter's length in seconds (default: the end of the last utterance).
    """
    queue = sorted(utterances, key=lambda pair: pair[1].t1)
    waiting = sorted(moments, key=lambda m: m.t1)
    end = end if end is not None else max((a.t1 for _, a in queue), default=0.0)
    events: list[Event] = []
    tracker = CueTracker(encounter, events.append)
    now = 0.0
    while queue or waiting or now < end:
        now += step_s
        while queue and queue[0][1].t1 + ENDPOINT_S <= now:
            tracker.add_utterance(*queue.pop(0))
        while waiting and waiting[0].t1 <= now:
            tracker.moment(waiting.pop(0))
        tracker.tick(
            now, earliest((segment.speaker, acoustics.t0) for segment, acoustics in queue if acoustics.t0 < now)
        )
        if now >= end and not queue and not waiting:
            break
    tracker.finish(max(now, end))
    return events, tracker.summary()
