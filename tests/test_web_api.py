"""The web layer's shared behaviour: the taxonomy the dashboard reads, one 400 shape for every
invalid request (bodies, query parameters, WebSocket handshakes), and the note body's rules."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from pydantic import ValidationError

from encounter_feedback.store.database import Store
from encounter_feedback.taxonomy import GROUPS, MICROAGGRESSIONS, MOMENT_LABELS, REPLY_MEASURE_UNITS, RESPONSIVE
from encounter_feedback.web.app import Services, create_app, running
from encounter_feedback.web.notes import NoteError, NoteIn, UnknownTarget, note_event
from encounter_feedback.web.validation import describe_errors

KEY = "web-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def test_taxonomy_openapi_and_invalid_requests(tmp_path, engine):
    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with running(create_app(Services(Store(tmp_path / "data"), engine, KEY))) as server:
            async with (
                httpx.AsyncClient(base_url=server.url, headers=AUTH) as http,
                httpx.AsyncClient(base_url=server.url) as anonymous,
            ):
                seen["taxonomy"] = (await http.get("/api/taxonomy")).json()
                seen["taxonomy without key"] = (await anonymous.get("/api/taxonomy")).status_code
                seen["openapi"] = (await http.get("/openapi.json")).json()
                created = (await http.post("/api/encounters", json={})).json()
                enc = f"/api/encounters/{created['id']}"
                answers = {
                    "metadata not an object": await http.post("/api/encounters", json={"metadata": "P-1"}),
                    "scenario not a string": await http.patch(enc, json={"scenario": 7}),
                    "after not a number": await http.get(f"{enc}/events", params={"after": "soon"}),
                    "blind not a boolean": await http.get(f"{enc}/export", params={"blind": "maybe"}),
                    "unknown role": await http.post(
                        f"{enc}/offer", json={"sdp": "v=0", "role": "doctor", "token": created["join_token"]}
                    ),
                    "offer without body": await http.post(f"{enc}/offer"),
                }
                seen["answers"] = {name: (r.status_code, r.json()) for name, r in answers.items()}
            ws = server.url.replace("http", "ws") + f"/ws/encounters/{created['id']}?after=soon"
            with pytest.raises(websockets.InvalidStatus) as info:
                async with websockets.connect(ws, additional_headers=AUTH):
                    pass
            response = info.value.response
            seen["ws"] = (response.status_code, json.loads(response.body))
        return seen

    seen = asyncio.run(scenario())
    assert seen["taxonomy"] == {
        "moment_labels": list(MOMENT_LABELS),
        "microaggressions": list(MICROAGGRESSIONS),
        "responsive": list(RESPONSIVE),
        "response_labels": [*MICROAGGRESSIONS, *RESPONSIVE],
        "groups": list(GROUPS),
        "reply_measures": [{"kind": kind, "unit": unit} for kind, unit in REPLY_MEASURE_UNITS.items()],
    }
    assert seen["taxonomy without key"] == 401

    answers = seen["answers"]
    assert {name: status for name, (status, _) in answers.items()} == {name: 400 for name in answers}
    assert all(set(body) == {"detail"} and isinstance(body["detail"], str) for _, body in answers.values())
    detail = {name: body["detail"] for name, (_, body) in answers.items()}
    assert detail["metadata not an object"] == "metadata must be a JSON object, not 'P-1'"
    assert detail["scenario not a string"] == "scenario must be a string, not 7"
    assert detail["after not a number"] == "?after must be a whole number, not 'soon'"
    assert detail["blind not a boolean"] == "?blind must be true or false, not 'maybe'"
    assert detail["unknown role"] == "role must be one of patient, provider, room, not 'doctor'"
    assert detail["offer without body"] == "the body is missing"
    assert seen["ws"] == (400, {"detail": "?after must be a whole number, not 'soon'"})

    paths = seen["openapi"]["paths"]
    note = paths["/api/encounters/{encounter_id}/notes"]["post"]
    assert note["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/NoteIn"}
    assert "/api/taxonomy" in paths
    operations = {(method, path): op for path, methods in paths.items() for method, op in methods.items()}
    assert all("422" not in op["responses"] for op in operations.values())
    open_routes = {("post", "/api/session"), ("delete", "/api/session")}
    open_routes |= {(m, p) for m, p in operations if p.endswith(("/offer", "/station"))}  # join token only
    for name, op in operations.items():
        if name not in open_routes:
            assert op["security"] == [{"bearer": []}, {"session": []}], name
            assert {"401", "403"} <= set(op["responses"]), name
        if any(p["in"] == "query" for p in op.get("parameters", [])) or op.get("requestBody"):
            assert "400" in op["responses"], name
        if op.get("requestBody"):
            assert "413" in op["responses"], name
    schemes = seen["openapi"]["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "description": schemes["bearer"]["description"]}
    assert schemes["session"]["in"] == "cookie" and schemes["session"]["name"] == "encounter_session"


FLAGS = [
    {"type": "segment", "id": "seg-1", "speaker": "patient"},
    {"type": "moment", "id": "moment-1", "speaker": "patient"},
    {"type": "response", "id": "response-1", "speaker": "provider"},
]


def _problem(body: Any) -> str:
    """The 400 detail the API gives for `body`, or the note_event error; '' when the note is fine."""
    try:
        note = NoteIn.model_validate(body)
    except ValidationError as exc:
        return describe_errors([{**error, "loc": ("body", *error["loc"])} for error in exc.errors()])
    try:
        note_event("enc-1", note, FLAGS)
    except (NoteError, UnknownTarget) as exc:
        return str(exc)
    return ""


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"author": "A", "t0": 1}, ""),
        ({"author": "A", "t0": 2, "t1": 2, "target": "response-1", "verdict": "relabel", "label": "neutral"}, ""),
        ({"t0": 1}, "author is missing"),
        ({"author": " \t ", "t0": 1}, "author is too short: at least 1 character(s)"),
        ({"author": "A" * 101, "t0": 1}, "author is too long: at most 100 characters"),
        ({"author": "A", "text": "x" * 5001, "t0": 1}, "text is too long: at most 5000 characters"),
        ({"author": "A", "t0": -0.5}, "t0 must be >= 0, not -0.5"),
        ({"author": "A", "t0": float("nan")}, "t0 must be a finite number"),
        ({"author": "A", "t0": True}, "t0 must be a number, not True"),
        ({"author": "A", "t0": "1.5"}, "t0 must be a number, not '1.5'"),
        ({"author": "A", "t0": 3, "t1": 1}, "t1 (1.0) is before t0 (3.0)"),
        ({"author": "A", "t0": 1, "shade": "red"}, "shade is not a field of this request (see /openapi.json)"),
        ({"author": 5, "t0": 1}, "author must be a string, not 5"),
        ("a note", "the body must be a JSON object, not 'a note'"),
        (
            {"author": "A", "t0": 1, "target": "moment-1", "verdict": "maybe"},
            "verdict must be one of confirm, reject, relabel, reassign, swap_roles, not 'maybe'",
        ),
        (
            {"author": "A", "t0": 1, "verdict": "confirm"},
            "a verdict needs a target: the id of a moment or response event",
        ),
        ({"author": "A", "t0": 1, "target": "moment-1", "verdict": "relabel"}, "relabel needs a label"),
        ({"author": "A", "t0": 1, "target": "moment-1", "label": "mistrust"}, "relabel needs a label"),
        ({"author": "A", "t0": 1, "target": "moment-1", "verdict": "relabel", "label": "rude"}, "label 'rude' is not"),
        (
            {"author": "A", "t0": 1, "target": "seg-1", "verdict": "reject"},
            "a verdict needs a target: the id of a moment or response event, not of a segment",
        ),
        (
            {"author": "A", "t0": 1, "target": "response-1", "verdict": "relabel", "label": "mistrust"},
            "'mistrust' is not a response label",
        ),
        ({"author": "A", "t0": 1, "target": "moment-9"}, "no event 'moment-9' in encounter 'enc-1' to annotate"),
        ({"t0": -1, "colour": "red"}, "author is missing; t0 must be >= 0, not -1; colour is not a field"),
    ],
)
def test_note_body_rules(body, problem):
    found = _problem(body)
    assert found.startswith(problem) if problem else found == ""


def test_note_event_takes_the_span_text_and_speaker_from_the_body_and_its_target():
    note = note_event(
        "enc-1", NoteIn(author="  Dr. Chen ", text=" ask more ", t0=4.5, target="response-1", verdict="confirm"), FLAGS
    )
    assert (note.author, note.text, note.t0, note.t1, note.speaker, note.target, note.verdict, note.label) == (
        "Dr. Chen",
        "ask more",
        4.5,
        4.5,
        "provider",
        "response-1",
        "confirm",
        None,
    )
