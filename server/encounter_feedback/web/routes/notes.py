"""Faculty notes, bookmarks and verdicts on flags (web/notes.py says what a note may be)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException

from encounter_feedback.pipeline.reannotate import follow_speakers
from encounter_feedback.store.accounts import User
from encounter_feedback.store.corrections import SPEAKER_VERDICTS
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
    every open viewer of the encounter, live or finished. The access log records which account
    wrote it (the body's `author` is the name shown). A speaker correction (`reassign`,
    `swap_roles`) is followed by the moments and responses it changes (pipeline/reannotate.py)."""
    try:
        note = note_event(record.id, body, (event for _, event in services.store.events(record.id)))
    except NoteError as exc:
        raise HTTPException(400, str(exc)) from None
    except UnknownTarget as exc:
        raise HTTPException(404, str(exc)) from None
    services.store.record_access(user.name, "note", record.id, note.id)
    message = services.add_event(note)
    if note.verdict in SPEAKER_VERDICTS and services.classifier is not None:
        follow_speakers(services.store, services.hub, record.id, services.classifier)
    return message
