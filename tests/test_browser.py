"""The dashboard and the capture page in a real browser: Debian's Chromium driven by Playwright.

The server runs in-process on its own thread and event loop (the real model, the trained
classifier, SQLite, WebSockets); stations are real aiortc peers or the capture page itself with a
WAV file as Chromium's fake microphone. Screenshots go to tests/screenshots/.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import re
import threading
import zipfile
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import jiwer
import numpy as np
import pytest

from encounter_feedback.analysis.classifier import Classifier
from encounter_feedback.bench.wer import normalize
from encounter_feedback.events import Assessment, Cue, Moment, Note, Response, Segment
from encounter_feedback.media.audio import SAMPLE_RATE, write_wav
from encounter_feedback.media.tts import VOICES, render_dialogue, synthesize
from encounter_feedback.pipeline.offline import TrackSource, analyze, load_sources
from encounter_feedback.scenarios import find_scenario
from encounter_feedback.speech.transcribe import Track
from encounter_feedback.stations.api_client import ApiClient
from encounter_feedback.stations.replay import replay
from encounter_feedback.store.database import Store
from encounter_feedback.web.app import Services, create_app, running
from stored_encounters import segment

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
KEY = "browser-key"
CAPTURE_LINE = "My chest has been hurting since last night."
DEMO = "ed-pain-dismissed"
"""The demo's scenario: its dialogue (a discrimination disclosure and a responsive reply) is what
the live view watches streamed and what the debrief and the report are checked on."""
REVISED = "they sent me home with Tylenol"
"""The words a later revision of the moment's segment says instead."""

pytestmark = [
    pytest.mark.slow,  # a minute: real browsers, real WebRTC, real time
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="browser tests need Debian's Chromium at /usr/bin/chromium: apt-get install -y chromium chromium-driver",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright: pip install -e '.[test]'")

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class ServerThread:
    """`encounter serve` in-process: the app on its own event loop in a background thread."""

    def __init__(self, data: Path, engine: Any, classifier: Classifier) -> None:
        self.data, self.engine, self.classifier = data, engine, classifier
        self.url = ""

    def start(self) -> ServerThread:
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._serve(ready),), daemon=True)
        self.thread.start()
        assert ready.wait(60), "the server did not start"
        return self

    async def _serve(self, ready: threading.Event) -> None:
        self.services = Services(Store(self.data), self.engine, KEY, classifier=self.classifier)
        self._stop = asyncio.Event()
        async with running(create_app(self.services)) as server, ApiClient(server.url, KEY) as api:
            self.url, self.api = server.url, api
            ready.set()
            await self._stop.wait()

    def call(self, coroutine, timeout: float = 120) -> Any:
        """Run a coroutine on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def spawn(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(60)
        self.loop.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    def page_url(self, page: str, encounter: str) -> str:
        return f"{self.url}/{page}?encounter={encounter}&key={KEY}"


@pytest.fixture(scope="session")
def fake_microphone(tmp_path_factory) -> Path:
    """CAPTURE_LINE spoken after a second of silence, then three of silence (Chromium loops the file)."""
    speech = synthesize(CAPTURE_LINE, VOICES["patient"])
    silence = np.zeros(SAMPLE_RATE, np.float32)
    path = tmp_path_factory.mktemp("microphone") / "patient.wav"
    write_wav(path, np.concatenate([silence, speech, silence, silence, silence]))
    return path


@pytest.fixture(scope="module")
def browser(fake_microphone):
    """One Chromium for this module's tests. Not session-wide: Playwright's sync API keeps an event loop
    running on the main thread while it is open, and other modules' tests call asyncio.run()."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                *ARGS,
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-audio-capture={fake_microphone}",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, engine, classifier):
    running_server = ServerThread(tmp_path_factory.mktemp("browser") / "data", engine, classifier).start()
    yield running_server
    running_server.stop()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def new_page(browser, viewport=(1400, 1000), enforce_csp=False):
    """A page that records its errors. Playwright's `wait_for_function` evaluates its predicate with
    `eval`, which the server's Content-Security-Policy forbids, so pages ignore the policy unless
    `enforce_csp` (test_pages_run_under_the_content_security_policy checks the app with it)."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, bypass_csp=not enforce_csp)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.errors = errors
    return page


def boxes(page, selector: str) -> list[dict[str, float]]:
    """The bounding boxes of the visible elements matching `selector`."""
    return page.eval_on_selector_all(
        selector,
        "els => els.map(e => e.getBoundingClientRect()).filter(b => b.width > 0)"
        ".map(b => ({x: b.x, y: b.y, w: b.width, h: b.height}))",
    )


def overlaps(found: list[dict[str, float]]) -> list[tuple[dict, dict]]:
    """Pairs of boxes that overlap by more than a rounding pixel."""
    return [
        (a, b)
        for i, a in enumerate(found)
        for b in found[i + 1 :]
        if min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"]) > 0.5
        and min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"]) > 0.5
    ]


def card_of(flag: dict) -> str:
    return f"#cards .card[data-id='{flag['id']}']"


def audio_time(page) -> float:
    return page.evaluate("document.getElementById('playback').currentTime")


def open_debrief(browser, server, encounter: str, viewport=(1400, 1000)):
    page = new_page(browser, viewport)
    page.goto(server.page_url("debrief.html", encounter))
    page.wait_for_selector("#play:not([disabled])", timeout=30_000)
    page.wait_for_selector("#cards > *")
    return page


@pytest.fixture(scope="module")
def dialogue():
    """The demo scenario's dialogue, one TTS voice per role (as `encounter demo` speaks it)."""
    scenario = find_scenario(DEMO)
    return render_dialogue([(line.role, line.text) for line in scenario.dialogue])


@pytest.fixture(scope="module")
def streamed(server, browser, dialogue):
    """The demo scenario streamed by two aiortc peers while a live view watches; then finished.

    Yields what the live view showed along the way and the finished encounter's id and events.
    """
    joined = server.call(server.api.create_encounter(DEMO, participant="P-42", cohort="2026", station="room 3"))
    page = new_page(browser)
    page.goto(server.page_url("live.html", joined.id))
    page.wait_for_selector("#state:has-text('waiting for stations')")
    streaming = server.spawn(replay(server.api, joined.id, joined.join_token, dialogue.tracks))
    seen: dict[str, Any] = {}
    page.wait_for_selector("#transcript .turn.partial .unstable", timeout=60_000)
    seen["partial"] = page.locator("#transcript .turn.partial").first.inner_text()
    seen["announced while partial"] = page.locator("#announcer").inner_text()
    page.wait_for_selector("#flags .flag-item", timeout=90_000)
    seen["moment"] = page.locator("#flags .flag-item").first.inner_text()
    streaming.result(180)
    page.wait_for_selector("#flags .flag-item .reply .tag:has-text('reply:')", timeout=30_000)
    seen["flags"] = page.locator("#flags").inner_text()
    seen["screenshot"] = screenshot(page, "live-view")
    server.call(server.api.finish(joined.id))
    page.wait_for_selector("#state:has-text('finished')", timeout=30_000)
    seen["transcript"] = page.locator("#transcript").inner_text()
    seen["rows"] = page.locator("#transcript .turn").count()
    seen["partials_left"] = page.locator("#transcript .turn.partial").count()
    seen["live regions"] = page.eval_on_selector_all("#transcript [aria-live], #transcript[aria-live]", "e => e.length")
    seen["announced"] = page.locator("#announcer").inner_text()
    seen["cue times"] = page.eval_on_selector_all("#cues li .time", "els => els.map(e => e.textContent)")
    seen["talk"] = page.locator("#talk").inner_text()
    seen["errors"] = page.errors
    page.context.close()
    events = server.call(server.api.events(joined.id))
    return {"id": joined.id, "token": joined.join_token, "events": events, "seen": seen}


def test_live_view_shows_an_aiortc_encounter_as_it_happens(streamed):
    seen, events = streamed["seen"], streamed["events"]
    assert seen["partial"], "partials show while someone speaks"
    finals = [e for e in events if e["type"] == "segment"]
    assert seen["rows"] == len({e["id"] for e in finals}) and seen["partials_left"] == 0, "partials settle into finals"
    transcript = seen["transcript"].lower()
    for word in ("pain", "emergency room", "tell me more"):
        assert word in transcript, (word, transcript)
    assert re.search(r"because i('m| am) black", transcript), transcript
    [moment] = {e["id"]: e for e in events if e["type"] == "moment"}.values()  # its latest version
    [response] = [e for e in events if e["type"] == "response"]
    assert moment["label"].replace("_", " ") in seen["moment"].lower()
    assert re.search(r"because i('m| am) black", seen["moment"].lower()), seen["moment"]
    assert f"reply: {(response['label'] or 'neutral').replace('_', ' ')}" in seen["flags"].lower()
    assert re.search(r"patient \d+%", seen["talk"].lower()) and re.search(r"provider \d+%", seen["talk"].lower())
    # screen readers hear finals only: the transcript is no live region, the announcer says final words
    assert seen["live regions"] == 0 and seen["announced"]
    assert seen["cue times"] == sorted(seen["cue times"]), "cues oldest first, like the transcript"
    assert not seen["errors"], seen["errors"]
    assert seen["screenshot"].stat().st_size > 10_000


def test_capture_page_streams_a_browser_microphone_to_the_dashboard_and_reconnects(server, browser):
    joined = server.call(server.api.create_encounter(participant="P-43", station="room 3"))
    station = new_page(browser, (800, 900))
    station.goto(f"{server.url}/capture.html?encounter={joined.id}&token={joined.join_token}&role=patient")
    assert station.locator("#role").input_value() == "patient"
    station.click("#join")
    station.wait_for_selector("#connection[data-state='connected']", timeout=30_000)
    station.wait_for_function("document.getElementById('level').value > 0.2", timeout=15_000)
    dashboard = new_page(browser)
    dashboard.goto(server.page_url("live.html", joined.id))
    dashboard.wait_for_function(
        "[...document.querySelectorAll('#transcript .turn.patient:not(.partial)')]"
        ".some((row) => row.innerText.toLowerCase().includes('since last night'))",
        timeout=60_000,
    )
    station.wait_for_function("Number(document.getElementById('sent').dataset.packets) > 50", timeout=10_000)
    screenshot(station, "capture-page")
    heard = dashboard.locator("#transcript .turn.patient:not(.partial) .text").first.inner_text()
    assert jiwer.wer(normalize(CAPTURE_LINE), normalize(heard)) <= 0.3, heard
    assert "live" in dashboard.locator("#state").inner_text()

    # the connection drops (the server's end hangs up): the station reconnects by itself and goes on
    heard_rows = dashboard.locator("#transcript .turn.patient:not(.partial)").count()
    server.call(server.services.live[joined.id]._connections["patient"].pc.close())
    station.wait_for_selector("#log li:has-text('Reconnecting')", timeout=15_000)
    station.wait_for_selector("#connection[data-state='connected']", timeout=30_000)
    dashboard.wait_for_function(
        f"document.querySelectorAll('#transcript .turn.patient:not(.partial)').length > {heard_rows}", timeout=30_000
    )
    tracks = server.call(server.api.request("GET", f"/api/encounters/{joined.id}"))["tracks"]
    assert [t["role"] for t in tracks] == ["patient"]
    states = [e["state"] for e in server.call(server.api.events(joined.id)) if e["type"] == "status"]
    assert states.count("track_added") == 2, states
    dashboard.goto(f"{server.url}/")  # the encounter list (the key is remembered from the first page)
    row = dashboard.locator(f"#encounters tr[data-id='{joined.id}']")
    row.locator(".state.live").wait_for()
    assert dashboard.locator("#encounters tr").first.get_attribute("data-id") == joined.id, "live ones first"
    cells = row.locator("td").all_inner_texts()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", cells[1]), cells  # ISO dates
    assert re.fullmatch(r"\d\d:\d\d", cells[3]) and "room 3" in cells and "P-43" in cells, cells
    dashboard.fill("#search", "P-43")
    assert dashboard.locator("#encounters tr").count() == 1
    dashboard.fill("#search", "")
    screenshot(dashboard, "encounter-list")
    server.call(server.api.finish(joined.id))
    station.wait_for_selector(
        "#connection[data-state='finished']", timeout=30_000
    )  # it tried to reconnect; 409 ends it
    unexpected = [e for e in station.errors if "409 (Conflict)" not in e]  # the refused reconnect, shown as "finished"
    assert not unexpected and not dashboard.errors, (station.errors, dashboard.errors)
    station.context.close()
    dashboard.context.close()


async def _publish(server: ServerThread, events: list) -> None:
    for event in events:
        server.services.add_event(event)


def _cues(encounter: str, events: list[dict]) -> list[Cue]:
    """Turn-taking cues of the kinds the cue analysis emits, crowded around every utterance the way
    a busy stretch of a real encounter has them, a cue that reports no event (no interruption of
    the disclosure: value 0), one that could not be measured, and a kind no code emits yet."""
    finals = sorted((e for e in events if e["type"] == "segment"), key=lambda e: e["t0"])
    [moment] = {e["id"]: e for e in events if e["type"] == "moment"}.values()  # its latest version
    cue = partial(Cue, encounter=encounter, unit="s")
    crowded = []
    for i, s in enumerate(finals):
        other = "provider" if s["speaker"] == "patient" else "patient"
        start, end = s["t0"], s["t1"]
        crowded += [
            cue(id=f"cue-t-bc-{i}", speaker=other, t0=start + 0.4, t1=start + 0.8, kind="backchannel", value=0.4),
            cue(id=f"cue-t-ov-{i}", speaker=other, t0=start + 0.9, t1=start + 1.3, kind="overlap", value=0.4),
            cue(id=f"cue-t-in-{i}", speaker=other, t0=end - 0.4, t1=end, kind="interruption", value=0.4),
        ]
    pause = finals[2]["t1"]
    return [
        *crowded,
        cue(id="cue-t-pause", speaker="provider", t0=pause, t1=pause + 3.4, kind="long_pause", value=3.4),
        cue(
            id="cue-t-none",
            speaker="provider",
            t0=moment["t0"],
            t1=moment["t1"],
            kind="interrupted_disclosure",
            value=0,
            unit="count",
            moment=moment["id"],
            segment=moment["segment"],
        ),
        cue(
            id="cue-t-unmeasured",
            speaker="provider",
            t0=moment["t0"],
            t1=moment["t1"],
            kind="opening_interruption",
            value=None,
            reason="one mixed track: who is speaking is not known",
        ),
        cue(
            id="cue-t-new-kind",
            speaker="patient",
            t0=finals[3]["t0"],
            t1=finals[3]["t0"] + 0.5,
            kind="gaze_aversion",
            value=None,
            unit="",
            detail={"source": "video"},
        ),
    ]


@pytest.fixture(scope="module")
def debriefed(server, streamed):
    """The streamed encounter with crowded cues added, as the debrief tests see it."""
    server.services.store.add_events(_cues(streamed["id"], streamed["events"]))
    events = server.call(server.api.events(streamed["id"]))
    [moment] = {e["id"]: e for e in events if e["type"] == "moment"}.values()  # its latest version, with its score
    [response] = {e["id"]: e for e in events if e["type"] == "response"}.values()
    segments = {e["id"]: e for e in events if e["type"] == "segment"}  # the latest version of each
    return {"id": streamed["id"], "moment": moment, "response": response, "segments": segments}


def test_play_the_exchange_plays_from_before_the_patient_to_the_end_of_the_reply(server, browser, debriefed):
    page = open_debrief(browser, server, debriefed["id"])
    moment, response, segments = debriefed["moment"], debriefed["response"], debriefed["segments"]
    start = min(segments[s]["t0"] for s in moment["segments"]) - 3
    end = max(segments[s]["t1"] for s in response["segments"]) + 0.5
    page.select_option("#speed", "1.5")
    card = page.locator(f"#cards .card[data-id='{moment['id']}']")
    card.locator("button.play-exchange").click()
    page.wait_for_function("!document.getElementById('playback').paused")
    assert audio_time(page) == pytest.approx(start, abs=0.6)
    page.wait_for_function("document.getElementById('playback').paused", timeout=60_000)
    assert audio_time(page) == pytest.approx(end, abs=0.05), "it stops at the end of the reply"

    card.locator("button.loop-exchange").click()  # loop: at the end it starts again
    assert card.locator("button.loop-exchange").get_attribute("aria-pressed") == "true"
    page.evaluate(
        """end => new Promise((resolve) => {
            const audio = document.getElementById('playback');
            let neared = false;
            audio.addEventListener('timeupdate', function check() {
                if (audio.currentTime > end - 1) neared = true;
                else if (neared && audio.currentTime < end - 3) {
                    audio.removeEventListener('timeupdate', check);
                    resolve();
                }
            });
        })""",
        end,
    )
    assert not page.evaluate("document.getElementById('playback').paused"), "looping: still playing, back at the start"
    card.locator("button.loop-exchange").click()  # loop off: this pass ends at the reply's end
    page.wait_for_function("document.getElementById('playback').paused", timeout=60_000)
    assert audio_time(page) == pytest.approx(end, abs=0.05)
    assert not page.errors, page.errors
    page.context.close()


def test_zoom_changes_the_visible_span_and_the_ruler(server, browser, debriefed):
    page = open_debrief(browser, server, debriefed["id"])
    span = lambda: float(page.get_attribute("#timeline", "data-span"))  # noqa: E731
    ruler = lambda: page.locator(".ruler .tick").all_inner_texts()  # noqa: E731
    page.wait_for_selector("#timeline[data-span] .ruler .tick")
    whole, whole_ruler = span(), ruler()
    assert whole == pytest.approx(debriefed_duration(server, debriefed["id"]), abs=0.5)
    assert whole_ruler[0] == "00:00" and all(re.fullmatch(r"\d\d:\d\d", t) for t in whole_ruler), whole_ruler
    page.locator("#player-h").click()  # focus on the page, not in a field
    page.keyboard.press("+")
    page.wait_for_function(f"Number(document.getElementById('timeline').dataset.span) < {whole * 0.6}")
    assert span() == pytest.approx(whole / 2, rel=0.01)
    zoomed_ruler = ruler()
    assert zoomed_ruler != whole_ruler
    steps = {
        int(b[:2]) * 60 + int(b[3:]) - int(a[:2]) * 60 - int(a[3:]) for a, b in zip(zoomed_ruler, zoomed_ruler[1:])
    }
    assert len(steps) == 1 and steps.pop() < 10, zoomed_ruler  # a finer step
    assert page.locator(".tl-track.overview .viewport").count() == 1, "zoomed in: the overview shows where"
    box = page.locator(".tl-track.lanes").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 10)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -400)  # Ctrl+wheel zooms in around the pointer
    page.keyboard.up("Control")
    page.wait_for_function(f"Number(document.getElementById('timeline').dataset.span) < {whole / 2 * 0.8}")
    start = float(page.get_attribute("#timeline", "data-start"))
    page.keyboard.down("Shift")
    page.mouse.wheel(0, 300)  # Shift+wheel pans
    page.keyboard.up("Shift")
    page.wait_for_function(f"Number(document.getElementById('timeline').dataset.start) > {start + 0.1}")
    page.keyboard.press("0")
    page.wait_for_function(f"Number(document.getElementById('timeline').dataset.span) > {whole - 0.1}")
    assert ruler() == whole_ruler
    assert not page.errors, page.errors
    page.context.close()


def debriefed_duration(server: ServerThread, encounter: str) -> float:
    record = server.call(server.api.request("GET", f"/api/encounters/{encounter}"))
    return max(t["duration"] for t in record["tracks"])


@pytest.mark.parametrize("width", [1400, 800])
def test_no_two_cue_chips_overlap(server, browser, debriefed, width):
    page = open_debrief(browser, server, debriefed["id"], (width, 1000))
    page.wait_for_selector(".lanes .item.cue")
    chips = boxes(page, ".lanes .item.chip")
    assert len(chips) >= 3 and not overlaps(chips), overlaps(chips)
    labels = page.eval_on_selector_all(".lanes .item.cue", "els => els.map(e => e.getAttribute('aria-label'))")
    assert not any("interrupted disclosure" in label for label in labels), "value 0: no interruption, no chip"
    assert not any("opening interruption" in label for label in labels), "not measured: no chip"
    assert any("gaze aversion" in label for label in labels), "kinds no code knows still show"
    groups = page.locator(".lanes .item.group")
    assert groups.count() >= 1, "crowded cues are grouped behind one chip"
    groups.first.click()
    listed = page.locator(".chip-popover li").count()
    assert listed >= 2
    page.keyboard.press("Escape")
    whole = float(page.get_attribute("#timeline", "data-span"))
    for _ in range(3):  # zoomed in, groups split into chips, and still none overlap
        page.locator("#zoom-in").click()
    page.wait_for_function(f"Number(document.getElementById('timeline').dataset.span) < {whole / 7}")
    chips = boxes(page, ".lanes .item.chip")
    assert chips and not overlaps(chips), overlaps(chips)
    texts = page.locator(".lanes .item.chip").all_inner_texts()
    assert all(t.strip() for t in texts), texts
    assert not page.errors, page.errors
    page.context.close()


def test_a_play_cut_short_by_a_pause_is_no_error(server, browser, debriefed):
    """Space twice while a seek is pending, before playback begins: the browser rejects play()'s promise
    with an AbortError, which the player must take as the user's wish, not report as an error (CI once
    caught this race after a click on a lane item)."""
    page = open_debrief(browser, server, debriefed["id"])
    page.evaluate(
        """async () => {
        const media = document.getElementById('playback');
        const paused = new Promise((resolve) => media.addEventListener('pause', resolve, { once: true }));
        media.currentTime = media.duration / 2;  // seeking: not ready to play, so play() stays pending
        for (const _ of [1, 2]) document.dispatchEvent(new KeyboardEvent('keydown', { key: ' ', bubbles: true }));
        await paused;  // the pause's task also rejects the pending play() promise
        await new Promise((resolve) => setTimeout(resolve, 0));  // one more task: an unhandled rejection is reported
    }"""
    )
    assert page.evaluate("document.getElementById('playback').paused")
    assert not page.errors, page.errors


def test_shortcuts_work_after_clicking_a_lane_item(server, browser, debriefed):
    page = open_debrief(browser, server, debriefed["id"])
    moment, response = debriefed["moment"], debriefed["response"]
    item = page.locator(f".lanes .item.moment[data-key='{moment['id']}']")
    item.click()
    assert audio_time(page) == pytest.approx(page.evaluate(f"Number({item.get_attribute('data-t0')})"), abs=0.1)
    assert page.evaluate("document.activeElement.dataset.key") == moment["id"], "the lane item has the focus"
    page.keyboard.press(" ")
    page.wait_for_function("!document.getElementById('playback').paused")
    page.keyboard.press(" ")
    page.wait_for_function("document.getElementById('playback').paused")
    at = audio_time(page)
    page.keyboard.press("ArrowRight")
    assert audio_time(page) == pytest.approx(at + 5, abs=0.1)
    page.keyboard.press("[")
    assert audio_time(page) == pytest.approx(page.evaluate(f"Number({item.get_attribute('data-t0')})"), abs=0.1)
    page.keyboard.press("]")  # the next flag: the reply
    reply_start = float(page.get_attribute(f".lanes .item.response[data-key='{response['id']}']", "data-t0"))
    assert audio_time(page) == pytest.approx(reply_start, abs=0.1)
    page.focus("#note-text")
    page.keyboard.type("typing [ and ] and a space")  # in a text field the keys type
    assert page.input_value("#note-text") == "typing [ and ] and a space"
    assert page.evaluate("document.getElementById('playback').paused")
    assert audio_time(page) == pytest.approx(reply_start, abs=0.1)

    page.reload()  # the first Tab reaches the skip links; one more, the first moment card
    page.wait_for_selector("#cards .card")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the moments"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('.card') !== null"), "one Tab from the moments: the first card"
    assert not page.errors, page.errors
    page.context.close()


def test_a_revised_segment_shows_its_new_words_and_times_on_the_moment_card(server, browser, debriefed):
    moment, segments = debriefed["moment"], debriefed["segments"]
    page = open_debrief(browser, server, debriefed["id"])
    card = f"#cards .card[data-id='{moment['id']}']"
    quoted = segments[moment["segments"][-1]]
    words = quoted["text"].split()
    revised = revision(quoted, " ".join([*words[:3], *REVISED.split(), *words[3:]]), quoted["t0"] - 0.25)
    server.call(_publish(server, [revised]))
    page.wait_for_selector(f"{card} blockquote.patient:has-text('{REVISED}')", timeout=10_000)
    assert page.locator(f"{card} h3 button.time").inner_text().endswith(clock_text(revised.t0))
    page.reload()
    page.wait_for_selector(f"{card} blockquote.patient:has-text('{REVISED}')", timeout=30_000)
    summary = server.call(server.api.request("GET", f"/api/encounters/{debriefed['id']}/summary"))
    [row] = [r for r in summary["challenges"] if r["moment"] == moment["id"]]
    assert REVISED in row["text"] and row["t0"] == pytest.approx(revised.t0, abs=0.001)
    assert not page.errors, page.errors
    page.context.close()


def test_a_moment_found_from_its_reply_says_so_on_its_card(server, browser, debriefed):
    moment = debriefed["moment"]
    page = open_debrief(browser, server, debriefed["id"])
    mark = f"{card_of(moment)} h3 .revealed"
    assert page.locator(mark).count() == 0
    fields = {f.name: moment[f.name] for f in dataclasses.fields(Moment) if f.name in moment}
    server.call(_publish(server, [Moment(**{**fields, "revealed": True})]))
    page.wait_for_selector(f"{mark}:has-text('found from the reply')", timeout=10_000)
    assert "the provider answered them as a racial challenge" in page.locator(mark).get_attribute("title")
    server.call(_publish(server, [Moment(**fields)]))  # as it was, for the tests after this one
    page.wait_for_selector(mark, state="detached", timeout=10_000)
    assert not page.errors, page.errors
    page.context.close()


def revision(segment: dict, text: str, t0: float) -> Segment:
    """A later revision of `segment` that hears `text` from `t0` to the segment's end."""
    words = text.split()
    step = (segment["t1"] - t0) / len(words)
    return Segment(
        id=segment["id"],
        encounter=segment["encounter"],
        speaker=segment["speaker"],
        t0=t0,
        t1=segment["t1"],
        text=text,
        final=True,
        words=[{"w": w, "t0": t0 + i * step, "t1": t0 + (i + 1) * step, "p": 0.9} for i, w in enumerate(words)],
        avg_logprob=segment["avg_logprob"],
        stable=len(words),
        revision=segment.get("revision", 0) + 1,
    )


def clock_text(t: float) -> str:
    return f"{int(t // 60):02d}:{t % 60:04.1f}"


def test_a_note_on_the_reply_shows_on_its_card_in_the_lanes_and_in_the_report(server, browser, debriefed):
    moment, response = debriefed["moment"], debriefed["response"]
    faculty, colleague = (open_debrief(browser, server, debriefed["id"]) for _ in range(2))
    faculty.fill("#author", "Dr. Rivera")
    card = faculty.locator(f"#cards .card[data-id='{moment['id']}']")
    card.locator("button.note-on.reply").click()
    assert faculty.evaluate("document.activeElement.id") == "note-text"
    assert faculty.locator("#note-about").input_value() == response["id"]
    faculty.keyboard.press("Alt+1")  # the first tag (validated), from inside the text field
    faculty.keyboard.type("Named the dismissal; ask what she expected from the ER.")
    faculty.keyboard.press("Control+Enter")
    for page in (faculty, colleague):
        page.wait_for_selector(
            f"#cards .card[data-id='{moment['id']}'] .faculty:has-text('ask what she expected')", timeout=10_000
        )
    faculty_text = faculty.locator(f"#cards .card[data-id='{moment['id']}'] .faculty").inner_text()
    assert "[validated]" in faculty_text and "Dr. Rivera" in faculty_text
    lane_note = faculty.locator(".lanes .item.note").first.get_attribute("aria-label")
    assert "on the reply" in lane_note and "ask what she expected" in lane_note, lane_note
    card.locator(".verdicts button.confirm").first.click()
    colleague.wait_for_selector(f"#cards .card[data-id='{moment['id']}'] .tag.verdict.confirm", timeout=10_000)

    report = new_page(browser, (816, 1056))
    report.goto(server.page_url("report.html", debriefed["id"]))
    report.wait_for_selector("body[data-ready='true']")
    item = report.locator(f".r-moment[data-id='{moment['id']}']")
    assert "ask what she expected" in item.locator(".faculty").inner_text()
    assert not faculty.errors and not colleague.errors and not report.errors, (faculty.errors, colleague.errors)
    for page in (faculty, colleague, report):
        page.context.close()


def test_objectives_ticked_in_the_debrief_are_exported_and_printed(server, browser, debriefed):
    page = open_debrief(browser, server, debriefed["id"])
    page.fill("#author", "Dr. Chen")
    page.locator("[data-item='objective-1'] input[value='met']").check()
    page.locator("[data-item='checklist-1'] input[type=checkbox]").check()
    page.locator("[data-item='checklist-3'] input[type=checkbox]").check()
    page.wait_for_selector("[data-item='checklist-3'] .rated-by:has-text('Dr. Chen')", timeout=10_000)
    page.wait_for_selector("[data-item='objective-1'] .rated-by:has-text('met')")
    zipped = httpx.get(
        f"{server.url}/api/encounters/{debriefed['id']}/export",
        params={"format": "csv"},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("objectives.csv").decode())))
    ratings = {row["item"]: (row["rating"], row["author"]) for row in rows}
    assert ratings["objective-1"] == ("met", "Dr. Chen") and ratings["checklist-1"] == ("done", "Dr. Chen")
    assert ratings["checklist-3"] == ("done", "Dr. Chen") and ratings["objective-2"] == ("", "")
    assert len(rows) == 8, "every objective and checklist item of the scenario, rated or not"
    page.evaluate("document.querySelector('.side-col').scrollTop = 0")
    screenshot(page, "debrief-two-track-1400")
    page.locator(".objectives-panel").screenshot(path=str(SCREENSHOTS / "debrief-objectives.png"))
    page.context.close()

    narrow = open_debrief(browser, server, debriefed["id"], (800, 1000))
    narrow.wait_for_selector("[data-item='objective-1'] input[value='met']:checked")
    screenshot(narrow, "debrief-two-track-800")
    narrow.context.close()


def test_the_report_prints_on_one_page_in_plain_words(server, browser, debriefed):
    moment = debriefed["moment"]
    for item, rating in (("objective-1", "met"), ("checklist-1", "done")):
        rated = httpx.post(
            f"{server.url}/api/encounters/{debriefed['id']}/assessments",
            json={"author": "Dr. Chen", "item": item, "rating": rating},
            headers={"Authorization": f"Bearer {KEY}"},
        )
        assert rated.status_code == 201, rated.text
    report = new_page(browser, (816, 1056))  # a Letter page at 96 dpi
    report.goto(server.page_url("report.html", debriefed["id"]))
    report.wait_for_selector("body[data-ready='true']")
    facts = report.locator("#facts").inner_text()
    assert "P-42" in facts and re.search(r"Date: \d{4}-\d\d-\d\d", facts) and "Abdominal pain" in facts
    item = report.locator(f".r-moment[data-id='{moment['id']}']").inner_text()
    assert "Discrimination disclosure: recounts unfair treatment linked to race" in item and "You:" in item
    assert re.search(r"You (replied|began) [\d.]+ s", item), item
    printed = report.locator("#report").inner_text()
    assert "✓ met" in printed and "☑" in printed, "objectives and checklist as rated"
    for jargon in ("z ", "SD", " st ", "confidence", "×", "prosody"):  # numbers for faculty stay on screen
        visible_when_printed = report.evaluate(
            "word => [...document.querySelectorAll('#report > :not(.screen-only)')]"
            ".some(e => e.innerText.includes(word))",
            jargon,
        )
        assert not visible_when_printed, jargon
    report.emulate_media(media="print")
    screenshot(report, "report")
    pdf = report.pdf(format="Letter", print_background=True)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1, "the report prints on one page"
    a4 = report.pdf(format="A4", print_background=True)
    assert len(re.findall(rb"/Type\s*/Page\b", a4)) == 1
    assert not report.errors, report.errors
    report.context.close()


LINES = [
    ("patient", "My last doctor told me the pain was all in my head, and I think it was because I am Black."),
    ("provider", "That should never have happened. I believe you, and I am going to take this seriously."),
    ("patient", "People like us do not get listened to in places like this."),
    ("provider", "I am sure they did not mean it that way. Let's move on to your medications."),
    ("patient", "Would you ask me that if I was white?"),
    ("provider", "Do you have any allergies?"),
]
"""Three moments and replies of each group: a busy but typical encounter for the one-page report."""


def _three_moments(store: Store) -> str:
    enc = store.create_encounter(DEMO, {"participant": "P-77", "cohort": "2026", "station": "room 2"}).id
    said = [segment(enc, f"s{i}", role, 10.0 * i, 10.0 * i + 6, text) for i, (role, text) in enumerate(LINES)]
    labels = [
        ("discrimination_disclosure", "validation", "responsive"),
        ("mistrust", "minimizing", "microaggression"),
        ("provider_bias_challenge", "deflecting", "microaggression"),
    ]
    flags: list = []
    for n, (moment, reply, group) in enumerate(labels):
        p, q = said[2 * n], said[2 * n + 1]
        flags += [
            Moment(
                id=f"m{n}",
                encounter=enc,
                speaker="patient",
                t0=p.t0,
                t1=p.t1,
                label=moment,
                confidence=0.8,
                segment=p.id,
                segments=[p.id],
                text=p.text,
            ),
            Response(
                id=f"r{n}",
                encounter=enc,
                speaker="provider",
                t0=q.t0,
                t1=q.t1,
                label=reply,
                group=group,
                confidence=0.7,
                moment=f"m{n}",
                segment=q.id,
                latency=q.t0 - p.t1,
                segments=[q.id],
                text=q.text,
            ),
            Note(
                id=f"n{n}",
                encounter=enc,
                speaker="provider",
                t0=q.t0,
                t1=q.t1,
                author="Dr. Rivera",
                target=f"r{n}",
                text="Talk about how this landed for her; what would you say differently next time?",
                tags=["ask_about_this"],
            ),
        ]
    scenario = find_scenario(DEMO)
    rated = [
        Assessment(
            id=f"assessment-{item}",
            encounter=enc,
            speaker="provider",
            t0=1,
            t1=1,
            item=item,
            text=text,
            rating=rating,
            author="Dr. Rivera",
        )
        for item, text, rating in [
            *((f"objective-{i}", t, "partly_met") for i, t in enumerate(scenario.objectives, 1)),
            *((f"checklist-{i}", t, "done") for i, t in enumerate(scenario.checklist, 1)),
        ]
    ]
    store.add_events([*said, *flags, *rated])
    store.finish(enc)
    return enc


def test_a_typical_encounter_with_three_moments_and_notes_still_prints_on_one_page(server, browser):
    encounter = _three_moments(Store(server.data))
    report = new_page(browser, (816, 1056))
    report.goto(server.page_url("report.html", encounter))
    report.wait_for_selector("body[data-ready='true']")
    assert report.locator(".r-moment").count() == 3 and report.locator(".r-moment .faculty li").count() == 3
    report.emulate_media(media="print")
    for size in ("Letter", "A4"):
        pdf = report.pdf(format=size, print_background=True)
        assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1, size
    assert not report.errors, report.errors
    report.context.close()


def test_notes_and_verdicts_survive_a_server_restart(server, browser, debriefed):
    moment, response = debriefed["moment"], debriefed["response"]
    notes = f"{server.url}/api/encounters/{debriefed['id']}/notes"
    auth = {"Authorization": f"Bearer {KEY}"}
    for body in (
        {"author": "Dr. Ames", "text": "Still here after a restart.", "t0": 0.0, "target": response["id"]},
        {"author": "Dr. Ames", "t0": 0.0, "target": moment["id"], "verdict": "confirm"},
    ):
        assert httpx.post(notes, json=body, headers=auth).status_code == 201
    server.restart()
    after = open_debrief(browser, server, debriefed["id"])
    card = after.locator(card_of(moment))
    after.wait_for_selector(f"{card_of(moment)} .faculty:has-text('Still here after a restart')")
    assert "confirmed by Dr. Ames" in card.inner_text()
    assert not after.errors, after.errors
    after.context.close()


@pytest.fixture(scope="module")
def room(server, engine, dialogue, tmp_path_factory):
    """The demo dialogue as one room microphone (both voices on one track), analysed offline: the
    room pipeline tells the two voices apart and gives them roles."""
    path = tmp_path_factory.mktemp("room") / "room.wav"
    write_wav(path, dialogue.mix())
    store = Store(server.data)
    analysis = analyze(
        [TrackSource(Track("unknown", dialogue.mix()), path, None)],
        engine,
        store,
        scenario=DEMO,
        classifier=Classifier.load(),
    )
    store.update_metadata(analysis.encounter, {"participant": "P-44", "station": "room 1"})
    return analysis.encounter


@pytest.mark.parametrize("width", [1400, 800])
def test_a_room_recording_says_what_it_is(server, browser, room, width):
    page = open_debrief(browser, server, room, (width, 1000))
    note = page.locator("#room-note").inner_text()
    assert note.startswith("One room track"), note
    assert page.locator("#room-note #speaker-corrections").count() == 1, "where speaker corrections go"
    assert page.locator(".tl-label.wave").all_text_contents() == ["Room"]
    assert "speakers are as diarized" in note, "the room pipeline told the two voices apart"
    assert [head.lower() for head in page.locator("#columns-head span").all_inner_texts()] == [
        "patient (sp), as diarized",
        "provider, as diarized",
    ]
    assert "unknown" not in page.locator("#deck").inner_text().lower()
    chips = boxes(page, ".lanes .item.chip")
    assert not overlaps(chips)
    screenshot(page, f"debrief-room-{width}")
    assert not page.errors, page.errors
    page.context.close()


@pytest.mark.data
def test_a_long_real_room_recording_reads_with_a_ruler_and_an_overview(server, browser, engine, shared_data):
    """A 9-minute mock consultation from osce-dev, one room microphone, analysed offline."""
    recording = shared_data / "osce-dev" / "audio" / "MSK0001.mp3"
    if not recording.exists():
        pytest.skip(f"{recording} is not there")
    sources = load_sources(mixed=recording)
    analysis = analyze(sources, engine, Store(server.data), classifier=Classifier.load())
    page = open_debrief(browser, server, analysis.encounter)
    assert page.locator(".tl-track.overview").count() == 1, "long recordings get the overview strip"
    ticks = page.locator(".ruler .tick").all_inner_texts()
    assert 5 <= len(ticks) <= 20 and ticks[0] == "00:00", ticks
    chips = boxes(page, ".lanes .item.chip")
    assert not overlaps(chips), overlaps(chips)
    screenshot(page, "debrief-room-long-1400")
    whole = float(page.get_attribute("#timeline", "data-span"))
    page.keyboard.press("+")
    page.keyboard.press("+")
    page.wait_for_function(f"Number(document.getElementById('timeline').dataset.span) < {whole / 3}")
    assert page.locator(".ruler .tick").all_inner_texts() != ticks
    assert not overlaps(boxes(page, ".lanes .item.chip"))
    assert not page.errors, page.errors
    page.context.close()


def test_pages_run_under_the_content_security_policy(server, browser, debriefed):
    """Every page, with the server's policy enforced: it renders, and nothing is refused (a refusal
    shows as a console error: an inline script, an inline style, an eval, another origin). The
    debrief is also zoomed, its chip list opened and an exchange played: what draws and moves."""
    encounter = debriefed["id"]
    checks = {
        "login.html": "#login-form",
        f"?encounter={encounter}": "#transcript .turn",  # the list, sent on to the live view
        f"live.html?encounter={encounter}": "#transcript .turn",
        f"debrief.html?encounter={encounter}": "#transcript .turn",
        f"report.html?encounter={encounter}": "main",
        f"capture.html?encounter={encounter}": "#join-form",
    }
    page = new_page(browser, enforce_csp=True)
    page.goto(f"{server.url}/login.html")
    page.click("summary")  # the key form of the login page, then the session cookie for every page
    page.fill("#key", KEY)
    page.locator("#key-form button").click()
    page.wait_for_url(f"{server.url}/")
    for path, selector in checks.items():
        page.goto(f"{server.url}/{path}")
        page.wait_for_selector(selector, state="attached", timeout=30_000)
    assert "key" not in page.url
    page.goto(f"{server.url}/debrief.html?encounter={encounter}")
    page.wait_for_selector("#play:not([disabled])", timeout=30_000)
    page.locator("#player-h").click()
    page.keyboard.press("+")
    page.wait_for_selector(".tl-track.overview .viewport")
    page.locator(".lanes .item.group").first.click()
    page.wait_for_selector(".chip-popover li")
    page.keyboard.press("Escape")
    page.locator("#cards .card button.play-exchange").first.click()
    page.wait_for_selector("#play:has-text('Pause')")
    assert not [e for e in page.errors if "Content Security Policy" in e or "Refused" in e], page.errors
    page.context.close()


def _diarized_room(store: Store, dialogue, folder: Path) -> tuple[str, dict[str, str]]:
    """The demo dialogue as one room track whose voices were diarized the wrong way round, but for
    one line that was given to the right person (and so is wrong once the roles are swapped).

    Returns the encounter and who really said each segment (segment id -> role)."""
    path = folder / "room.wav"
    write_wav(path, dialogue.mix())
    enc = store.create_encounter(DEMO, {"participant": "P-45", "station": "room 4"}).id
    store.add_track(enc, "unknown", str(path), None, len(dialogue.mix()) / SAMPLE_RATE)
    swapped = {"patient": "provider", "provider": "patient"}
    lone = len(dialogue.placements) - 2  # the line the diarization got right
    said = {f"line-{i}": line.role for i, line in enumerate(dialogue.placements)}
    store.add_events(
        [
            segment(enc, f"line-{i}", line.role if i == lone else swapped[line.role], line.t0, line.t1, line.text)
            for i, line in enumerate(dialogue.placements)
        ]
    )
    store.finish(enc)
    return enc, said


def _speakers(page) -> dict[str, str]:
    """Who each transcript row says spoke it (segment id -> role), as shown."""
    return page.eval_on_selector_all(
        "#transcript .turn",
        "rows => Object.fromEntries(rows.map(r => [r.dataset.id,"
        " ['patient', 'provider', 'unknown'].find(role => r.classList.contains(role))]))",
    )


def test_speaker_corrections_reassign_a_line_and_swap_the_roles_for_every_viewer(server, browser, dialogue, tmp_path):
    encounter, said = _diarized_room(Store(server.data), dialogue, tmp_path)
    faculty, colleague = (open_debrief(browser, server, encounter) for _ in range(2))
    assert faculty.locator("#room-note").inner_text().startswith("One room track")
    assert faculty.locator("#state").inner_text() == "finished", "finished by the store, without a status event"
    assert "as diarized" in faculty.locator("#columns-head").inner_text().lower()
    wrong = {id: role for id, role in said.items() if _speakers(faculty)[id] != role}
    assert len(wrong) == len(said) - 1, "as stored, all but one line are the wrong way round"
    [lone] = set(said) - set(wrong)

    faculty.locator("button.swap-roles").click()  # no name yet: it asks for one and saves nothing
    assert "Enter your name" in faculty.locator(".speaker-corrections [role=status]").inner_text()
    assert faculty.evaluate("document.activeElement.id") == "author"
    faculty.fill("#author", "Dr. Okafor")
    faculty.locator("button.swap-roles").click()
    swapped = {
        id: role if id != lone else {"patient": "provider", "provider": "patient"}[role] for id, role in said.items()
    }
    colleague.wait_for_function(
        "expected => Object.entries(expected).every(([id, role]) =>"
        " document.querySelector(`#transcript .turn[data-id='${id}']`).classList.contains(role))",
        arg=swapped,
        timeout=10_000,
    )
    assert colleague.locator(f"#transcript .turn[data-id='{next(iter(wrong))}'] .tag.verdict").inner_text() == (
        "speaker corrected"
    )

    faculty.wait_for_selector(f"#transcript .turn.{swapped[lone]}[data-id='{lone}']")
    row = faculty.locator(f"#transcript .turn[data-id='{lone}']")
    assert row.locator("button.reassign").inner_text().lower().startswith(f"⇄ {said[lone]}"), "offers the other one"
    row.locator("button.reassign").click()
    colleague.wait_for_selector(f"#transcript .turn.{said[lone]}[data-id='{lone}']", timeout=10_000)
    assert _speakers(colleague) == said, "every line now with the person who said it"
    screenshot(colleague, "debrief-speaker-corrections")

    colleague.reload()
    colleague.wait_for_selector("#transcript .turn")
    assert _speakers(colleague) == said, "corrections are stored: a reload shows them"
    events = server.services.store.latest_events(encounter)  # what the summary and every export read
    assert {e["id"]: e["speaker"] for e in events if e["type"] == "segment"} == said
    corrections = [e for e in events if e["type"] == "note" and e.get("verdict") in ("swap_roles", "reassign")]
    assert [(n["verdict"], n["author"]) for n in corrections] == [
        ("swap_roles", "Dr. Okafor"),
        ("reassign", "Dr. Okafor"),
    ]
    assert not faculty.errors and not colleague.errors, (faculty.errors, colleague.errors)
    for page in (faculty, colleague):
        page.context.close()
