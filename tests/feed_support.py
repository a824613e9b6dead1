"""What the feed tests share (their conftests import the fixtures): Norfolk's office (its
settings recorded, its people, an audit key) on both databases on 1 December 2025, feeds
written as files (RSS 2.0 and Atom), a local web server on a free loopback port serving
them, and the ``s55`` command line."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
import time_machine
from typer.testing import CliRunner

from tests.factories import ADMIN, add_people, record_office
from workflow.cli import app
from workflow.core.settings import Settings
from workflow.responses.service import Workflow
from workflow.storage.db import Database

#: "Now" in these tests: a GMT day, a week before the BST item's deadline (5 December).
NOW = "2025-12-01 10:00:00+00:00"
FEEDS = "https://www.justiceinspectorates.gov.uk/hmicfrs/publications/"


@pytest.fixture(autouse=True)
def _on_1_december_2025() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@dataclass(frozen=True)
class Entry:
    """One item of a feed as written: ``when`` exactly as the feed writes it."""

    title: str
    slug: str
    when: str
    categories: Sequence[str] = ()
    link: str | None = None  # default: the HMICFRS page named by ``slug``

    @property
    def url(self) -> str:
        return self.link if self.link is not None else f"{FEEDS}{self.slug}/"


def rss(entries: Sequence[Entry]) -> bytes:
    """An RSS 2.0 document (``when`` as an RFC 822 pubDate)."""
    items = "".join(
        f"<item><title>{escape(e.title)}</title><link>{escape(e.url)}</link>"
        f"<guid isPermaLink=\"false\">{escape(e.slug)}</guid><pubDate>{e.when}</pubDate>"
        + "".join(f"<category>{escape(c)}</category>" for c in e.categories) + "</item>\n"
        for e in entries)
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>"
            "<title>HMICFRS publications</title><link>https://www.justiceinspectorates.gov.uk"
            f"/hmicfrs/</link><description>Publications</description>\n{items}"
            "</channel></rss>\n").encode()


def atom(entries: Sequence[Entry]) -> bytes:
    """An Atom document (``when`` as an RFC 3339 published date)."""
    items = "".join(
        f"<entry><title>{escape(e.title)}</title><link href=\"{escape(e.url)}\"/>"
        f"<id>urn:hmicfrs:{escape(e.slug)}</id><published>{e.when}</published>"
        f"<updated>{e.when}</updated>"
        + "".join(f"<category term=\"{escape(c)}\"/>" for c in e.categories) + "</entry>\n"
        for e in entries)
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>HMICFRS publications</title>"
            "<id>urn:hmicfrs:publications</id><updated>2025-12-01T09:00:00Z</updated>\n"
            f"{items}</feed>\n").encode()


@pytest.fixture
def office(keyed_db: Database, settings: Settings) -> Workflow:
    """Norfolk's office (settings recorded as ``s55 init`` records them) and its people."""
    wf = Workflow(keyed_db, settings)
    record_office(wf)
    add_people(wf)
    return wf


@pytest.fixture
def cli(office: Workflow, tmp_path: Path) -> Callable[..., Any]:
    """``cli(*args, actor=ADMIN, **env)``: ``s55 ARGS`` in this process on the office's
    database and audit key."""
    env = {"S55_DATABASE_URL": office.db.url, "S55_SPOOL_DIR": str(tmp_path / "spool"),
           "S55_AUDIT_KEY_FILE": str(office.db.audit_key_file)}

    def invoke(*args: str, actor: str = ADMIN, **extra: str) -> Any:
        return CliRunner().invoke(app, list(args), env={**env, "S55_ACTOR": actor, **extra})

    return invoke


@pytest.fixture
def write_feed(tmp_path: Path) -> Callable[[str, bytes], str]:
    """``write_feed(name, data)``: the path of a file holding ``data``."""
    def write(name: str, data: bytes) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    return write


class _Pages(http.server.BaseHTTPRequestHandler):
    pages: dict[str, tuple[int, bytes]] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        status, body = self.pages.get(self.path, (404, b"not found"))
        self.send_response(status)
        if status in (301, 302):
            self.send_header("Location", body.decode())
            body = b""
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - its signature
        pass


@pytest.fixture
def serve() -> Iterator[Callable[[str, bytes, int], str]]:
    """``serve(path, body, status=200)``: the URL of ``body`` on a web server on a free
    loopback port (stopped after the test); a 301/302's body is where it redirects."""
    pages: dict[str, tuple[int, bytes]] = {}
    handler = type("Pages", (_Pages,), {"pages": pages})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def add(path: str, body: bytes, status: int = 200) -> str:
        pages[path] = (status, body)
        return f"http://127.0.0.1:{server.server_address[1]}{path}"

    yield add
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
