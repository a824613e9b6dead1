"""Reading HMICFRS's publications feed: fetched or read with a size and time limit, checked
with defusedxml, then parsed by feedparser into ``Item``s.

The only module that imports feedparser and defusedxml. feedparser expands entities and has
been seen opening a file a DOCTYPE names (kurtmckee/feedparser#107), and, handed a string,
fetches it as a URL or opens it as a path. So it is handed only bytes (in a stream) that
defusedxml has already parsed with every DTD refused: a "billion laughs" or an external
entity never reaches it, and neither does anything that is not well-formed RSS or Atom.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree
import feedparser
from defusedxml import DefusedXmlException

from workflow.core import files
from workflow.core.clock import LONDON
from workflow.core.errors import S55Error

_ATOM = "{http://www.w3.org/2005/Atom}feed"


class FeedError(S55Error):
    """A feed that cannot be read: unreachable, too large, or not a well-formed RSS or Atom
    document (``source`` names it)."""

    def __init__(self, source: str, problem: str) -> None:
        self.source, self.problem = source, problem
        super().__init__(f"feed {source}: {problem}; nothing registered")


@dataclass(frozen=True)
class Item:
    """One entry of the feed, as s55 reads it."""

    key: str  # SHA-256 of its id, else its link, else its title and date
    title: str
    link: str  # http(s), or "" when the feed gives none (or another scheme)
    categories: tuple[str, ...]
    published_at: datetime  # UTC
    #: The London calendar day of ``published_at``: s55(5A)'s 56 days begin on it.
    published_on: date


@dataclass(frozen=True)
class Skipped:
    """An entry that cannot be registered (no title or no date), with why."""

    title: str
    why: str


def is_url(source: str) -> bool:
    """Whether ``source`` names a URL (any scheme) rather than a file."""
    return "://" in source


def fetch(source: str, *, max_bytes: int, timeout: float) -> bytes:
    """The document at ``source`` (an http(s) URL or a file path), at most ``max_bytes``."""
    if is_url(source):
        return _download(source, max_bytes, timeout)
    try:
        # Read as every file a user names is: only a regular file, never past the limit,
        # and, serving a caller of the local service, by the caller's own account.
        return files.read_bytes(source, max_bytes)
    except files.FileError as exc:
        if exc.problem.startswith("is larger than"):
            raise _too_large(source, max_bytes) from None
        raise FeedError(source, exc.problem) from None


def _too_large(source: str, max_bytes: int) -> FeedError:
    return FeedError(source, f"is larger than {max_bytes:,} bytes (S55_FEED_MAX_BYTES)")


def _within(source: str, data: bytes, max_bytes: int) -> bytes:
    if len(data) > max_bytes:
        raise _too_large(source, max_bytes)
    return data


class _HttpOnly(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to another http(s) URL (urllib would follow one to ftp)."""

    def http_error_302(self, req: Any, fp: Any, code: int, msg: str, headers: Any) -> Any:
        target = urljoin(req.full_url, headers.get("Location") or headers.get("URI") or "")
        if urlsplit(target).scheme.lower() not in ("http", "https"):
            raise urllib.error.URLError(f"redirected to {target!r}, not an http(s) URL")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _read_by(response: Any, max_bytes: int, deadline: float) -> bytes:
    """The body, at most ``max_bytes``, whole by ``deadline``: the socket's timeout bounds
    each read only, and a server sending a byte at a time would otherwise never be late.
    ``read1`` returns what one receive brings (``read(n)`` would wait for all n bytes, so a
    drip kept alive could hold it past the deadline for as long as the server likes)."""
    chunks: list[bytes] = []
    total = 0
    while total <= max_bytes:
        chunk = response.read1(min(64 * 1024, max_bytes + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if time.monotonic() > deadline:
            raise TimeoutError("timed out")
    return b"".join(chunks)


def _download(url: str, max_bytes: int, timeout: float) -> bytes:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FeedError(url, "is not an http(s) URL (or give a file path)")
    opener = urllib.request.build_opener(_HttpOnly)
    request = urllib.request.Request(url, headers={
        "User-Agent": "s55 (Section 55 responses)",
        "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9"})
    try:
        with opener.open(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise _too_large(url, max_bytes)
            data = _read_by(response, max_bytes, time.monotonic() + timeout)
    except urllib.error.HTTPError as exc:
        raise FeedError(url, f"the server answered {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise FeedError(url, f"cannot be fetched ({exc.reason})") from None
    except (TimeoutError, OSError) as exc:
        raise FeedError(url, f"cannot be fetched ({exc or 'timed out'})") from None
    return _within(url, data, max_bytes)


def check_xml(source: str, data: bytes) -> None:
    """Refuse anything but a well-formed RSS or Atom document without a DTD."""
    if not data.strip():
        raise FeedError(source, "is empty")
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:64].lower()
    if start.startswith((b"<!doctype html", b"<html")):
        raise FeedError(source, "is a web page (HTML), not an RSS or Atom feed")
    if start.startswith((b"{", b"[")):
        raise FeedError(source, "is JSON, not an RSS or Atom feed")
    try:
        root = defusedxml.ElementTree.fromstring(data, forbid_dtd=True,
                                                 forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise FeedError(source, "declares a DTD or entities, which s55 refuses (entity "
                        "expansion and external entities)") from None
    except ParseError as exc:
        raise FeedError(source, f"is not well-formed XML ({exc})") from None
    if root.tag != "rss" and root.tag != _ATOM:
        raise FeedError(source, "is not an RSS 2.0 or Atom feed")


def parse(source: str, data: bytes) -> tuple[list[Item], list[Skipped]]:
    """The entries of a checked document, newest first as the feed lists them."""
    check_xml(source, data)
    # A stream, never bytes or a str: given those, feedparser may open them as a path or URL.
    parsed = feedparser.parse(io.BytesIO(data), resolve_relative_uris=False,
                              sanitize_html=False)
    items: list[Item] = []
    skipped: list[Skipped] = []
    for entry in parsed.entries:
        found = _item(entry)
        if isinstance(found, Item):
            items.append(found)
        else:
            skipped.append(found)
    return items, skipped


def _item(entry: Any) -> Item | Skipped:
    title = " ".join(str(entry.get("title") or "").split())
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    if not title:
        return Skipped("(untitled)", "has no title")
    if when is None:
        return Skipped(title, "has no publication date s55 can read")
    # feedparser's *_parsed are UTC struct_times, whatever offset the feed wrote.
    at = datetime.fromtimestamp(calendar.timegm(when), UTC)
    link = str(entry.get("link") or "").strip()
    if urlsplit(link).scheme.lower() not in ("http", "https") or any(c.isspace() for c in link):
        link = ""
    categories = tuple(str(t.get("term") or "").strip() for t in entry.get("tags") or ()
                       if t.get("term"))
    ident = str(entry.get("id") or "").strip()
    basis = f"id:{ident}" if ident else f"link:{link}" if link else f"title:{title}:{at:%F}"
    return Item(hashlib.sha256(basis.encode("utf-8")).hexdigest(), title, link, categories,
                at, at.astimezone(LONDON).date())


def read(source: str, *, max_bytes: int, timeout: float) -> tuple[list[Item], list[Skipped]]:
    """Fetch (or read) ``source`` and parse it; ``FeedError`` in one line otherwise."""
    return parse(source, fetch(source, max_bytes=max_bytes, timeout=timeout))
