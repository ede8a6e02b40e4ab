"""Research exports as zips (README, "Export and research"), and their audit log.

Who may export what is the caller's role (web/access.py): a researcher's exports are blind unless
they ask otherwise, a faculty member's always are. Each export is logged under the caller's
authenticated name."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response
from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

from encounter_feedback.research.codebook import FORMATS
from encounter_feedback.research.export import ExportError, NothingToExport, Selection, build, parse_formats, zip_bytes
from encounter_feedback.store.accounts import User
from encounter_feedback.web.access import Allowed, export_blind
from encounter_feedback.web.models import MAX_VALUE, problems
from encounter_feedback.web.services import KnownEncounter, ServicesDep

router = APIRouter(tags=["exports"], responses=problems(401, 403))

ZIP: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/zip": {}}, "description": "the export as a zip"},
    **problems(400, 404),
}
FORMAT_PATTERN = f"^(all|({'|'.join(FORMATS)})(,({'|'.join(FORMATS)}))*)$"


def _formats(text: str) -> str:
    try:
        parse_formats(text)
    except ExportError as exc:
        raise ValueError(str(exc)) from None
    return text


def _not_a_number(value: object) -> object:
    """pydantic would read '1700000000' as a Unix time; a filter's date is ISO only."""
    if isinstance(value, str) and value.replace(".", "", 1).lstrip("+-").isdigit():
        raise ValueError(f"{value!r} is not a date: use YYYY-MM-DD or an ISO 8601 date-time")
    return value


Formats = Annotated[
    str,
    AfterValidator(_formats),
    WithJsonSchema({"type": "string", "pattern": FORMAT_PATTERN}),
    Query(alias="format", description=f"all, or one or more of {', '.join(FORMATS)}, comma-separated"),
]
BLIND = Query(
    None,
    description="participant ids as stable codes, condition withheld; default: blind for researchers "
    "and faculty (who may export blind only), not for admins",
)
Filter = Annotated[str | None, Query(max_length=MAX_VALUE)]
IsoDay = Annotated[date | datetime, BeforeValidator(_not_a_number)]
Day = Annotated[IsoDay | None, Query(description="YYYY-MM-DD (local; as `until`, the whole day) or a date-time")]
Exporter = Annotated[User, Depends(Allowed("export"))]


@router.get("/api/export", response_class=Response, responses=ZIP)
def export_encounters(
    user: Exporter,
    services: ServicesDep,
    fmt: Formats = "all",
    scenario: Filter = None,
    cohort: Filter = None,
    condition: Filter = None,
    since: Day = None,
    until: Day = None,
    blind: bool | None = BLIND,
) -> Response:
    """Encounters matching the filters as a zip (files and codebook: README, "Export and research"),
    logged under the caller's name."""
    selection = Selection(scenario=scenario, cohort=cohort, condition=condition, since=_iso(since), until=_iso(until))
    return deliver(services, selection, fmt, export_blind(user, blind), user)


@router.get("/api/encounters/{encounter_id}/export", response_class=Response, responses=ZIP)
def export_encounter(
    user: Exporter, record: KnownEncounter, services: ServicesDep, fmt: Formats = "all", blind: bool | None = BLIND
) -> Response:
    """One encounter's export as a zip (like /api/export)."""
    return deliver(services, Selection(encounters=(record.id,)), fmt, export_blind(user, blind), user)


@router.get("/api/exports")
def export_log(user: Annotated[User, Depends(Allowed("audit"))], services: ServicesDep) -> list[dict[str, Any]]:
    """The export audit log: who exported which encounters, when, in which format, blind or not."""
    return [asdict(record) for record in services.store.exports()]


def deliver(services: ServicesDep, selection: Selection, fmt: str, blind: bool, user: User) -> Response:
    """The selection built, zipped and logged under the caller's name."""
    try:
        built = build(services.store, selection, parse_formats(fmt), blind)
    except NothingToExport as exc:
        raise HTTPException(404, str(exc)) from None
    except ExportError as exc:
        raise HTTPException(400, str(exc)) from None
    content = zip_bytes(built.files)
    record = built.record(services.store, user.name)
    return Response(
        content,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="export-{record.id}.zip"'},
    )


def _iso(day: date | datetime | None) -> str | None:
    return None if day is None else day.isoformat()
