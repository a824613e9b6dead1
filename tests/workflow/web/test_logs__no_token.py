"""``s55 serve`` logs every request, and no link token: read from the real server's output.

The force liaison's journey through their link on a real ``s55 serve`` (opening the page,
saving an answer, opening an action's address, a mistyped link), over HTTP; then the whole
of what the server printed holds the request lines, each link written ``/l/…``, and the
token nowhere. On both databases.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from s55_processes import base_environment, start
from web_support import BASE, csrf, fingerprint, make_env, version

pytestmark = pytest.mark.slow


def test_a_journey_through_a_link_leaves_no_token_in_the_log(keyed_db, settings,  # type: ignore[no-untyped-def]
                                                              db_url: str,
                                                              tmp_path: Path) -> None:
    env = make_env(keyed_db, settings)
    token = env.force_token()
    served = start(base_environment(S55_DATABASE_URL=db_url,
                                    S55_AUDIT_KEY_FILE=str(keyed_db.audit_key_file),
                                    S55_BASE_URL=BASE, S55_FORCE="Norfolk",
                                    S55_SPOOL_DIR=str(tmp_path / "spool"),
                                    HOME=str(tmp_path)), tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{served.port}", timeout=60) as web:
            page = web.get(f"/l/{token}")
            assert page.status_code == 200
            fields = {"csrf": csrf(page.text), "version": version(page.text),
                      "force_response_1": "The force has begun this work."}
            if 'name="fingerprint"' in page.text:
                fields["fingerprint"] = fingerprint(page.text)
            saved = web.post(f"/l/{token}/save", data=fields)
            assert saved.status_code == 303
            assert web.get(saved.headers["location"]).status_code == 200
            assert web.get(f"/l/{token}/submit").status_code == 405
            assert web.get(f"/l/{token[:-1]}x").status_code == 404
    finally:
        said = served.stop()
    assert token not in said
    assert token[:12] not in said  # not even in part
    for line in ('"GET /l/… HTTP/1.1" 200', '"POST /l/…/save HTTP/1.1" 303',
                 '"GET /l/…?done=saved HTTP/1.1" 200', '"GET /l/…/submit HTTP/1.1" 405',
                 '"GET /l/… HTTP/1.1" 404'):
        assert line in said, line
