"""The SQLite store: migrations, WAL, persistence across reopen, unknown ids."""

from __future__ import annotations

import sqlite3

import pytest

from encounter_feedback.events import Moment, Response, Segment, Status
from encounter_feedback.store.database import MIGRATIONS, Overview, Store, UnknownEncounter


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


def test_overviews_count_every_encounter_at_once(tmp_path):
    store = Store(tmp_path)
    recorded, silent = store.create_encounter(), store.create_encounter()
    moment = Moment(
        id="moment-1",
        encounter=recorded.id,
        speaker="patient",
        t0=3,
        t1=6,
        label="mistrust",
        confidence=0.8,
        segment="patient-1",
    )
    replies = [
        Response(
            id=f"response-{i}",
            encounter=recorded.id,
            speaker="provider",
            t0=7 + i,
            t1=8 + i,
            label=label,
            group=group,
            confidence=0.7,
            moment="moment-1",
            segment=f"provider-{i}",
            latency=1.0,
        )
        for i, (label, group) in enumerate(
            [("validation", "responsive"), ("deflecting", "microaggression"), (None, "neutral")]
        )
    ]
    store.add_events([moment, moment, *replies, replies[0]])  # re-sent events count once
    store.add_track(recorded.id, "patient", "/rec/p.wav", None, 61.5)
    store.add_track(recorded.id, "provider", "/rec/q.wav", None, 60.0)
    overviews = store.overviews()
    assert overviews[recorded.id] == Overview(duration=61.5, moments=1, microaggressions=1, responsive=1)
    assert overviews[silent.id] == Overview(duration=0.0, moments=0, microaggressions=0, responsive=0)
    assert [t["role"] for t in store.all_tracks()[recorded.id]] == ["patient", "provider"]
    assert silent.id not in store.all_tracks()
