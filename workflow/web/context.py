"""What every request handler needs: the database, settings, clock, the server's secret,
the failure limit, and how the client is addressed."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from workflow.audit.trail import Provenance
from workflow.audit.words import Channel, Identity
from workflow.core.clock import Clock
from workflow.core.settings import Settings
from workflow.links.action_links import HOURLY_LIMIT
from workflow.storage.db import Database
from workflow.web.guard import AskLimit, FailureLimit
from workflow.web.verdict import ChainWatch


class RenderCache:
    """The PCC page's published render and fingerprint for one app (one database and
    template folder), by a digest of what they are rendered from
    (``page_data.content_key``): whatever changed the rows, s55 or not, the page shows the
    text as it is now."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            return self._items.get(key)

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            if len(self._items) >= self.size:
                self._items.pop(next(iter(self._items)))
            self._items[key] = value


@dataclass
class Web:
    """The app's shared state (``app.state.web``)."""

    db: Database
    settings: Settings
    clock: Clock
    #: Signs reader sessions and derives CSRF tokens; from an owner-only file, or made
    #: afresh when the server starts (sessions and open forms then end with the process).
    secret: bytes
    limit: FailureLimit = field(default_factory=FailureLimit)
    #: Sign-in links asked for each address (``AskLimit``): as many as one person is sent.
    asks: AskLimit = field(default_factory=lambda: AskLimit(HOURLY_LIMIT))
    rendered: RenderCache = field(default_factory=RenderCache)
    #: What this process last verified of the audit chain (``verdict``).
    watch: ChainWatch = field(default_factory=ChainWatch)
    origin: Provenance = field(default_factory=lambda: Provenance.here(Channel.WEB,
                                                                       Identity.LINK))


def web(request: Request) -> Web:
    state: Web = request.app.state.web
    return state


def client_address(request: Request) -> str:
    """The client's address (a trusted proxy's forwarded one, by uvicorn's
    ``forwarded_allow_ips``; anything else sends its own)."""
    return request.client.host if request.client else "unknown"
