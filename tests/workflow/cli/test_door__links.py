"""A report's link and the address a response was published at are absolute http(s) URLs,
whichever door they come in by (``report add`` by flags or file, ``report edit``,
``import``, ``publish``): ``javascript:``, ``data:``, ``file:``, relative and scheme-less
values are refused in one line, the database unchanged, on both backends. A document
printed such a link as text; it was stored all the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.factories import ADMIN
from tests.workflow.cli.conftest import Refused
from workflow.responses.service import Workflow

BAD = ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>x</script>",
       "file:///etc/passwd", "/reports/custody", "reports/custody.html",
       "www.justiceinspectorates.gov.uk/r", "justiceinspectorates.gov.uk", "https://",
       "https:justiceinspectorates.gov.uk", "//justiceinspectorates.gov.uk/r",
       "ftp://justiceinspectorates.gov.uk/r", "https://a.example\\@b.example",
       "https://a.example/<x>", "http://[x"]
NORFOLK = Path(__file__).parents[2] / "data" / "norfolk-asb-spotlight-2024.md"


def not_a_url(what: str, value: str) -> str:
    return (f"Error: {what}: {value!r} is not an http(s) URL (a full address such as "
            "https://www.example.org/report)")


@pytest.mark.parametrize("link", BAD)
def test_report_add(refused: Refused, link: str) -> None:
    refused(["report", "add", "--title", "T", "--published", "2024-10-10", "--link", link],
            not_a_url("link", link))


@pytest.mark.parametrize("link", BAD)
def test_report_edit(refused: Refused, link: str) -> None:
    refused(["report", "edit", "1", "link", link, "--reason", "typo"], not_a_url("link", link))


@pytest.mark.parametrize("link", ["javascript:alert(1)", "/reports/custody"])
def test_report_file(refused: Refused, tmp_path: Path, link: str) -> None:
    path = tmp_path / "report.yaml"
    path.write_text(f"title: T\npublished_on: 2024-10-10\nlink: '{link}'\n", encoding="utf-8")
    refused(["report", "add", "--file", str(path)], not_a_url("link", link))


@pytest.mark.parametrize("link", ["/reports/custody", "mailto:hmicfrs@example.org",
                                  "ftp://justiceinspectorates.gov.uk/r", "javascript:alert(1)",
                                  "JAVASCRIPT:alert(1)", "data:text/html,x",
                                  "file:///etc/passwd"])
def test_an_imported_documents_link_to_report(refused: Refused, tmp_path: Path,
                                              link: str) -> None:
    """A link markdown-it makes and one it will not (``javascript:``, ``data:``, ``file:``)
    alike: refused, where the second was kept as the link's label."""
    text = NORFOLK.read_text(encoding="utf-8").replace("(https://justiceinspectorates.gov.uk)",
                                                       f"({link})", 1)
    path = tmp_path / "response.md"
    path.write_text(text, encoding="utf-8")
    refused(["import", str(path)], f"Error: {path}: report link: {link!r} is not an http(s) "
            "URL (a full address such as https://www.example.org/report)")


@pytest.mark.parametrize("url", BAD[:6])
def test_import_published_url(refused: Refused, url: str) -> None:
    refused(["import", str(NORFOLK), "--published-url", url], not_a_url("--published-url", url))


@pytest.mark.parametrize("url", BAD)
def test_publish_url(signed_off: Workflow, refused: Refused, url: str) -> None:
    refused(["publish", "1", "--url", url], not_a_url("url", url))


def test_an_http_link_is_kept(norfolk_wf: Workflow, run: Any) -> None:
    """The rule refuses only what is not a web address."""
    result = run("report", "edit", "1", "link", " https://www.example.org/r?x=1#s ",
                 "--reason", "moved", actor=ADMIN)
    assert result.exit_code == 0, result.output
    with norfolk_wf.db.read() as s:
        from workflow.storage.loading import load

        assert load(s, 1).report.link == "https://www.example.org/r?x=1#s"
