"""Faculty notes, bookmarks and verdicts on flags (web/notes.py says what a note may be)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException

from encounter_feedback.store.accounts import User
from encounter_feedback.web.access import Allowed
from encounter_feedback.web.models import problems
from encounter_feedback.web.notes import NoteError, NoteIn, UnknownTarget, note_event
from encounter_feedback.web.services import KnownEncounter, ServicesDep

router = APIRouter(tags=["notes"])


@router.post("/api/encounters/{encounter_id}/notes", status_code=201, responses=problems(400, 401, 403, 404, 413))
async def add_note(
    user: Annotated[User, Depends(Allowed("notes"))], record: KnownEncounter, body: NoteIn, services: ServicesDep
) -> dict[str, Any]:
    """A faculty note, bookmark or verdict on a flag, stored as a `note` event and sent at once to
    every open viewer of the encounter, live or finished."""
    try:
        note = note_event(record.id, body, (event for _, event in services.store.events(record.id)))
    except NoteError as exc:
        raise HTTPException(400, str(exc)) from None
    except UnknownTarget as exc:
        raise HTTPException(404, str(exc)) from None
    [seq] = services.store.add_events([note])
    message = {**note.to_dict(), "seq": seq}
    services.hub.publish(record.id, message)
    return message
