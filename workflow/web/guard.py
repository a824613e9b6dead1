"""Response headers every page carries, and the per-address limit on failed lookups.

The token of a link is in its path: ``Referrer-Policy: no-referrer`` keeps it from the
next site a person opens. The Content-Security-Policy allows nothing but our own
stylesheet and forms posting back to us: no script at all, inline or not, so even text
that escaped escaping could not run.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    # Pages hold a person's draft text and their link: never kept by a shared cache.
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """ASGI middleware adding ``HEADERS`` to every HTTP response (errors included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in HEADERS if h[0] not in names)]
            await send(message)

        await self.app(scope, receive, with_headers)


class FailureLimit:
    """At most ``limit`` failed lookups per client address in ``window`` seconds.

    In the memory of this process (one ``s55 serve``); a guesser of 256-bit tokens needs
    far more than any limit lets through, the limit only keeps the log and database quiet.
    """

    def __init__(self, limit: int = 20, window: float = 600.0,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.now = limit, window, now
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str) -> deque[float]:
        times = self._seen.setdefault(address, deque())
        cutoff = self.now() - self.window
        while times and times[0] < cutoff:
            times.popleft()
        return times

    def blocked(self, address: str) -> bool:
        with self._lock:
            return len(self._recent(address)) >= self.limit

    def failed(self, address: str) -> None:
        with self._lock:
            self._recent(address).append(self.now())
            if len(self._seen) > 10_000:  # forget the quiet addresses
                for key in [k for k, v in self._seen.items() if not v]:
                    del self._seen[key]


class AskLimit:
    """At most ``limit`` sign-in links asked for one address in ``window``, whoever asks
    and whether or not the address is anyone's: a refusal is about the asking, so the page
    may say so (and when to try again) without telling who has an account.

    In the memory of this process, like ``FailureLimit``; the database's own limit on the
    links one person is sent (``workflow.links.action_links.HOURLY_LIMIT``) stays behind
    it, for asks spread over several servers or a restart."""

    def __init__(self, limit: int, window: timedelta = timedelta(hours=1)) -> None:
        self.limit, self.window = limit, window
        self._asked: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def ask(self, address: str, now: datetime) -> datetime | None:
        """Count one ask for ``address`` at ``now``: None if it may go ahead, else when the
        next one may (and this one is not counted)."""
        key = address.strip().casefold()
        with self._lock:
            times = self._asked.setdefault(key, deque())
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.limit:
                return times[0] + self.window
            times.append(now)
            if len(self._asked) > 10_000:  # forget the addresses not asked for lately
                for quiet in [k for k, v in self._asked.items() if v[-1] <= now - self.window]:
                    del self._asked[quiet]
            return None
