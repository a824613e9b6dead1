"""``s55 serve``: the approvers' and readers' web pages under uvicorn."""

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
        "(comma-separated); others' are ignored [default: S55_TRUSTED_PROXY, 127.0.0.1]")]
    = None,
    secret_file: Annotated[Path | None, typer.Option(
        "--secret-file", help="owner-only file with the secret that signs sessions (made "
        "if absent) [default: S55_WEB_SECRET_FILE]")] = None,
) -> None:
    """Serve the approvers' pages (links in their mail) and the readers' sign-in pages."""
    import uvicorn

    from workflow.core.settings import load_settings
    from workflow.keys.web_secret import load_or_create
    from workflow.web.app import create_app

    settings, db = open_database()
    given = {k: v for k, v in (("trusted_proxy", trusted_proxy),
                               ("web_secret_file", secret_file)) if v is not None}
    if given:  # checked as the S55_* variables are
        settings = load_settings(**given)
    secret, where = load_or_create(settings.web_secret_file)
    typer.echo(where)
    typer.echo(f"s55 web pages on http://{host}:{port}/ (links in mail point to "
               f"{settings.base_url or 'S55_BASE_URL, which is not set'})")
    uvicorn.run(create_app(db, settings, secret=secret), host=host, port=port,
                proxy_headers=True, forwarded_allow_ips=settings.trusted_proxy,
                server_header=False, log_level="info")
