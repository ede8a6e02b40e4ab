"""Faculty notes (POST /api/encounters/{id}/notes): stored as `note` events, sent at once to every
open viewer, live or after the encounter finished; bad input gets a 400 that says what to fix."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from encounter_feedback.events import Moment, Response, Segment
from encounter_feedback.stations.api_client import ApiClient, ApiError
from encounter_feedback.store.database import Store
from encounter_feedback.web.app import Services, create_app, running

KEY = "test-key"


def _flags(encounter: str) -> list:
    """A patient segment flagged as a moment and the provider's coded reply, as the live server stores them."""
    return [
        Segment(
            id="seg-1",
            encounter=encounter,
            speaker="patient",
            t0=1.0,
            t1=4.0,
            text="they sent me home because I am Black",
            final=True,
            words=[],
            avg_logprob=-0.2,
        ),
        Moment(
            id="moment-1",
            encounter=encounter,
            speaker="patient",
            t0=1.0,
            t1=4.0,
            label="discrimination_disclosure",
            confidence=0.9,
            segment="seg-1",
            segments=["seg-1"],
            text="they sent me home because I am Black",
        ),
        Response(
            id="response-1",
            encounter=encounter,
            speaker="provider",
            t0=4.5,
            t1=6.0,
            label="validation",
            group="responsive",
            confidence=0.8,
            moment="moment-1",
            segment="seg-2",
            latency=0.5,
            text="that was wrong",
        ),
    ]


async def _next_note(api: ApiClient, encounter: str, subscribed: asyncio.Event, after: int = 0) -> dict:
    """The first note stored after seq `after`. The stream starts with the stored event at `after`
    (or the first one), which sets `subscribed`: the server takes the subscription before it sends
    stored events, so whatever is posted after that comes live."""
    async for event in api.subscribe(encounter, max(0, after - 1)):
        subscribed.set()
        if event["type"] == "note" and event["seq"] > after:
            return event
    raise AssertionError("the stream closed without a note")


async def _viewer(api: ApiClient, encounter: str, after: int = 0) -> asyncio.Task[dict]:
    """A viewer waiting for the next note after seq `after`, once it is subscribed."""
    subscribed = asyncio.Event()
    viewer = asyncio.create_task(_next_note(api, encounter, subscribed, after))
    await asyncio.wait_for(subscribed.wait(), 10)
    return viewer


def test_notes_are_stored_broadcast_and_checked(tmp_path, engine):
    async def scenario() -> tuple[list, list, dict[str, ApiError], list]:
        async with running(create_app(Services(Store(tmp_path / "data"), engine, KEY))) as server:
            services_store = Store(tmp_path / "data")
            async with ApiClient(server.url, KEY) as api:
                joined = await api.create_encounter()
                services_store.add_events(_flags(joined.id))
                notes_path = f"/api/encounters/{joined.id}/notes"

                async def post(body: dict) -> dict:
                    return await api.request("POST", notes_path, json=body)

                # two viewers are open before the note is written; both get it without asking again
                viewers = [await _viewer(api, joined.id) for _ in range(2)]
                relabel = await post(
                    {
                        "author": "Dr. Rivera",
                        "text": "more mistrust than disclosure",
                        "t0": 1.0,
                        "t1": 4.0,
                        "target": "moment-1",
                        "verdict": "relabel",
                        "label": "mistrust",
                    }
                )
                seen = await asyncio.wait_for(asyncio.gather(*viewers), 5)
                bookmark = await post({"author": "Dr. Rivera", "t0": 12.5})
                await api.finish(joined.id)
                # subscribed (it got the bookmark from history) before the note exists: it comes live
                late_viewer = await _viewer(api, joined.id, after=bookmark["seq"])
                confirm = await post(
                    {
                        "author": "Dr. Chen",
                        "text": "",
                        "t0": 4.5,
                        "t1": 6.0,
                        "target": "response-1",
                        "verdict": "confirm",
                    }
                )
                seen_late = await asyncio.wait_for(late_viewer, 5)

                errors: dict[str, ApiError] = {}
                bad = {
                    "no author": {"text": "x", "t0": 1},
                    "blank author": {"author": "  ", "text": "x", "t0": 1},
                    "no time": {"author": "A", "text": "x"},
                    "negative time": {"author": "A", "text": "x", "t0": -1},
                    "time not a number": {"author": "A", "text": "x", "t0": "soon"},
                    "t1 before t0": {"author": "A", "text": "x", "t0": 5, "t1": 2},
                    "verdict without target": {"author": "A", "t0": 1, "verdict": "confirm"},
                    "unknown verdict": {"author": "A", "t0": 1, "target": "moment-1", "verdict": "maybe"},
                    "relabel without label": {"author": "A", "t0": 1, "target": "moment-1", "verdict": "relabel"},
                    "label without relabel": {
                        "author": "A",
                        "t0": 1,
                        "target": "moment-1",
                        "verdict": "confirm",
                        "label": "mistrust",
                    },
                    "response label on a moment": {
                        "author": "A",
                        "t0": 1,
                        "target": "moment-1",
                        "verdict": "relabel",
                        "label": "empathy",
                    },
                    "verdict on a segment": {"author": "A", "t0": 1, "target": "seg-1", "verdict": "reject"},
                    "unknown field": {"author": "A", "t0": 1, "colour": "red"},
                    "not an object": ["author", "A"],
                    "unknown target": {"author": "A", "t0": 1, "target": "moment-404", "verdict": "confirm"},
                }
                for name, body in bad.items():
                    with pytest.raises(ApiError) as info:
                        await post(body)
                    errors[name] = info.value
                with pytest.raises(ApiError) as info:
                    await api.request("POST", "/api/encounters/enc-nope/notes", json={"author": "A", "t0": 1})
                errors["unknown encounter"] = info.value
                async with httpx.AsyncClient(base_url=server.url) as raw:
                    not_json = await raw.post(
                        notes_path, content=b"{author", headers={"Authorization": f"Bearer {KEY}"}
                    )
                    no_key = await raw.post(notes_path, json={"author": "A", "t0": 1})
                errors["not json"] = ApiError(not_json.status_code, not_json.json()["detail"])
                errors["no key"] = ApiError(no_key.status_code, no_key.json()["detail"])
                stored = [e for e in await api.events(joined.id) if e["type"] == "note"]
                return [relabel, bookmark, confirm], [*seen, seen_late], errors, stored

    posted, seen, errors, stored = asyncio.run(scenario())
    relabel, bookmark, confirm = posted
    assert relabel["type"] == "note" and relabel["seq"] > 0 and relabel["speaker"] == "patient"
    assert (relabel["author"], relabel["target"], relabel["verdict"], relabel["label"]) == (
        "Dr. Rivera",
        "moment-1",
        "relabel",
        "mistrust",
    )
    assert (bookmark["text"], bookmark["t0"], bookmark["t1"], bookmark["target"], bookmark["verdict"]) == (
        "",
        12.5,
        12.5,
        None,
        None,
    )
    assert confirm["speaker"] == "provider" and confirm["verdict"] == "confirm"
    assert seen == [relabel, relabel, confirm], "every open viewer gets each note as it is saved, also after the finish"
    assert stored == posted
    status = {name: e.status for name, e in errors.items()}
    assert status == {name: 400 for name in status} | {"unknown target": 404, "unknown encounter": 404, "no key": 401}
    assert "author" in errors["no author"].detail and "author" in errors["blank author"].detail
    assert "t0 is missing" in errors["no time"].detail and ">= 0" in errors["negative time"].detail
    assert "before t0" in errors["t1 before t0"].detail
    assert (
        "needs a target" in errors["verdict without target"].detail
        and "needs a target" in errors["verdict on a segment"].detail
    )
    assert "confirm, reject, relabel" in errors["unknown verdict"].detail
    assert "relabel needs a label" in errors["relabel without label"].detail
    assert "'empathy' is not a moment label" in errors["response label on a moment"].detail
    assert "colour" in errors["unknown field"].detail and "moment-404" in errors["unknown target"].detail
    assert "enc-nope" in errors["unknown encounter"].detail and "not JSON" in errors["not json"].detail
