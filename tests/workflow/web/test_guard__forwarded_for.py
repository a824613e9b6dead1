"""The failed-lookup limit counts the connection's own address unless a proxy named in
``S55_TRUSTED_PROXY`` forwarded the request: a real ``s55 serve`` over HTTP.

By default no proxy is believed, so a local client naming a new ``X-Forwarded-For`` on
every guess is still one address, and is stopped at the limit (20 failed lookups). Behind
a proxy named in ``S55_TRUSTED_PROXY``, each forwarded address has a limit of its own.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest
from s55_processes import base_environment, start

pytestmark = pytest.mark.slow
LIMIT = 20


def _guesses(db_url: str, tmp_path: Path, count: int, **settings: str) -> list[int]:
    """The status of ``count`` lookups of links that do not exist, each claiming to come
    from another address."""
    served = start(base_environment(S55_DATABASE_URL=db_url, HOME=str(tmp_path),
                                    S55_SPOOL_DIR=str(tmp_path / "spool"), **settings),
                   tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{served.port}", timeout=60) as web:
            return [web.get(f"/l/{secrets.token_urlsafe(32)}",
                            headers={"X-Forwarded-For": f"203.0.113.{i + 1}"}).status_code
                    for i in range(count)]
    finally:
        assert "Traceback" not in served.stop()


def test_rotating_x_forwarded_for_does_not_escape_the_limit(db_url: str,
                                                            tmp_path: Path) -> None:
    assert _guesses(db_url, tmp_path, LIMIT + 3) == [404] * LIMIT + [429] * 3


def test_behind_a_named_proxy_each_forwarded_address_is_counted(db_url: str,
                                                                tmp_path: Path) -> None:
    assert _guesses(db_url, tmp_path, LIMIT + 3,
                    S55_TRUSTED_PROXY="127.0.0.1") == [404] * (LIMIT + 3)
