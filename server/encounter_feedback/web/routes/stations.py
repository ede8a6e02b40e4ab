"""Stations: an exam-room station joins an encounter with an SDP offer for one role's audio,
authorized by the encounter's join token alone (stations do not hold the server key)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from encounter_feedback.media.webrtc import OfferError
from encounter_feedback.web.access import same_secret
from encounter_feedback.web.models import Answer, Offer
from encounter_feedback.web.services import KnownEncounter, RuntimeDep

router = APIRouter()


@router.post("/api/encounters/{encounter_id}/offer", response_model=Answer)
async def offer(record: KnownEncounter, body: Offer, runtime: RuntimeDep) -> dict[str, str]:
    """A station's SDP offer for one role's audio; returns the SDP answer."""
    if not same_secret(body.token, record.join_token):
        raise HTTPException(403, "wrong join token for this encounter")
    if record.finished_at is not None:
        raise HTTPException(409, "the encounter has finished; create a new one")
    try:
        answer = await runtime.live_encounter(record).accept(body.sdp, body.type, body.role)
    except OfferError as exc:
        raise HTTPException(400, str(exc)) from None
    return {"sdp": answer.sdp, "type": answer.type}
