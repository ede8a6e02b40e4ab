"""The SQLite store: migrations, WAL, persistence across reopen, unknown ids."""

from __future__ import annotations

import sqlite3

import pytest

from encounter_feedback.events import Segment, Status
from encounter_feedback.store.database import MIGRATIONS, Store, UnknownEncounter


def test_schema_is_migrated_and_wal(tmp_path):
    store = Store(tmp_path)
    assert store.schema_version == len(MIGRATIONS)
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()
    assert Store(tmp_path).schema_version == len(MIGRATIONS)  # reopening does not re-run migrations


def test_encounters_and_events_survive_reopen(tmp_path):
    store = Store(tmp_path)
    enc = store.create_encounter("ed-pain-dismissed", {"cohort": "2026"})
    events = [
        Status(id="s1", encounter=enc.id, speaker="unknown", t0=0, t1=0, state="started"),
        Segment(
            id="patient-1",
            encounter=enc.id,
            speaker="patient",
            t0=1.2344,
            t1=2.5,
            text="hi",
            final=True,
            words=[{"w": "hi", "t0": 1.234, "t1": 2.5, "p": 0.9}],
            avg_logprob=-0.2,
        ),
    ]
    store.add_events(events)
    store.add_track(enc.id, "patient", "/rec/p.wav", None, 2.5)
    store.close()

    again = Store(tmp_path)
    assert again.encounter(enc.id).metadata == {"cohort": "2026"}
    stored = again.events(enc.id)
    assert [body for _, body in stored] == [e.to_dict() for e in events]
    assert stored[1][1]["t0"] == 1.234
    assert again.events(enc.id, after_seq=stored[0][0]) == stored[1:]
    assert again.tracks(enc.id)[0]["source"] == "/rec/p.wav"
    assert [e.id for e in again.encounters()] == [enc.id]


def test_unknown_encounter(tmp_path):
    store = Store(tmp_path)
    with pytest.raises(UnknownEncounter):
        store.encounter("enc-nope")
    with pytest.raises(UnknownEncounter):
        store.events("enc-nope")


def test_events_need_an_encounter(tmp_path):
    store = Store(tmp_path)
    with pytest.raises(sqlite3.IntegrityError):
        store.add_events([Status(id="x", encounter="enc-nope", speaker="unknown", t0=0, t1=0, state="started")])
