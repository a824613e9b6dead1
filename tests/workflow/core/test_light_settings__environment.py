"""``workflow.core.light_settings`` (the read-only commands' settings) reads what
``Settings`` reads.

One definition: every field of ``Settings`` is in ``FIELDS`` with the same default and
limits, and for each environment below both give the same values, or both refuse it
with the same one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from annotated_types import Ge, Le
from pydantic import SecretStr

from workflow.core import light_settings
from workflow.core.errors import ConfigError
from workflow.core.settings import Settings, load_settings


def _limits(name: str) -> tuple[Any, Any, str | None]:
    info = Settings.model_fields[name]
    low = next((m.ge for m in info.metadata if isinstance(m, Ge)), None)
    high = next((m.le for m in info.metadata if isinstance(m, Le)), None)
    pattern = next((getattr(m, "pattern", None) for m in info.metadata
                    if getattr(m, "pattern", None)), None)
    return low, high, pattern


def test_every_setting_is_read_with_settings_default_and_limits() -> None:
    assert list(light_settings.FIELDS) == list(Settings.model_fields), \
        "add the new setting to workflow/core/light_settings.py FIELDS too"
    for name, field in light_settings.FIELDS.items():
        info = Settings.model_fields[name]
        assert field.default == info.default, name
        assert field.optional == (info.default is None and not info.is_required()), name
        assert (field.low, field.high, field.pattern) == _limits(name), name


def _plain(value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr | light_settings.Secret) \
        else value


def _outcome(read: Any) -> Any:
    try:
        settings = read()
    except ConfigError as exc:
        return ("refused", str(exc))
    return {name: _plain(getattr(settings, name)) for name in Settings.model_fields}


ENVIRONMENTS = [
    {},
    {"S55_DATABASE_URL": "sqlite:////tmp/x.db", "S55_STATEMENT_TIMEOUT_MS": "500",
     "S55_IDENTITY": "claimed", "S55_ESCALATION_HOUR": "23", "S55_POLICY_FILE": "p.toml",
     "S55_AUDIT_KEY_FILE": "/k/audit.key", "S55_SEPARATION_OF_DUTIES": "no",
     "S55_SMTP_PASSWORD": "hunter2", "S55_SMTP_TIMEOUT": "2.5", "S55_ACTOR": "a@b.example"},
    {"S55_MAIL_FROM": "opcc@norfolk.example", "S55_MAIL_REPLY_TO": "Clerk@Norfolk.example"},
    {"S55_SEPARATION_OF_DUTIES": "TRUE", "S55_SMTP_SECURITY": "tls"},
    # refused, or left to pydantic-settings to read
    {"S55_SMTP_PORT": "abc"}, {"S55_ESCALATION_HOUR": "24"}, {"S55_IDENTITY": "root"},
    {"S55_STATEMENT_TIMEOUT_MS": "-1"}, {"S55_STATEMENT_TIMEOUT_MS": " 7 "},
    {"S55_MAIL_FROM": "a@b.example\r\nBcc: x@y.example"}, {"S55_MAIL_FROM": ""},
    {"S55_SEPARATION_OF_DUTIES": "maybe"}, {"S55_TEMPLATE_DIR": ""},
    {"s55_force": "Suffolk"}, {"S55_SMTP_TIMEOUT": "1e3"}, {"S55_MAIL_BATCH_SIZE": "0"},
]


@pytest.mark.parametrize("environ", ENVIRONMENTS)
def test_same_values_or_same_refusal_as_settings(monkeypatch: pytest.MonkeyPatch,
                                                 environ: dict[str, str]) -> None:
    for key in [k for k in __import__("os").environ if k.upper().startswith("S55_")]:
        monkeypatch.delenv(key)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    assert _outcome(light_settings.read) == _outcome(load_settings)


def test_plain_values_are_read_without_pydantic_settings(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setenv("S55_ESCALATION_HOUR", "7")
    monkeypatch.setenv("S55_POLICY_FILE", "policy.toml")
    settings = light_settings.read()
    assert not isinstance(settings, Settings)
    assert (settings.escalation_hour, settings.policy_file) == (7, Path("policy.toml"))
    assert repr(light_settings.Secret("x")) == repr(SecretStr("x"))
