"""The taxonomy and the reply measures, served so the dashboard does not keep its own copy."""

from __future__ import annotations

from fastapi import APIRouter

from encounter_feedback.taxonomy import (
    GROUPS,
    MICROAGGRESSIONS,
    MOMENT_LABELS,
    REPLY_MEASURE_UNITS,
    RESPONSE_LABELS,
    RESPONSIVE,
)
from encounter_feedback.web.access import Caller
from encounter_feedback.web.models import ReplyMeasure, Taxonomy, problems

router = APIRouter(tags=["server"])


@router.get("/api/taxonomy", response_model=Taxonomy, responses=problems(401, 403))
def taxonomy(user: Caller) -> Taxonomy:
    """Moment labels, response labels (microaggressions and responsive replies) and their groups,
    and the cues measured on the provider's reply to a moment, with their units (taxonomy.py)."""
    return Taxonomy(
        moment_labels=list(MOMENT_LABELS),
        microaggressions=list(MICROAGGRESSIONS),
        responsive=list(RESPONSIVE),
        response_labels=list(RESPONSE_LABELS),
        groups=list(GROUPS),
        reply_measures=[ReplyMeasure(kind=kind, unit=unit) for kind, unit in REPLY_MEASURE_UNITS.items()],
    )
