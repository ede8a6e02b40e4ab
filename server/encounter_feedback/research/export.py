"""Research exports: encounters selected by id or by scenario, cohort, condition and date, written
as tidy CSV, JSONL, WebVTT, SRT, Praat TextGrid and ELAN files, with a codebook, optionally blind.

An export is built in memory as {file name: bytes} and then written to a directory (CLI) or
zipped (API); the caller records it in the store's audit log once it was delivered, so the
log lists exactly the exports that left the system. Only the latest version of each event is
exported (a second-pass final replaces the live one).

Layout (ENCOUNTER is the encounter id, never a participant id, so file names reveal nothing):
`codebook.csv`, `encounters.csv`, `challenges.csv` always; `events.csv` (csv), `events.jsonl`
(jsonl); `ENCOUNTER/transcript.vtt`, `.srt`, `ENCOUNTER/annotations.TextGrid`, `.eaf`.

Exported text comes from people (notes, metadata) and must not act on the coder's machine: a CSV
cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) is prefixed
with `'`, TextGrid and ELAN labels lose control characters (research/tiers.py), and every ELAN
file links its recordings by a relative name, never by a path on the server. Files written to a
directory are owner-only (private.py).
"""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from encounter_feedback.analysis.dynamics import REPLY_MEASURES
from encounter_feedback.analysis.summary import summarize
from encounter_feedback.errors import UserError
from encounter_feedback.private import private_dir, write_private
from encounter_feedback.research.blinding import Blinder
from encounter_feedback.research.codebook import (
    CHALLENGE_COLUMNS,
    ENCOUNTER_COLUMNS,
    EVENT_COLUMNS,
    FORMATS,
    codebook_csv,
)
from encounter_feedback.research.eaf import Media, eaf, mime_type
from encounter_feedback.research.subtitles import srt, webvtt
from encounter_feedback.research.textgrid import textgrid
from encounter_feedback.research.tiers import annotation_tiers
from encounter_feedback.scenarios import Scenario, scenario_or_none
from encounter_feedback.store.database import Encounter, ExportRecord, Store, UnknownEncounter

AUTHOR = "encounter-feedback"
PER_ENCOUNTER = {
    "vtt": "transcript.vtt",
    "srt": "transcript.srt",
    "textgrid": "annotations.TextGrid",
    "eaf": "annotations.eaf",
}
"""The formats written one file per encounter, and the file's name in the encounter's folder."""
OMITTED_FROM_CSV = ("words", "final", "stable")
"""Event fields the tidy CSV leaves to events.jsonl: word timings, and flags every exported segment shares."""
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet runs a cell starting with one of these as a formula (OWASP's list)."""


class ExportError(UserError):
    """An export that cannot be made as asked; the message says what to change."""


class NothingToExport(ExportError):
    """No encounter matches the selection."""


@dataclass(frozen=True)
class Selection:
    """Which encounters to export: these ids, or all that match the filters (dates as given, ISO)."""

    encounters: tuple[str, ...] = ()
    scenario: str | None = None
    cohort: str | None = None
    condition: str | None = None
    since: str | None = None
    until: str | None = None

    def filters(self) -> dict[str, Any]:
        """What was asked, for the audit log."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in asdict(self).items()
            if value not in (None, ())
        }


@dataclass(frozen=True)
class ExportBundle:
    """An export ready to deliver."""

    selection: Selection
    formats: tuple[str, ...]
    blind: bool
    encounters: tuple[str, ...]
    files: dict[str, bytes]

    def record(self, store: Store, who: str) -> ExportRecord:
        """Log the delivered export: who, when (now), what."""
        return store.record_export(
            who, ",".join(self.formats), self.blind, self.selection.filters(), list(self.encounters)
        )


def parse_formats(text: str) -> tuple[str, ...]:
    """`all`, one format, or several separated by commas."""
    names = FORMATS if text == "all" else tuple(name.strip().lower() for name in text.split(","))
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        raise ExportError(
            f"unknown format {', '.join(unknown) or text!r}: use all or one or more of {', '.join(FORMATS)}"
        )
    return names


def parse_date(text: str, end: bool = False) -> float:
    """Unix time of a local date (YYYY-MM-DD; as an end, the whole day is included) or date-time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ExportError(f"{text!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    if end and len(text) == 10:
        moment = moment + timedelta(days=1) if moment.date() < date.max else datetime.max
    try:
        return moment.timestamp()
    except (OverflowError, ValueError, OSError):  # a year the platform's time functions do not reach
        return -math.inf if moment.year < 1970 else math.inf


def select(store: Store, selection: Selection) -> list[Encounter]:
    """The encounters to export, oldest first; an empty selection is an error, not an empty export."""
    filters = {k: v for k, v in selection.filters().items() if k != "encounters"}
    if selection.encounters and filters:
        raise ExportError("give encounter ids or filters (scenario, cohort, condition, since, until), not both")
    if selection.encounters:
        try:
            encounters = [store.encounter(encounter_id) for encounter_id in selection.encounters]
        except UnknownEncounter as exc:
            raise ExportError(f"unknown encounter {exc.args[0]!r}") from None
    else:
        encounters = store.encounters(
            selection.scenario,
            selection.cohort,
            selection.condition,
            parse_date(selection.since) if selection.since else None,
            parse_date(selection.until, end=True) if selection.until else None,
        )
    if not encounters:
        described = ", ".join(f"{k}={v}" for k, v in filters.items()) or "any"
        raise NothingToExport(f"no encounters match ({described})")
    return sorted(encounters, key=lambda e: e.created_at)


def build(store: Store, selection: Selection, formats: tuple[str, ...], blind: bool) -> ExportBundle:
    """Every file of the export, in memory."""
    encounters = select(store, selection)
    blinder = Blinder.for_data_dir(store.data_dir) if blind else None
    exported_at = datetime.now(UTC).isoformat(timespec="seconds")
    files = {"codebook.csv": codebook_csv(blind).encode()}
    events_by_encounter = {e.id: store.latest_events(e.id) for e in encounters}
    tracks = {e.id: store.tracks(e.id) for e in encounters}
    durations = {e.id: _duration(tracks[e.id], events_by_encounter[e.id]) for e in encounters}
    scenarios = {scenario: scenario_or_none(scenario) for scenario in {e.scenario for e in encounters}}
    files["encounters.csv"] = _encounters_csv(encounters, durations, blinder).encode()
    files["challenges.csv"] = _challenges_csv(encounters, events_by_encounter, scenarios).encode()
    all_events = [event for e in encounters for event in events_by_encounter[e.id]]
    if "csv" in formats:
        files["events.csv"] = _events_csv(all_events).encode()
    if "jsonl" in formats:
        files["events.jsonl"] = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in all_events).encode()
    for record in encounters:
        events = events_by_encounter[record.id]
        tiers = annotation_tiers(events) if {"textgrid", "eaf"} & set(formats) else []
        for fmt in (f for f in formats if f in PER_ENCOUNTER):
            if fmt == "vtt":
                content = webvtt(events).encode()
            elif fmt == "srt":
                content = srt(events).encode()
            elif fmt == "textgrid":
                content = textgrid(tiers, durations[record.id]).encode()
            else:
                content = eaf(tiers, _media(record, tracks[record.id]), AUTHOR, exported_at)
            files[f"{record.id}/{PER_ENCOUNTER[fmt]}"] = content
    return ExportBundle(selection, formats, blind, tuple(e.id for e in encounters), files)


def write_directory(files: dict[str, bytes], out: Path) -> None:
    """Write the export under `out`; an existing file there is an error, so nothing is overwritten."""
    existing = [name for name in files if (out / name).exists()]
    if existing:
        raise ExportError(f"{out / existing[0]} already exists: export to a new or empty --out directory")
    for name, content in files.items():
        private_dir((out / name).parent)
        write_private(out / name, content, exclusive=True)


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writerow({column: neutralized(column) for column in columns})  # metadata keys are columns too
    for row in rows:
        writer.writerow({key: _cell(value) for key, value in row.items()})
    return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return neutralized(" ".join(str(item) for item in value))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return neutralized(value)
    return value


def neutralized(text: str) -> str:
    """`text` as a spreadsheet shows it instead of running it: `'` before a formula's first
    character. A plain number written as text (`-1.5`) is left alone."""
    if not text.startswith(FORMULA_START):
        return text
    try:
        float(text)
    except ValueError:
        return "'" + text
    return text


def _events_csv(events: list[dict[str, Any]]) -> str:
    columns = list(EVENT_COLUMNS)
    rows = []
    for event in events:
        row = {key: value for key, value in event.items() if key in EVENT_COLUMNS}
        extra = {
            k: v
            for k, v in event.items()
            if k not in EVENT_COLUMNS and k not in OMITTED_FROM_CSV and v not in (None, {}, [])
        }
        rows.append({**row, "extra": extra or None})
    return _csv(columns, rows)


def _encounters_csv(encounters: list[Encounter], durations: dict[str, float], blinder: Blinder | None) -> str:
    metadata = {e.id: blinder.metadata(e.metadata) if blinder else e.metadata for e in encounters}
    columns = [c for c in ENCOUNTER_COLUMNS if not (blinder and c == "condition")]
    extras = sorted({key for m in metadata.values() for key in m} - set(columns))
    rows = [
        {
            **metadata[e.id],
            "encounter": e.id,
            "scenario": e.scenario,
            "created_at": _iso(e.created_at),
            "finished_at": _iso(e.finished_at),
            "duration": durations[e.id],
        }
        for e in encounters
    ]
    return _csv(columns + extras, rows)


def _challenges_csv(
    encounters: list[Encounter], events: dict[str, list[dict]], scenarios: dict[str | None, Scenario | None]
) -> str:
    """The summary of each encounter: its scripted challenges, then its unscripted moments."""
    rows = []
    for record in encounters:
        summary = summarize(events[record.id], scenarios[record.scenario])
        rows += [
            {"encounter": record.id, **_flat_reply_cues(item)}
            for item in summary["challenges"] + summary["unscripted_moments"]
        ]
    return _csv(list(CHALLENGE_COLUMNS), rows)


def _flat_reply_cues(item: dict[str, Any]) -> dict[str, Any]:
    """A challenge row with its reply cues as columns: interrupted_disclosure and reply_KIND_z."""
    row = {k: v for k, v in item.items() if k != "reply_cues"}
    cues = item["reply_cues"]
    row["interrupted_disclosure"] = cues.get("interrupted_disclosure", {}).get("value")
    for kind, _, _ in REPLY_MEASURES:
        row[f"reply_{kind}_z"] = cues.get(kind, {}).get("z")
    return row


def _duration(tracks: list[dict[str, Any]], events: list[dict[str, Any]]) -> float:
    """Seconds of encounter audio: the longest track, or the last event if that ends later."""
    return round(max([t["duration"] or 0.0 for t in tracks] + [e["t1"] for e in events] + [0.0]), 3)


def _media(record: Encounter, tracks: list[dict[str, Any]]) -> list[Media]:
    """The encounter's recordings, linked as `./ENCOUNTER-ROLE.wav` beside the .eaf: a path on the
    server would open nothing on the coder's machine, and a source file's name may name the
    participant. The coordinator copies the recordings (GET .../recordings/ROLE.wav) under those names."""
    media, seen = [], set()
    for track in tracks:
        if track["source"] in seen:  # several channels of one file
            continue
        seen.add(track["source"])
        source = Path(track["source"])
        name = f"./{record.id}-{track['role']}{source.suffix.lower()}"
        media.append(Media(name, mime_type(source.name), name))
    return media


def _iso(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds") if timestamp else None
