"""A feed s55 cannot safely read is one line and nothing registered: entity expansion ("billion
laughs") and external entities refused before feedparser sees the bytes, and a truncated,
oversized, empty, HTML or JSON document, a missing file, a URL that is not http(s), a
redirect away from http(s), an error page and a server too slow are each refused."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from feed_support import Entry, rss

from tests.factories import snapshot
from workflow.responses.service import Workflow

ABOUT_NORFOLK = Entry("PEEL 2025: An inspection of Norfolk Constabulary", "peel-2025-norfolk",
                      "Fri, 10 Oct 2025 23:01:00 GMT")
GOOD = rss([ABOUT_NORFOLK])

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>t</title><item><title>Norfolk &lol9;</title>
<link>https://www.justiceinspectorates.gov.uk/a/</link>
<pubDate>Fri, 10 Oct 2025 23:01:00 GMT</pubDate></item></channel></rss>
"""

DTD_REFUSED = "declares a DTD or entities, which s55 refuses (entity expansion and external " \
              "entities)"


def external_entity(secret: Path) -> bytes:
    """A feed whose item title is a local file's contents, if anything expanded it."""
    return (f'<?xml version="1.0"?>\n<!DOCTYPE rss [ <!ENTITY secret SYSTEM "file://{secret}"> ]>'
            '\n<rss version="2.0"><channel><title>t</title><item><title>Norfolk &secret;'
            '</title><link>https://www.justiceinspectorates.gov.uk/b/</link>'
            '<pubDate>Fri, 10 Oct 2025 23:01:00 GMT</pubDate></item></channel></rss>\n'
            ).encode()


def refused(cli: Callable[..., Any], office: Workflow, feed: str, problem: str,
            **env: str) -> None:
    """``s55 report watch FEED``: exit 1, the one line, and not one row changed."""
    before = snapshot(office)
    result = cli("report", "watch", feed, **env)
    assert result.exit_code == 1, result.output
    assert result.stderr == f"Error: feed {feed}: {problem}; nothing registered\n"
    assert result.stdout == ""
    assert snapshot(office) == before


FILES: dict[str, tuple[bytes, str]] = {
    "billion-laughs": (BILLION_LAUGHS, DTD_REFUSED),
    "truncated": (GOOD[: len(GOOD) // 2], "is not well-formed XML (no element found: line 3, "
                                          "column 40)"),
    "empty": (b" \n", "is empty"),
    "html": (b"<!DOCTYPE html>\n<html lang=\"en\"><head><title>HMICFRS</title></head>"
             b"<body><p>Norfolk Constabulary</p></body></html>",
             "is a web page (HTML), not an RSS or Atom feed"),
    "json": (b'{"items": [{"title": "Norfolk Constabulary"}]}', "is JSON, not an RSS or Atom feed"),
    "other-xml": (b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\">"
                  b"<title>Norfolk</title></svg>", "is not an RSS 2.0 or Atom feed"),
    "not-xml": (b"Norfolk Constabulary, 10 October 2025", "is not well-formed XML (syntax "
                                                          "error: line 1, column 0)"),
}


@pytest.mark.parametrize("case", sorted(FILES))
def test_a_bad_file_is_one_line_and_nothing_registered(
        case: str, office: Workflow, cli: Callable[..., Any],
        write_feed: Callable[[str, bytes], str]) -> None:
    data, problem = FILES[case]
    refused(cli, office, write_feed(f"{case}.xml", data), problem)


def test_an_external_entity_is_never_opened(office: Workflow, cli: Callable[..., Any],
                                            write_feed: Callable[[str, bytes], str],
                                            tmp_path: Path) -> None:
    """The DOCTYPE names a local file: refused before anything reads it."""
    secret = tmp_path / "secret.txt"
    secret.write_text("Norfolk Constabulary internal")
    refused(cli, office, write_feed("xxe.xml", external_entity(secret)), DTD_REFUSED)


def test_an_oversized_document_is_refused_unparsed(
        office: Workflow, cli: Callable[..., Any],
        write_feed: Callable[[str, bytes], str]) -> None:
    """Larger than S55_FEED_MAX_BYTES, even by a byte: refused; at the limit: read."""
    data = rss([ABOUT_NORFOLK] * 20)
    feed = write_feed("big.xml", data)
    refused(cli, office, feed, f"is larger than {len(data) - 1:,} bytes (S55_FEED_MAX_BYTES)",
            S55_FEED_MAX_BYTES=str(len(data) - 1))
    assert cli("report", "watch", feed, S55_FEED_MAX_BYTES=str(len(data))).exit_code == 0


def test_a_missing_file_or_a_url_not_http_is_refused(
        office: Workflow, cli: Callable[..., Any], tmp_path: Path) -> None:
    refused(cli, office, str(tmp_path / "nowhere.xml"),
            "cannot read it: no such file or folder")
    refused(cli, office, str(tmp_path), "is a directory, not a file")
    for url in ("file:///etc/passwd", "ftp://example.org/feed.xml"):
        refused(cli, office, url, "is not an http(s) URL (or give a file path)")


def test_over_http_bad_answers_are_refused(
        office: Workflow, cli: Callable[..., Any],
        serve: Callable[..., str]) -> None:
    """An error page, a redirect to a file:// URL and a body over the limit."""
    refused(cli, office, serve("/gone.xml", b"gone", 404), "the server answered 404 Not Found")
    for status, target in ((302, "file:///etc/passwd"), (301, "ftp://example.org/f.xml")):
        moved = serve(f"/moved-{status}.xml", target.encode(), status)
        refused(cli, office, moved, f"cannot be fetched (redirected to {target!r}, not an "
                                    "http(s) URL)")
    big = serve("/big.xml", rss([ABOUT_NORFOLK] * 20))
    refused(cli, office, big, "is larger than 1,000 bytes (S55_FEED_MAX_BYTES)",
            S55_FEED_MAX_BYTES="1000")


#: Set when the test is over: until then ``/slow`` stays silent and ``/drip`` keeps dripping.
_RELEASED = threading.Event()


class _Slow(http.server.BaseHTTPRequestHandler):
    """``/slow``: says nothing until the test is over; ``/drip``: a byte every 0.1 s (each
    well inside the timeout) until then, so only the whole download's time runs out."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path == "/slow":
            _RELEASED.wait(timeout=30)  # the client gives up first: its timeout is the test
        self.send_response(200)
        self.end_headers()
        if self.path == "/drip":
            for byte in GOOD:
                if _RELEASED.wait(timeout=0.1):  # the pace of the drip, ended with the test
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - its signature
        pass


@pytest.fixture
def slow_url() -> Iterator[str]:
    _RELEASED.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    _RELEASED.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_a_server_too_slow_is_refused(office: Workflow, cli: Callable[..., Any],
                                      slow_url: str) -> None:
    """Silent past the timeout, or sending so slowly the whole takes longer than it: refused
    soon after the timeout (the drip would go on for minutes), not when the server stops."""
    for path in ("/slow", "/drip"):
        started = time.monotonic()
        refused(cli, office, slow_url + path, "cannot be fetched (timed out)",
                S55_FEED_TIMEOUT="0.5")
        assert time.monotonic() - started < 10, path


def test_no_feed_named_nor_set_is_one_line(office: Workflow, cli: Callable[..., Any]) -> None:
    before = snapshot(office)
    result = cli("report", "watch")
    assert result.exit_code == 1
    assert result.stderr == ("Error: FEED: give the feed's URL or file, or set "
                             "S55_FEED_URL\n")
    bad = cli("report", "watch", S55_FEED_URL="ftp://hmicfrs.example/feed.xml")
    assert bad.exit_code == 1
    assert bad.stderr == ("Error: settings do not load: S55_FEED_URL: "
                          "'ftp://hmicfrs.example/feed.xml' is not an http(s) address\n")
    assert snapshot(office) == before
