"""The floor: who holds the turn, and how it changes hands (utterances taken in time order).

The floor follows analysis/turns.py: a speaker's non-acknowledgement utterance takes the floor
from the other; an acknowledgement (`turns.is_backchannel`: "mm-hm", "yeah", "right", "okay")
does not; after `TURN_CLOSE_S` of silence nobody holds it. When speaker B speaks while A holds
the floor:

- B's utterance is an acknowledgement: a `backchannel` (A keeps the floor);
- B starts after A's speech ended: a floor change, `response_latency` = the gap;
- B starts while A speaks and A stops before B does (B takes the floor):
  an `interruption` when they overlap at least `INTERRUPTION_MIN_OVERLAP_S`, otherwise a
  terminal overlap (B anticipating A's end), reported as a negative `response_latency`;
- B starts while A speaks and A outlasts B: an `overlap` (B did not get the floor).

Interruptions are told only by timing: a provider who waits for a breath and then cuts in is
not caught, and a long overlap at a true turn end counts (rare: the earlier speaker stops
within a syllable or two of a real ending).

Also here, because they follow the same utterances in the same order: long silences (nobody
speaking) and the patient's opening statement (their first long or interrupted turn).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from encounter_feedback.analysis.prosody import Span, UtteranceProsody
from encounter_feedback.analysis.turns import TURN_CLOSE_S
from encounter_feedback.events import ROLES

LONG_SILENCE_S = 3.0
"""A silence (nobody speaking) this long is a `long_pause`: three times the ~1 s a conversation
tolerates before a silence becomes noticeable (Jefferson 1989)."""
INTERRUPTION_MIN_OVERLAP_S = 0.3
"""A floor change with at least this much overlapping speech is an interruption: more than
the last syllable or two that a next speaker often overlaps when anticipating a turn's end."""
OPENING_MIN_S = 3.0
"""The patient's opening statement is their first turn that lasts this long (a greeting is
shorter) or that the provider interrupts."""

MIXED = "one mixed track: who is speaking is not known"
"""Why every cue that needs to know who speaks is unavailable with one mixed track (`unknown`)."""


class CueOut(Protocol):
    """Where cues go: numbered and emitted by the cue tracker (analysis/dynamics.py)."""

    def __call__(
        self, kind: str, t0: float, t1: float, speaker: str, value: float | None, unit: str, **fields: Any
    ) -> None: ...


@dataclass(eq=False)
class Spoken:
    """One final utterance as the cue analysis sees it."""

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


@dataclass(frozen=True)
class Interruption:
    by: str
    of: str
    t: float
    segment: str
    """The interrupted speaker's segment (the one they were saying)."""


@dataclass(frozen=True)
class Opening:
    """The patient's opening statement: their first turn of `OPENING_MIN_S` or that the provider interrupted."""

    t0: float
    t1: float
    interrupted: bool
    time_to_interruption: float | None


@dataclass
class FloorCounts:
    """What happened to the floor so far, for the figures (analysis/figures.py)."""

    floor_changes: int = 0
    interruptions: list[Interruption] = field(default_factory=list)
    backchannels: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))
    overlaps: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))
    latencies: dict[str, list[float]] = field(default_factory=lambda: {r: [] for r in ROLES})
    """Each role's gaps (negative: terminal overlaps) when taking the floor, in seconds."""
    silences: list[Span] = field(default_factory=list)


@dataclass
class _Turn:
    speaker: str
    t0: float
    t1: float
    interruption: Interruption | None = None


class Floor:
    """Floor cues of one encounter from its utterances in time order: call `silence_before`, then
    `take` for each, and `close` at the end."""

    def __init__(self, cue: CueOut) -> None:
        self._cue = cue
        self.utterances: list[Spoken] = []
        """Every utterance taken so far, in time order."""
        self.counts = FloorCounts()
        self.opening: Opening | None = None
        self._turn: _Turn | None = None
        self._speech_end: tuple[float, str] | None = None
        """Where the latest speech so far ended, and whose it was."""

    def silence_before(self, u: Spoken) -> None:
        """A `long_pause` cue if nobody spoke for `LONG_SILENCE_S` before `u`."""
        if self._speech_end is not None:
            end, before = self._speech_end
            if u.t0 - end >= LONG_SILENCE_S:
                self.counts.silences.append((end, u.t0))
                self._cue("long_pause", end, u.t0, u.speaker, round(u.t0 - end, 3), "s", other=before)
        if self._speech_end is None or u.t1 > self._speech_end[0]:
            self._speech_end = (u.t1, u.speaker)

    def take(self, u: Spoken) -> None:
        """The next utterance in time order: who holds the floor after it, and how it changed."""
        self.utterances.append(u)
        if u.speaker not in ROLES:
            return
        turn = self._turn
        if turn is not None and u.t0 - turn.t1 >= TURN_CLOSE_S:
            self.close()
            turn = None
        if turn is None:
            self._open_turn(u)
        elif u.speaker == turn.speaker:
            turn.t1 = max(turn.t1, u.t1)
        elif u.backchannel:
            self.counts.backchannels[u.speaker] += 1
            self._cue(
                "backchannel", u.t0, u.t1, u.speaker, round(u.t1 - u.t0, 3), "s", other=turn.speaker, segment=u.segment
            )
        else:
            self._bid(u, turn)

    def close(self) -> None:
        """The open turn ends (a long silence, a floor change, or the end of the encounter)."""
        turn, self._turn = self._turn, None
        if turn is not None and turn.speaker == "patient" and self.opening is None:
            self._opening(turn)

    def _bid(self, u: Spoken, turn: _Turn) -> None:
        """`u` (not an acknowledgement) starts while the other speaker holds the floor.

        The holder's speech that began before `u` decides: if it outlasts `u`, `u` did not get the
        floor; if it had ended when `u` began, a gap; else an overlap at a floor change. What the
        holder starts later is a bid of their own, taken in its turn.
        """
        holder = turn.speaker
        theirs = [v for v in self.utterances if v.speaker == holder and v.t0 <= u.t0]
        spans = [s for v in theirs for s in v.spans]
        overlap = seconds_within(spans, (u.t0, u.t1))
        holder_end = max([turn.t1, *(b for _, b in spans)])
        if holder_end >= u.t1:
            self.counts.overlaps[u.speaker] += 1
            self._cue("overlap", u.t0, u.t1, u.speaker, round(overlap, 3), "s", other=holder, segment=u.segment)
        elif u.t0 >= holder_end or overlap < INTERRUPTION_MIN_OVERLAP_S:
            self._latency(u, holder, holder_end)
        else:
            said = max(theirs, key=lambda v: v.t0)
            turn.interruption = Interruption(u.speaker, holder, u.t0, said.segment)
            self.counts.interruptions.append(turn.interruption)
            self._cue(
                "interruption", u.t0, holder_end, u.speaker, round(overlap, 3), "s", other=holder, segment=u.segment
            )
            self._change_hands(u)

    def _latency(self, u: Spoken, holder: str, holder_end: float) -> None:
        gap = round(u.t0 - holder_end, 3)
        self.counts.latencies[u.speaker].append(gap)
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
        self._change_hands(u)

    def _change_hands(self, u: Spoken) -> None:
        self.counts.floor_changes += 1
        self.close()
        self._open_turn(u)

    def _open_turn(self, u: Spoken) -> None:
        u.took_floor = True
        self._turn = _Turn(u.speaker, u.t0, u.t1)

    def _opening(self, turn: _Turn) -> None:
        """The patient's turn is their opening statement if it was long or the provider cut into it."""
        cut = turn.interruption if turn.interruption is not None and turn.interruption.by == "provider" else None
        if cut is None and turn.t1 - turn.t0 < OPENING_MIN_S:
            return
        waited = round(cut.t - turn.t0, 3) if cut is not None else None
        self.opening = Opening(turn.t0, turn.t1, cut is not None, waited)
        if cut is not None:
            self._cue("opening_interruption", turn.t0, cut.t, "provider", waited, "s", other="patient")


def seconds_within(spans: Iterable[Span], window: Span) -> float:
    """Seconds of `spans` inside `window`."""
    return sum(max(0.0, min(b, window[1]) - max(a, window[0])) for a, b in spans)
