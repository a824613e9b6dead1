"""Settings, read once from ``S55_*`` environment variables and passed down.

Library code never reads ``os.environ``; the CLI builds one ``Settings`` and hands
it to whatever it calls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workflow.core.errors import ConfigError


class Settings(BaseSettings):
    """Everything s55 can be configured with."""

    model_config = SettingsConfigDict(env_prefix="S55_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///s55.db",
        description="SQLAlchemy URL; a SQLite file in the working directory by default",
    )
    statement_timeout_ms: int = Field(default=30_000, ge=0, description="PostgreSQL only")
    # The force and the office's name are the database's (`s55 init --force --office`,
    # `s55 office set`); these supply them only to `s55 init`, and to a database that
    # does not hold them yet. There is no default force.
    force: str | None = Field(default=None, description="the police force this OPCC oversees")
    opcc_name: str | None = None
    force_input_days_before: int = Field(default=28, ge=0, le=55)
    signoff_days_before: int = Field(default=14, ge=0, le=55)

    # Mail. With no SMTP host, mail is spooled as .eml files.
    mail_from: str = "s55@opcc.invalid"
    spool_dir: Path = Path("spool")
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: str = Field(default="starttls", pattern="^(starttls|tls|none)$")
    smtp_username: str | None = None
    # Only ever from the environment; never stored, logged or audited.
    smtp_password: SecretStr | None = None
    smtp_timeout: float = 30.0
    mail_max_attempts: int = Field(default=8, ge=1)
    template_dir: Path | None = None  # an organisation's template overrides
    # s55(6): a copy of the published comments goes to HMICFRS and the Home Office.
    # The defaults are reserved .invalid addresses (RFC 2606) so nothing reaches a wrong
    # mailbox before an OPCC sets the addresses it has been given.
    hmicfrs_email: str = "s55-comments@hmicfrs.invalid"
    home_office_email: str = "s55-comments@homeoffice.invalid"
    # Where replies go (the Reply-To of every message): a person, so a force liaison who
    # answers by mail reaches someone. Unset: the admin with the lowest id at queueing time.
    mail_reply_to: str | None = None
    smtp_ca_file: Path | None = None  # a private CA bundle for the SMTP server's TLS cert
    mail_batch_size: int = Field(default=100, ge=1, le=10_000)

    @field_validator("mail_from", "hmicfrs_email", "home_office_email", "mail_reply_to")
    @classmethod
    def _one_address(cls, value: str | None) -> str | None:
        """One plain ``local@domain`` (an empty or injected value never reaches a header)."""
        from notifications.errors import NotificationError
        from notifications.message import check_address

        if value is None:  # only mail_reply_to may be unset
            return None
        try:
            return check_address(value.strip())
        except NotificationError as exc:
            raise ValueError(f"{value!r} is not one plain address local@domain") from exc

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        """An ``http(s)`` address with a host and no query or fragment (links are built
        on it), without its trailing slash; empty is unset."""
        from urllib.parse import urlsplit

        from notifications.hrefs import safe_href

        if value is None or not value.strip():
            return None
        url = safe_href(value.strip())
        if not url or urlsplit(url).query or urlsplit(url).fragment:
            raise ValueError(f"{value!r} is not an http(s) address such as "
                             "https://s55.opcc.example")
        return url.rstrip("/")

    # The audit log's trust outside the database: the key that signs every event
    # (owner-only; `s55 init` creates it) and the file checkpoints of the chain go to.
    # Unset: the account's config folder's key, when there is one (see ``_key_file``).
    audit_key_file: Path | None = None
    checkpoint_file: Path | None = None
    # Who is acting. ``os``: the operating-system account running the command,
    # mapped to a person by their login; ``claimed``: --as/S55_ACTOR taken on trust
    # (demos, single-officer installs; every event says so and `s55 doctor` warns).
    # Whether the force-input submitter may also sign off (separation of duties).
    # Both are the database's (`s55 init --identity`, `s55 office set`): here they may
    # only ask for a stricter check than it records, never a looser one (refused), and
    # supply `s55 init` the first time. Unset: the database's.
    identity: str | None = Field(default=None, pattern="^(os|claimed)$")
    separation_of_duties: bool | None = None

    # The approvers' links: the address people open their personal links at
    # (https outside demo mode; `s55 doctor` fails otherwise) and how long a link lives.
    # Unset: mail carries no link (and `s55 doctor` says what to set).
    base_url: str | None = None
    link_days: int = Field(default=14, ge=1, le=56)
    # The web server (`s55 serve`): the owner-only file holding the secret that signs
    # reader sessions and CSRF tokens (made by `s55 init` or `s55 serve`; unset: a secret
    # per process, so sessions end when it restarts), and the reverse proxies whose
    # X-Forwarded-For/-Proto are believed (comma-separated addresses or networks; empty, the
    # default: none, so every client is known by its connection's own address).
    web_secret_file: Path | None = None
    trusted_proxy: str = ""

    @field_validator("trusted_proxy")
    @classmethod
    def _proxies(cls, value: str) -> str:
        """Comma-separated IP addresses or networks (``*``: any, only behind a proxy
        that is the sole way in); empty for none."""
        import ipaddress

        items = [v.strip() for v in value.split(",") if v.strip()]
        for item in items:
            if item == "*":
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return ",".join(items)

    # The local service (`s55 serve` and `s55 run` listen on it; the `s55` command talks to
    # it when set): a Unix socket in a folder only the service account may write, given to
    # the group of the officers allowed to use s55 (mode 0660).
    socket: Path | None = None
    socket_group: str = "s55"

    # HMICFRS's publications feed (`s55 report watch`, and the daemon every
    # `feed_poll_minutes`; 0: the daemon does not poll). Ordinary settings, not the
    # database's: they say only where and how often s55 looks. What an item must name to be
    # registered (the force and its aliases) and who is mailed are the database's, changed
    # by an admin with a reason, and every registration is audited with the item's link.
    feed_url: str | None = None
    feed_poll_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)
    # A document larger than this is refused unread (a feed is some kilobytes).
    feed_max_bytes: int = Field(default=5_000_000, ge=1_000, le=100_000_000)
    feed_timeout: float = Field(default=30.0, gt=0, le=600)

    @field_validator("feed_url")
    @classmethod
    def _feed_url(cls, value: str | None) -> str | None:
        """An http(s) address with a host; empty is unset."""
        from urllib.parse import urlsplit

        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) address")
        return value.strip()

    # Escalations: the policy file replacing the default, and the London hour rules fire at.
    policy_file: Path | None = None
    escalation_hour: int = Field(default=9, ge=0, le=23)


    @model_validator(mode="after")
    def _key_file(self) -> Settings:
        """S55_AUDIT_KEY_FILE, else the default key file when it exists
        (``workflow.core.key_path.audit_key_file`` decides, for both readers)."""
        import os

        from workflow.core.key_path import audit_key_file

        self.audit_key_file = audit_key_file(self.audit_key_file, os.environ)
        return self


def describe(exc: ValidationError) -> str:
    """One line naming each bad ``S55_*`` variable and what is wrong with it."""
    return "; ".join(
        f"S55_{'_'.join(map(str, e['loc'])).upper()}: {e['msg'].removeprefix('Value error, ')}"
        for e in exc.errors())


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment; ``ConfigError`` (one line) if any do not load."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(f"settings do not load: {describe(exc)}") from None
