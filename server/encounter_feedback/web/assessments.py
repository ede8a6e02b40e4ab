"""Faculty ratings of a scenario's learning objectives and checklist items, made during the debrief.

A body names one item of the encounter's scenario (`objective-N` or `checklist-N`, from
analysis/summary.py `assessment_items`) and a rating that fits its kind (taxonomy
ASSESSMENT_RATINGS); it becomes an `assessment` event whose id names the item, so the latest
rating of an item replaces the last one everywhere (viewers, summary, export).
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from encounter_feedback.analysis.summary import assessment_items
from encounter_feedback.errors import UserError
from encounter_feedback.events import Assessment
from encounter_feedback.scenarios import Scenario
from encounter_feedback.taxonomy import ASSESSMENT_RATINGS
from encounter_feedback.web.models import Body
from encounter_feedback.web.notes import MAX_AUTHOR, MAX_ID, Seconds


class AssessmentIn(Body):
    """The request body of `POST /api/encounters/{id}/assessments`."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    author: str = Field(min_length=1, max_length=MAX_AUTHOR, description="who rated it")
    item: str = Field(max_length=MAX_ID, description="objective-N or checklist-N, from 1 in the scenario's order")
    rating: str = Field(
        description="; ".join(f"{kind}: {' | '.join(ratings)}" for kind, ratings in ASSESSMENT_RATINGS.items())
    )
    t0: Seconds = Field(0.0, description="the playhead when it was rated")


class AssessmentError(UserError):
    """The item is not in the encounter's scenario, or the rating does not fit it."""


def assessment_event(encounter: str, scenario: Scenario | None, body: AssessmentIn) -> Assessment:
    """The `assessment` event for a rating of one of the scenario's items."""
    items = assessment_items(scenario)
    if body.item not in items:
        known = ", ".join(items) or "none: the encounter has no scenario"
        raise AssessmentError(f"no item {body.item!r} in the encounter's scenario: use one of {known}")
    kind, text = items[body.item]
    if body.rating not in ASSESSMENT_RATINGS[kind]:
        raise AssessmentError(
            f"{body.rating!r} does not rate a {kind}: use one of {', '.join(ASSESSMENT_RATINGS[kind])}"
        )
    return Assessment(
        id=f"assessment-{body.item}",
        encounter=encounter,
        speaker="provider",
        t0=body.t0,
        t1=body.t0,
        item=body.item,
        text=text,
        rating=body.rating,
        author=body.author,
    )
