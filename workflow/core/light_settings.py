"""The ``S55_*`` settings read without pydantic-settings, for the read-only commands.

``workflow.core.settings.Settings`` is the definition; importing pydantic-settings to read
it costs a cold ``s55 list`` about 0.1 s, more than its query. ``read`` gives the same
values for the same environment: ``FIELDS`` below lists every setting with its kind, default
and limits, and a test checks, field by field, that these are Settings' own and that both
read the same variables into the same values. Whenever a value is not plainly right here (a
number out of range, an address that may be wrong, an unset optional, a name in lower case),
``read`` hands the whole environment to ``workflow.core.settings.load_settings``: the same
checks run and a bad value is refused with the same one-line message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from workflow.core.key_path import audit_key_file

if TYPE_CHECKING:
    from workflow.core.settings import Settings

PREFIX = "S55_"

@dataclass(frozen=True)
class Field:
    """One setting: how a value is read (``kind``), its default and its limits."""

    kind: str  # str, int, float, bool, path, secret, address, deferred (Settings reads it)
    default: Any = None
    optional: bool = False
    low: int | None = None
    high: int | None = None
    pattern: str | None = None


_ADDRESS = "address"

#: Every field of ``workflow.core.settings.Settings``, in its order (a test keeps them equal).
FIELDS: dict[str, Field] = {
    "database_url": Field("str", "sqlite:///s55.db"),
    "statement_timeout_ms": Field("int", 30_000, low=0),
    "force": Field("str", optional=True),
    "opcc_name": Field("str", optional=True),
    "force_input_days_before": Field("int", 28, low=0, high=55),
    "signoff_days_before": Field("int", 14, low=0, high=55),
    "mail_from": Field(_ADDRESS, "s55@opcc.invalid"),
    "spool_dir": Field("path", Path("spool")),
    "smtp_host": Field("str", optional=True),
    "smtp_port": Field("int", 587),
    "smtp_security": Field("str", "starttls", pattern="^(starttls|tls|none)$"),
    "smtp_username": Field("str", optional=True),
    "smtp_password": Field("secret", optional=True),
    "smtp_timeout": Field("float", 30.0),
    "mail_max_attempts": Field("int", 8, low=1),
    "template_dir": Field("path", optional=True),
    "hmicfrs_email": Field(_ADDRESS, "s55-comments@hmicfrs.invalid"),
    "home_office_email": Field(_ADDRESS, "s55-comments@homeoffice.invalid"),
    "mail_reply_to": Field(_ADDRESS, optional=True),
    "smtp_ca_file": Field("path", optional=True),
    "mail_batch_size": Field("int", 100, low=1, high=10_000),
    "audit_key_file": Field("path", optional=True),
    "checkpoint_file": Field("path", optional=True),
    "identity": Field("str", optional=True, pattern="^(os|claimed)$"),
    "separation_of_duties": Field("bool", optional=True),
    "base_url": Field("deferred", optional=True),
    "link_days": Field("int", 14, low=1, high=56),
    "web_secret_file": Field("path", optional=True),
    "trusted_proxy": Field("deferred", ""),
    "socket": Field("path", optional=True),
    "socket_group": Field("str", "s55"),
    "feed_url": Field("deferred", optional=True),
    "feed_poll_minutes": Field("int", 60, low=0, high=7 * 24 * 60),
    "feed_max_bytes": Field("int", 5_000_000, low=1_000, high=100_000_000),
    "feed_timeout": Field("deferred", 30.0, high=600),  # above 0: Settings checks it
    "policy_file": Field("path", optional=True),
    "escalation_hour": Field("int", 9, low=0, high=23),
}


class _UnsureError(Exception):
    """This reader cannot vouch for a value: pydantic-settings must read it."""


_INT = re.compile(r"[0-9]{1,18}")
_FLOAT = re.compile(r"[0-9]{1,15}(\.[0-9]{1,15})?")
_TRUE, _FALSE = {"1", "on", "t", "true", "y", "yes"}, {"0", "off", "f", "false", "n", "no"}


class Secret:
    """A secret as ``pydantic.SecretStr`` shows it: hidden unless asked for."""

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "SecretStr('**********')"


def _number(field: Field, raw: str) -> int | float:
    if field.kind == "float":
        if not _FLOAT.fullmatch(raw):
            raise _UnsureError
        return float(raw)
    if not _INT.fullmatch(raw):
        raise _UnsureError
    number = int(raw)
    if (field.low is not None and number < field.low) or \
            (field.high is not None and number > field.high):
        raise _UnsureError
    return number


def _address(raw: str) -> str:
    # Settings strips and checks it (notifications.message.check_address); a value that
    # is not one plain address is left for Settings to refuse in its own words.
    if not re.fullmatch(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}", raw):
        raise _UnsureError
    from notifications.errors import NotificationError
    from notifications.message import check_address

    try:
        return check_address(raw)
    except NotificationError:
        raise _UnsureError from None


def _flag(raw: str) -> bool:
    if raw.lower() in _TRUE | _FALSE:
        return raw.lower() in _TRUE
    raise _UnsureError


def _text(field: Field, raw: str) -> str:
    if field.pattern is not None and not re.fullmatch(field.pattern, raw):
        raise _UnsureError
    return raw


def _deferred(raw: str) -> Any:
    raise _UnsureError  # checked as Settings checks it (a link base URL): let Settings read it


_KINDS: dict[str, Any] = {"bool": _flag, "path": Path, "secret": Secret, _ADDRESS: _address,
                          "deferred": _deferred}


def _value(field: Field, raw: str) -> Any:
    """``raw`` read as ``field``'s kind, or ``_UnsureError``."""
    if not raw or raw != raw.strip():
        raise _UnsureError  # empty or padded: what pydantic makes of it is for it to say
    if field.kind in ("int", "float"):
        return _number(field, raw)
    if field.kind in _KINDS:
        return _KINDS[field.kind](raw)
    return _text(field, raw)


def _read(environ: Mapping[str, str]) -> dict[str, Any]:
    values = {name: f.default for name, f in FIELDS.items()}
    for key, raw in environ.items():
        if key[:4].upper() != PREFIX:
            continue
        name = key[4:].lower()
        if name not in FIELDS:
            continue  # S55_ACTOR and the like: not a setting (Settings ignores them too)
        if key != PREFIX + name.upper():
            raise _UnsureError  # Settings matches names in any case; two spellings may clash
        values[name] = _value(FIELDS[name], raw)
    values["audit_key_file"] = audit_key_file(values["audit_key_file"], environ)
    return values


def read() -> Settings:
    """The settings this process's environment gives, as ``load_settings()`` reads them:
    the same attributes and values (a ``Settings`` itself whenever this reader is unsure of
    a value); ``ConfigError`` with Settings' own message for a bad one."""
    try:
        values = _read(os.environ)
    except _UnsureError:
        from workflow.core.settings import load_settings

        return load_settings()
    return cast("Settings", SimpleNamespace(**values))  # a stand-in with its attributes
