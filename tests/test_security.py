"""Data protection and access, against a real server, store and files: hostile input is refused
and breaks nothing, roles and tokens hold, the join token reads nothing, files are owner-only,
deletion leaves nothing behind, browsers get protective headers, TLS works."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import os
import ssl
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
import websockets

from encounter_feedback.cli.main import main
from encounter_feedback.media.recording import WavRecorder
from encounter_feedback.research.export import FORMATS, Selection, build, write_directory
from encounter_feedback.store.accounts import Accounts
from encounter_feedback.store.database import Store
from encounter_feedback.web.access import load_access_key
from encounter_feedback.web.app import Services, Tls, create_app, running
from encounter_feedback.web.services import retention
from encounter_feedback.web.throttle import PER_ADDRESS, PER_NAME, WINDOW_S, LoginThrottle
from stored_encounters import CONDITION, PARTICIPANT, make_encounter

KEY = "security-test-key"
PASSWORD = "a long enough passphrase"


@dataclass
class Server:
    url: str
    services: Services
    http: httpx.AsyncClient
    tokens: dict[str, str]
    """A personal API token per role: the user `dr-ROLE` has role ROLE."""

    def auth(self, role: str = "key") -> dict[str, str]:
        return {"Authorization": f"Bearer {KEY if role == 'key' else self.tokens[role]}"}

    def ws(self, path: str) -> str:
        return self.url.replace("http", "ws", 1) + path


@contextlib.asynccontextmanager
async def server(
    data: Path, engine, tls: Tls | None = None, verify: bool | ssl.SSLContext = True
) -> AsyncIterator[Server]:
    services = Services(Store(data), engine, KEY)
    accounts = Accounts(services.store)
    tokens = {}
    for role in ("admin", "faculty", "researcher"):
        accounts.add(f"dr-{role}", role, PASSWORD)
        tokens[role] = accounts.add_token(f"dr-{role}")[1]
    async with (
        running(create_app(services), tls=tls) as served,
        httpx.AsyncClient(base_url=served.url, verify=verify) as http,
    ):
        yield Server(served.url, services, http, tokens)


def test_hostile_bodies_and_parameters_get_4xx_and_the_list_still_works(tmp_path, engine):
    async def scenario() -> tuple[dict[str, tuple[int, str]], int, list, tuple[int, str]]:
        async with server(tmp_path / "data", engine) as s:
            enc = (await s.http.post("/api/encounters", json={}, headers=s.auth())).json()["id"]
            json_headers = {**s.auth(), "Content-Type": "application/json"}
            deep_note = '{"author": "A", "t0": 1, "text": ' + "[" * 50_000 + "]" * 50_000 + "}"
            shallow_deep = '{"author": "A", "t0": 1, "text": ' + "[" * 5_000 + "]" * 5_000 + "}"

            async def chunks():
                for _ in range(2000):  # 100 MB announced by nothing: counted as it arrives
                    yield b"x" * 50_000

            calls = {
                "lone surrogate in metadata": s.http.post(
                    "/api/encounters",
                    content='{"metadata": {"participant": "P-\\ud800"}}',
                    headers=json_headers,
                ),
                "lone surrogate in an edit": s.http.patch(
                    f"/api/encounters/{enc}", content='{"metadata": {"cohort": "\\udfff"}}', headers=json_headers
                ),
                "lone surrogate in a key": s.http.patch(
                    f"/api/encounters/{enc}", content='{"metadata": {"\\ud800x": 1}}', headers=json_headers
                ),
                "lone surrogate in a note": s.http.post(
                    f"/api/encounters/{enc}/notes",
                    content='{"author": "A", "t0": 1, "text": "\\ud800"}',
                    headers=json_headers,
                ),
                "huge integer": s.http.get(f"/api/encounters/{enc}/events", params={"after": 10**20}, headers=s.auth()),
                "negative seq": s.http.get(f"/api/encounters/{enc}/events", params={"after": -1}, headers=s.auth()),
                "huge metadata number": s.http.post(
                    "/api/encounters", content='{"metadata": {"n": 1e400}}', headers=json_headers
                ),
                "NaN in metadata": s.http.post(
                    "/api/encounters", content='{"metadata": {"n": NaN}}', headers=json_headers
                ),
                "nested metadata": s.http.post("/api/encounters", json={"metadata": {"n": [[1]]}}, headers=s.auth()),
                "too many keys": s.http.post(
                    "/api/encounters", json={"metadata": {f"k{i}": i for i in range(40)}}, headers=s.auth()
                ),
                "long value": s.http.post(
                    "/api/encounters", json={"metadata": {"cohort": "c" * 201}}, headers=s.auth()
                ),
                "deep JSON note (100 kB)": s.http.post(
                    f"/api/encounters/{enc}/notes", content=deep_note, headers=json_headers
                ),
                "deep JSON note (10 kB)": s.http.post(
                    f"/api/encounters/{enc}/notes", content=shallow_deep, headers=json_headers
                ),
                "oversized note": s.http.post(
                    f"/api/encounters/{enc}/notes",
                    json={"author": "A", "t0": 1, "text": "x" * 1_000_000},
                    headers=s.auth(),
                ),
                "oversized, chunked": s.http.post(
                    f"/api/encounters/{enc}/notes", content=chunks(), headers=json_headers
                ),
                "1 MB SDP": s.http.post(
                    f"/api/encounters/{enc}/offer",
                    json={"sdp": "v=0\r\n" + "a=x\r\n" * 200_000, "role": "patient", "token": "t"},
                ),
                "nothing until year 1": s.http.get("/api/export", params={"until": "0001-01-01"}, headers=s.auth()),
                "date as a number": s.http.get("/api/export", params={"since": "0.5"}, headers=s.auth()),
                "unknown format": s.http.get("/api/export", params={"format": "docx"}, headers=s.auth()),
                "long filter": s.http.get("/api/export", params={"cohort": "c" * 300}, headers=s.auth()),
            }
            answers = {}
            for name, call in calls.items():
                response = await call
                answers[name] = (response.status_code, response.json()["detail"])
            since_year_1 = await s.http.get("/api/export", params={"since": "0001-01-01"}, headers=s.auth())
            answers["since year 1"] = (since_year_1.status_code, since_year_1.headers["content-type"])
            listing = await s.http.get("/api/encounters", headers=s.auth())
            with pytest.raises(websockets.InvalidStatus) as refused:
                async with websockets.connect(
                    s.ws(f"/ws/encounters/{enc}?after={10**20}"), additional_headers=s.auth()
                ):
                    pass
            ws = (refused.value.response.status_code, json.loads(refused.value.response.body)["detail"])
            return answers, listing.status_code, listing.json(), ws

    answers, listed, encounters, ws = asyncio.run(scenario())
    assert {name: status for name, (status, _) in answers.items()} == {
        name: 413
        if name.startswith(("oversized", "1 MB", "deep JSON note (100"))
        else 404
        if name == "nothing until year 1"
        else 200
        if name == "since year 1"
        else 400
        for name in answers
    }, answers
    assert answers["lone surrogate in metadata"][1] == (
        "metadata.participant is not valid Unicode text (a lone surrogate): send UTF-8 text"
    )
    assert answers["huge integer"][1] == "?after must be <= 9223372036854775807, not '100000000000000000000'"
    assert "nested too deeply" in answers["deep JSON note (10 kB)"][1]
    assert answers["oversized note"][1] == "the body is too large: this server takes at most 65536 bytes"
    assert "no encounters match" in answers["nothing until year 1"][1]  # a valid date before 1970 (it was a 500)
    assert answers["since year 1"][1] == "application/zip"
    assert "metadata.n" in answers["nested metadata"][1] and "more than 32 keys" in answers["too many keys"][1]
    assert listed == 200 and [e["metadata"] for e in encounters] == [{}], "nothing of the refused bodies was stored"
    assert ws == (400, "?after must be <= 9223372036854775807, not '100000000000000000000'")


def test_roles_decide_who_deletes_exports_identified_watches_and_reads_the_log(tmp_path, engine):
    async def scenario() -> dict[str, int]:
        async with server(tmp_path / "data", engine) as s:
            enc = make_encounter(s.services.store, tmp_path)
            status = {}
            for role in ("faculty", "researcher", "admin"):
                for blind in (None, "1", "0"):
                    params = {"format": "csv"} | ({"blind": blind} if blind else {})
                    response = await s.http.get(f"/api/encounters/{enc}/export", params=params, headers=s.auth(role))
                    status[f"{role} export blind={blind}"] = response.status_code
                status[f"{role} audit log"] = (await s.http.get("/api/audit", headers=s.auth(role))).status_code
                status[f"{role} notes"] = (
                    await s.http.post(
                        f"/api/encounters/{enc}/notes", json={"author": role, "t0": 1}, headers=s.auth(role)
                    )
                ).status_code
                status[f"{role} create"] = (
                    await s.http.post("/api/encounters", json={}, headers=s.auth(role))
                ).status_code
                status[f"{role} join token"] = (
                    await s.http.get(f"/api/encounters/{enc}", headers=s.auth(role))
                ).json()["join_token"] is not None
                try:
                    async with websockets.connect(s.ws(f"/ws/encounters/{enc}"), additional_headers=s.auth(role)):
                        status[f"{role} live view"] = 101
                except websockets.InvalidStatus as exc:
                    status[f"{role} live view"] = exc.response.status_code
            for role in ("researcher", "faculty", "admin"):
                status[f"{role} delete"] = (
                    await s.http.delete(f"/api/encounters/{enc}", headers=s.auth(role))
                ).status_code
            log = s.services.store.exports()
            status["export log"] = [(r.who, r.blind) for r in log]  # type: ignore[assignment]
            return status

    status = asyncio.run(scenario())
    assert status == {
        "faculty export blind=None": 200,
        "faculty export blind=1": 200,
        "faculty export blind=0": 403,  # faculty may export blind only
        "faculty audit log": 403,
        "faculty notes": 201,
        "faculty create": 201,
        "faculty join token": True,
        "faculty live view": 101,
        "researcher export blind=None": 200,
        "researcher export blind=1": 200,
        "researcher export blind=0": 200,  # blind by default, identified when asked
        "researcher audit log": 403,
        "researcher notes": 403,
        "researcher create": 403,
        "researcher join token": False,
        "researcher live view": 403,
        "admin export blind=None": 200,
        "admin export blind=1": 200,
        "admin export blind=0": 200,
        "admin audit log": 200,
        "admin notes": 201,
        "admin create": 201,
        "admin join token": True,
        "admin live view": 101,
        "researcher delete": 403,  # a researcher cannot delete
        "faculty delete": 403,
        "admin delete": 204,
        "export log": [
            ("dr-faculty", True),
            ("dr-faculty", True),
            ("dr-researcher", True),
            ("dr-researcher", True),
            ("dr-researcher", False),
            ("dr-admin", False),
            ("dr-admin", True),
            ("dr-admin", False),
        ],
    }


def test_the_join_token_publishes_only_and_expires_when_the_encounter_finishes(tmp_path, engine):
    async def scenario() -> dict[str, int]:
        async with server(tmp_path / "data", engine) as s:
            created = (await s.http.post("/api/encounters", json={}, headers=s.auth("faculty"))).json()
            enc, token = created["id"], created["join_token"]
            status = {}
            for name, url, headers in [
                ("stream with ?token=", f"/ws/encounters/{enc}?token={token}", {}),
                ("stream with bearer token", f"/ws/encounters/{enc}", {"Authorization": f"Bearer {token}"}),
                ("stream with ?key=", f"/ws/encounters/{enc}?key={KEY}", {}),
            ]:
                try:
                    async with websockets.connect(s.ws(url), additional_headers=headers):
                        status[name] = 101
                except websockets.InvalidStatus as exc:
                    status[name] = exc.response.status_code
            as_bearer = {"Authorization": f"Bearer {token}"}
            status["events with the token"] = (
                await s.http.get(f"/api/encounters/{enc}/events", headers=as_bearer)
            ).status_code
            status["events with ?key="] = (await s.http.get(f"/api/encounters/{enc}/events?key={KEY}")).status_code
            station = f"/api/encounters/{enc}/station"
            status["station state"] = (await s.http.get(station, params={"token": token})).status_code
            status["station state, wrong token"] = (await s.http.get(station, params={"token": "nope"})).status_code
            await s.http.post(f"/api/encounters/{enc}/finish", headers=s.auth("faculty"))
            status["station state after finish"] = (await s.http.get(station, params={"token": token})).status_code
            offer = {"sdp": "v=0", "role": "patient", "token": token}
            status["offer after finish"] = (await s.http.post(f"/api/encounters/{enc}/offer", json=offer)).status_code
            return status

    assert asyncio.run(scenario()) == {
        "stream with ?token=": 401,  # a join token cannot open the event stream
        "stream with bearer token": 403,
        "stream with ?key=": 401,  # nor a key in the URL
        "events with the token": 403,
        "events with ?key=": 401,
        "station state": 200,
        "station state, wrong token": 403,
        "station state after finish": 409,
        "offer after finish": 409,
    }


def test_login_sessions_bootstrap_and_personal_tokens(tmp_path, engine):
    async def scenario() -> dict[str, object]:
        async with server(tmp_path / "data", engine) as s:
            seen: dict[str, object] = {}
            wrong = await s.http.post("/api/session", json={"name": "dr-faculty", "password": "not it at all"})
            seen["wrong password"] = wrong.status_code
            login = await s.http.post("/api/session", json={"name": "dr-faculty", "password": PASSWORD})
            seen["login"] = (login.status_code, login.json()["role"])
            cookie = login.headers["set-cookie"]
            seen["cookie flags"] = sorted(part.strip().lower() for part in cookie.split(";")[1:])
            session = {"Cookie": cookie.split(";")[0]}
            seen["me"] = (await s.http.get("/api/me", headers=session)).json()["name"]
            created = await s.http.post("/api/encounters", json={}, headers=session)
            seen["create from the page"] = created.status_code
            enc = created.json()["id"]
            foreign = {**session, "Origin": "https://evil.example"}
            seen["create from a foreign page"] = (
                await s.http.post("/api/encounters", json={}, headers=foreign)
            ).status_code
            seen["read from a foreign page"] = (await s.http.get("/api/encounters", headers=foreign)).status_code
            own = {**session, "Origin": s.url}
            async with websockets.connect(s.ws(f"/ws/encounters/{enc}"), additional_headers=own):
                seen["stream with the cookie"] = 101
            try:
                async with websockets.connect(s.ws(f"/ws/encounters/{enc}"), additional_headers=foreign):
                    seen["stream from a foreign page"] = 101
            except websockets.InvalidStatus as exc:
                seen["stream from a foreign page"] = exc.response.status_code
            made = (await s.http.post("/api/tokens", json={"label": "nightly"}, headers=session)).json()
            mine = {"Authorization": f"Bearer {made['token']}"}
            seen["new token works"] = (await s.http.get("/api/me", headers=mine)).json()["role"]
            seen["tokens listed"] = [t["label"] for t in (await s.http.get("/api/tokens", headers=session)).json()]
            await s.http.delete(f"/api/tokens/{made['id']}", headers=session)
            seen["revoked token"] = (await s.http.get("/api/me", headers=mine)).status_code
            await s.http.delete("/api/session", headers=session)
            seen["after logout"] = (await s.http.get("/api/me", headers=session)).status_code

            bootstrap = await s.http.get("/live.html", params={"encounter": enc, "key": KEY})
            seen["bootstrap"] = (bootstrap.status_code, bootstrap.headers["location"])
            bootstrapped = {"Cookie": bootstrap.headers["set-cookie"].split(";")[0]}
            seen["bootstrapped session"] = (await s.http.get("/api/me", headers=bootstrapped)).json()["name"]
            wrong_key = await s.http.get("/", params={"key": "nope"})
            seen["wrong key"] = (
                wrong_key.status_code,
                wrong_key.headers["location"],
                "set-cookie" in wrong_key.headers,
            )
            seen["key login"] = (await s.http.post("/api/session", json={"key": KEY})).json()["name"]
            seen["encounter"] = enc
            return seen

    seen = asyncio.run(scenario())
    assert seen == {
        "wrong password": 403,
        "login": (200, "faculty"),
        "cookie flags": ["httponly", "path=/", "samesite=strict"],  # Secure too over https: see the TLS test
        "me": "dr-faculty",
        "create from the page": 201,
        "create from a foreign page": 403,
        "read from a foreign page": 200,  # a read needs no Origin check: SameSite keeps the cookie home
        "stream with the cookie": 101,
        "stream from a foreign page": 403,
        "new token works": "faculty",
        "tokens listed": ["", "nightly"],  # the one this test's server made, and the new one
        "revoked token": 403,
        "after logout": 401,
        "bootstrap": (303, f"/live.html?encounter={seen['encounter']}"),  # the key is gone from the address
        "bootstrapped session": "server-key",
        "wrong key": (303, "/login.html?wrong-key=1", False),
        "key login": "server-key",
        "encounter": seen["encounter"],
    }


def test_repeated_failed_logins_are_refused_for_a_while(tmp_path, engine):
    """A guesser gets PER_NAME tries at a name, then 429 with Retry-After, even with the right
    password; another name from the same address still logs in; a success clears the count."""

    async def scenario() -> dict[str, object]:
        async with server(tmp_path / "data", engine) as s:
            seen: dict[str, object] = {}
            attempt = {"name": "dr-faculty", "password": "a wrong guess"}
            seen["guesses"] = [(await s.http.post("/api/session", json=attempt)).status_code for _ in range(PER_NAME)]
            right = await s.http.post("/api/session", json={"name": "dr-faculty", "password": PASSWORD})
            seen["right password, too late"] = (right.status_code, 0 < int(right.headers["retry-after"]) <= WINDOW_S)
            other = await s.http.post("/api/session", json={"name": "dr-admin", "password": PASSWORD})
            seen["another name"] = other.status_code
            return seen

    assert asyncio.run(scenario()) == {
        "guesses": [403] * PER_NAME,
        "right password, too late": (429, True),
        "another name": 200,
    }


def test_login_throttle_forgets_old_failures_and_limits_an_address_across_names():
    now = [0.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    for _ in range(PER_NAME):
        throttle.failed("10.0.0.9", "Dr-Chen")
    assert throttle.wait("10.0.0.9", "dr-chen") == pytest.approx(WINDOW_S)  # names are matched without case
    assert throttle.wait("10.0.0.7", "dr-chen") == 0  # another address is not held back
    now[0] = WINDOW_S - 1
    assert throttle.wait("10.0.0.9", "dr-chen") == pytest.approx(1)
    now[0] = WINDOW_S
    assert throttle.wait("10.0.0.9", "dr-chen") == 0
    for i in range(PER_ADDRESS):
        throttle.failed("10.0.0.8", f"name-{i}")  # one try per name: a spray
    assert throttle.wait("10.0.0.8", "someone-new") == pytest.approx(WINDOW_S)
    throttle.failed("10.0.0.6", "dr-chen")
    throttle.succeeded("10.0.0.6", "dr-chen")
    assert throttle.failures.get(("10.0.0.6", "dr-chen")) is None


def test_reads_exports_live_views_and_deletions_are_audited_with_the_authenticated_user(tmp_path, engine, capsys):
    data = tmp_path / "data"

    async def scenario() -> None:
        async with server(data, engine) as s:
            enc = make_encounter(s.services.store, tmp_path)
            recording = s.services.store.recordings_dir(enc) / "patient.wav"
            _write_recording(recording)
            s.services.store.add_track(enc, "patient", str(recording), None, 1.0)
            faculty = s.auth("faculty") | {"X-User": "somebody-else"}
            await s.http.get(f"/api/encounters/{enc}/events", headers=faculty)
            note = await s.http.post(
                f"/api/encounters/{enc}/notes", json={"author": "somebody-else", "t0": 1.0}, headers=faculty
            )
            wav = await s.http.get(f"/api/encounters/{enc}/recordings/patient.wav", headers=faculty)
            assert wav.status_code == 200 and wav.headers["cache-control"] == "no-store"
            async with websockets.connect(s.ws(f"/ws/encounters/{enc}?after=3"), additional_headers=s.auth("faculty")):
                pass
            await s.http.get(f"/api/encounters/{enc}/export", headers=s.auth("researcher"))
            await s.http.delete(f"/api/encounters/{enc}", headers=s.auth("admin"))
            log = (await s.http.get("/api/audit", headers=s.auth("admin"))).json()
            assert [(e["who"], e["action"], e["encounter"], e["detail"]) for e in log] == [
                ("dr-faculty", "events", enc, "after=0"),
                ("dr-faculty", "note", enc, note.json()["id"]),  # the account, whatever name the note shows
                ("dr-faculty", "recording", enc, "patient"),
                ("dr-faculty", "live_view", enc, "after=3"),
                ("dr-admin", "delete", enc, ""),
            ]

    asyncio.run(scenario())
    assert main(["audit", "--data", str(data)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[2:4] for line in printed] == [  # "#ID|- WHEN WHO: WHAT ..."
        ["dr-faculty:", "events"],
        ["dr-faculty:", "note"],
        ["dr-faculty:", "recording"],
        ["dr-faculty:", "live_view"],
        ["dr-researcher:", "csv,jsonl,vtt,srt,textgrid,eaf"],
        ["dr-admin:", "delete"],
    ]


def _write_recording(path: Path, seconds: float = 1.0) -> None:
    recorder = WavRecorder(path)
    recorder.write(np.full(round(seconds * 16000), 0.1, np.float32))
    recorder.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_directory_database_recordings_keys_and_exports_are_owner_only(tmp_path):
    os.umask(0o022)  # what most accounts have: the files must be private anyway
    data = tmp_path / "data"
    store = Store(data)
    enc = make_encounter(store, tmp_path)  # writes through SQLite: WAL and shared memory exist now
    recording = store.recordings_dir(enc) / "patient.wav"
    _write_recording(recording)
    load_access_key(data)
    write_directory(build(store, Selection(encounters=(enc,)), FORMATS, blind=True).files, tmp_path / "out" / "x")
    files = [data / "encounters.sqlite3", data / "encounters.sqlite3-wal", data / "encounters.sqlite3-shm"]
    files += [recording, data / "access_key", data / "blinding_key"]
    assert all(path.is_file() for path in files)
    assert {str(path.relative_to(tmp_path)): _mode(path) for path in files} == {
        str(path.relative_to(tmp_path)): 0o600 for path in files
    }
    folders = [data, data / "recordings", recording.parent, tmp_path / "out", tmp_path / "out" / "x"]
    assert [_mode(folder) for folder in folders] == [0o700] * len(folders)
    exported = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert len(exported) > 5 and {_mode(p) for p in exported} == {0o600}

    (data / "encounters.sqlite3").chmod(0o644)  # a data directory from an older version is narrowed
    data.chmod(0o755)
    Store(data)
    assert (_mode(data), _mode(data / "encounters.sqlite3")) == (0o700, 0o600)


def test_secrets_typed_on_a_command_line_are_hex_so_none_reads_as_an_option(tmp_path):
    # `encounter stream --token VALUE` and `--key VALUE`: a URL-safe secret starts with "-" once in
    # 64 and argparse then takes it for another option ("expected one argument"): CI met one
    store = Store(tmp_path / "data")
    tokens = [store.create_encounter().join_token for _ in range(200)]
    key, generated = load_access_key(tmp_path / "data")
    assert generated and len(key) == 48 and set(key) <= set("0123456789abcdef")
    assert len(set(tokens)) == 200 and all(len(t) == 32 and set(t) <= set("0123456789abcdef") for t in tokens)


def test_delete_leaves_no_row_or_file_behind_and_is_audited(tmp_path, engine):
    data = tmp_path / "data"
    store = Store(data)
    outside = tmp_path / "elsewhere.wav"  # analysed offline from the user's own file: that file stays
    _write_recording(outside)
    keep = make_encounter(store, tmp_path, participant="P-KEEP-1", condition="ARM-KEEP")
    gone = make_encounter(store, tmp_path)
    recording = store.recordings_dir(gone) / "provider.wav"
    _write_recording(recording)
    store.add_track(gone, "provider", str(recording), None, 1.0)
    store.add_track(gone, "room", str(outside), None, 1.0)
    store.record_export("tester", "csv", False, {}, [gone])

    async def scenario() -> int:
        async with server(data, engine) as s:
            return (await s.http.delete(f"/api/encounters/{gone}", headers=s.auth())).status_code

    assert asyncio.run(scenario()) == 204
    store = Store(data)
    rows = {
        table: store.query(f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", (gone,))[0][0]
        for table, column in (("encounters", "id"), ("tracks", "encounter"), ("events", "encounter"))
    }
    assert rows == {"encounters": 0, "tracks": 0, "events": 0}
    assert not (data / "recordings" / gone).exists() and outside.exists()
    database = b"".join(p.read_bytes() for p in data.glob("encounters.sqlite3*"))
    assert PARTICIPANT.encode() not in database and CONDITION.encode() not in database  # pages overwritten
    assert b"P-KEEP-1" in database and [e.id for e in store.encounters()] == [keep]
    assert [(a.who, a.action, a.encounter) for a in store.accesses()] == [("server-key", "delete", gone)]


def test_encounter_delete_and_retention_erase_old_encounters_only(tmp_path, capsys):
    data = tmp_path / "data"
    store = Store(data)
    old, recent = make_encounter(store, tmp_path), make_encounter(store, tmp_path)
    running_one = store.create_encounter().id  # live: it has a track and is not finished
    store.add_track(running_one, "patient", str(tmp_path / "p.wav"), None, None)
    long_ago = (datetime.datetime.now() - datetime.timedelta(days=40)).timestamp()
    store.execute("UPDATE encounters SET created_at = ? WHERE id IN (?, ?)", (long_ago, old, running_one))

    assert main(["delete", "--before", "2000-01-01", "--data", str(data)]) == 0
    assert "0 encounter(s) erased" in capsys.readouterr().out
    assert (
        main(
            [
                "delete",
                "--before",
                (datetime.date.today() - datetime.timedelta(days=30)).isoformat(),
                "--dry-run",
                "--data",
                str(data),
            ]
        )
        == 0
    )
    assert f"would erase {old}" in capsys.readouterr().out and len(Store(data).encounters()) == 3
    assert main(["delete", "enc-nope", "--data", str(data)]) == 2
    assert main(["delete", old, "--user", "dpo", "--data", str(data)]) == 0
    assert {e.id for e in Store(data).encounters()} == {running_one, recent}
    assert Store(data).accesses()[-1].who == "dpo"

    again = make_encounter(Store(data), tmp_path)
    Store(data).execute("UPDATE encounters SET created_at = ? WHERE id = ?", (long_ago, again))
    services = Services(Store(data), None, KEY, retain_days=30)  # type: ignore[arg-type]

    async def purge_once() -> None:
        task = asyncio.create_task(retention(services))
        while any(e.id == again for e in services.store.encounters()):
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(asyncio.wait_for(purge_once(), 10))
    assert {e.id for e in Store(data).encounters()} == {running_one, recent}
    assert Store(data).accesses()[-1].who == "retention"


def test_pages_and_api_answers_carry_the_protective_headers(tmp_path, engine):
    async def scenario() -> tuple[httpx.Headers, httpx.Headers, int, str]:
        async with server(tmp_path / "data", engine) as s:
            page = await s.http.get("/login.html")
            api = await s.http.get("/api/encounters", headers=s.auth())
            wrong_method = await s.http.request("OPTIONS", "/api/encounters", headers=s.auth())
            return page.headers, api.headers, wrong_method.status_code, wrong_method.headers["allow"]

    page, api, status, allow = asyncio.run(scenario())
    csp = dict(part.strip().split(" ", 1) for part in page["content-security-policy"].split(";"))
    assert csp["default-src"] == "'self'" and csp["script-src"] == "'self'" and csp["frame-ancestors"] == "'none'"
    assert csp["connect-src"] == "'self'" and csp["object-src"] == "'none'"
    for headers in (page, api):
        assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"
        assert headers["x-frame-options"] == "DENY"
    assert api["cache-control"] == "no-store" and "no-store" not in page.get("cache-control", "")
    assert (status, allow) == (405, "GET, POST")


def test_hostile_notes_and_metadata_export_as_well_formed_xml_and_inert_csv(tmp_path):
    import csv
    import io
    import xml.etree.ElementTree as ET

    from praatio import textgrid as praat
    from pympi import Eaf

    from encounter_feedback.events import Note

    store = Store(tmp_path / "data")
    enc = make_encounter(store, tmp_path)
    store.update_metadata(enc, {"site": '=HYPERLINK("http://evil.example","x")', "arm": "-1.5", "plus": "+1+cmd"})
    hostile = '=HYPERLINK("http://evil.example","fail this station")\x00\x07\x1b[31m \ufffe ok'
    store.add_events(
        [Note(id="note-x", encounter=enc, speaker="unknown", t0=2.0, t1=3.0, author="Dr. X", text=hostile)]
    )
    files = build(store, Selection(encounters=(enc,)), FORMATS, blind=False).files
    ET.fromstring(files[f"{enc}/annotations.eaf"])  # well-formed XML: ELAN opens it
    out = tmp_path / "out"
    write_directory(files, out)
    eaf = Eaf(str(out / enc / "annotations.eaf"))
    [note] = [a[2] for a in eaf.get_annotation_data_for_tier("notes") if "fail" in a[2]]
    assert note == 'Dr. X: =HYPERLINK("http://evil.example","fail this station")[31m  ok'  # controls dropped
    grid = praat.openTextgrid(str(out / enc / "annotations.TextGrid"), includeEmptyIntervals=False)
    assert note in [e.label for e in grid.getTier("notes").entries]

    [row] = list(csv.DictReader(io.StringIO(files["encounters.csv"].decode())))
    assert row["site"] == '\'=HYPERLINK("http://evil.example","x")' and row["plus"] == "'+1+cmd"
    assert row["arm"] == "-1.5"  # a number written as text stays a number
    [cell] = [r["text"] for r in csv.DictReader(io.StringIO(files["events.csv"].decode())) if r["id"] == "note-x"]
    assert cell == "'" + hostile  # a spreadsheet shows the formula as text instead of running it


def test_tls_serves_https_with_a_secure_session_cookie(tmp_path, engine):
    cert, key = _self_signed(tmp_path)

    async def scenario() -> tuple[str, int, str]:
        trusted = ssl.create_default_context(cafile=str(cert))  # as a station with SECURITY.md's certificate
        async with server(tmp_path / "data", engine, tls=Tls(cert, key), verify=trusted) as s:
            login = await s.http.post("/api/session", json={"name": "dr-admin", "password": PASSWORD})
            return s.url, login.status_code, login.headers["set-cookie"]

    url, status, cookie = asyncio.run(scenario())
    assert url.startswith("https://127.0.0.1:") and status == 200
    assert "secure" in [part.strip().lower() for part in cookie.split(";")]


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, as SECURITY.md makes one with openssl."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(private, hashes.SHA256())
    )
    cert, key = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert, key


def test_users_cli_adds_lists_tokens_and_removes(tmp_path, capsys, monkeypatch):
    data = ["--data", str(tmp_path / "data")]
    monkeypatch.setattr("sys.stdin", io_lines(PASSWORD))
    assert main(["users", "add", "dr-chen", "--role", "faculty", "--password-stdin", *data]) == 0
    monkeypatch.setattr("sys.stdin", io_lines("short"))
    assert main(["users", "add", "dr-lee", "--role", "faculty", "--password-stdin", *data]) == 2
    assert main(["users", "token", "dr-chen", "--label", "scripts", *data]) == 0
    out = capsys.readouterr()
    token = out.out.strip().splitlines()[-1]
    assert "too short" in out.err and token.startswith("eft_")
    store = Store(tmp_path / "data")
    assert Accounts(store).token_user(token).name == "dr-chen"  # type: ignore[union-attr]
    assert Accounts(store).login("dr-chen", PASSWORD).role == "faculty"  # type: ignore[union-attr]
    stored = store.query("SELECT password FROM users")[0][0]
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    assert all(token not in str(tuple(row)) for row in store.query("SELECT * FROM tokens"))
    assert main(["users", "list", *data]) == 0
    listing = capsys.readouterr().out
    assert "dr-chen\tfaculty" in listing and "scripts" in listing
    assert main(["users", "remove", "dr-chen", *data]) == 0
    assert Accounts(Store(tmp_path / "data")).token_user(token) is None


def io_lines(*lines: str):
    import io

    return io.StringIO("".join(line + "\n" for line in lines))
