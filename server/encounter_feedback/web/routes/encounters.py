"""Encounters: create, list, read and edit them, finish them, and read what they recorded
(their events, their summary against the scenario, each role's recording)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse

from encounter_feedback.analysis.summary import summarize
from encounter_feedback.scenarios import ScenarioError, find_scenario, scenario_or_none
from encounter_feedback.web.access import require_key
from encounter_feedback.web.models import EncounterCreate, EncounterCreated, EncounterOut, EncounterUpdate
from encounter_feedback.web.services import KnownEncounter, ServicesDep

router = APIRouter(prefix="/api/encounters", dependencies=[Depends(require_key)])


def check_scenario(scenario_id: str | None) -> None:
    """400 for a scenario id not in the library; no scenario is fine."""
    if scenario_id is None:
        return
    try:
        find_scenario(scenario_id)
    except ScenarioError as exc:
        raise HTTPException(400, str(exc)) from None


@router.post("", status_code=201, response_model=EncounterCreated)
def create_encounter(body: EncounterCreate, services: ServicesDep) -> dict[str, Any]:
    """Create an encounter; stations join it with the returned `join_token`."""
    check_scenario(body.scenario)
    record = services.store.create_encounter(body.scenario, body.metadata.model_dump(exclude_none=True))
    return {**services.describe(record), "join_token": record.join_token}


@router.get("", response_model=list[EncounterOut])
def list_encounters(services: ServicesDep) -> list[dict[str, Any]]:
    return [services.describe(record) for record in services.store.encounters()]


@router.get("/{encounter_id}", response_model=EncounterCreated)
def get_encounter(record: KnownEncounter, services: ServicesDep) -> dict[str, Any]:
    """One encounter, with the join token to give its stations."""
    return {**services.describe(record), "join_token": record.join_token}


@router.patch("/{encounter_id}", response_model=EncounterOut)
def update_encounter(record: KnownEncounter, body: EncounterUpdate, services: ServicesDep) -> dict[str, Any]:
    """Edit an encounter's research metadata or scenario (used by exports and their filters)."""
    if "scenario" in body.model_fields_set:
        check_scenario(body.scenario)
        services.store.set_scenario(record.id, body.scenario)
    updated = services.store.update_metadata(record.id, body.metadata.model_dump(exclude_unset=True))
    return services.describe(updated)


@router.post("/{encounter_id}/finish", response_model=EncounterOut)
async def finish(record: KnownEncounter, services: ServicesDep) -> dict[str, Any]:
    """Hang up every station, finalize the last utterances and close the encounter."""
    live = services.live.pop(record.id, None)
    if live is not None:
        await live.close()
    elif record.finished_at is None:
        services.store.finish(record.id)
    return services.describe(services.store.encounter(record.id))


@router.get("/{encounter_id}/events")
def events(
    record: KnownEncounter, services: ServicesDep, after: int = Query(0, description="only events after this seq")
) -> list[dict[str, Any]]:
    """Stored events in arrival order, each with its `seq`."""
    return [{**body, "seq": seq} for seq, body in services.store.events(record.id, after)]


@router.get("/{encounter_id}/summary")
def summary(record: KnownEncounter, services: ServicesDep) -> dict[str, Any]:
    """Each scripted racial challenge: detected or not, when, and how the provider responded."""
    return summarize(services.store.latest_events(record.id), scenario_or_none(record.scenario))


@router.get("/{encounter_id}/recordings/{role}.wav", response_class=FileResponse)
def recording(record: KnownEncounter, role: str, services: ServicesDep) -> FileResponse:
    """A role's recording: 16 kHz mono WAV, sample 0 at encounter time 0."""
    track = next((t for t in services.store.tracks(record.id) if t["role"] == role), None)
    if track is None or not Path(track["source"]).is_file():
        raise HTTPException(404, f"no recording of {role!r} in encounter {record.id!r}")
    return FileResponse(track["source"], media_type="audio/wav")
