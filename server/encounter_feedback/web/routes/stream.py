"""The event stream: `WS /ws/encounters/{id}` sends an encounter's stored events, then its live ones.

It needs the `live` permission, through the session cookie (the dashboard's pages; browsers send
it with the handshake, and a foreign page's handshake is refused) or `Authorization: Bearer` (a
script). A station's join token does not open it: a station has no business reading the
transcript or the faculty's notes. Each opened stream goes into the access log.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, WebSocket, WebSocketDisconnect

from encounter_feedback.store.database import Store, UnknownEncounter
from encounter_feedback.store.hub import Subscription
from encounter_feedback.web.access import Allowed, bearer, caller, session_cookie
from encounter_feedback.web.models import MAX_SEQ
from encounter_feedback.web.services import ServicesDep
from encounter_feedback.web.validation import deny

router = APIRouter()


@router.websocket("/ws/encounters/{encounter_id}")
async def stream(
    websocket: WebSocket,
    encounter_id: str,
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
) -> None:
    """Stored events first (after `after`), then live ones; partials are live only."""
    try:
        user = Allowed("live")(caller(websocket, services, await bearer(websocket), await session_cookie(websocket)))
        services.store.encounter(encounter_id)
    except HTTPException as exc:
        return await deny(websocket, exc.status_code, exc.detail)
    except UnknownEncounter:
        return await deny(websocket, 404, f"unknown encounter {encounter_id!r}")
    services.store.record_access(user.name, "live_view", encounter_id, f"after={after}")
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
