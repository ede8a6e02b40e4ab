"""Stations: an exam-room station joins an encounter with an SDP offer for one role's audio,
authorized by the encounter's join token alone (stations hold no account and no server key).

A join token publishes audio for its encounter and reads whether the encounter is still on; it
reads nothing of what was said, and it expires when the encounter finishes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from encounter_feedback.media.webrtc import OfferError
from encounter_feedback.pipeline.live import Finishing
from encounter_feedback.store.database import Encounter
from encounter_feedback.web.access import same_secret
from encounter_feedback.web.models import MAX_SECRET, Answer, Offer, StationState, problems
from encounter_feedback.web.services import KnownEncounter, RuntimeDep, ServicesDep

router = APIRouter(prefix="/api/encounters/{encounter_id}", tags=["stations"])

FINISHED = "the encounter has finished or is finishing (its join token has expired); create a new one"


def check_token(record: Encounter, token: str) -> None:
    """403 for a wrong join token, 409 once the encounter has finished."""
    if not same_secret(token, record.join_token):
        raise HTTPException(403, "wrong join token for this encounter")
    if record.finished_at is not None:
        raise HTTPException(409, FINISHED)


@router.post("/offer", response_model=Answer, responses=problems(400, 403, 404, 409, 413))
async def offer(record: KnownEncounter, body: Offer, runtime: RuntimeDep) -> dict[str, str]:
    """A station's SDP offer for one role's audio; returns the SDP answer."""
    check_token(record, body.token)
    try:
        answer = await runtime.live_encounter(record).accept(body.sdp, body.type, body.role)
    except Finishing:
        raise HTTPException(409, FINISHED) from None
    except OfferError as exc:
        raise HTTPException(400, str(exc)) from None
    return {"sdp": answer.sdp, "type": answer.type}


@router.get("/station", response_model=StationState, responses=problems(400, 403, 404, 409))
def station(
    record: KnownEncounter,
    services: ServicesDep,
    token: Annotated[str, Query(max_length=MAX_SECRET, description="the encounter's join token")],
) -> StationState:
    """What a station may know: the encounter is on (409 once it has finished) and whether any
    station is sending to it. A station polls this to notice a server that stopped answering."""
    check_token(record, token)
    live = services.live.get(record.id)
    return StationState(encounter=record.id, live=live is not None and live.started)
