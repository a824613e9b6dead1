"""``s55 serve``: the approvers' and readers' web pages under uvicorn (and, with a socket
set, officers' commands: ``workflow.cli.local_service``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workflow.cli.app import app, number_option, open_database


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on (behind a reverse proxy: "
                                           "127.0.0.1)")] = "127.0.0.1",
    port: Annotated[int, number_option("--port", 1, 65535, help_text="port to listen on")]
    = 8055,
    trusted_proxy: Annotated[str | None, typer.Option(
        "--trusted-proxy", help="addresses whose X-Forwarded-For/-Proto are believed "
        "(comma-separated); others' are ignored [default: S55_TRUSTED_PROXY, none]")]
    = None,
    secret_file: Annotated[Path | None, typer.Option(
        "--secret-file", help="owner-only file with the secret that signs sessions (made "
        "if absent) [default: S55_WEB_SECRET_FILE]")] = None,
) -> None:
    """Serve the approvers' pages (links in their mail) and the readers' sign-in pages;
    with S55_SOCKET set, take officers' commands on it too."""
    import uvicorn

    from workflow.cli.local_service import taking_commands
    from workflow.core.settings import load_settings
    from workflow.keys.web_secret import load_or_create
    from workflow.web.app import create_app
    from workflow.web.logs import log_config

    given = {k: v for k, v in (("trusted_proxy", trusted_proxy),
                               ("web_secret_file", secret_file)) if v is not None}
    settings = load_settings(**given)  # checked as the S55_* variables are
    secret, where = load_or_create(settings.web_secret_file)
    with taking_commands(settings):  # before the database is opened: see workflow.local
        _, db = open_database()
        typer.echo(where)
        typer.echo(f"s55 web pages on http://{host}:{port}/ (links in mail point to "
                   f"{settings.base_url or 'S55_BASE_URL, which is not set'})")
        # Forwarded addresses only from a proxy named in S55_TRUSTED_PROXY (none by
        # default): otherwise every client is known by its connection's own address.
        uvicorn.run(create_app(db, settings, secret=secret), host=host, port=port,
                    proxy_headers=bool(settings.trusted_proxy),
                    forwarded_allow_ips=settings.trusted_proxy or None,
                    server_header=False, log_level="info", log_config=log_config())
