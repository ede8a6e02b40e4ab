"""Research exports: every format read back by its own tool, blinding, filters, the audit log,
metadata edits, and the export API. Encounters are built from real events in a real Store."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import zipfile
from pathlib import Path

import httpx
import pandas as pd
import pytest
import webvtt
from praatio import textgrid as praat
from pympi import Eaf

from encounter_feedback.cli.main import main
from encounter_feedback.research.export import (
    FORMATS,
    NothingToExport,
    Selection,
    build,
    parse_formats,
    write_directory,
)
from encounter_feedback.store.accounts import Accounts
from encounter_feedback.store.database import MIGRATIONS, Store
from encounter_feedback.taxonomy import MOMENT_LABELS, RESPONSE_LABELS
from encounter_feedback.web.app import Services, create_app, running
from stored_encounters import CONDITION, DISCLOSURE, PARTICIPANT, make_encounter


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "data")


def exported(store: Store, out: Path, blind: bool = False, **selection) -> Path:
    built = build(store, Selection(**selection), FORMATS, blind)
    write_directory(built.files, out)
    built.record(store, "tester")
    return out


def seconds(clock: str) -> float:
    hours, minutes, rest = clock.replace(",", ".").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)


def test_every_format_reads_back_with_times_and_labels_intact(store, tmp_path):
    enc = make_encounter(store, tmp_path)
    out = exported(store, tmp_path / "out", encounters=(enc,))
    latest = store.latest_events(enc)
    speech = [e for e in latest if e["type"] == "segment"]
    assert [s["id"] for s in speech] == ["provider-1", "patient-1", "patient-2", "provider-2"]  # withdrawn final gone

    events = pd.read_csv(out / "events.csv")
    assert list(events["id"]) == [e["id"] for e in latest]  # one row per event, only the latest of each id
    assert events["t0"].tolist() == [e["t0"] for e in latest] and events["t1"].tolist() == [e["t1"] for e in latest]
    rows = events.set_index("id")
    assert rows.loc["provider-2", "text"] == "That should never have happened to you."  # the second pass wins
    assert rows.loc["moment-1", "label"] == "discrimination_disclosure" and rows.loc["moment-1", "confidence"] == 0.91
    assert (rows.loc["response-1", "label"], rows.loc["response-1", "group"], rows.loc["response-1", "latency"]) == (
        "validation",
        "responsive",
        0.4,
    )
    assert (rows.loc["cue-1", "kind"], rows.loc["cue-1", "value"], rows.loc["cue-1", "unit"]) == (
        "long_pause",
        3.2,
        "s",
    )
    assert rows.loc["note-1", "author"] == "Dr. Ames" and rows.loc["note-1", "verdict"] == "confirm"

    assert [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()] == latest

    vtt = webvtt.read(str(out / enc / "transcript.vtt"))
    assert [(seconds(c.start), seconds(c.end), c.voice, c.text) for c in vtt] == [
        (s["t0"], s["t1"], s["speaker"].capitalize(), s["text"]) for s in speech
    ]
    srt = webvtt.from_srt(str(out / enc / "transcript.srt"))
    assert [(seconds(c.start), seconds(c.end), c.text) for c in srt] == [
        (s["t0"], s["t1"], f"{s['speaker'].capitalize()}: {s['text']}") for s in speech
    ]

    grid = praat.openTextgrid(
        str(out / enc / "annotations.TextGrid"), includeEmptyIntervals=True, reportingMode="error"
    )
    assert grid.tierNames == ("patient", "provider", "moments", "responses", "cues", "cues 2", "notes")
    assert grid.maxTimestamp == 20.0  # the tracks' length
    for name in grid.tierNames:  # every tier tiles [0, 20]: no gaps, no overlaps
        entries = grid.getTier(name).entries
        assert entries[0].start == 0 and entries[-1].end == 20.0
        assert all(a.end == b.start for a, b in zip(entries, entries[1:]))
    labelled = {
        name: [(e.start, e.end, e.label) for e in grid.getTier(name).entries if e.label] for name in grid.tierNames
    }
    assert labelled["patient"] == [(3.6, 6.0, "My stomach has hurt for three days."), (6.5, 12.0, DISCLOSURE)]
    assert labelled["moments"] == [(6.5, 12.0, "discrimination_disclosure")]
    assert labelled["responses"] == [(12.4, 15.0, "validation")]
    assert labelled["cues"] == [(0.0, 18.2, "talk_share 0.55 fraction")]  # overlapping cues in two lanes
    assert labelled["cues 2"] == [(15.0, 18.2, "long_pause 3.2 s")]
    assert labelled["notes"] == [(13.0, 13.001, 'Dr. Ames: Good "validation" here; confirm response-1')]

    eaf = Eaf(str(out / enc / "annotations.eaf"))
    assert sorted(eaf.get_tier_names()) == sorted(grid.tierNames)
    for name in grid.tierNames:
        assert [(a[0] / 1000, a[1] / 1000, a[2]) for a in sorted(eaf.get_annotation_data_for_tier(name))] == labelled[
            name
        ]
    assert [m["MEDIA_URL"] for m in eaf.media_descriptors] == [
        f"./{enc}-{role}.wav" for role in ("patient", "provider")
    ]  # beside the .eaf, not a path on the server, and without the participant id of the source's name
    assert {m["MIME_TYPE"] for m in eaf.media_descriptors} == {"audio/x-wav"}

    codebook = pd.read_csv(out / "codebook.csv", keep_default_na=False)
    assert set(codebook[codebook.section == "moment"].name) == set(MOMENT_LABELS)
    assert set(codebook[codebook.section == "response"].name) == set(RESPONSE_LABELS)
    assert set(codebook[codebook.section == "events.csv"].name) == set(events.columns)
    assert codebook.set_index(["section", "name"]).loc[("events.csv", "latency"), "unit"] == "s"

    [challenge] = pd.read_csv(out / "challenges.csv").to_dict("records")
    assert (challenge["scripted_label"], challenge["detected"], challenge["t0"], challenge["response"]) == (
        "discrimination_disclosure",
        True,
        6.5,
        "validation",
    )
    [meta] = pd.read_csv(out / "encounters.csv", dtype=str).to_dict("records")
    assert (meta["participant"], meta["condition"], meta["site"], meta["duration"]) == (
        PARTICIPANT,
        CONDITION,
        "north-campus",
        "20.0",
    )


def test_blind_exports_hold_no_participant_id_or_condition_and_codes_are_stable(store, tmp_path):
    first = make_encounter(store, tmp_path)
    second = make_encounter(store, tmp_path, participant="P-5519-XK", condition="ARM-OSPREY")
    out_a = exported(store, tmp_path / "a", blind=True, cohort="2026")
    out_b = exported(store, tmp_path / "b", blind=True, encounters=(first,))

    for out in (out_a, out_b):
        files = [p for p in out.rglob("*") if p.is_file()]
        assert {p.suffix for p in files} == {".csv", ".jsonl", ".vtt", ".srt", ".TextGrid", ".eaf"}
        for path in files:
            content = path.read_bytes()
            for secret in (PARTICIPANT, "P-5519-XK", CONDITION, "ARM-OSPREY", "north-campus"):
                assert secret not in str(path.relative_to(out)) and secret.encode() not in content, (path, secret)
    rows = pd.read_csv(out_a / "encounters.csv", dtype=str).set_index("encounter")
    assert "condition" not in rows.columns and "site" not in rows.columns
    code = rows.loc[first, "participant"]
    assert code.startswith("anon-") and code != rows.loc[second, "participant"]
    assert pd.read_csv(out_b / "encounters.csv", dtype=str).participant.tolist() == [code]  # stable across exports
    eaf = Eaf(str(out_a / first / "annotations.eaf"))
    assert [m["MEDIA_URL"] for m in eaf.media_descriptors] == [f"./{first}-patient.wav", f"./{first}-provider.wav"]


def test_filters_select_encounters_and_every_export_is_audited(store, tmp_path):
    a = make_encounter(store, tmp_path, condition="control", cohort="2025")
    b = make_encounter(store, tmp_path, condition="intervention", cohort="2026", scenario="bias-question")
    c = make_encounter(store, tmp_path, condition="intervention", cohort="2026", scenario=None)
    assert {e.id for e in store.encounters(condition="intervention")} == {b, c}
    assert [e.id for e in store.encounters(scenario="bias-question")] == [b]
    assert [e.id for e in store.encounters(cohort="2025")] == [a]
    created = store.encounter(b).created_at
    assert {e.id for e in store.encounters(since=created)} == {b, c}
    assert [e.id for e in store.encounters(until=created)] == [a]
    assert {e.id for e in store.encounters(since=0, until=created + 86400)} == {a, b, c}

    built = build(store, Selection(condition="intervention", cohort="2026"), parse_formats("csv,eaf"), True)
    assert built.encounters == (b, c) and set(built.files) == {
        "codebook.csv",
        "encounters.csv",
        "challenges.csv",
        "events.csv",
        f"{b}/annotations.eaf",
        f"{c}/annotations.eaf",
    }
    built.record(store, "dr-ames")
    [record] = store.exports()
    assert (record.who, record.format, record.blind, record.encounters) == ("dr-ames", "csv,eaf", True, [b, c])
    assert record.filters == {"cohort": "2026", "condition": "intervention"} and record.at > created
    assert build(store, Selection(since="2000-01-01", until="2999-12-31"), ("csv",), False).encounters == (a, b, c)
    with pytest.raises(NothingToExport, match="no encounters match"):
        build(store, Selection(cohort="1999"), ("csv",), False)


def test_metadata_edits_merge_and_the_audit_log_migrates_an_old_store(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    db = sqlite3.connect(data / "encounters.sqlite3")  # a store from before the audit log: schema version 1
    db.executescript(f"BEGIN; {MIGRATIONS[0]} PRAGMA user_version = 1; COMMIT;")
    db.close()
    store = Store(data)
    assert store.schema_version == len(MIGRATIONS) >= 2 and store.exports() == []
    enc = store.create_encounter(None, {"participant": "P1", "condition": "A", "site": "x"}).id
    record = store.update_metadata(enc, {"condition": "B", "site": None, "session": "2"})
    assert record.metadata == {"participant": "P1", "condition": "B", "session": "2"}
    assert store.set_scenario(enc, "bias-question").scenario == "bias-question"
    assert [e.id for e in store.encounters(condition="B")] == [enc]


def test_cli_export_writes_files_and_refuses_to_overwrite(store, tmp_path, capsys):
    enc = make_encounter(store, tmp_path)
    args = ["export", enc, "--data", str(store.data_dir), "--out", str(tmp_path / "out"), "--user", "coordinator"]
    assert main(args + ["--blind", "--format", "textgrid,vtt"]) == 0
    assert "1 encounter(s) as textgrid,vtt (blind)" in capsys.readouterr().out
    assert (tmp_path / "out" / enc / "annotations.TextGrid").is_file() and (tmp_path / "out" / "codebook.csv").is_file()
    assert main(args) == 2
    assert "already exists: export to a new or empty --out directory" in capsys.readouterr().err
    assert main(args[:-4] + ["--out", str(tmp_path / "x"), "--format", "docx"]) == 2
    assert "unknown format 'docx'" in capsys.readouterr().err
    assert main(["export", "--cohort", "1999", "--data", str(store.data_dir), "--out", str(tmp_path / "y")]) == 2
    assert "no encounters match (cohort=1999)" in capsys.readouterr().err
    assert [(r.who, r.blind) for r in store.exports()] == [("coordinator", True)]  # failed exports are not logged
    assert main(["audit", "--data", str(store.data_dir)]) == 0
    assert "coordinator: textgrid,vtt blind" in capsys.readouterr().out
    assert main(["metadata", enc, "cohort=2027", "site=", "--data", str(store.data_dir)]) == 0
    assert store.encounter(enc).metadata["cohort"] == "2027" and "site" not in store.encounter(enc).metadata


def test_api_edits_metadata_and_exports_zips(tmp_path, engine):
    key = "test-key"

    async def scenario() -> None:
        services = Services(Store(tmp_path / "data"), engine, key)
        enc = make_encounter(services.store, tmp_path)
        Accounts(services.store).add("dr-ames", "researcher", "a long passphrase")
        _, researcher = Accounts(services.store).add_token("dr-ames")
        async with running(create_app(services)) as server, httpx.AsyncClient(base_url=server.url) as http:
            auth = {"Authorization": f"Bearer {key}"}
            assert (await http.get("/api/export")).status_code == 401
            assert (await http.get("/api/export", headers={"Authorization": "Bearer nope"})).status_code == 403
            assert (await http.patch(f"/api/encounters/{enc}", json={})).status_code == 401
            missing = await http.patch("/api/encounters/enc-nope", json={"metadata": {"cohort": "x"}}, headers=auth)
            assert missing.status_code == 404 and "enc-nope" in missing.json()["detail"]
            assert (await http.get("/api/encounters/enc-nope/export", headers=auth)).status_code == 404

            patched = await http.patch(
                f"/api/encounters/{enc}",
                headers=auth,
                json={"scenario": "bias-question", "metadata": {"cohort": "2027", "site": None}},
            )
            assert patched.status_code == 200
            assert patched.json()["scenario"] == "bias-question" and patched.json()["metadata"] == {
                "participant": PARTICIPANT,
                "cohort": "2027",
                "condition": CONDITION,
                "station": "room-3",
                "session": "s1",
            }
            bad = await http.patch(f"/api/encounters/{enc}", headers=auth, json={"scenario": "nope"})
            assert bad.status_code == 400 and "no scenario 'nope'" in bad.json()["detail"]

            response = await http.get(
                "/api/export",
                params={"cohort": "2027", "format": "csv"},  # a researcher's export is blind by default
                headers={"Authorization": f"Bearer {researcher}", "X-User": "someone-else"},
            )
            assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
            archive = zipfile.ZipFile(io.BytesIO(response.content))
            assert set(archive.namelist()) == {"codebook.csv", "encounters.csv", "challenges.csv", "events.csv"}
            assert all(
                PARTICIPANT.encode() not in archive.read(n) and CONDITION.encode() not in archive.read(n)
                for n in archive.namelist()
            )
            one = await http.get(
                f"/api/encounters/{enc}/export", params={"format": "eaf", "user": "coder"}, headers=auth
            )
            assert f"{enc}/annotations.eaf" in zipfile.ZipFile(io.BytesIO(one.content)).namelist()
            assert (await http.get("/api/export", params={"cohort": "1999"}, headers=auth)).status_code == 404
            wrong = await http.get("/api/export", params={"format": "docx"}, headers=auth)
            assert wrong.status_code == 400 and "unknown format" in wrong.json()["detail"]
            log = (await http.get("/api/exports", headers=auth)).json()
            assert [(r["who"], r["format"], r["blind"], r["encounters"]) for r in log] == [
                ("dr-ames", "csv", True, [enc]),  # the authenticated name, whatever the caller claims
                ("server-key", "eaf", False, [enc]),
            ]
            assert log[0]["filters"] == {"cohort": "2027"}

    asyncio.run(scenario())
