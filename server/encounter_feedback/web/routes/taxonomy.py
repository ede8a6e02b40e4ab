"""The taxonomy and the reply measures, served so the dashboard does not keep its own copy."""

from __future__ import annotations

from fastapi import APIRouter

from encounter_feedback.research.codebook import MOMENTS, RESPONSES
from encounter_feedback.taxonomy import (
    ASSESSMENT_RATINGS,
    GROUPS,
    MICROAGGRESSIONS,
    MOMENT_LABELS,
    NOTE_TAGS,
    REPLY_MEASURE_UNITS,
    RESPONSE_LABELS,
    RESPONSIVE,
    RESPONSIVENESS_SCALE,
)
from encounter_feedback.web.access import Caller
from encounter_feedback.web.models import ReplyMeasure, Taxonomy, problems

router = APIRouter(tags=["server"])


@router.get("/api/taxonomy", response_model=Taxonomy, responses=problems(401, 403))
def taxonomy(user: Caller) -> Taxonomy:
    """Moment labels, response labels (microaggressions and responsive replies) and their groups,
    what each label means, the cues measured on the provider's reply to a moment with their units,
    the tags a faculty note can carry, how objectives and checklist items are rated, and the anchors of
    the responsiveness scale (taxonomy.py)."""
    return Taxonomy(
        moment_labels=list(MOMENT_LABELS),
        microaggressions=list(MICROAGGRESSIONS),
        responsive=list(RESPONSIVE),
        response_labels=list(RESPONSE_LABELS),
        groups=list(GROUPS),
        reply_measures=[ReplyMeasure(kind=kind, unit=unit) for kind, unit in REPLY_MEASURE_UNITS.items()],
        definitions={**MOMENTS, **RESPONSES},
        note_tags=dict(NOTE_TAGS),
        assessment_ratings={kind: dict(ratings) for kind, ratings in ASSESSMENT_RATINGS.items()},
        responsiveness={str(score): anchor for score, anchor in RESPONSIVENESS_SCALE.items()},
    )
