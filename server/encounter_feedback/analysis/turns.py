"""Turns: a speaker's consecutive final segments joined, across tracks.

The endpointer cuts speech at every half-second pause, so one patient disclosure is often
several segments; the classifiers read whole turns, not fragments. A turn ends when someone
else takes the floor (a backchannel such as "mm-hm" does not), when its speaker has been
silent for `close_after_s`, or when the encounter ends.

With one mixed track (speaker `unknown`) nobody is known to take the floor, so each segment
is a turn of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from encounter_feedback.events import Segment

CLOSE_AFTER_S = 3.0
"""Default `close_after_s`: a turn whose speaker has been silent this long is over (the live
server passes its own `LiveConfig.turn_close_s`); analysis/dynamics.py releases the floor after
the same time, so turns and cues agree on who had the floor."""

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
    """Final segments in, closed turns out (in the order they close)."""

    def __init__(self, close_after_s: float = CLOSE_AFTER_S) -> None:
        self.close_after_s = close_after_s
        self._open: Turn | None = None

    def add(self, segment: Segment) -> list[Turn]:
        """A final segment (with words); returns the turns it closed."""
        closed: list[Turn] = []
        open_turn = self._open
        if open_turn is not None and (
            segment.speaker == "unknown"
            or (segment.speaker != open_turn.speaker and not is_backchannel(segment.text))
            or segment.t0 - open_turn.t1 >= self.close_after_s
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

    def tick(self, now: float, speaking: frozenset[str] = frozenset()) -> list[Turn]:
        """Encounter time is `now`: a turn whose speaker has been silent for `close_after_s` closes.

        `speaking`: speakers with speech still in flight (an utterance under way or its final not
        yet out); their open turn may yet grow, so it stays open.
        """
        turn = self._open
        if turn is not None and turn.speaker not in speaking and now - turn.t1 >= self.close_after_s:
            return self.flush()
        return []

    def flush(self) -> list[Turn]:
        """The encounter ended: close the open turn."""
        closed, self._open = ([self._open] if self._open else []), None
        return closed
