"""`encounter demo`: the whole live path on one machine, with nothing to set up.

Starts the server, creates an encounter from the bundled scenario, synthesizes its dialogue
(one TTS voice per role), streams both roles over real WebRTC in real time and prints the
live transcript as the server sends it, while the printed live-view link shows the same
encounter. At the end it prints the debrief link; run from a terminal it keeps serving until
Ctrl-C so the link works, otherwise (a script, a test) it stops and prints how to reopen the
encounter with `encounter serve`.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from encounter_feedback.analysis.classifier import Classifier
from encounter_feedback.analysis.summary import format_summary
from encounter_feedback.media.audio import write_wav
from encounter_feedback.scenarios import find_scenario
from encounter_feedback.speech.asr import AsrEngine
from encounter_feedback.stations.api_client import ApiClient
from encounter_feedback.stations.replay import follow_transcript, replay
from encounter_feedback.store.database import Store
from encounter_feedback.web.access import load_access_key
from encounter_feedback.web.app import Services, create_app, running

if TYPE_CHECKING:
    from encounter_feedback.media.tts import RenderedDialogue

DEMO_SCENARIO = "ed-pain-dismissed"


def synthesize_scenario() -> RenderedDialogue:
    """The demo scenario's dialogue, one TTS voice and one track per role."""
    from encounter_feedback.media.tts import render_dialogue

    scenario = find_scenario(DEMO_SCENARIO)
    print(f"Scenario: {scenario.title}\nSynthesizing {len(scenario.dialogue)} lines with eSpeak NG...", file=sys.stderr)
    return render_dialogue([(line.role, line.text) for line in scenario.dialogue])


def write_two_channel(dialogue: RenderedDialogue, path: Path) -> None:
    """patient left, provider right: replay it with `--channels patient,provider`."""
    write_wav(path, np.stack([dialogue.tracks["patient"], dialogue.tracks["provider"]]))
    print(f"Wrote {path} (patient, provider)", file=sys.stderr)


async def live_demo(
    data: Path,
    engine: AsrEngine,
    second_pass: AsrEngine | None = None,
    port: int = 0,
    keep_serving: bool | None = None,
) -> int:
    """Stream the demo encounter with `engine` (and `second_pass`, a larger model for the second
    pass); then keep serving for the debrief until Ctrl-C when `keep_serving` (None: when run from
    a terminal), else stop and say how to reopen it."""
    if keep_serving is None:
        keep_serving = sys.stdin.isatty() and sys.stderr.isatty()
    dialogue = synthesize_scenario()
    scenario = find_scenario(DEMO_SCENARIO)
    key, _ = load_access_key(data)
    services = Services(Store(data), engine, key, classifier=Classifier.load(), second_pass_engine=second_pass)
    async with running(create_app(services), port=port) as server, ApiClient(server.url, key) as api:
        joined = await api.create_encounter(scenario.id, station="demo")
        print(f"Live view: {page(server.url, 'live', joined.id, key)}", file=sys.stderr)
        print(f"Streaming {len(dialogue.tracks)} tracks over WebRTC in real time...\n", file=sys.stderr)
        follower = asyncio.create_task(follow_transcript(api, joined.id, sys.stdout))
        await replay(api, joined.id, joined.join_token, dialogue.tracks)
        await api.finish(joined.id)
        await asyncio.wait_for(follower, 10)
        summary = await api.request("GET", f"/api/encounters/{joined.id}/summary")
        print(f"\n{format_summary(summary)}", file=sys.stderr)
        print(f"\nEncounter {joined.id} finished; events and recordings are in {data}", file=sys.stderr)
        if keep_serving:
            print(f"Debrief: {page(server.url, 'debrief', joined.id, key)}", file=sys.stderr)
            print("Still serving for the debrief; Ctrl-C stops.", file=sys.stderr)
            await server.task
        else:
            print(
                f"To debrief it, serve the data again and open the debrief page:\n"
                f"  encounter serve --data {data}\n"
                f"  {page(REOPEN_URL, 'debrief', joined.id, key)}",
                file=sys.stderr,
            )
    return 0


REOPEN_URL = "http://127.0.0.1:8000"
"""Where `encounter serve` listens by default."""


def page(base: str, name: str, encounter: str, key: str) -> str:
    """The link to one of the dashboard's pages for `encounter`: the server answers `?key=` with a session
    cookie and drops the key from the address bar."""
    return f"{base}/{name}.html?encounter={encounter}&key={key}"
