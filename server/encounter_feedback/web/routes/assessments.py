"""Faculty ratings of the scenario's learning objectives and checklist (web/assessments.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException

from encounter_feedback.scenarios import scenario_or_none
from encounter_feedback.store.accounts import User
from encounter_feedback.web.access import Allowed
from encounter_feedback.web.assessments import AssessmentError, AssessmentIn, assessment_event
from encounter_feedback.web.models import problems
from encounter_feedback.web.services import KnownEncounter, ServicesDep

router = APIRouter(tags=["notes"])


@router.post("/api/encounters/{encounter_id}/assessments", status_code=201, responses=problems(400, 401, 403, 404, 413))
async def rate_item(
    user: Annotated[User, Depends(Allowed("notes"))], record: KnownEncounter, body: AssessmentIn, services: ServicesDep
) -> dict[str, Any]:
    """Rate one objective or checklist item of the encounter's scenario; stored as an `assessment`
    event that replaces the item's last rating, and sent at once to every open viewer. The access
    log records which account rated it."""
    try:
        event = assessment_event(record.id, scenario_or_none(record.scenario), body)
    except AssessmentError as exc:
        raise HTTPException(400, str(exc)) from None
    services.store.record_access(user.name, "assessment", record.id, event.id)
    return services.add_event(event)
