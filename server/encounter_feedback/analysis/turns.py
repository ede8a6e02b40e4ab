"""Turns: a speaker's consecutive final segments joined, across tracks.

The endpointer cuts speech at every half-second pause, so one patient disclosure is often
several segments; the classifiers read whole turns, not fragments. A turn ends when someone
else takes the floor (a backchannel such as "mm-hm" does not), when its speaker has been
silent for `TURN_CLOSE_S`, or when the encounter ends.

Segments are taken in order of their start once every track is complete up to it
(analysis/time_order.py), so the live server, fed finals as they arrive, and `encounter analyze`,
fed a whole transcript, build the same turns.

With one mixed track (speaker `unknown`) nobody is known to take the floor, so each segment
is a turn of its own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from encounter_feedback.analysis.time_order import TimeOrder, complete_to
from encounter_feedback.events import Segment

TURN_CLOSE_S = 3.0
"""A turn whose speaker has been silent this long is over, live and offline; the floor
(analysis/floor.py) is released after the same silence, so turns and cues agree on who had it."""

BACKCHANNELS = frozenset(
    {
        "mm",
        "mhm",
        "mmhm",
        "mm hm",
        "mm hmm",
        "uh huh",
        "uhhuh",
        "hm",
        "hmm",
        "yeah",
        "yes",
        "yep",
        "right",
        "okay",
        "ok",
        "i see",
        "sure",
        "got it",
        "oh",
        "oh okay",
        "alright",
        "all right",
        "uh",
        "um",
    }
)
"""Short listener responses that acknowledge without taking the floor."""


def is_backchannel(text: str) -> bool:
    """A listener's acknowledgement ("mm-hm", "yeah", "okay, right") rather than a turn."""
    words = re.sub(r"[^a-z ]+", " ", text.lower().replace("-", " ")).split()
    if not words or len(words) > 3:
        return False
    return " ".join(words) in BACKCHANNELS or all(w in BACKCHANNELS for w in words)


@dataclass
class Turn:
    speaker: str
    segments: list[Segment] = field(default_factory=list)

    @property
    def t0(self) -> float:
        return self.segments[0].t0

    @property
    def t1(self) -> float:
        return max(s.t1 for s in self.segments)

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments)

    @property
    def segment_ids(self) -> list[str]:
        return [s.id for s in self.segments]


class TurnBuilder:
    """Final segments in (in any order), closed turns out (in the order they close)."""

    def __init__(self) -> None:
        self._order: TimeOrder[Segment] = TimeOrder(lambda s: (s.t0, s.t1))
        self._open: Turn | None = None

    def add(self, segment: Segment) -> None:
        """A final segment with words; it joins a turn once `tick` or `flush` knows it is in order."""
        self._order.add(segment)

    def tick(self, now: float, open_since: Mapping[str, float] | None = None) -> list[Turn]:
        """Encounter time is `now`; `open_since`: per speaker, where their speech still in flight
        began (see `time_order.complete_to`). Takes the segments now known to be in order, and
        closes the open turn if its speaker has been silent for `TURN_CLOSE_S` since.
        Returns the turns closed."""
        complete = complete_to(now, open_since)
        closed = [turn for segment in self._order.release(complete) for turn in self._take(segment)]
        if self._open is not None and complete - self._open.t1 >= TURN_CLOSE_S:
            closed.append(self._open)
            self._open = None
        return closed

    def flush(self) -> list[Turn]:
        """The encounter ended: take every segment left, and close the open turn."""
        closed = [turn for segment in self._order.release(math.inf) for turn in self._take(segment)]
        if self._open is not None:
            closed.append(self._open)
            self._open = None
        return closed

    def _take(self, segment: Segment) -> list[Turn]:
        """The next segment in time order; returns the turns it closed."""
        closed: list[Turn] = []
        open_turn = self._open
        if open_turn is not None and (
            segment.speaker == "unknown"
            or (segment.speaker != open_turn.speaker and not is_backchannel(segment.text))
            or segment.t0 - open_turn.t1 >= TURN_CLOSE_S
        ):
            closed.append(open_turn)
            self._open = open_turn = None
        if open_turn is not None and segment.speaker != open_turn.speaker:
            return closed  # a backchannel: the floor stays with the open turn
        if open_turn is None:
            self._open = open_turn = Turn(segment.speaker)
        open_turn.segments.append(segment)
        if segment.speaker == "unknown":
            closed.append(open_turn)
            self._open = None
        return closed
