"""The dashboard and the capture page in a real browser: Debian's Chromium driven by Playwright.

The server runs in-process on its own thread and event loop (the real model, the trained
classifier, SQLite, WebSockets); stations are real aiortc peers or the capture page itself with a
WAV file as Chromium's fake microphone. Screenshots go to tests/screenshots/.
"""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
import pytest

from encounter_feedback.analysis.classifier import Classifier
from encounter_feedback.bench.wer import normalize
from encounter_feedback.events import Cue
from encounter_feedback.media.audio import SAMPLE_RATE, write_wav
from encounter_feedback.media.tts import VOICES, render_dialogue, synthesize
from encounter_feedback.stations.api_client import ApiClient
from encounter_feedback.stations.replay import replay
from encounter_feedback.store.database import Store
from encounter_feedback.taxonomy import MOMENT_LABELS, REPLY_MEASURE_UNITS
from encounter_feedback.web.app import Services, create_app, running

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
KEY = "browser-key"
CAPTURE_LINE = "My chest has been hurting since last night."
DIALOGUE = [
    ("provider", "Good morning. What brings you in today?"),
    ("patient", "I have had a bad headache for three days."),
    ("provider", "Do you drink alcohol or use any drugs?"),
    ("patient", "Is that because I am Black?"),
    ("provider", "I am sorry. That is a fair question. Can you tell me more about what happened?"),
]
"""A short encounter whose patient challenges the provider's bias (a moment) and gets a coded reply."""

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


@pytest.fixture(scope="module")
def dialogue():
    return render_dialogue(DIALOGUE)


@pytest.fixture(scope="module")
def streamed(server, browser, dialogue):
    """The conftest dialogue streamed by two aiortc peers while a live view watches; then finished.

    Yields what the live view showed along the way and the finished encounter's id and events.
    """
    joined = server.call(server.api.create_encounter("ed-pain-dismissed", participant="P-42", cohort="2026"))
    page = new_page(browser)
    page.goto(server.page_url("live.html", joined.id))
    page.wait_for_selector("#state:has-text('waiting for stations')")
    streaming = server.spawn(replay(server.api, joined.id, joined.join_token, dialogue.tracks))
    seen: dict[str, Any] = {}
    page.wait_for_selector("#transcript .turn.partial .unstable", timeout=60_000)
    seen["partial"] = page.locator("#transcript .turn.partial").first.inner_text()
    page.wait_for_selector("#flags .flag-item", timeout=60_000)
    seen["moment"] = page.locator("#flags .flag-item").first.inner_text()
    streaming.result(120)
    page.wait_for_selector("#flags .flag-item .reply .tag", timeout=30_000)
    seen["flags"] = page.locator("#flags").inner_text()
    seen["screenshot"] = screenshot(page, "live-view")
    server.call(server.api.finish(joined.id))
    page.wait_for_selector("#state:has-text('finished')", timeout=30_000)
    seen["transcript"] = page.locator("#transcript").inner_text()
    seen["rows"] = page.locator("#transcript .turn").count()
    seen["partials_left"] = page.locator("#transcript .turn.partial").count()
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
    for word in ("headache", "three days", "tell me more"):
        assert word in transcript, (word, transcript)
    assert re.search(r"because i('m| am) black", transcript), transcript
    [moment] = {e["id"]: e for e in events if e["type"] == "moment"}.values()  # its latest version
    [response] = [e for e in events if e["type"] == "response"]
    assert re.sub("_", " ", moment["label"]) in seen["moment"].lower()
    assert re.search(r"because i('m| am) black", seen["moment"].lower()), seen["moment"]
    assert f"reply: {(response['label'] or 'neutral').replace('_', ' ')}" in seen["flags"].lower()
    assert re.search(r"patient \d+%", seen["talk"].lower()) and re.search(r"provider \d+%", seen["talk"].lower())
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
    dashboard.wait_for_selector(f"#encounters tr[data-id='{joined.id}'] .state.live")
    screenshot(dashboard, "encounter-list")
    server.call(server.api.finish(joined.id))
    station.wait_for_selector(
        "#connection[data-state='finished']", timeout=30_000
    )  # it tried to reconnect; 409 ends it
    unexpected = [e for e in station.errors if "409 (Conflict)" not in e]  # the refused reconnect, shown as "finished"
    assert not unexpected and not dashboard.errors, (station.errors, dashboard.errors)
    station.context.close()
    dashboard.context.close()


def _add_voice_cues(server: ServerThread, encounter: str, events: list[dict]) -> None:
    """Cue events of the kinds the debrief draws, for those the cue analysis did not emit here.

    Prosody and reply cues come from the cue analysis (analysis/dynamics.py) when it runs; what it
    left out is stored in the form it uses, so the debrief always draws real stored events. A
    kind no code emits (`gaze_aversion`) checks that unknown kinds still show in the cue lane.
    """
    finals = [e for e in events if e["type"] == "segment"]
    [moment] = {e["id"]: e for e in events if e["type"] == "moment"}.values()  # its latest version
    [response] = [e for e in events if e["type"] == "response"]
    cues = [e for e in events if e["type"] == "cue"]
    added = []
    if not any(c["kind"] == "prosody" for c in cues):
        added += [
            Cue(
                id=f"cue-test-prosody-{i}",
                encounter=encounter,
                speaker=s["speaker"],
                t0=s["t0"],
                t1=s["t1"],
                kind="prosody",
                value=(31.0 if s["speaker"] == "patient" else 22.0) + i * 0.4,
                unit="st",
                detail={
                    "loudness_db": -30.0 + (i % 3),
                    "speech_rate": 4.0 + 0.3 * i,
                    "articulation_rate": 4.6,
                    "f0_sd_st": 2.1,
                },
            )
            for i, s in enumerate(finals)
        ]
    if not any(
        c["kind"] == "reply_change" or (c["kind"] in REPLY_MEASURE_UNITS and c.get("moment") == moment["id"])
        for c in cues
    ):
        added.append(
            Cue(
                id="cue-test-reply",
                encounter=encounter,
                speaker="provider",
                t0=response["t0"],
                t1=response["t1"],
                kind="reply_change",
                value=1.8,
                unit="st",
                detail={"moment": moment["id"], "pitch_st": 1.8, "loudness_db": -2.5, "speech_rate": -0.6},
            )
        )
    added.append(
        Cue(
            id="cue-test-new-kind",
            encounter=encounter,
            speaker="patient",
            t0=finals[3]["t0"],
            t1=finals[3]["t0"] + 0.5,
            kind="gaze_aversion",
            value=None,
            unit="",
            detail={"source": "video"},
        )
    )
    server.services.store.add_events(added)


def test_debrief_plays_seeks_and_shares_notes_across_viewers_and_restarts(server, browser, streamed):
    encounter = streamed["id"]
    _add_voice_cues(server, encounter, streamed["events"])
    moment = next(e for e in streamed["events"] if e["type"] == "moment")
    faculty, colleague = new_page(browser), new_page(browser)
    for page in (faculty, colleague):
        page.goto(server.page_url("debrief.html", encounter))
        page.wait_for_selector("#play:not([disabled])", timeout=30_000)

    audio = "document.getElementById('playback')"
    faculty.click("#play")
    faculty.wait_for_function(f"{audio}.currentTime > 0.5 && !{audio}.paused", timeout=10_000)
    faculty.click("#play")
    faculty.wait_for_function(f"{audio}.paused")
    assert faculty.locator("#clock").inner_text() != "00:00.0"

    faculty.click(".lane .item.moment")  # a flag on the timeline
    at = faculty.evaluate(f"{audio}.currentTime")
    assert abs(at - moment["t0"]) < 0.1, (at, moment["t0"])
    faculty.wait_for_selector("#transcript .turn.current.flagged.moment")
    faculty.evaluate(f"{audio}.currentTime = 0")
    faculty.locator("#cards .card button.time").first.click()  # the moment card's time
    assert abs(faculty.evaluate(f"{audio}.currentTime") - moment["t0"]) < 0.1

    card = faculty.locator(f"#cards .card[data-id='{moment['id']}']")
    assert re.search(r"because i('m| am) black", card.inner_text().lower())
    score = card.locator("dd.responsiveness").inner_text()  # the seed study's scale, with its anchor
    assert re.match(r"[+\u2212]?\d: .*reaction", score) or score.startswith("\u2014"), score
    assert "Confidence is how often" in faculty.locator("#cards").inner_text()
    voice = card.locator("dt:has-text('Prosody change') + dd").inner_text()
    assert voice != "none reported" and re.search(r"pitch[ :]", voice), voice
    assert faculty.locator("#plots svg").count() == 3
    assert "gaze aversion" in faculty.locator(".lane .item.cue[title*='gaze aversion']").first.get_attribute("title")
    relabel = card.locator(".verdicts select").first  # the labels come from GET /api/taxonomy
    assert relabel.locator("option").evaluate_all("options => options.map(o => o.value)") == list(MOMENT_LABELS)

    faculty.fill("#author", "Dr. Rivera")
    card.locator(".verdicts button.confirm").first.click()
    colleague.wait_for_selector(f"#cards .card[data-id='{moment['id']}'] .tag.verdict.confirm", timeout=10_000)
    assert "confirmed by Dr. Rivera" in colleague.locator(f"#cards .card[data-id='{moment['id']}']").inner_text()
    faculty.fill("#note-text", "Good repair; ask what happened at earlier visits.")
    faculty.click(".note-form button[type=submit]")
    colleague.wait_for_selector("#notes li.note:has-text('ask what happened at earlier visits')", timeout=10_000)
    faculty.wait_for_selector("#notes li.note:has-text('ask what happened at earlier visits')")
    screenshot(faculty, "debrief-view")
    assert not faculty.errors and not colleague.errors, (faculty.errors, colleague.errors)

    report = new_page(browser, (816, 1056))  # a Letter page at 96 dpi
    report.goto(server.page_url("report.html", encounter))
    report.wait_for_selector("body[data-ready='true']")
    assert "P-42" in report.locator("#facts").inner_text()
    report.emulate_media(media="print")
    screenshot(report, "report")
    pdf = report.pdf(format="Letter", print_background=True)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1, "the report prints on one page"

    server.restart()
    after = new_page(browser)
    after.goto(server.page_url("debrief.html", encounter))
    after.wait_for_selector("#notes li.note:has-text('ask what happened at earlier visits')", timeout=15_000)
    assert "confirmed by Dr. Rivera" in after.locator(f"#cards .card[data-id='{moment['id']}']").inner_text()
    for page in (faculty, colleague, report, after):
        page.context.close()


def test_pages_run_under_the_content_security_policy(server, browser, streamed):
    """Every page, with the server's policy enforced: it renders, and nothing is refused (a refusal
    shows as a console error: an inline script, an eval, another origin)."""
    encounter = streamed["id"]
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
    assert not [e for e in page.errors if "Content Security Policy" in e or "Refused" in e], page.errors
    page.context.close()
