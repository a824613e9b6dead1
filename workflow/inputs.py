"""Validation of everything a user types, before it reaches a table model.

SQLModel ``table=True`` models skip Pydantic validation (sqlmodel #52, #453), so
input goes through these plain models first. Every failure becomes one
``InvalidInputError`` line naming the field.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, field_validator

from states import Role
from workflow.errors import DuplicateError, InvalidInputError

_DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%d %b %Y", "%d/%m/%Y")
# A deliberately plain address check: one @, no spaces or control characters (which
# would let a value inject mail headers), a dot in the domain.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
_ISO_SHAPE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")


def parse_date(value: object, what: str = "date") -> date:
    """A date from ISO (2024-10-10), '10 October 2024', '10 Oct 2024' or 10/10/2024."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    if _ISO_SHAPE.match(text):
        raise InvalidInputError(what, f"{text} is not a real date")
    raise InvalidInputError(what, f"cannot read {text!r} as a date (use YYYY-MM-DD)")


def _date(value: object) -> object:
    return value if value is None else parse_date(value)


def _email(value: object) -> str:
    text = str(value).strip()
    if not _EMAIL.match(text) or len(text) > 254:
        raise ValueError(f"{value!r} is not an email address")
    return text.lower()


def _text(value: object) -> str:
    text = str(value).strip() if value is not None else ""
    if not text:
        raise ValueError("must not be empty")
    return text


LooseDate = Annotated[date, BeforeValidator(_date)]
Email = Annotated[str, BeforeValidator(_email)]
Text = Annotated[str, BeforeValidator(_text)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PersonInput(_Input):
    name: Text
    email: Email
    roles: list[Role]

    @field_validator("roles")
    @classmethod
    def _some_role(cls, roles: list[Role]) -> list[Role]:
        if not roles:
            raise ValueError("give at least one role")
        return sorted(set(roles))


class RecommendationInput(_Input):
    number: int
    text: Text
    due_date: LooseDate | None = None
    directed_at: str = "chief constables"
    force_response: str | None = None
    pcc_note: str | None = None

    @field_validator("number")
    @classmethod
    def _positive(cls, n: int) -> int:
        if n < 1:
            raise ValueError("recommendation numbers start at 1")
        return n


class AreaInput(_Input):
    number: int
    text: Text
    force_response: str | None = None


class ReportInput(_Input):
    """A report as registered, with the content the OPCC already has."""

    title: Text
    published_on: LooseDate
    publication_types: str = ""
    police_forces: str = ""
    link: str = ""
    link_label: str = ""
    force: str | None = None
    key_findings: str | None = None
    recommendations: list[RecommendationInput] = []
    areas_for_improvement: list[AreaInput] = []
    afi_statement: str | None = None
    recommendations_intro: str | None = None
    cc_response: str | None = None
    pcc_response: str | None = None

    def check_unique_numbers(self) -> None:
        for kind, items in (("recommendation", self.recommendations),
                            ("area for improvement", self.areas_for_improvement)):
            seen: set[int] = set()
            for item in items:
                if item.number in seen:
                    raise DuplicateError(kind, item.number, "in this report")
                seen.add(item.number)


M = TypeVar("M", bound=BaseModel)


def _first_error(exc: ValidationError) -> InvalidInputError:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "input"
    ctx_error = (err.get("ctx") or {}).get("error")
    if isinstance(ctx_error, InvalidInputError):
        return InvalidInputError(where, ctx_error.problem)
    message = str(ctx_error) if ctx_error else err["msg"]
    return InvalidInputError(where, message.removeprefix("Value error, "))


def validate(model: type[M], data: Any) -> M:
    """Validate ``data`` into ``model``; the first problem as one ``InvalidInputError``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc) from None


def load_report_file(path: Path) -> ReportInput:
    """A ``ReportInput`` from a TOML or YAML file."""
    import tomllib

    import yaml

    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(str(path), exc.strerror or "cannot be read") from None
    try:
        data = tomllib.loads(raw) if path.suffix == ".toml" else yaml.safe_load(raw)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0]
        kind = path.suffix[1:] or "YAML"
        raise InvalidInputError(str(path), f"not valid {kind}: {first}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(str(path), "expected a table of report fields")
    report = validate(ReportInput, data)
    report.check_unique_numbers()
    return report


def check_email(value: str) -> str:
    """The address normalised, or an ``InvalidInputError``."""
    try:
        return _email(value)
    except ValueError as exc:
        raise InvalidInputError("email", str(exc)) from None


def check_url(value: str, what: str = "url") -> str:
    """An absolute http(s) URL, or an ``InvalidInputError``."""
    from urllib.parse import urlsplit

    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
        raise InvalidInputError(what, f"{value!r} is not an http(s) URL")
    return text


_DUE = re.compile(r"^\W*by\s+(\d{1,2}\s+[A-Za-z]+\s+\d{4})", re.IGNORECASE)


def due_date_in(text: str) -> date | None:
    """The due date HMICFRS writes at the start of a recommendation ("By 31 March 2025, ...")."""
    match = _DUE.match(text.strip())
    if not match:
        return None
    try:
        return parse_date(match.group(1), "recommendation due date")
    except InvalidInputError:
        return None
