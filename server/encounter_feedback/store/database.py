"""The encounter store: SQLite, the source of truth for encounters, tracks and events.

A subscriber catching up, an export and a server restart all read from here. WAL mode lets
readers run while the live pipeline writes. The schema evolves through numbered migrations
recorded in `PRAGMA user_version`, so an old data directory is upgraded in place.

The data directory is owner-only (private.py): the database, its WAL and shared-memory files
(SQLite gives them the database file's mode), the recordings under `recordings/ENCOUNTER/`.
Deleting an encounter removes its rows and its recordings; `secure_delete` overwrites the
freed pages and the WAL is truncated, so its words do not linger in the file. The audit log
(who read, exported or deleted what) is kept: it names encounters only by their random ids.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from encounter_feedback.errors import UserError
from encounter_feedback.events import Event
from encounter_feedback.private import private_dir, touch_private
from encounter_feedback.store.corrections import with_speaker_corrections
from encounter_feedback.transcript import requote

MIGRATIONS: list[str] = [
    # 1: encounters, their tracks, and their events in arrival order.
    """
    CREATE TABLE encounters (
        id TEXT PRIMARY KEY,
        scenario TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        join_token TEXT NOT NULL,
        created_at REAL NOT NULL,
        finished_at REAL
    );
    CREATE TABLE tracks (
        encounter TEXT NOT NULL REFERENCES encounters(id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        source TEXT NOT NULL,
        channel INTEGER,
        duration REAL,
        PRIMARY KEY (encounter, role)
    );
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        encounter TEXT NOT NULL REFERENCES encounters(id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        type TEXT NOT NULL,
        t0 REAL,
        body TEXT NOT NULL
    );
    CREATE INDEX events_by_encounter ON events(encounter, seq);
    """,
    # 2: the export audit log: who exported what, when, and whether blind.
    """
    CREATE TABLE exports (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        who TEXT NOT NULL,
        format TEXT NOT NULL,
        blind INTEGER NOT NULL,
        filters TEXT NOT NULL,
        encounters TEXT NOT NULL
    );
    """,
    # 3: accounts (store/accounts.py), their API tokens and browser sessions (secrets stored as
    # hashes only), and the access log: who read or deleted which encounter's data.
    """
    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        password TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        hash TEXT NOT NULL UNIQUE,
        label TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE sessions (
        hash TEXT PRIMARY KEY,
        user TEXT NOT NULL,
        role TEXT NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE TABLE access_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        who TEXT NOT NULL,
        action TEXT NOT NULL,
        encounter TEXT,
        detail TEXT NOT NULL DEFAULT ''
    );
    """,
]

OVERVIEW_QUERY = """
    SELECT e.id, t.recorded, v.last_t0, v.moments, v.microaggressions, v.responsive
    FROM encounters e
    LEFT JOIN (SELECT encounter, MAX(duration) AS recorded FROM tracks GROUP BY encounter) t ON t.encounter = e.id
    LEFT JOIN (
        SELECT encounter, MAX(t0) AS last_t0,
            COUNT(DISTINCT CASE WHEN type = 'moment' THEN id END) AS moments,
            COUNT(DISTINCT CASE WHEN type = 'response' AND json_extract(body, '$.group') = 'microaggression'
                THEN id END) AS microaggressions,
            COUNT(DISTINCT CASE WHEN type = 'response' AND json_extract(body, '$.group') = 'responsive'
                THEN id END) AS responsive
        FROM events GROUP BY encounter
    ) v ON v.encounter = e.id
"""

METADATA_FILTERS = ("cohort", "condition")
"""Metadata keys encounters can be listed by (besides scenario and date)."""


class UnknownEncounter(UserError):
    """No encounter has this id."""


@dataclass(frozen=True)
class Encounter:
    """One simulated encounter and its research metadata."""

    id: str
    scenario: str | None
    metadata: dict[str, Any]
    join_token: str
    created_at: float
    finished_at: float | None


@dataclass(frozen=True)
class Overview:
    """What the encounter list shows of an encounter besides its record, counted for all
    encounters in one query (`Store.overviews`)."""

    duration: float
    """Seconds recorded: the longest track, else the start of the last event (0: nothing yet)."""
    moments: int
    microaggressions: int
    """Replies coded as microaggressions."""
    responsive: int
    """Replies coded as responsive."""


@dataclass(frozen=True)
class ExportRecord:
    """One audit log entry: who exported which encounters, when, in what format, blind or not."""

    id: int
    at: float
    who: str
    format: str
    blind: bool
    filters: dict[str, Any]
    encounters: list[str]


@dataclass(frozen=True)
class AccessRecord:
    """One access log entry: who did what (`events`, `recording`, `live_view`, `delete`, ...) to which
    encounter, when."""

    id: int
    at: float
    who: str
    action: str
    encounter: str | None
    detail: str


class Store:
    """Thread-safe access to one SQLite database file."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = private_dir(data_dir)
        self.path = data_dir / "encounters.sqlite3"
        touch_private(self.path)  # SQLite creates the WAL and shared-memory files with the database's mode
        for leftover in (Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):  # from an older version
            if leftover.exists():
                leftover.chmod(0o600)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA secure_delete=ON")
        self._migrate()

    def close(self) -> None:
        self._db.close()

    @property
    def schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        with self._lock:
            for version in range(self.schema_version, len(MIGRATIONS)):
                self._db.executescript(f"BEGIN; {MIGRATIONS[version]} PRAGMA user_version = {version + 1}; COMMIT;")

    def create_encounter(self, scenario: str | None = None, metadata: dict[str, Any] | None = None) -> Encounter:
        """A new encounter with a fresh id and join token."""
        encounter = Encounter(
            id="enc-" + secrets.token_hex(5),
            scenario=scenario,
            metadata=metadata or {},
            # hex, because a station passes it as `--token VALUE`: a URL-safe token starting with "-"
            # (1 in 64) reads to argparse as another option
            join_token=secrets.token_hex(16),
            created_at=time.time(),
            finished_at=None,
        )
        with self._lock:
            self._db.execute(
                "INSERT INTO encounters (id, scenario, metadata, join_token, created_at) VALUES (?, ?, ?, ?, ?)",
                (encounter.id, scenario, json.dumps(encounter.metadata), encounter.join_token, encounter.created_at),
            )
        return encounter

    def encounter(self, encounter_id: str) -> Encounter:
        """The encounter with this id; UnknownEncounter if there is none."""
        row = self._db.execute("SELECT * FROM encounters WHERE id = ?", (encounter_id,)).fetchone()
        if row is None:
            raise UnknownEncounter(f"no encounter {encounter_id!r} in {self.data_dir}")
        return _encounter(row)

    def encounters(
        self,
        scenario: str | None = None,
        cohort: str | None = None,
        condition: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[Encounter]:
        """Encounters, newest first: all, or those of a scenario, cohort and condition created in
        [since, until) (Unix seconds). Metadata values match as text, so cohort 2026 matches "2026"."""
        clauses: list[str] = ["1 = 1"]
        params: list[str | float] = []
        if scenario is not None:
            clauses.append("scenario = ?")
            params.append(scenario)
        for key, value in zip(METADATA_FILTERS, (cohort, condition)):
            if value is not None:
                clauses.append(f"CAST(json_extract(metadata, '$.{key}') AS TEXT) = ?")
                params.append(value)
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(since)
        if until is not None:
            clauses.append("created_at < ?")
            params.append(until)
        rows = self._db.execute(
            f"SELECT * FROM encounters WHERE {' AND '.join(clauses)} ORDER BY created_at DESC", params
        ).fetchall()
        return [_encounter(row) for row in rows]

    def update_metadata(self, encounter_id: str, changes: dict[str, Any]) -> Encounter:
        """Merge `changes` into the encounter's metadata (a None value removes the key)."""
        with self._lock:
            record = self.encounter(encounter_id)
            metadata = {**record.metadata, **changes}
            metadata = {key: value for key, value in metadata.items() if value is not None}
            self._db.execute("UPDATE encounters SET metadata = ? WHERE id = ?", (json.dumps(metadata), encounter_id))
        return self.encounter(encounter_id)

    def set_scenario(self, encounter_id: str, scenario: str | None) -> Encounter:
        self.encounter(encounter_id)
        with self._lock:
            self._db.execute("UPDATE encounters SET scenario = ? WHERE id = ?", (scenario, encounter_id))
        return self.encounter(encounter_id)

    def recordings_dir(self, encounter_id: str) -> Path:
        """Where the live server records the encounter's roles (the recorder makes it, owner-only)."""
        return self.data_dir / "recordings" / encounter_id

    def delete_encounter(self, encounter_id: str, who: str) -> None:
        """Remove the encounter, its tracks and events, and every file of it in the data directory
        (a recording analysed offline from elsewhere is the user's own file: it stays); logged."""
        sources = [Path(track["source"]) for track in self.tracks(encounter_id)]
        with self._lock:
            if self._db.execute("DELETE FROM encounters WHERE id = ?", (encounter_id,)).rowcount == 0:
                raise UnknownEncounter(f"no encounter {encounter_id!r} in {self.data_dir}")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # freed pages zeroed (secure_delete), WAL emptied
        shutil.rmtree(self.data_dir / "recordings" / encounter_id, ignore_errors=True)
        for source in sources:
            if source.resolve().is_relative_to(self.data_dir.resolve()):
                source.unlink(missing_ok=True)
        self.record_access(who, "delete", encounter_id)

    def created_before(self, moment: float) -> list[Encounter]:
        """Encounters created before `moment` (Unix seconds) that are finished or never started (no
        track): what `encounter delete --before` and a retention period remove. One still running
        is left alone."""
        rows = self._db.execute(
            "SELECT * FROM encounters WHERE created_at < ? AND (finished_at IS NOT NULL OR NOT EXISTS "
            "(SELECT 1 FROM tracks WHERE tracks.encounter = encounters.id)) ORDER BY created_at",
            (moment,),
        )
        return [_encounter(row) for row in rows]

    def finish(self, encounter_id: str) -> None:
        self.encounter(encounter_id)
        with self._lock:
            self._db.execute("UPDATE encounters SET finished_at = ? WHERE id = ?", (time.time(), encounter_id))

    def add_track(self, encounter_id: str, role: str, source: str, channel: int | None, duration: float | None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO tracks VALUES (?, ?, ?, ?, ?)", (encounter_id, role, source, channel, duration)
            )

    def tracks(self, encounter_id: str) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM tracks WHERE encounter = ? ORDER BY role", (encounter_id,))
        return [dict(row) for row in rows]

    def all_tracks(self) -> dict[str, list[dict[str, Any]]]:
        """Every encounter's tracks, by encounter id, in one query (encounters without are absent)."""
        tracks: dict[str, list[dict[str, Any]]] = {}
        for row in self._db.execute("SELECT * FROM tracks ORDER BY encounter, role"):
            tracks.setdefault(row["encounter"], []).append(dict(row))
        return tracks

    def overviews(self) -> dict[str, Overview]:
        """Every encounter's length and counts of moments and coded replies, in one query: the
        encounter list shows them all on one page load. An event re-sent with its id counts once."""
        rows = self._db.execute(OVERVIEW_QUERY).fetchall()
        return {
            row["id"]: Overview(
                duration=round(row["recorded"] or row["last_t0"] or 0.0, 3),
                moments=row["moments"] or 0,
                microaggressions=row["microaggressions"] or 0,
                responsive=row["responsive"] or 0,
            )
            for row in rows
        }

    def add_events(self, events: Iterable[Event]) -> list[int]:
        """Append events in one transaction; returns their sequence numbers."""
        rows = [(e.encounter, e.id, e.type, e.t0, json.dumps(e.to_dict())) for e in events]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                seqs = [
                    _row_id(
                        self._db.execute(
                            "INSERT INTO events (encounter, id, type, t0, body) VALUES (?, ?, ?, ?, ?)", row
                        )
                    )
                    for row in rows
                ]
            except BaseException:
                self._db.execute("ROLLBACK")  # e.g. the encounter was deleted meanwhile: no transaction left open
                raise
            self._db.execute("COMMIT")
        return seqs

    def events(self, encounter_id: str, after_seq: int = 0) -> list[tuple[int, dict[str, Any]]]:
        """(seq, event) pairs in arrival order, those after `after_seq` only."""
        self.encounter(encounter_id)
        rows = self._db.execute(
            "SELECT seq, body FROM events WHERE encounter = ? AND seq > ? ORDER BY seq", (encounter_id, after_seq)
        )
        return [(row["seq"], json.loads(row["body"])) for row in rows]

    def latest_events(self, encounter_id: str) -> list[dict[str, Any]]:
        """The encounter's events as of now, in time order: see `latest`."""
        return latest(body for _, body in self.events(encounter_id))

    def record_export(
        self, who: str, format: str, blind: bool, filters: dict[str, Any], encounters: list[str]
    ) -> ExportRecord:
        """Append an entry to the export audit log."""
        at = time.time()
        with self._lock:
            export_id = _row_id(
                self._db.execute(
                    "INSERT INTO exports (at, who, format, blind, filters, encounters) VALUES (?, ?, ?, ?, ?, ?)",
                    (at, who, format, int(blind), json.dumps(filters), json.dumps(encounters)),
                )
            )
        return ExportRecord(export_id, at, who, format, blind, filters, encounters)

    def record_access(self, who: str, action: str, encounter: str | None = None, detail: str = "") -> None:
        """Append an entry to the access log."""
        with self._lock:
            self._db.execute(
                "INSERT INTO access_log (at, who, action, encounter, detail) VALUES (?, ?, ?, ?, ?)",
                (time.time(), who, action, encounter, detail),
            )

    def accesses(self) -> list[AccessRecord]:
        """The access log, oldest first."""
        rows = self._db.execute("SELECT * FROM access_log ORDER BY id").fetchall()
        return [AccessRecord(r["id"], r["at"], r["who"], r["action"], r["encounter"], r["detail"]) for r in rows]

    def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement that writes (for store/accounts.py); returns the rows it changed."""
        with self._lock:
            return self._db.execute(sql, tuple(params)).rowcount

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Rows of one read (for store/accounts.py)."""
        return self._db.execute(sql, tuple(params)).fetchall()

    def exports(self) -> list[ExportRecord]:
        """The export audit log, oldest first."""
        rows = self._db.execute("SELECT * FROM exports ORDER BY id").fetchall()
        return [
            ExportRecord(
                row["id"],
                row["at"],
                row["who"],
                row["format"],
                bool(row["blind"]),
                json.loads(row["filters"]),
                json.loads(row["encounters"]),
            )
            for row in rows
        ]


def latest(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The latest version of each event id (a second-pass final re-sent with the same id replaces
    the first), without withdrawn finals (no words: no speech) or other withdrawn events
    (`withdrawn`: a flag that no longer holds), faculty speaker corrections applied
    (store/corrections.py), in time order; flags quote the latest version of their segments
    (transcript.requote)."""
    by_id = {event["id"]: event for event in events}
    kept = [
        e
        for e in by_id.values()
        if not e.get("withdrawn") and not (e["type"] == "segment" and not (e.get("final") and e.get("text")))
    ]
    return sorted(requote(with_speaker_corrections(kept)), key=lambda event: event["t0"])


def _row_id(cursor: sqlite3.Cursor) -> int:
    """The id SQLite gave the row an INSERT just added (always set after a successful INSERT)."""
    if cursor.lastrowid is None:
        raise RuntimeError("SQLite returned no row id for an INSERT")
    return cursor.lastrowid


def _encounter(row: sqlite3.Row) -> Encounter:
    return Encounter(
        id=row["id"],
        scenario=row["scenario"],
        metadata=json.loads(row["metadata"]),
        join_token=row["join_token"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
    )
