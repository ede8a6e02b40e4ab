"""Conversation dynamics and rapport cues: who talks how much, who takes the floor and how,
silences, and how the provider's voice answers each racially charged moment.

    final segment + its Acoustics (analysis/prosody.py) -> CueTracker.add_utterance   (arrival order)
    moment events (analysis/annotator.py)               -> CueTracker.moment
    encounter clock                                   -> CueTracker.tick(now, open_since)
                                                           -> `cue` and `metrics` events
    end of the encounter                              -> CueTracker.finish(now), then .summary()

The live server drives it as finals arrive; `replay_cues` drives the very same class over a
recorded encounter. It reads segments, acoustics and moments and emits events; it never
touches audio (measure it first, off the event loop, with `prosody.measure_audio`).

**Order.** Finals of two tracks arrive out of time order (by seconds), and whether a turn was
an interruption depends on what the other speaker was saying when it began. So utterances wait
in a buffer and are analysed in order of their start, once every track is known to be complete
up to that start (`tick`'s `open_since`): cues come when the facts are in, never guessed.

**The floor** (who holds the turn) follows analysis/turns.py: a speaker's non-acknowledgement
utterance takes the floor from the other; an acknowledgement (`turns.is_backchannel`: "mm-hm",
"yeah", "right", "okay") does not; after `FLOOR_RELEASE_S` of silence nobody holds it. When
speaker B speaks while A holds the floor:

- B's utterance is an acknowledgement: a `backchannel` (A keeps the floor);
- B starts after A's speech ended: a floor change, `response_latency` = the gap;
- B starts while A speaks and A stops before B does (B takes the floor):
  an `interruption` when they overlap at least `INTERRUPTION_MIN_OVERLAP_S`, otherwise a
  terminal overlap (B anticipating A's end), reported as a negative `response_latency`;
- B starts while A speaks and A outlasts B: an `overlap` (B did not get the floor).

Interruptions are told only by timing: a provider who waits for a breath and then cuts in is
not caught, and a long overlap at a true turn end counts (rare: the earlier speaker stops
within a syllable or two of a real ending).

With one mixed track (speaker `unknown`) nobody is known to take the floor, so every cue that
needs to know who speaks is reported unavailable (None and a reason), never guessed; talk
time, long silences and prosody are still measured.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from encounter_feedback.analysis.prosody import Acoustics, Span, UtteranceProsody, utterance_prosody
from encounter_feedback.analysis.turns import CLOSE_AFTER_S, is_backchannel
from encounter_feedback.events import ROLES, Cue, Event, Metrics, Moment, Segment
from encounter_feedback.taxonomy import REPLY_MEASURE_UNITS

FLOOR_RELEASE_S = CLOSE_AFTER_S
"""After this much silence from its holder nobody holds the floor: analysis/turns.py's
`CLOSE_AFTER_S`, so turns and cues agree on who had the floor."""
LONG_SILENCE_S = 3.0
"""A silence (nobody speaking) this long is a `long_pause`: three times the ~1 s a conversation
tolerates before a silence becomes noticeable (Jefferson 1989)."""
INTERRUPTION_MIN_OVERLAP_S = 0.3
"""A floor change with at least this much overlapping speech is an interruption: more than
the last syllable or two that a next speaker often overlaps when anticipating a turn's end."""
OPENING_MIN_S = 3.0
"""The patient's opening statement is their first turn that lasts this long (a greeting is
shorter) or that the provider interrupts."""
MIN_BASELINE = 5
"""Fewer of the provider's own utterances than this give no baseline (and no z-score)."""
METRICS_EVERY_S = 10.0
"""`tick` emits a `metrics` event after this much more of the encounter was analysed."""

MIXED = "one mixed track: who is speaking is not known"
NO_REPLY = "the provider did not take the floor after the moment before the encounter ended"

REPLY_MEASURES = tuple(  # (cue kind, UtteranceProsody/Acoustics attribute, unit)
    (kind, attr, REPLY_MEASURE_UNITS[kind])
    for kind, attr in (
        ("speech_rate", "speech_rate"),
        ("pitch", "f0_mean_st"),
        ("pitch_variability", "f0_sd_st"),
        ("loudness", "level_db"),
    )
)
"""How the provider's reply to a moment sounded, each against the provider's own baseline."""


Emit = Callable[[Event], None]


@dataclass(eq=False)
class Spoken:
    """One final utterance as the tracker sees it."""

    speaker: str
    segment: str
    prosody: UtteranceProsody
    backchannel: bool
    took_floor: bool = False
    """Set when analysed: it took the floor (from the other speaker, or a free floor)."""

    @property
    def t0(self) -> float:
        return self.prosody.t0

    @property
    def t1(self) -> float:
        return self.prosody.t1

    @property
    def spans(self) -> tuple[Span, ...]:
        return self.prosody.acoustics.spans


@dataclass
class _Turn:
    speaker: str
    t0: float
    t1: float
    interrupted_at: float | None = None
    interrupted_by: str | None = None


@dataclass(frozen=True)
class _Interruption:
    by: str
    of: str
    t: float
    segment: str
    """The interrupted speaker's segment (the one they were saying)."""


class CueTracker:
    """Dynamics cues, moment-reply cues and metrics for one encounter; see the module doc.

    Call from one thread (the event loop); `prosody.measure_audio` is the part for a worker.
    """

    def __init__(self, encounter: str, emit: Emit) -> None:
        self.encounter = encounter
        self._emit = emit
        self._pending: list[Spoken] = []
        self._done: list[Spoken] = []
        self._known: dict[str, Spoken] = {}
        self._turn: _Turn | None = None
        self._speech_end: tuple[float, str] | None = None
        self._interruptions: list[_Interruption] = []
        self._counts: dict[str, dict[str, int]] = {k: dict.fromkeys(ROLES, 0) for k in ("backchannels", "overlaps")}
        self._latencies: dict[str, list[float]] = {r: [] for r in ROLES}
        self._floor_changes = 0
        self._silences: list[Span] = []
        self._opening: dict[str, Any] | None = None
        self._moments: list[Moment] = []
        self._replies: list[dict[str, Any]] = []
        self._awaiting_baseline: list[tuple[Moment, Spoken, dict[str, Any]]] = []
        self._mixed = False
        self._analysed_to = 0.0
        self._metrics_at = 0.0
        self._ids = {"cue": 0, "metrics": 0}

    # -- input ----------------------------------------------------------------------------------

    def add_utterance(self, segment: Segment, acoustics: Acoustics) -> None:
        """A first-pass final segment and the acoustics of its utterance clip, in arrival order.
        Finals without words (withdrawn partials) and revisions are ignored."""
        if not segment.final or not segment.words or segment.revision:
            return
        spoken = Spoken(
            segment.speaker, segment.id, utterance_prosody(acoustics, segment.words), is_backchannel(segment.text)
        )
        self._mixed |= segment.speaker == "unknown"
        self._known[segment.id] = spoken
        self._pending.append(spoken)

    def moment(self, moment: Moment) -> None:
        """A racially charged patient turn: its reply cues follow once the provider's reply is analysed."""
        if moment.speaker != "patient" or self._mixed:
            self._timing_cues(moment, moment.t0, moment.t1, None, unavailable=MIXED)
            return
        self._moments.append(moment)
        self._resolve_moments(final=False)

    def tick(self, now: float, open_since: Mapping[str, float] | None = None) -> None:
        """The encounter clock reads `now` (s). `open_since`: for every speaker with speech in flight
        (an utterance under way or its final not yet added), when that speech began; an earlier
        time is safe (it only delays cues), a later one is not. Analyses what is now complete."""
        self._advance(min([now, *(open_since or {}).values()]))
        if self._analysed_to - self._metrics_at >= METRICS_EVERY_S:
            self._emit_metrics()

    def finish(self, now: float) -> None:
        """The encounter ended at `now`: analyse everything and emit the last cues and metrics
        (`summary` then has the whole encounter)."""
        self._advance(math.inf)
        self._close_turn()
        self._resolve_moments(final=True)
        self._analysed_to = max(self._analysed_to, now)
        self._emit_metrics()

    # -- analysis in time order -----------------------------------------------------------------

    def _advance(self, complete_to: float) -> None:
        self._pending.sort(key=lambda u: (u.t0, u.t1))
        while self._pending and self._pending[0].t0 < complete_to:
            self._analyse(self._pending.pop(0))
        if complete_to != math.inf:
            self._analysed_to = max(self._analysed_to, complete_to)
        elif self._done:
            self._analysed_to = max(self._analysed_to, max(u.t1 for u in self._done))
        self._resolve_moments(final=False)

    def _analyse(self, u: Spoken) -> None:
        self._long_silence(u)
        self._done.append(u)
        self._prosody_cue(u)
        if u.speaker not in ROLES:
            return
        turn = self._turn
        if turn is not None and u.t0 - turn.t1 >= FLOOR_RELEASE_S:
            self._close_turn()
            turn = None
        if turn is None:
            self._open_turn(u)
        elif u.speaker == turn.speaker:
            turn.t1 = max(turn.t1, u.t1)
        elif u.backchannel:
            self._counts["backchannels"][u.speaker] += 1
            self._cue(
                "backchannel", u.t0, u.t1, u.speaker, round(u.t1 - u.t0, 3), "s", other=turn.speaker, segment=u.segment
            )
        else:
            self._floor_bid(u, turn)

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

    def _floor_bid(self, u: Spoken, turn: _Turn) -> None:
        """`u` (not an acknowledgement) starts while the other speaker holds the floor.

        The holder's speech that began before `u` decides: if it outlasts `u`, `u` did not get the
        floor; if it had ended when `u` began, a gap; else an overlap at a floor change. What the
        holder starts later is a bid of their own, analysed in its turn.
        """
        holder = turn.speaker
        theirs = [v for v in self._done if v.speaker == holder and v.t0 <= u.t0]
        spans = [s for v in theirs for s in v.spans]
        overlap = _overlap(spans, (u.t0, u.t1))
        holder_end = max([turn.t1, *(b for _, b in spans)])
        if holder_end >= u.t1:
            self._counts["overlaps"][u.speaker] += 1
            self._cue("overlap", u.t0, u.t1, u.speaker, round(overlap, 3), "s", other=holder, segment=u.segment)
        elif u.t0 >= holder_end or overlap < INTERRUPTION_MIN_OVERLAP_S:
            self._latency(u, holder, holder_end)
        else:
            said = max(theirs, key=lambda v: v.t0)
            self._interruptions.append(_Interruption(u.speaker, holder, u.t0, said.segment))
            self._cue(
                "interruption", u.t0, holder_end, u.speaker, round(overlap, 3), "s", other=holder, segment=u.segment
            )
            turn.interrupted_at, turn.interrupted_by = u.t0, u.speaker
            self._take_floor(u)

    def _latency(self, u: Spoken, holder: str, holder_end: float) -> None:
        gap = round(u.t0 - holder_end, 3)
        self._latencies[u.speaker].append(gap)
        self._cue(
            "response_latency",
            min(holder_end, u.t0),
            max(holder_end, u.t0),
            u.speaker,
            gap,
            "s",
            other=holder,
            segment=u.segment,
        )
        self._take_floor(u)

    def _take_floor(self, u: Spoken) -> None:
        self._floor_changes += 1
        self._close_turn()
        self._open_turn(u)

    def _open_turn(self, u: Spoken) -> None:
        u.took_floor = True
        self._turn = _Turn(u.speaker, u.t0, u.t1)

    def _close_turn(self) -> None:
        """The open turn ends: the patient's opening statement is decided by its first long or interrupted turn."""
        turn, self._turn = self._turn, None
        if turn is None or turn.speaker != "patient" or self._opening is not None:
            return
        interrupted = turn.interrupted_by == "provider"
        if not interrupted and turn.t1 - turn.t0 < OPENING_MIN_S:
            return
        self._opening = {
            "t0": turn.t0,
            "t1": turn.t1,
            "interrupted": interrupted,
            "time_to_interruption": round(turn.interrupted_at - turn.t0, 3) if interrupted else None,
        }
        if interrupted:
            self._cue(
                "opening_interruption",
                turn.t0,
                turn.interrupted_at,
                "provider",
                self._opening["time_to_interruption"],
                "s",
                other="patient",
            )

    def _long_silence(self, u: Spoken) -> None:
        if self._speech_end is not None:
            end, before = self._speech_end
            if u.t0 - end >= LONG_SILENCE_S:
                self._silences.append((end, u.t0))
                self._cue("long_pause", end, u.t0, u.speaker, round(u.t0 - end, 3), "s", other=before)
        if self._speech_end is None or u.t1 > self._speech_end[0]:
            self._speech_end = (u.t1, u.speaker)

    # -- moments ----------------------------------------------------------------------------------

    def _resolve_moments(self, final: bool) -> None:
        """A moment's timing cues go out once the provider's reply (their first floor-taking
        utterance after the moment began) has been analysed, or at the end without one; the
        reply's prosody cues once the provider has said enough for a baseline, or at the end."""
        for moment in list(self._moments):
            said = [self._known[s] for s in (moment.segments or [moment.segment]) if s in self._known]
            start = min((u.t0 for u in said), default=moment.t0)
            end = max((u.t1 for u in said), default=moment.t1)
            reply = next((u for u in self._done if u.speaker == "provider" and u.took_floor and u.t0 > start), None)
            if reply is not None or final:
                self._moments.remove(moment)
                self._timing_cues(moment, start, end, reply)
        for moment, reply, record in list(self._awaiting_baseline):
            if final or len(self._baseline_utterances(reply)) >= MIN_BASELINE:
                self._awaiting_baseline.remove((moment, reply, record))
                self._prosody_cues(moment, reply, record)

    def _timing_cues(
        self, moment: Moment, start: float, end: float, reply: Spoken | None, unavailable: str | None = None
    ) -> None:
        """interrupted_disclosure and response_latency; the prosody cues wait for a baseline."""
        disclosure = set(moment.segments or [moment.segment])
        interrupted = (
            None
            if unavailable
            else sum(1 for i in self._interruptions if i.by == "provider" and i.segment in disclosure)
        )
        reason = unavailable or (NO_REPLY if reply is None else None)
        latency = None if reason else round(reply.t0 - end, 3)
        record: dict[str, Any] = {
            "moment": moment.id,
            "label": moment.label,
            "t0": start,
            "t1": end,
            "interrupted_disclosure": interrupted,
            "response_latency": latency,
            "reply": reply.segment if reply else None,
        }
        self._replies.append(record)
        common = {"speaker": "provider", "other": "patient", "moment": moment.id}
        self._cue(
            "interrupted_disclosure",
            start,
            end,
            value=interrupted,
            unit="count",
            segment=moment.segment,
            reason=unavailable,
            **common,
        )
        r0 = reply.t0 if reply else end
        self._cue(
            "response_latency",
            min(end, r0),
            max(end, r0),
            value=latency,
            unit="s",
            segment=record["reply"],
            reason=reason,
            **common,
        )
        if reply is None:
            for kind, _, unit in REPLY_MEASURES:
                record[kind] = {"value": None, "baseline": None, "z": None, "reason": reason}
                self._cue(kind, end, end, value=None, unit=unit, reason=reason, **common)
        else:
            self._awaiting_baseline.append((moment, reply, record))

    def _prosody_cues(self, moment: Moment, reply: Spoken, record: dict[str, Any]) -> None:
        """Speech rate, pitch, pitch variability and loudness of the reply against the provider's baseline."""
        for kind, attr, unit in REPLY_MEASURES:
            value, baseline, z, why = self._against_baseline(reply, attr)
            record[kind] = {"value": value, "baseline": baseline, "z": z, "reason": why}
            self._cue(
                kind,
                reply.t0,
                reply.t1,
                "provider",
                value,
                unit,
                baseline=baseline,
                z=z,
                other="patient",
                segment=reply.segment,
                moment=moment.id,
                reason=why,
            )

    def _baseline_utterances(self, reply: Spoken) -> list[Spoken]:
        """The provider's analysed utterances other than the reply and acknowledgements."""
        return [u for u in self._done if u.speaker == "provider" and u is not reply and not u.backchannel]

    def _against_baseline(
        self, reply: Spoken, attr: str
    ) -> tuple[float | None, float | None, float | None, str | None]:
        """The reply's value, the provider's mean over their other utterances analysed so far,
        and the z-score against them."""
        value = _measure(reply.prosody, attr)
        if value is None:
            return None, None, None, "the reply is too short or unvoiced to measure"
        others = [x for u in self._baseline_utterances(reply) if (x := _measure(u.prosody, attr)) is not None]
        if len(others) < MIN_BASELINE:
            return value, None, None, f"fewer than {MIN_BASELINE} provider utterances for a baseline"
        mean, sd = statistics.fmean(others), statistics.stdev(others)
        z = round((value - mean) / sd, 2) if sd > 0 else None
        return value, round(mean, 3), z, None if z is not None else "the provider's baseline does not vary"

    # -- figures ----------------------------------------------------------------------------------

    def _emit_metrics(self) -> None:
        self._metrics_at = self._analysed_to
        self._ids["metrics"] += 1
        figures = self._figures()
        self._emit(
            Metrics(
                id=f"metrics-{self._ids['metrics']}",
                encounter=self.encounter,
                speaker="unknown",
                t0=0.0,
                t1=self._analysed_to,
                **figures,
            )
        )

    def _figures(self) -> dict[str, Any]:
        speakers = sorted({u.speaker for u in self._done}) or list(ROLES)
        talk = {s: round(sum(b - a for u in self._done if u.speaker == s for a, b in u.spans), 3) for s in speakers}
        per_speaker = {
            "speech_rate": {s: _median(u.prosody.speech_rate for u in self._done if u.speaker == s) for s in speakers},
            "pitch": {
                s: _median(u.prosody.acoustics.f0_mean_st for u in self._done if u.speaker == s) for s in speakers
            },
        }
        base = {"talk_time": talk, "long_silences": len(self._silences), **per_speaker}
        if self._mixed:
            names = (
                "talk_share",
                "dominance",
                "floor_changes",
                "response_latency",
                "interruptions",
                "backchannels",
                "overlaps",
                "overlap_time",
            )
            return {**base, **dict.fromkeys(names), "unavailable": dict.fromkeys(names, MIXED)}
        total = sum(talk.get(r, 0.0) for r in ROLES)
        patient = talk.get("patient", 0.0)
        spans = {r: sorted(s for u in self._done if u.speaker == r for s in u.spans) for r in ROLES}
        unavailable = {} if patient > 0 else {"dominance": "the patient has not spoken"}
        return {
            **base,
            "talk_share": {r: round(talk.get(r, 0.0) / total, 3) for r in ROLES} if total else None,
            "dominance": round(talk.get("provider", 0.0) / patient, 3) if patient > 0 else None,
            "floor_changes": self._floor_changes,
            "response_latency": {r: _median(self._latencies[r]) for r in ROLES},
            "interruptions": {r: sum(1 for i in self._interruptions if i.by == r) for r in ROLES},
            "backchannels": dict(self._counts["backchannels"]),
            "overlaps": dict(self._counts["overlaps"]),
            "overlap_time": round(_intersection(spans["patient"], spans["provider"]), 3),
            "unavailable": unavailable,
        }

    def summary(self) -> dict[str, Any]:
        """The encounter's dynamics: the last metrics' figures plus the patient's opening statement,
        every long silence, every moment's reply cues and each utterance's prosody."""
        figures = self._figures()
        unavailable = dict(figures["unavailable"])
        opening = self._opening
        if self._mixed:
            unavailable["opening_statement"] = MIXED
            opening = None
        elif opening is None:
            unavailable["opening_statement"] = f"the patient had no turn of {OPENING_MIN_S:g} s or more yet"
        return {
            **figures,
            "unavailable": unavailable,
            "analysed_to": round(self._analysed_to, 3),
            "opening_statement": opening,
            "silences": [{"t0": a, "t1": b, "duration": round(b - a, 3)} for a, b in self._silences],
            "interruption_list": [
                {"by": i.by, "of": i.of, "t": i.t, "segment": i.segment} for i in self._interruptions
            ],
            "moments": list(self._replies),
            "utterances": [
                {"segment": u.segment, "speaker": u.speaker, "backchannel": u.backchannel, **u.prosody.to_dict()}
                for u in self._done
            ],
        }

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


def _measure(prosody: UtteranceProsody, attr: str) -> float | None:
    return getattr(prosody, attr) if hasattr(prosody, attr) else getattr(prosody.acoustics, attr)


def earliest(starts: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Per speaker, the earliest of their `(speaker, start)` times. A speaker can have several
    utterances in flight at once (one being decoded while earlier ones are still measured, or
    several queued in a replay), and `CueTracker.tick`'s `open_since` needs the earliest: a later
    time would let cues out before all of that speaker's speech is in."""
    first: dict[str, float] = {}
    for speaker, start in starts:
        first[speaker] = min(start, first.get(speaker, start))
    return first


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def _overlap(spans: Iterable[Span], window: Span) -> float:
    """Seconds of `spans` inside `window`."""
    return sum(max(0.0, min(b, window[1]) - max(a, window[0])) for a, b in spans)


def _intersection(a: list[Span], b: list[Span]) -> float:
    """Seconds covered by both span lists."""
    merged = _union(a)
    return sum(_overlap(merged, span) for span in _union(b))


def _union(spans: list[Span]) -> list[Span]:
    merged: list[list[float]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


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
