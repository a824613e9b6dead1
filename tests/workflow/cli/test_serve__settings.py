"""``s55 serve`` reads its settings from ``Settings`` (S55_WEB_SECRET_FILE,
S55_TRUSTED_PROXY): a bad value or an unsafe secret file is refused in one line before
anything listens."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from workflow.cli import app
from workflow.keys import web_secret


def serve(db_url: str, *args: str, **env: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["serve", "--port", "1", *args],
                              env={"S55_DATABASE_URL": db_url, **env})


def test_a_secret_file_others_may_read_is_refused(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "web.secret"
    web_secret.create(path)
    path.chmod(0o644)
    done = serve(db_url, S55_WEB_SECRET_FILE=str(path))
    assert done.exit_code == 1
    assert done.output.strip() == (f"Error: web secret file {path}: may be read by others "
                                   "(mode 644); chmod 600 it")


def test_a_bad_proxy_list_is_refused_from_the_environment_or_the_option(
        db_url: str) -> None:
    for done in (serve(db_url, S55_TRUSTED_PROXY="proxy.example"),
                 serve(db_url, "--trusted-proxy", "proxy.example")):
        assert done.exit_code == 1
        assert done.output.startswith("Error: settings do not load: S55_TRUSTED_PROXY: "
                                      "'proxy.example' is not an IP address or network")
