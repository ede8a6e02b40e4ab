"""A room station end to end: one mixed track over a real WebRTC peer, speakers told apart live,
and the flags coded on them following the labels (relabels and faculty corrections)."""

from __future__ import annotations

import asyncio
import statistics
from typing import Any

import pytest

from conftest import DIALOGUE
from encounter_feedback.events import ROLES
from encounter_feedback.media.tts import Placement
from encounter_feedback.stations.replay import replay
from test_live import collect, live_server
from test_speakers import INTERVIEW, render_room

LINES = [*INTERVIEW[:-1], *DIALOGUE[3:5]]
"""The history taking, where the patient's last answer is a racial challenge (a disclosure of
discrimination) that the provider answers."""


def _inside(segments: list[dict[str, Any]], line: Placement) -> list[dict[str, Any]]:
    return [s for s in segments if line.t0 <= (s["t0"] + s["t1"]) / 2 <= line.t1]


def _flags(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


@pytest.mark.slow
def test_a_room_station_gets_both_roles_live_and_the_flags_follow_the_labels(tmp_path, engine):
    room = render_room(LINES)

    async def scenario() -> tuple[list[dict], list[float], list[list[dict]]]:
        async with live_server(tmp_path / "data", engine, drain_s=120) as (services, api):
            joined = await api.create_encounter()
            live: list[dict] = []
            arrivals: list[float] = []
            listener = asyncio.create_task(collect(api, joined.id, live, arrivals=arrivals))
            await replay(api, joined.id, joined.join_token, {"room": room.mix()})
            await api.finish(joined.id)
            await asyncio.wait_for(listener, 30)
            states = [services.store.latest_events(joined.id)]
            # Faculty swap the roles, and swap them back: the flags follow each time.
            swap = {"author": "Dr. Lee", "text": "", "t0": 0, "t1": 0, "verdict": "swap_roles"}
            for _ in range(2):
                await api.request("POST", f"/api/encounters/{joined.id}/notes", json=swap)
                states.append(services.store.latest_events(joined.id))
            return live, arrivals, states

    live, arrivals, (labelled, swapped, swapped_back) = asyncio.run(scenario())

    # Finals go out at once as `unknown`; each is labelled by a revision of the same id.
    def is_segment(e: dict) -> bool:
        return e["type"] == "segment" and e["final"] and bool(e["words"])

    finals = [(e, t) for e, t in zip(live, arrivals) if is_segment(e) and not e["revision"]]
    assert finals and {e["speaker"] for e, _ in finals} == {"unknown"}
    versions: dict[str, list[tuple[str, float]]] = {}
    for e, t in zip(live, arrivals):
        if is_segment(e) and e["revision"] and e["speaker"] in ROLES:
            versions.setdefault(e["id"], []).append((e["speaker"], t))
    assert all(e["id"] in versions for e, _ in finals), "every final gets its speaker"

    # The latest labels are right: each line's segments carry its speaker.
    segments = [e for e in labelled if e["type"] == "segment"]
    for line in room.placements:
        inside = _inside(segments, line)
        assert inside and {s["speaker"] for s in inside} == {line.role}, (line, inside)

    # The challenge is a moment of the patient, answered by the provider, on the labelled segments.
    disclosure, reply = room.placements[-2:]
    [moment] = _flags(labelled, "moment")
    [response] = _flags(labelled, "response")
    assert moment["speaker"] == "patient" and set(moment["segments"]) <= {
        s["id"] for s in _inside(segments, disclosure)
    }
    assert response["speaker"] == "provider" and response["moment"] == moment["id"]
    assert set(response["segments"]) <= {s["id"] for s in _inside(segments, reply)}
    by_id = {s["id"]: s["speaker"] for s in segments}
    assert {by_id[i] for i in moment["segments"]} == {"patient"}
    assert {by_id[i] for i in response["segments"]} == {"provider"}

    # Swapped, the disclosure is the provider's: no moment, nothing answered. Swapped back, they return.
    assert _flags(swapped, "moment") == _flags(swapped, "response") == []
    [again] = _flags(swapped_back, "moment")
    assert again["segments"] == moment["segments"] and again["label"] == moment["label"]
    [answer] = _flags(swapped_back, "response")
    assert answer["moment"] == again["id"] and answer["segments"] == response["segments"]

    # Measured (reported, not asserted): how soon labels follow finals, and how often they changed.
    first_label = {key: spoken[0][1] for key, spoken in versions.items()}
    two_voices = min(first_label.values())
    steady = [first_label[e["id"]] - t for e, t in finals if t > two_voices]
    early = [first_label[e["id"]] - t for e, t in finals if t <= two_voices]
    relabelled = [key for key, spoken in versions.items() if len({s for s, _ in spoken}) > 1]
    followed = [e["id"] for e in live if e.get("withdrawn") or e["id"].startswith(("moment-u", "response-u"))]
    start = arrivals[0]
    print(
        f"\nroom live: {len(finals)} finals; two voices {two_voices - start:.1f} s after the first event;"
        f" label delay after that: median {statistics.median(steady):.2f} s, max {max(steady):.2f} s"
        f" ({len(steady)} finals); finals before it waited up to {max(early, default=0):.1f} s;"
        f" segments relabelled after their first label: {len(relabelled)}; flags re-coded or withdrawn live: {followed}"
    )
