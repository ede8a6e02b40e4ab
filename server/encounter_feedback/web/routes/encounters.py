"""Encounters: create, list, read and edit them, finish and delete them, and read what they
recorded (their events, their summary against the scenario, each role's recording).

Reads of an encounter's words and voices (events, recordings) and deletions go into the access
log with the caller's name."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse

from encounter_feedback.analysis.summary import summarize
from encounter_feedback.scenarios import ScenarioError, find_scenario, scenario_or_none
from encounter_feedback.store.accounts import User
from encounter_feedback.web.access import Allowed, may
from encounter_feedback.web.models import (
    MAX_SEQ,
    EncounterCreate,
    EncounterCreated,
    EncounterOut,
    EncounterUpdate,
    problems,
)
from encounter_feedback.web.services import KnownEncounter, ServicesDep

router = APIRouter(prefix="/api/encounters", tags=["encounters"], responses=problems(401, 403))


def check_scenario(scenario_id: str | None) -> None:
    """400 for a scenario id not in the library; no scenario is fine."""
    if scenario_id is None:
        return
    try:
        find_scenario(scenario_id)
    except ScenarioError as exc:
        raise HTTPException(400, str(exc)) from None


@router.post("", status_code=201, response_model=EncounterCreated, responses=problems(400, 413))
def create_encounter(
    user: Annotated[User, Depends(Allowed("run"))], body: EncounterCreate, services: ServicesDep
) -> dict[str, Any]:
    """Create an encounter; stations join it with the returned `join_token`."""
    check_scenario(body.scenario)
    record = services.store.create_encounter(body.scenario, body.metadata.model_dump(exclude_none=True))
    return {**services.describe(record), "join_token": record.join_token}


@router.get("", response_model=list[EncounterOut])
def list_encounters(user: Annotated[User, Depends(Allowed("read"))], services: ServicesDep) -> list[dict[str, Any]]:
    return [services.describe(record) for record in services.store.encounters()]


@router.get("/{encounter_id}", response_model=EncounterCreated, responses=problems(404))
def get_encounter(
    user: Annotated[User, Depends(Allowed("read"))], record: KnownEncounter, services: ServicesDep
) -> dict[str, Any]:
    """One encounter, with the join token to give its stations (for those who may run encounters)."""
    return {**services.describe(record), "join_token": record.join_token if may(user, "run") else None}


@router.patch("/{encounter_id}", response_model=EncounterOut, responses=problems(400, 404, 413))
def update_encounter(
    user: Annotated[User, Depends(Allowed("metadata"))],
    record: KnownEncounter,
    body: EncounterUpdate,
    services: ServicesDep,
) -> dict[str, Any]:
    """Edit an encounter's research metadata or scenario (used by exports and their filters)."""
    if "scenario" in body.model_fields_set:
        check_scenario(body.scenario)
        services.store.set_scenario(record.id, body.scenario)
    updated = services.store.update_metadata(record.id, body.metadata.model_dump(exclude_unset=True))
    return services.describe(updated)


@router.post("/{encounter_id}/finish", response_model=EncounterOut, responses=problems(404))
async def finish(
    user: Annotated[User, Depends(Allowed("run"))], record: KnownEncounter, services: ServicesDep
) -> dict[str, Any]:
    """Hang up every station, finalize the last utterances and close the encounter."""
    live = services.live.get(record.id)
    if live is not None:
        await live.close()  # in bounded time; it stays listed while it closes, so a reconnect gets 409
    elif record.finished_at is None:
        services.store.finish(record.id)
    return services.describe(services.store.encounter(record.id))


@router.delete("/{encounter_id}", status_code=204, responses=problems(404))
async def delete(
    user: Annotated[User, Depends(Allowed("delete"))], record: KnownEncounter, services: ServicesDep
) -> None:
    """Erase the encounter: its events, notes, metadata and recordings (a live one is finished first).
    Logged with the caller's name; the export log keeps its id."""
    live = services.live.get(record.id)
    if live is not None:
        await live.close()
    services.store.delete_encounter(record.id, user.name)


@router.get("/{encounter_id}/events", responses=problems(400, 404))
def events(
    user: Annotated[User, Depends(Allowed("read"))],
    record: KnownEncounter,
    services: ServicesDep,
    after: int = Query(0, ge=0, le=MAX_SEQ, description="only events after this seq"),
) -> list[dict[str, Any]]:
    """Stored events in arrival order, each with its `seq`."""
    services.store.record_access(user.name, "events", record.id, f"after={after}")
    return [{**body, "seq": seq} for seq, body in services.store.events(record.id, after)]


@router.get("/{encounter_id}/summary", responses=problems(404))
def summary(
    user: Annotated[User, Depends(Allowed("read"))], record: KnownEncounter, services: ServicesDep
) -> dict[str, Any]:
    """Each scripted racial challenge: detected or not, when, and how the provider responded."""
    return summarize(services.store.latest_events(record.id), scenario_or_none(record.scenario))


@router.get(
    "/{encounter_id}/recordings/{role}.wav",
    response_class=FileResponse,
    responses={200: {"content": {"audio/wav": {}}, "description": "the recording"}, **problems(404)},
)
def recording(
    user: Annotated[User, Depends(Allowed("recordings"))], record: KnownEncounter, role: str, services: ServicesDep
) -> FileResponse:
    """A role's recording: 16 kHz mono WAV, sample 0 at encounter time 0."""
    track = next((t for t in services.store.tracks(record.id) if t["role"] == role), None)
    if track is None or not Path(track["source"]).is_file():
        raise HTTPException(404, f"no recording of {role!r} in encounter {record.id!r}")
    services.store.record_access(user.name, "recording", record.id, role)
    return FileResponse(track["source"], media_type="audio/wav")
