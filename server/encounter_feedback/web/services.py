"""What the routes share, and how they get it: FastAPI dependencies instead of closures.

`Services` is what a server is made with (the store, the ASR engine, the access key, the
classifier, the live settings); it exists before the app starts. `LiveRuntime` is the compute
that live encounters share (the ASR scheduler and the prosody worker): the app's lifespan makes
it when the server starts and closes it when the server stops, so a route that has one has a
running one. Routes ask for either with `ServicesDep` / `RuntimeDep`, and for the encounter of
their `{encounter_id}` with `KnownEncounter` (404 when there is none).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

from fastapi import Depends, HTTPException
from starlette.requests import HTTPConnection

from encounter_feedback.analysis.classifier import Classifier
from encounter_feedback.analysis.live import ProsodyWorker
from encounter_feedback.events import Status
from encounter_feedback.pipeline.live import SHUTDOWN_DRAIN_S, Finishing, LiveConfig, LiveEncounter, Shared
from encounter_feedback.speech.asr import AsrConfig, AsrEngine
from encounter_feedback.speech.scheduler import AsrScheduler
from encounter_feedback.store.accounts import RETENTION
from encounter_feedback.store.database import Encounter, Store, UnknownEncounter
from encounter_feedback.store.hub import Hub


@dataclass
class Services:
    """What a server is made with, and the live encounters it is running."""

    store: Store
    engine: AsrEngine
    key: str
    classifier: Classifier | None = None
    """Moment and response models; None runs transcription only."""
    live_config: LiveConfig = LiveConfig()
    retain_days: float | None = None
    """Encounters older than this are erased (checked at the start and every hour); None keeps them."""
    hub: Hub = field(default_factory=Hub)
    live: dict[str, LiveEncounter] = field(default_factory=dict)
    """The encounters stations joined since the server started, by id, until they are closed (a finish
    in progress keeps its encounter here, so a station's reconnect finds it closing)."""

    def describe(self, record: Encounter) -> dict[str, Any]:
        """An encounter as the API shows it (`EncounterOut`)."""
        live = self.live.get(record.id)
        return {
            "id": record.id,
            "scenario": record.scenario,
            "metadata": record.metadata,
            "created_at": record.created_at,
            "finished_at": record.finished_at,
            "live": live is not None and not live.finished,
            "tracks": self.store.tracks(record.id),
        }


class LiveRuntime:
    """The ASR scheduler and prosody worker every live encounter of this server shares, running
    from the server's start (made in the app's lifespan) to `close`."""

    def __init__(self, services: Services) -> None:
        self.services = services
        scheduler = live_scheduler(services.engine)
        scheduler.listeners.append(self.on_load)
        scheduler.start()
        self.shared = Shared(
            services.store, services.hub, scheduler, ProsodyWorker(), services.classifier, services.live_config
        )

    def live_encounter(self, record: Encounter) -> LiveEncounter:
        """The encounter in progress for `record`, started by its first station; Finishing if it has
        finished meanwhile (the store is asked now, not when `record` was read)."""
        live = self.services.live
        if record.id not in live:
            if self.services.store.encounter(record.id).finished_at is not None:
                raise Finishing("the encounter has finished")
            live[record.id] = LiveEncounter(record, self.shared, on_closed=self._forget)
        return live[record.id]

    def _forget(self, encounter: LiveEncounter) -> None:
        """A live encounter closed (finished, or closed itself when idle): it is no longer live."""
        if self.services.live.get(encounter.id) is encounter:
            del self.services.live[encounter.id]

    def on_load(self, degraded: bool, message: str) -> None:
        """Tell every running encounter when the ASR falls behind or catches up."""
        for encounter in self.services.live.values():
            if encounter.started and not encounter.finished:
                encounter.status("degraded" if degraded else "recovered", "unknown", message)

    async def close(self) -> None:
        """End the encounters still running, all at once and each within bounded time (as errors: the
        server stopped), then the compute."""
        stopped = "the server stopped during the encounter"
        await asyncio.gather(
            *(e.close("error", stopped, drain_s=SHUTDOWN_DRAIN_S) for e in list(self.services.live.values()))
        )
        await self.shared.scheduler.stop()
        self.shared.prosody.close()


LIVE_CONTEXT_S = 20.0
"""Encoder context of live decodes of one utterance (`AsrConfig.min_context_s`): half the time of 30 s."""


def with_config(engine: AsrEngine, config: AsrConfig) -> AsrEngine:
    """The same model with other decoding options (an engine without `with_config` is used as is)."""
    method = getattr(engine, "with_config", None)
    return method(config) if method else engine


def live_scheduler(engine: AsrEngine) -> AsrScheduler:
    """Finals and speculation with a 20 s encoder context, greedy partials, and the engine's own
    (30 s) context for the second pass, which restores the accuracy the shorter context costs."""
    live = replace(engine.config, min_context_s=LIVE_CONTEXT_S)
    return AsrScheduler(
        with_config(engine, live),
        partial_engine=with_config(engine, replace(live, beam_size=1)),
        revision_engine=engine,
    )


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


RETENTION_CHECK_S = 3600.0


async def retention(services: Services) -> None:
    """Erase encounters older than `retain_days`, now and every hour, until cancelled."""
    if services.retain_days is None:
        return
    while True:
        cutoff = time.time() - services.retain_days * 86400
        for record in services.store.created_before(cutoff):
            if record.id not in services.live:
                services.store.delete_encounter(record.id, RETENTION)
        await asyncio.sleep(RETENTION_CHECK_S)


def services(connection: HTTPConnection) -> Services:
    """The app's `Services` (set by `create_app`)."""
    return connection.app.state.services


def runtime(connection: HTTPConnection) -> LiveRuntime:
    """The app's running `LiveRuntime` (set by its lifespan)."""
    return connection.app.state.runtime


ServicesDep = Annotated[Services, Depends(services)]
RuntimeDep = Annotated[LiveRuntime, Depends(runtime)]


def known_encounter(encounter_id: str, services: ServicesDep) -> Encounter:
    """The encounter of the route's `{encounter_id}`; 404 when there is none."""
    try:
        return services.store.encounter(encounter_id)
    except UnknownEncounter:
        raise HTTPException(404, f"unknown encounter {encounter_id!r}") from None


KnownEncounter = Annotated[Encounter, Depends(known_encounter)]
