"""Research exports as zips (README, "Export and research"), and their audit log."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from encounter_feedback.research.export import ExportError, NothingToExport, Selection, build, parse_formats, zip_bytes
from encounter_feedback.web.access import require_key
from encounter_feedback.web.services import KnownEncounter, Services, ServicesDep

router = APIRouter(dependencies=[Depends(require_key)])

ZIP: dict[int | str, dict[str, Any]] = {200: {"content": {"application/zip": {}}, "description": "the export as a zip"}}
FORMATS = "all, or csv, jsonl, vtt, srt, textgrid, eaf (comma-separated)"
BLIND = "participant ids as stable codes, condition withheld"


@router.get("/api/export", response_class=Response, responses=ZIP)
def export_encounters(
    request: Request,
    services: ServicesDep,
    fmt: str = Query("all", alias="format", description=FORMATS),
    scenario: str | None = None,
    cohort: str | None = None,
    condition: str | None = None,
    since: str | None = Query(None, description="created on or after: YYYY-MM-DD (local) or date-time"),
    until: str | None = Query(None, description="created on or before this day (or before this date-time)"),
    blind: bool = Query(False, description=BLIND),
) -> Response:
    """Encounters matching the filters as a zip (files and codebook: README, "Export and research").
    Recorded in the audit log with the caller's name (`X-User` header or `?user=`, default `api`)."""
    selection = Selection(scenario=scenario, cohort=cohort, condition=condition, since=since, until=until)
    return deliver(services, selection, fmt, blind, request)


@router.get("/api/encounters/{encounter_id}/export", response_class=Response, responses=ZIP)
def export_encounter(
    request: Request,
    record: KnownEncounter,
    services: ServicesDep,
    fmt: str = Query("all", alias="format", description=FORMATS),
    blind: bool = Query(False, description=BLIND),
) -> Response:
    """One encounter's export as a zip (like /api/export)."""
    return deliver(services, Selection(encounters=(record.id,)), fmt, blind, request)


@router.get("/api/exports")
def export_log(services: ServicesDep) -> list[dict[str, Any]]:
    """The export audit log: who exported which encounters, when, in which format, blind or not."""
    return [asdict(record) for record in services.store.exports()]


def deliver(services: Services, selection: Selection, fmt: str, blind: bool, request: Request) -> Response:
    """The selection built, zipped and logged under the caller's name."""
    try:
        built = build(services.store, selection, parse_formats(fmt), blind)
    except NothingToExport as exc:
        raise HTTPException(404, str(exc)) from None
    except ExportError as exc:
        raise HTTPException(400, str(exc)) from None
    content = zip_bytes(built.files)
    who = request.headers.get("x-user") or request.query_params.get("user") or "api"
    record = built.record(services.store, who)
    return Response(
        content,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="export-{record.id}.zip"'},
    )
