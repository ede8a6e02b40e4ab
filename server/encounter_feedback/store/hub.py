"""Fan-out of an encounter's events to its WebSocket subscribers.

Each subscriber has its own bounded queue. A subscriber too slow to keep up is cut off
(`overflowed`) instead of letting its queue grow: it reconnects with `?after=SEQ` and catches
up from the store, which holds every event that matters (partials are the only events that
live in the hub alone, and the next one replaces them anyway).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

Message = dict[str, Any]


class Subscription:
    """One subscriber's queue of messages for one encounter."""

    def __init__(self, encounter: str, maxsize: int) -> None:
        self.encounter = encounter
        self.overflowed = False
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue(maxsize)

    async def get(self) -> Message | None:
        """The next message; None once the subscriber overflowed."""
        return None if self.overflowed else await self._queue.get()

    def _put(self, message: Message) -> None:
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True
            self._queue = asyncio.Queue(1)
            self._queue.put_nowait(None)  # wake the reader so it can close the socket


class Hub:
    """Who listens to which encounter; `publish` never blocks."""

    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)

    def subscribe(self, encounter: str) -> Subscription:
        subscription = Subscription(encounter, self.queue_size)
        self._subscribers[encounter].add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        listeners = self._subscribers.get(subscription.encounter)
        if listeners is not None:
            listeners.discard(subscription)
            if not listeners:
                del self._subscribers[subscription.encounter]

    def publish(self, encounter: str, message: Message) -> None:
        for subscription in list(self._subscribers.get(encounter, ())):
            subscription._put(message)

    def subscribers(self, encounter: str) -> int:
        return len(self._subscribers.get(encounter, ()))
