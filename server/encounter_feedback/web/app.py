"""The HTTP API, the WebSocket event stream and the dashboard files, in one ASGI app.

FastAPI on uvicorn (WebSockets through the `websockets` library's sans-I/O protocol): FastAPI derives the
OpenAPI spec and request validation from the typed models below, and everything, aiortc
included, runs on one asyncio loop. Heavy compute runs off the loop: Whisper on the ASR
scheduler's thread, pitch on the prosody worker's.

Access: the API, the dashboard stream and the recordings need the server access key
(`Authorization: Bearer KEY`, or `?key=KEY` where a browser cannot set headers); a station
needs only its encounter's join token, sent with its offer.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from encounter_feedback.analysis.classifier import Classifier
from encounter_feedback.analysis.live import ProsodyWorker
from encounter_feedback.analysis.summary import summarize
from encounter_feedback.events import Role, Status
from encounter_feedback.media.webrtc import OfferError
from encounter_feedback.pipeline.live import LiveConfig, LiveEncounter, Shared
from encounter_feedback.research.export import ExportError, NothingToExport, Selection, build, parse_formats, zip_bytes
from encounter_feedback.resources import bundled_dir
from encounter_feedback.scenarios import ScenarioError, find_scenario, scenario_or_none
from encounter_feedback.speech.asr import AsrEngine
from encounter_feedback.speech.scheduler import AsrScheduler
from encounter_feedback.store.database import Encounter, Store, UnknownEncounter
from encounter_feedback.store.hub import Hub, Subscription
from encounter_feedback.web.access import same_secret
from encounter_feedback.web.notes import NoteError, NoteIn, note_from_request

CLIENT_DIR = bundled_dir("client")


class Metadata(BaseModel):
    """Research metadata of an encounter; other keys are kept as given."""

    model_config = ConfigDict(extra="allow")
    participant: str | None = None
    cohort: str | None = None
    condition: str | None = None
    station: str | None = None
    session: str | None = None


class EncounterCreate(BaseModel):
    scenario: str | None = Field(None, description="id of a scenario in scenarios/")
    metadata: Metadata = Metadata()


class EncounterUpdate(BaseModel):
    """What to change: metadata keys are merged (a key set to null is removed); `scenario` replaces
    the scenario (null clears it); fields left out stay as they are."""

    scenario: str | None = Field(None, description="id of a scenario in scenarios/")
    metadata: Metadata = Metadata()


class EncounterOut(BaseModel):
    id: str
    scenario: str | None
    metadata: dict[str, Any]
    created_at: float
    finished_at: float | None
    live: bool = False
    tracks: list[dict[str, Any]] = []


class EncounterCreated(EncounterOut):
    join_token: str = Field(description="what stations send with their offers")


class Offer(BaseModel):
    sdp: str
    type: str = "offer"
    role: Role
    token: str = Field(description="the encounter's join token")


class Answer(BaseModel):
    sdp: str
    type: str


@dataclass
class Services:
    """What the routes share: the store, the live encounters and the one ASR scheduler."""

    store: Store
    engine: AsrEngine
    key: str
    classifier: Classifier | None = None
    """Moment and response models; None runs transcription only."""
    live_config: LiveConfig = LiveConfig()
    hub: Hub = field(default_factory=Hub)
    live: dict[str, LiveEncounter] = field(default_factory=dict)
    shared: Shared | None = None
    """The compute live encounters share (ASR scheduler, prosody worker): made when the app starts."""

    def start(self) -> None:
        scheduler = live_scheduler(self.engine)
        scheduler.listeners.append(self.on_load)
        scheduler.start()
        self.shared = Shared(self.store, self.hub, scheduler, ProsodyWorker(), self.classifier, self.live_config)

    async def stop(self) -> None:
        for encounter in list(self.live.values()):
            await encounter.close("error", "the server stopped during the encounter")
        await self.shared.scheduler.stop()
        self.shared.prosody.close()

    def live_encounter(self, record: Encounter) -> LiveEncounter:
        if record.id not in self.live:
            self.live[record.id] = LiveEncounter(record, self.shared)
        return self.live[record.id]

    def on_load(self, degraded: bool, message: str) -> None:
        for encounter in self.live.values():
            if encounter.started and not encounter.finished:
                encounter.status("degraded" if degraded else "recovered", "unknown", message)


LIVE_CONTEXT_S = 20.0
"""Encoder context of live decodes of one utterance (`AsrConfig.min_context_s`): half the time of 30 s."""


def live_engine(engine: AsrEngine, **changes: object) -> AsrEngine:
    """The same model with other decoding options (an engine without `with_config` is used as is)."""
    with_config = getattr(engine, "with_config", None)
    return with_config(replace(engine.config, **changes)) if with_config else engine


def live_scheduler(engine: AsrEngine) -> AsrScheduler:
    """Finals and speculation with a 20 s encoder context, greedy partials, and the engine's own
    (30 s) context for the second pass, which restores the accuracy the shorter context costs."""
    return AsrScheduler(
        live_engine(engine, min_context_s=LIVE_CONTEXT_S),
        partial_engine=live_engine(engine, min_context_s=LIVE_CONTEXT_S, beam_size=1),
        revision_engine=engine,
    )


def create_app(services: Services) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        close_interrupted(services.store)
        services.start()
        try:
            yield
        finally:
            await services.stop()

    app = FastAPI(
        title="Encounter feedback",
        version="1",
        summary="Live transcription and annotation of simulated clinical encounters.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads from a CDN; the spec itself is at /openapi.json
        redoc_url=None,
    )

    def require_key(request: Request) -> None:
        header = request.headers.get("authorization", "")
        given = (
            header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else request.query_params.get("key")
        )
        if not given:
            raise HTTPException(
                401,
                "missing access key: send 'Authorization: Bearer KEY' (the key is printed "
                "when the server first starts and kept in DATA/access_key)",
            )
        if not same_secret(given, services.key):
            raise HTTPException(403, "wrong access key")

    def encounter_or_404(encounter_id: str) -> Encounter:
        try:
            return services.store.encounter(encounter_id)
        except UnknownEncounter:
            raise HTTPException(404, f"unknown encounter {encounter_id!r}") from None

    def describe(record: Encounter) -> dict[str, Any]:
        live = services.live.get(record.id)
        return {
            "id": record.id,
            "scenario": record.scenario,
            "metadata": record.metadata,
            "created_at": record.created_at,
            "finished_at": record.finished_at,
            "live": live is not None and not live.finished,
            "tracks": services.store.tracks(record.id),
        }

    def check_scenario(scenario_id: str | None) -> None:
        """400 for a scenario id not in the library; no scenario is fine."""
        if scenario_id is None:
            return
        try:
            find_scenario(scenario_id)
        except ScenarioError as exc:
            raise HTTPException(400, str(exc)) from None

    keyed = [Depends(require_key)]

    @app.post("/api/encounters", status_code=201, response_model=EncounterCreated, dependencies=keyed)
    def create_encounter(body: EncounterCreate) -> dict[str, Any]:
        """Create an encounter; stations join it with the returned `join_token`."""
        check_scenario(body.scenario)
        metadata = body.metadata.model_dump(exclude_none=True)
        record = services.store.create_encounter(body.scenario, metadata)
        return {**describe(record), "join_token": record.join_token}

    @app.get("/api/encounters", response_model=list[EncounterOut], dependencies=keyed)
    def list_encounters() -> list[dict[str, Any]]:
        return [describe(record) for record in services.store.encounters()]

    @app.get("/api/encounters/{encounter_id}", response_model=EncounterCreated, dependencies=keyed)
    def get_encounter(encounter_id: str) -> dict[str, Any]:
        """One encounter, with the join token to give its stations."""
        record = encounter_or_404(encounter_id)
        return {**describe(record), "join_token": record.join_token}

    @app.post("/api/encounters/{encounter_id}/offer", response_model=Answer)
    async def offer(encounter_id: str, body: Offer) -> dict[str, str]:
        """A station's SDP offer for one role's audio; returns the SDP answer."""
        record = encounter_or_404(encounter_id)
        if not same_secret(body.token, record.join_token):
            raise HTTPException(403, "wrong join token for this encounter")
        closing = services.live.get(record.id)
        if record.finished_at is not None or (closing is not None and closing.finished):
            raise HTTPException(409, "the encounter has finished; create a new one")
        try:
            answer = await services.live_encounter(record).accept(body.sdp, body.type, body.role)
        except OfferError as exc:
            raise HTTPException(400, str(exc)) from None
        return {"sdp": answer.sdp, "type": answer.type}

    @app.post("/api/encounters/{encounter_id}/finish", response_model=EncounterOut, dependencies=keyed)
    async def finish(encounter_id: str) -> dict[str, Any]:
        """Hang up every station, finalize the last utterances and close the encounter."""
        record = encounter_or_404(encounter_id)
        live = services.live.get(record.id)
        if live is not None:
            await live.close()  # it stays listed while it finishes, so a station's reconnect is refused (409)
            services.live.pop(record.id, None)
        elif record.finished_at is None:
            services.store.finish(record.id)
        return describe(services.store.encounter(record.id))

    @app.get("/api/encounters/{encounter_id}/events", dependencies=keyed)
    def events(encounter_id: str, after: int = Query(0, description="only events after this seq")) -> list[dict]:
        """Stored events in arrival order, each with its `seq`."""
        encounter_or_404(encounter_id)
        return [{**body, "seq": seq} for seq, body in services.store.events(encounter_id, after)]

    @app.post(
        "/api/encounters/{encounter_id}/notes",
        status_code=201,
        dependencies=keyed,
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": NoteIn.model_json_schema()}}}
        },
    )
    async def add_note(encounter_id: str, request: Request) -> dict[str, Any]:
        """A faculty note, bookmark or verdict on a flag (web/notes.py), stored as a `note` event
        and sent at once to every open viewer of the encounter, live or finished."""
        encounter_or_404(encounter_id)
        try:
            body = await request.json()
        except ValueError:
            raise HTTPException(
                400, "the body is not JSON: send {author, text, t0, t1, target, verdict, label}"
            ) from None
        try:
            note = note_from_request(encounter_id, body, [e for _, e in services.store.events(encounter_id)])
        except NoteError as exc:
            raise HTTPException(400, str(exc)) from None
        except LookupError as exc:
            raise HTTPException(404, exc.args[0]) from None
        [seq] = services.store.add_events([note])
        message = {**note.to_dict(), "seq": seq}
        services.hub.publish(encounter_id, message)
        return message

    @app.get("/api/encounters/{encounter_id}/summary", dependencies=keyed)
    def summary(encounter_id: str) -> dict[str, Any]:
        """Each scripted racial challenge: detected or not, when, and how the provider responded."""
        record = encounter_or_404(encounter_id)
        return summarize(services.store.latest_events(encounter_id), scenario_or_none(record.scenario))

    @app.patch("/api/encounters/{encounter_id}", response_model=EncounterOut, dependencies=keyed)
    def update_encounter(encounter_id: str, body: EncounterUpdate) -> dict[str, Any]:
        """Edit an encounter's research metadata or scenario (used by exports and their filters)."""
        encounter_or_404(encounter_id)
        if "scenario" in body.model_fields_set:
            check_scenario(body.scenario)
            services.store.set_scenario(encounter_id, body.scenario)
        record = services.store.update_metadata(encounter_id, body.metadata.model_dump(exclude_unset=True))
        return describe(record)

    @app.get(
        "/api/export",
        dependencies=keyed,
        response_class=Response,
        responses={200: {"content": {"application/zip": {}}, "description": "the export as a zip"}},
    )
    def export_encounters(
        request: Request,
        fmt: str = Query(
            "all", alias="format", description="all, or csv, jsonl, vtt, srt, textgrid, eaf (comma-separated)"
        ),
        scenario: str | None = None,
        cohort: str | None = None,
        condition: str | None = None,
        since: str | None = Query(None, description="created on or after: YYYY-MM-DD (local) or date-time"),
        until: str | None = Query(None, description="created on or before this day (or before this date-time)"),
        blind: bool = Query(False, description="participant ids as stable codes, condition withheld"),
    ) -> Response:
        """Encounters matching the filters as a zip (files and codebook: README, "Export and research").
        Recorded in the audit log with the caller's name (`X-User` header or `?user=`, default `api`)."""
        return deliver(
            Selection(scenario=scenario, cohort=cohort, condition=condition, since=since, until=until),
            fmt,
            blind,
            request,
        )

    @app.get(
        "/api/encounters/{encounter_id}/export",
        dependencies=keyed,
        response_class=Response,
        responses={200: {"content": {"application/zip": {}}, "description": "the export as a zip"}},
    )
    def export_encounter(
        request: Request, encounter_id: str, fmt: str = Query("all", alias="format"), blind: bool = False
    ) -> Response:
        """One encounter's export as a zip (like /api/export)."""
        encounter_or_404(encounter_id)
        return deliver(Selection(encounters=(encounter_id,)), fmt, blind, request)

    @app.get("/api/exports", dependencies=keyed)
    def export_log() -> list[dict[str, Any]]:
        """The export audit log: who exported which encounters, when, in which format, blind or not."""
        return [asdict(record) for record in services.store.exports()]

    def deliver(selection: Selection, fmt: str, blind: bool, request: Request) -> Response:
        try:
            built = build(services.store, selection, parse_formats(fmt), blind)
        except NothingToExport as exc:
            raise HTTPException(404, str(exc)) from None
        except ExportError as exc:
            raise HTTPException(400, str(exc)) from None
        content = zip_bytes(built.files)
        who = request.headers.get("x-user") or request.query_params.get("user") or "api"
        record = built.record(services.store, who)
        return Response(
            content,
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="export-{record.id}.zip"'},
        )

    @app.get("/api/encounters/{encounter_id}/recordings/{role}.wav", dependencies=keyed, response_class=FileResponse)
    def recording(encounter_id: str, role: str) -> FileResponse:
        """A role's recording: 16 kHz mono WAV, sample 0 at encounter time 0."""
        encounter_or_404(encounter_id)
        track = next((t for t in services.store.tracks(encounter_id) if t["role"] == role), None)
        if track is None or not Path(track["source"]).is_file():
            raise HTTPException(404, f"no recording of {role!r} in encounter {encounter_id!r}")
        return FileResponse(track["source"], media_type="audio/wav")

    @app.get("/api/server", dependencies=keyed)
    def server_status() -> dict[str, Any]:
        """The ASR queue (backlog, degraded), the prosody worker's CPU time, and the encounters in progress."""
        return {
            "asr": asdict(services.shared.scheduler.stats),
            "prosody": {"busy_s": round(services.shared.prosody.busy_s, 3)},
            "live": [e for e, live in services.live.items() if not live.finished],
        }

    @app.websocket("/ws/encounters/{encounter_id}")
    async def stream(
        websocket: WebSocket, encounter_id: str, key: str | None = None, token: str | None = None, after: int = 0
    ) -> None:
        """Stored events first (after `after`), then live ones; partials are live only."""
        try:
            record = services.store.encounter(encounter_id)
        except UnknownEncounter:
            return await deny(websocket, 404, f"unknown encounter {encounter_id!r}")
        if not (same_secret(key, services.key) or same_secret(token, record.join_token)):
            return await deny(websocket, 403, "wrong or missing ?key= (or the encounter's ?token=)")
        await websocket.accept()
        subscription = services.hub.subscribe(encounter_id)
        try:
            await send_events(websocket, subscription, services.store, encounter_id, after)
        except WebSocketDisconnect:
            pass
        finally:
            services.hub.unsubscribe(subscription)

    app.mount("/", StaticFiles(directory=CLIENT_DIR, html=True), name="client")
    return app


async def deny(websocket: WebSocket, status: int, detail: str) -> None:
    """Refuse a WebSocket handshake with an HTTP status and a JSON reason."""
    await websocket.send_denial_response(JSONResponse({"detail": detail}, status_code=status))


async def send_events(
    websocket: WebSocket, subscription: Subscription, store: Store, encounter: str, after: int
) -> None:
    """History from the store, then the hub's live messages, without gaps or repeats.

    The subscription is taken before the history is read, so an event stored meanwhile is in
    both; `seq` tells which live messages the history already covered.
    """
    last = after
    for seq, body in store.events(encounter, after):
        await websocket.send_json({**body, "seq": seq})
        last = seq
    incoming = asyncio.ensure_future(websocket.receive())  # the client's messages are ignored; its close is not
    getter = asyncio.ensure_future(subscription.get())
    try:
        while True:
            done, _ = await asyncio.wait({getter, incoming}, return_when=asyncio.FIRST_COMPLETED)
            if incoming in done:
                if incoming.result()["type"] == "websocket.disconnect":
                    return
                incoming = asyncio.ensure_future(websocket.receive())
            if getter not in done:
                continue
            message = getter.result()
            getter = asyncio.ensure_future(subscription.get())
            if message is None:  # too slow: the client reconnects with ?after=
                await websocket.close(code=1013, reason=f"subscriber fell behind; reconnect with ?after={last}")
                return
            if message["seq"] is not None:
                if message["seq"] <= last:
                    continue
                last = message["seq"]
            await websocket.send_json(message)
    finally:
        incoming.cancel()
        getter.cancel()


@dataclass(frozen=True)
class Running:
    url: str
    task: asyncio.Task[None]
    """Ends when the server stops (uvicorn stops it gracefully on Ctrl-C or SIGTERM)."""


@contextlib.asynccontextmanager
async def running(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[Running]:
    """Serve `app` on this event loop (port 0: any free port) until the block ends."""
    sock = socket.create_server((host, port))  # binding here turns a busy port into a plain OSError
    server = uvicorn.Server(uvicorn.Config(app, ws="websockets-sansio", log_level="warning"))
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the server stopped during startup")
        await asyncio.sleep(0.02)
    try:
        yield Running(f"http://{host}:{sock.getsockname()[1]}", task)
    finally:
        server.should_exit = True
        await task


def close_interrupted(store: Store) -> None:
    """Encounters that were live when the server last stopped uncleanly are closed, events kept."""
    for record in store.encounters():
        if record.finished_at is None and store.tracks(record.id):
            events = store.events(record.id)
            t = max((body["t1"] for _, body in events), default=0.0)
            store.add_events(
                [
                    Status(
                        id=f"status-restart-{state}",
                        encounter=record.id,
                        speaker="unknown",
                        t0=t,
                        t1=t,
                        state=state,
                        message="interrupted by a server restart",
                    )
                    for state in ("error", "finished")
                ]
            )
            store.finish(record.id)
