"""The server's own state: how loaded the shared compute is, and which encounters are live."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from encounter_feedback.web.access import Caller
from encounter_feedback.web.models import problems
from encounter_feedback.web.services import RuntimeDep

router = APIRouter(tags=["server"])


@router.get("/api/server", responses=problems(401, 403))
def server_status(user: Caller, runtime: RuntimeDep) -> dict[str, Any]:
    """The ASR queue (backlog, degraded), the prosody worker's CPU time, and the encounters in progress."""
    return {
        "asr": asdict(runtime.shared.scheduler.stats),
        "prosody": {"busy_s": round(runtime.shared.prosody.busy_s, 3)},
        "live": [e for e, live in runtime.services.live.items() if not live.finished],
    }
