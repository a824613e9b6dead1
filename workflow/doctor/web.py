"""Checks of what ``s55 serve`` relies on: where the approvers' personal links point
(``S55_BASE_URL``), its secret file and the proxies it believes."""

from __future__ import annotations

from workflow.core.errors import ConfigError
from workflow.core.settings import Settings
from workflow.doctor.result import Result, _fail, _ok, _warn


def check_links(settings: Settings) -> Result:
    """``S55_BASE_URL``, where the approvers' personal links point: https once mail really
    goes out (the token is in the link: over http anyone on the path reads it and can act as
    its person); plain http only while mail is spooled (the demo)."""
    base = settings.base_url
    hint = ("set S55_BASE_URL to the https address people reach `s55 serve` at (through "
            "the reverse proxy), e.g. https://s55.your-opcc.example")
    if not base:
        return _warn("links", "S55_BASE_URL not set: mail asks people to act without their "
                     "personal link", hint)
    https = base.lower().startswith("https://")
    if not https and settings.smtp_host:
        return _fail("links", f"S55_BASE_URL {base} is not https: the links people are "
                     "mailed would carry their tokens in the clear", hint)
    if settings.audit_key_file is None:
        return _warn("links", "no audit key: the links' tokens derive from the audit key, "
                     "so none is issued and mail asks people to reply instead",
                     "run `s55 init` (it creates the key; see the audit key check)")
    if https:
        return _ok("links", f"personal links point to {base} (valid {settings.link_days} days)")
    return _ok("links", f"personal links point to {base} (plain http: mail is only spooled, "
               "as in the demo; https is required once S55_SMTP_HOST is set)")


def check_web(settings: Settings) -> Result:
    """``s55 serve``'s secret file (owner-only; unset: sessions end with the process) and
    the proxies whose forwarded headers it believes."""
    from workflow.keys import web_secret

    path = settings.web_secret_file
    if path is None:
        return _warn("web", "S55_WEB_SECRET_FILE not set: s55 serve makes a secret per "
                     "process, so reader sessions and open forms end when it restarts",
                     "set S55_WEB_SECRET_FILE (e.g. /var/lib/s55/web.secret); `s55 init` "
                     "creates it")
    try:
        web_secret.check(path)
    except ConfigError as exc:
        return _fail("web", str(exc), f"`s55 init` creates it; chmod 600 {path}")
    if "*" in settings.trusted_proxy.split(","):
        return _warn("web", "S55_TRUSTED_PROXY is *: any client may claim any address",
                     "name the reverse proxy's address")
    believed = (f"forwarded headers believed from {settings.trusted_proxy}"
                if settings.trusted_proxy else "no forwarded headers believed (behind a "
                "reverse proxy, set S55_TRUSTED_PROXY to its address)")
    return _ok("web", f"secret in {path} (owner-only); {believed}")
