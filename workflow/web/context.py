"""What every request handler needs: the database, settings, clock, the server's secret,
the failure limit, and how the client is addressed."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from workflow.audit import Channel, Identity, Provenance
from workflow.clock import Clock
from workflow.config import Settings
from workflow.storage.db import Database
from workflow.web.guard import FailureLimit
from workflow.web.verdict import ChainWatch


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
