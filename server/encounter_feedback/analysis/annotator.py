"""From transcript to annotations: moments in patient turns, and every provider turn screened.

    final segments -> TurnBuilder -> closed turns
      patient turn  -> moment model, read in the encounter's case -> `moment` event (when it is one)
      provider turn -> the first after a moment     -> coded as its reply       -> `response` (immediate)
                    -> the first after a race-themed turn it answers as a challenge
                                                    -> `moment` (revealed), then as above
                    -> a later one in its window    -> coded when clearly coded -> `response` (later)
                    -> any other                    -> screened for a microaggression of its own
                                                                                -> `response` (standalone)
      each reply to a moment -> the moment again, with its responsiveness score (-3..+3)

The encounter's scenario sets the case (analysis/classifier.py): a race-themed case reads
implicit challenges as moments and matches its scripted cue lines; a scripted challenge can
set a longer window (a situational challenge, where the provider's handling of the situation
is the point). A moment's window ends `WINDOW_S` after it (or the challenge's own window), or
at the next moment. While one is open, a patient turn flagged only because it says one of the
implicit challenges every race-themed case has (the encoder unsure), or flagged with the open
moment's label, opens no new moment: told then, it is the story the provider already took up
going on ("The doctor barely looked at me." after "tell me more"), and the provider's next
question is a later turn, not a change of subject. A scripted cue always opens its own moment,
and a turn with another label is another challenge ("Will you take me seriously?").

The live server and `encounter analyze` drive the same class: the server with finals as they
arrive and clock ticks, `analyze` with a whole transcript; both get the same turns, hence the
same events (see analysis/time_order.py). It only reads segments and emits events; it never
touches audio or transport.

With one mixed track (speaker `unknown`) moments are still flagged, but no provider turn is
coded: nobody knows who said what.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from encounter_feedback.analysis.classifier import GENERAL, CaseContext, Classifier, Coding, ScriptedCue
from encounter_feedback.analysis.responsiveness import responsiveness
from encounter_feedback.analysis.turns import Turn, TurnBuilder
from encounter_feedback.events import Event, Moment, Response, Segment
from encounter_feedback.transcript import reply_latency

Emit = Callable[[Event], None]
WINDOW_S = 90.0
"""How long after a moment the provider's turns still count as answering it (unless another moment comes first)."""


@dataclass
class _Window:
    """A moment whose replies are still being coded."""

    moment: Moment
    until: float
    """A provider turn starting after this is not a reply to the moment."""
    cue: ScriptedCue | None = None
    """The scripted challenge the moment was matched to, if any: it may be situational, and list
    replies that would be microaggressions in it."""
    replies: list[Response] = field(default_factory=list)
    turns: int = 0
    """Provider turns since the moment (the first is the immediate reply)."""


class Annotator:
    """Moment and response events for one encounter; see the module doc."""

    def __init__(self, encounter: str, classifier: Classifier, emit: Emit, case_context: CaseContext = GENERAL) -> None:
        self.encounter = encounter
        self.classifier = classifier
        self.case_context = case_context
        self._emit = emit
        self._turns = TurnBuilder()
        self._window: _Window | None = None
        self._last_patient: str | None = None
        """The latest patient turn: the context a provider turn outside any window is read after."""
        self._unanswered: tuple[Turn, Coding] | None = None
        """The latest patient turn and its code while it is unflagged and the provider has not spoken
        since: the provider's next turn may reveal it as a moment (`Classifier.revealed_moments`)."""
        self._moments = 0
        self._standalone = 0

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
            elif turn.speaker == "provider":
                self._provider_turn(turn)

    def _patient_turn(self, turn: Turn) -> None:
        self._last_patient = turn.text
        code = self.classifier.code_patient_turns([turn.text], self.case_context)[0]
        self._unanswered = (turn, code) if code.moment is None and turn.speaker == "patient" else None
        if code.moment is None or self._goes_on(turn, code):
            return
        self._flag(turn, code.moment, code)

    def _goes_on(self, turn: Turn, code: Coding) -> bool:
        """Whether a flagged turn told while a moment is open is that moment's story going on rather
        than a new challenge: one flagged only by an implicit challenge line (the encoder unsure),
        or one with the open moment's label ("The doctor barely looked at me." after "Can you tell
        me more about that visit?"). The provider's next turn is then a later turn in the window,
        not a change of subject. A scripted cue always opens its own moment."""
        window = self._window
        if window is None or not self._open(turn.t0) or code.cue is not None:
            return False
        return code.implicit_line or code.moment == window.moment.label

    def _flag(self, turn: Turn, label: str, code: Coding) -> None:
        """A moment event for the turn, whose window the provider's next turns answer."""
        self._moments += 1
        moment = Moment(
            id=f"moment-{self._moments}",
            encounter=self.encounter,
            speaker=turn.speaker,
            t0=turn.t0,
            t1=turn.t1,
            label=label,
            confidence=round(code.confidence, 3),
            segment=turn.segment_ids[-1],
            segments=turn.segment_ids,
            text=turn.text,
            challenge=code.cue,
            revealed=code.revealed,
        )
        self._emit(moment)
        # the provider's next turns answer the latest moment; with a mixed track, nobody's do
        self._window = self._open_window(moment, code) if turn.speaker == "patient" else None

    def _open(self, t: float) -> bool:
        """Whether a moment's window is open at encounter time `t`."""
        return self._window is not None and t <= self._window.until

    def _open_window(self, moment: Moment, code: Coding) -> _Window:
        """A scripted challenge may set its own window, and be situational (`ScriptedCue`)."""
        cue = self.case_context.cue(code.cue)
        if cue is None:
            return _Window(moment, moment.t1 + WINDOW_S)
        window_s = cue.window if cue.window is not None else WINDOW_S
        return _Window(moment, moment.t1 + window_s, cue)

    def _provider_turn(self, turn: Turn) -> None:
        if self._unanswered is not None and not self._open(turn.t0):
            told, code = self._unanswered
            [moment] = self.classifier.revealed_moments([turn.text], [told.text], [code], self.case_context)
            if moment is not None and moment.moment is not None:
                self._flag(told, moment.moment, moment)
        self._unanswered = None
        window = self._window
        if window is None or not self._open(turn.t0):
            self._window = None
            self._standalone_turn(turn)
            return
        window.turns += 1
        relation = "immediate" if window.turns == 1 else "later"
        challenged = window.cue is None or not window.cue.situational
        [code] = self.classifier.code_replies([turn.text], [window.moment.text], relation, challenged, [window.cue])
        if relation == "later" and code.response is None:
            return
        number = window.moment.id.removeprefix("moment-")
        reply = self._response(
            turn,
            code,
            id=f"response-{number}" if relation == "immediate" else f"response-{number}-{window.turns}",
            moment=window.moment.id,
            latency=reply_latency(window.moment.t1, turn.t0),
            relation=relation,
        )
        window.replies.append(reply)
        self._emit(reply)
        score = responsiveness([r.label for r in window.replies])
        window.moment = replace(window.moment, responsiveness=score, emitted_at=time.time())
        self._emit(window.moment)

    def _standalone_turn(self, turn: Turn) -> None:
        [code] = self.classifier.code_replies([turn.text], [self._last_patient], "standalone")
        if code.response is None:
            return
        self._standalone += 1
        self._emit(
            self._response(
                turn, code, id=f"response-s{self._standalone}", moment=None, latency=None, relation="standalone"
            )
        )

    def _response(
        self, turn: Turn, code: Coding, id: str, moment: str | None, latency: float | None, relation: str
    ) -> Response:
        return Response(
            id=id,
            encounter=self.encounter,
            speaker="provider",
            t0=turn.t0,
            t1=turn.t1,
            label=code.response,
            group=code.group or "neutral",
            confidence=round(code.confidence, 3),
            moment=moment,
            segment=turn.segment_ids[0],
            latency=latency,
            segments=turn.segment_ids,
            text=turn.text,
            relation=relation,
        )


def annotate(
    encounter: str, segments: list[Segment], classifier: Classifier, case_context: CaseContext = GENERAL
) -> list[Event]:
    """Offline: the moment and response events of a whole transcript (final segments with words); a
    moment sent again with its score is given once, in its latest version, where it was first sent."""
    events: dict[str, Event] = {}
    annotator = Annotator(encounter, classifier, lambda e: events.__setitem__(e.id, e), case_context=case_context)
    for segment in segments:
        annotator.add(segment)
    annotator.finish()
    return list(events.values())
