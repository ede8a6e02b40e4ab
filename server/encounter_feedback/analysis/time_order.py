"""Putting several tracks' finals back in time order, live.

Each track's finals arrive in order, but the tracks interleave: a patient's long utterance
arrives after the provider's "mm-hm" said in its middle. Who took the floor, and where a turn
ends, depend on what the other speaker was saying when an utterance began, so the analyses
(turns, cues) take utterances in order of their start, and only once every track is known to be
complete up to that start. A track is complete up to where its earliest speech still in flight
(under way, or its final not out yet) began; a track with nothing in flight, up to now.

    finals (arrival order) -> TimeOrder.add
    clock tick: complete_to(now, open_since) -> TimeOrder.release -> in order of start

Offline, everything is complete: `release(math.inf)` gives the same order at once, which is
why live and `encounter analyze` build the same turns and cues from the same segments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")


def complete_to(now: float, open_since: Mapping[str, float] | None = None) -> float:
    """Encounter time up to which every track is complete: `now`, or earlier where speech is in
    flight (`open_since`: per speaker, where their earliest speech not yet out as a final began)."""
    return min([now, *(open_since or {}).values()])


def earliest(starts: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Per speaker, the earliest of their `(speaker, start)` times: `open_since` for `complete_to`.
    A speaker can have several utterances in flight at once (one being decoded while earlier ones
    are still measured, or several queued in a replay); a later time than the earliest would let
    an analysis run before all of that speaker's speech is in."""
    first: dict[str, float] = {}
    for speaker, start in starts:
        first[speaker] = min(start, first.get(speaker, start))
    return first


class TimeOrder(Generic[T]):
    """Items that arrive out of time order, given back in order of (start, end) once complete."""

    def __init__(self, span: Callable[[T], tuple[float, float]]) -> None:
        self._span = span
        self._waiting: list[T] = []

    def add(self, item: T) -> None:
        self._waiting.append(item)

    def release(self, complete_to: float) -> list[T]:
        """The waiting items that start before `complete_to`, in order of (start, end)."""
        self._waiting.sort(key=self._span)
        ready = [item for item in self._waiting if self._span(item)[0] < complete_to]
        del self._waiting[: len(ready)]
        return ready
