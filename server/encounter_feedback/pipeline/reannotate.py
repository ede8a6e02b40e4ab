"""Moments and responses that follow who said what.

Moments and responses are coded on turns, and turns depend on who spoke. When the speakers of
stored segments change afterwards (a room microphone's voices re-estimated live, pipeline/room.py;
a faculty correction, store/corrections.py), flags coded under the old speakers may no longer
hold: a patient's challenge now attributed to the provider is no moment, and the "reply" that was
coded may have been the patient's own words. `reannotate` codes the encounter's latest, corrected
segments again with the same annotator as everything else (analysis/annotator.py `annotate`) and
returns the events that turn the stored flags into those:

- a flag coded again on the same turn with the same label keeps its event and id;
- a new one is added under an id of its own (`moment-<its segment>`, `response-<its segment>`),
  which cannot clash with the live annotator's numbered ids;
- a stored flag that no longer holds is withdrawn (`withdrawn: true`, same id), and so is every
  reply cue of a moment that is gone.

`follow_speakers` stores and sends those events, so the result reaches every viewer, survives a
restart, and exports and agreement read it through `Store.latest_events`. New moments get no
reply cues, and turn-taking cues and metrics are not recomputed: they need the audio.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

from encounter_feedback.analysis.annotator import annotate
from encounter_feedback.analysis.classifier import GENERAL, CaseContext, Classifier, case_context_of
from encounter_feedback.events import Event, Moment, Response, Segment, event_from_dict
from encounter_feedback.scenarios import scenario_or_none
from encounter_feedback.store.database import Store
from encounter_feedback.store.hub import Hub

FLAGS = ("moment", "response")


def reannotate(
    encounter: str, events: Sequence[dict[str, Any]], classifier: Classifier, case_context: CaseContext = GENERAL
) -> list[Event]:
    """The flag events (new, and withdrawals) that bring the stored moments and responses in line
    with the speakers of the segments in `events` (an encounter's latest events, corrections applied:
    `Store.latest_events`). Nothing when they already agree."""
    segments = sorted(
        (e for e in map(event_from_dict, (e for e in events if e["type"] == "segment")) if isinstance(e, Segment)),
        key=lambda s: (s.t0, s.t1),
    )
    stored = {e["id"]: e for e in events if e["type"] in FLAGS}
    kept: set[str] = set()
    stored_id: dict[str, str] = {}
    """A coded moment's id -> the id it has in the store (for its response's `moment`)."""
    changes: list[Event] = []
    for flag in annotate(encounter, [s for s in segments if s.final and s.words], classifier, case_context):
        if not isinstance(flag, Moment | Response):
            continue
        if isinstance(flag, Response) and flag.moment is not None:  # a standalone remark answers no moment
            flag.moment = stored_id[flag.moment]
        same = next((key for key, old in stored.items() if key not in kept and _same(old, flag)), None)
        if same is None:
            same = f"{flag.type}-{flag.segment}"
            changes.append(dataclasses.replace(flag, id=same))
        stored_id[flag.id] = same
        kept.add(same)
    changes += [_withdrawal(old) for key, old in stored.items() if key not in kept]
    moments = {key for key in kept if key.startswith("moment-")}
    changes += [_withdrawal(e) for e in events if e["type"] == "cue" and e.get("moment") not in (None, *moments)]
    return changes


def follow_speakers(store: Store, hub: Hub, encounter: str, classifier: Classifier) -> list[Event]:
    """Re-code the encounter's flags under its segments' current speakers (`reannotate`), read in
    its scenario's case as the live analysis reads them; the changes are stored and sent to its
    viewers, and returned."""
    case_context = case_context_of(scenario_or_none(store.encounter(encounter).scenario))
    changes = reannotate(encounter, store.latest_events(encounter), classifier, case_context)
    for event, seq in zip(changes, store.add_events(changes)):
        hub.publish(encounter, {**event.to_dict(), "seq": seq})
    return changes


def _same(stored: dict[str, Any], flag: Moment | Response) -> bool:
    """Whether a stored flag is `flag` coded again: same kind, speaker, turn and label (and moment)."""
    return (
        stored["type"] == flag.type
        and stored["speaker"] == flag.speaker
        and (stored.get("segments") or [stored["segment"]]) == (flag.segments or [flag.segment])
        and stored["label"] == flag.label
        and stored.get("moment") == getattr(flag, "moment", None)
    )


def _withdrawal(stored: dict[str, Any]) -> Event:
    return dataclasses.replace(event_from_dict(stored), withdrawn=True, emitted_at=time.time())
