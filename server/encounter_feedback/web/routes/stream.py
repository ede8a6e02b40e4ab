"""The event stream: `WS /ws/encounters/{id}` sends an encounter's stored events, then its live ones.

Dashboards authenticate with `?key=`, a station with its encounter's `?token=` (browsers cannot
set headers on a WebSocket).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from encounter_feedback.store.database import Store, UnknownEncounter
from encounter_feedback.store.hub import Subscription
from encounter_feedback.web.access import same_secret
from encounter_feedback.web.services import ServicesDep
from encounter_feedback.web.validation import deny

router = APIRouter()


@router.websocket("/ws/encounters/{encounter_id}")
async def stream(
    websocket: WebSocket,
    encounter_id: str,
    services: ServicesDep,
    key: str | None = None,
    token: str | None = None,
    after: int = 0,
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
