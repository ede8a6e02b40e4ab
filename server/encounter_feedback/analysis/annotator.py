"""From transcript to annotations: moments in patient turns and the provider's response to each.

    final segments -> TurnBuilder -> closed turns
      patient turn  -> moment model  -> `moment` event (when it is one)
      provider turn -> the first after a moment -> response model (the moment as context) -> `response` event

The live server and `encounter analyze` drive the same class: the server with finals as they
arrive and clock ticks, `analyze` with a whole transcript; both get the same turns, hence the
same events (see analysis/time_order.py). It only reads segments and emits events; it never
touches audio or transport.

With one mixed track (speaker `unknown`) moments are still flagged, but replies are not coded:
nobody knows who answered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from encounter_feedback.analysis.classifier import Classifier
from encounter_feedback.analysis.turns import Turn, TurnBuilder
from encounter_feedback.events import Event, Moment, Response, Segment
from encounter_feedback.transcript import reply_latency

Emit = Callable[[Event], None]


class Annotator:
    """Moment and response events for one encounter; see the module doc."""

    def __init__(self, encounter: str, classifier: Classifier, emit: Emit) -> None:
        self.encounter = encounter
        self.classifier = classifier
        self._emit = emit
        self._turns = TurnBuilder()
        self._pending: Moment | None = None
        """The latest patient moment still waiting for the provider's reply."""
        self._moments = 0

    def add(self, segment: Segment) -> None:
        """A final segment with words (first pass), in arrival order."""
        self._turns.add(segment)

    def tick(self, now: float, open_since: Mapping[str, float] | None = None) -> None:
        """Encounter time passed: turns that are over close (see `TurnBuilder.tick`)."""
        self._close(self._turns.tick(now, open_since))

    def finish(self) -> None:
        """The encounter ended: the last turn closes (a moment left unanswered gets no response)."""
        self._close(self._turns.flush())

    def _close(self, turns: list[Turn]) -> None:
        for turn in turns:
            if turn.speaker in ("patient", "unknown"):
                self._patient_turn(turn)
            elif turn.speaker == "provider" and self._pending is not None:
                self._reply(turn, self._pending)
                self._pending = None

    def _patient_turn(self, turn: Turn) -> None:
        code = self.classifier.classify("patient", turn.text)
        if code.moment is None:
            return
        self._moments += 1
        moment = Moment(
            id=f"moment-{self._moments}",
            encounter=self.encounter,
            speaker=turn.speaker,
            t0=turn.t0,
            t1=turn.t1,
            label=code.moment,
            confidence=round(code.confidence, 3),
            segment=turn.segment_ids[-1],
            segments=turn.segment_ids,
            text=turn.text,
        )
        self._emit(moment)
        if turn.speaker == "patient":
            self._pending = moment  # the provider's next turn answers the latest moment

    def _reply(self, turn: Turn, moment: Moment) -> None:
        code = self.classifier.classify("provider", turn.text, context=moment.text)  # the moment's turn
        self._emit(
            Response(
                id=f"response-{moment.id.removeprefix('moment-')}",
                encounter=self.encounter,
                speaker="provider",
                t0=turn.t0,
                t1=turn.t1,
                label=code.response,
                group=code.group or "neutral",
                confidence=round(code.confidence, 3),
                moment=moment.id,
                segment=turn.segment_ids[0],
                latency=reply_latency(moment.t1, turn.t0),
                segments=turn.segment_ids,
                text=turn.text,
            )
        )


def annotate(encounter: str, segments: list[Segment], classifier: Classifier) -> list[Event]:
    """Offline: the moment and response events of a whole transcript (final segments with words)."""
    events: list[Event] = []
    annotator = Annotator(encounter, classifier, events.append)
    for segment in segments:
        annotator.add(segment)
    annotator.finish()
    return events
