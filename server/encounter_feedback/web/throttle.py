"""Failed logins slow a password guesser down: after a few failures from one address, for one name
or for any name, that address must wait before it may try again.

Why in memory: the server is one process on premises; a restart forgetting the count costs a
guesser a restart's worth of tries, which is what the window allows anyway. Successful logins
clear the name's count (not the address's, so a guesser who knows one password cannot use it to
spray others).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW_S = 300.0
"""Failures older than this are forgotten."""
PER_NAME = 5
"""Failures one address may have for one name within the window."""
PER_ADDRESS = 20
"""Failures one address may have for all names together within the window."""


@dataclass
class LoginThrottle:
    """Counts failed logins per (address, name) and per address; `wait` says how long to refuse."""

    clock: Callable[[], float] = time.monotonic
    failures: dict[tuple[str, str], deque[float]] = field(default_factory=dict)

    def wait(self, address: str, name: str) -> float:
        """Seconds until `address` may try `name` again (0: now)."""
        now = self.clock()
        return max(
            self._wait(("", address), PER_ADDRESS, now),
            self._wait((address, name.casefold()), PER_NAME, now),
        )

    def failed(self, address: str, name: str) -> None:
        now = self.clock()
        for key in (("", address), (address, name.casefold())):
            self.failures.setdefault(key, deque()).append(now)

    def succeeded(self, address: str, name: str) -> None:
        self.failures.pop((address, name.casefold()), None)

    def _wait(self, key: tuple[str, str], limit: int, now: float) -> float:
        times = self.failures.get(key)
        if times is None:
            return 0.0
        while times and now - times[0] >= WINDOW_S:
            times.popleft()
        if not times:
            del self.failures[key]
            return 0.0
        return WINDOW_S - (now - times[0]) if len(times) >= limit else 0.0
