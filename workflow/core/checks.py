"""Validation of everything a user types, before it reaches a table model.

SQLModel ``table=True`` models skip Pydantic validation (fastapi/sqlmodel#52, #453), so
input goes through these plain models first. Every failure becomes one ``InvalidInputError``
line naming the field.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from states import Role
from workflow.core.characters import check_visible
from workflow.core.dates import parse_date as document_date
from workflow.core.errors import DuplicateError, InvalidInputError, RecommendationDateError
from workflow.core.limits import check_length
from workflow.core.nesting import check_markdown

_DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%d %b %Y", "%d/%m/%Y")
_ISO_SHAPE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
#: The largest number a row can hold (PostgreSQL ``integer``; SQLite holds more).
NUMBER_MAX = 2**31 - 1
_ASCII_DIGITS = re.compile(r"[0-9]+")


def published_number(value: object, what: str = "number") -> int:
    """A recommendation's or area's number as published: a positive whole number written in
    ASCII digits (1 to ``NUMBER_MAX``). The one rule for ``--rec``/``--afi``, ``rec add``, a
    report file and an imported document: no 0, no ``true``, no "٣", no "1.0".
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInputError(what, f"{value!r} is not a whole number")
    text = str(value).strip()
    if not _ASCII_DIGITS.fullmatch(text):
        raise InvalidInputError(what, f"{text!r} is not a whole number in digits 0-9")
    number = int(text)
    if not 1 <= number <= NUMBER_MAX:
        raise InvalidInputError(what, f"{number} is out of range (1 to {NUMBER_MAX})")
    return number


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


#: No report s55 answers was published before this day: an earlier date is a typing mistake.
EARLIEST_PUBLICATION = date(2000, 1, 1)
#: How far ahead a report may be registered: HMICFRS shares reports under embargo shortly
#: before publication, never months ahead.
EMBARGO_DAYS = 31


def check_publication_date(day: date, today: date, what: str = "published_on") -> date:
    """``day`` as a report's publication date, from 1 January 2000 to ``EMBARGO_DAYS`` after
    ``today``: the one rule for ``report add`` (flags or file) and ``import``. Outside it, an
    ``InvalidInputError`` saying why; the statutory deadline is counted from this day."""
    if day < EARLIEST_PUBLICATION:
        raise InvalidInputError(what, f"{day} is before 1 January 2000; no report s55 "
                                "answers is that old (a typing mistake?)")
    latest = today + timedelta(days=EMBARGO_DAYS)
    if day > latest:
        raise InvalidInputError(what, f"{day} is more than {EMBARGO_DAYS} days after today "
                                f"({today}); a report is registered once published, or under "
                                f"embargo at most {EMBARGO_DAYS} days before")
    return day


# In a one-line field (title, force, name, link): no control character at all, nor the
# Unicode line and paragraph separators (a mail subject or a log line would break on them).
_LINE_BREAKERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# In multi-line text: line breaks and tabs are text; NUL, ESC and the rest are not
# (PostgreSQL refuses NUL outright; SQLite would store it).
_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _controls(found: str) -> str:
    return ", ".join(sorted({f"U+{ord(c):04X}" for c in found}))


def _check(value: str, what: str, refused: re.Pattern[str], contains: str, rule: str) -> str:
    """``value`` if ``refused`` finds nothing in it, within the length
    ``workflow.core.limits`` gives ``what`` (when it names a field there)."""
    check_length(value, what.removeprefix("--").replace("-", "_"), what)
    found = "".join(refused.findall(value))
    if found:
        raise InvalidInputError(what, f"contains {contains} ({_controls(found)}); {rule}")
    return value


def check_line(value: str, what: str) -> str:
    """``value`` if it holds no control character or line break (one-line fields) and no
    invisible or direction-changing character (``workflow.core.characters``), within the
    length ``workflow.core.limits`` gives ``what`` (when it names a field there)."""
    _check(value, what, _LINE_BREAKERS, "a control character or line break",
           "it must be one line of text")
    return check_visible(value, what)


def check_text(value: str, what: str, *, markdown: bool = True) -> str:
    """``value`` if it holds no control character other than line breaks and tabs and no
    invisible or direction-changing character (``workflow.core.characters``), within the
    length ``workflow.core.limits`` gives ``what`` (when it names a field there). Text is
    Markdown: unless ``markdown`` is false (one line of a document, whose parse checks the
    whole), block quotes or lists nested past what markdown-it reads are refused too."""
    _check(value, what, _TEXT_CONTROLS, "a control character",
           "only text, line breaks and tabs are kept")
    check_visible(value, what)
    return check_markdown(value, what) if markdown else value


def _line(value: object) -> object:
    return check_line(value, "text") if isinstance(value, str) else value


def _multiline(value: object) -> object:
    return check_text(value, "text") if isinstance(value, str) else value


def _date(value: object) -> object:
    return value if value is None else parse_date(value)


def _email(value: object) -> str:
    """The address, lower-cased, if ``email-validator`` reads it as one address (no DNS
    look-up: nothing here may depend on the network) and the mail builder can put it in a
    ``To`` header (``notifications.message.check_address``): what s55 accepts, it can
    always send to."""
    from email_validator import EmailNotValidError, validate_email

    from notifications.errors import NotificationError
    from notifications.message import check_address

    text = check_visible(str(value).strip(), "email")
    try:
        valid = validate_email(text, check_deliverability=False, allow_smtputf8=False,
                               allow_display_name=False)
        # ``normalized`` turns an IDNA A-label domain (xn--bcher-kva.de) into Unicode
        # (bücher.de), which no To header takes: an address typed in ASCII stays ASCII.
        address = (valid.ascii_email or valid.normalized) if text.isascii() \
            else valid.normalized
        return check_address(address.lower())
    except EmailNotValidError as exc:
        why = str(exc).splitlines()[0].rstrip(".")
        raise ValueError(f"{value!r} is not an email address ({why[:1].lower()}{why[1:]})"
                         ) from None
    except NotificationError:
        raise ValueError(f"{value!r} is not an address mail can be sent to (plain ASCII "
                         "local@domain)") from None


def _text(value: object) -> str:
    text = str(value).strip() if value is not None else ""
    if not text:
        raise ValueError("must not be empty")
    return text


def _text_line(value: object) -> str:
    return check_line(_text(value), "text")


LooseDate = Annotated[date, BeforeValidator(_date)]
Email = Annotated[str, BeforeValidator(_email)]
Text = Annotated[str, BeforeValidator(_text), BeforeValidator(_multiline)]
#: Required and one line: a title, a name.
TextLine = Annotated[str, BeforeValidator(_text_line)]
#: Optional, one line: publication types, forces, a link.
Line = Annotated[str, BeforeValidator(_line)]
#: Optional multi-line text: key findings, responses.
Multiline = Annotated[str, BeforeValidator(_multiline)]
Number = Annotated[int, BeforeValidator(published_number)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="after")
    def _within_limits(self) -> _Input:
        """Every text field within its length (``workflow.core.limits``, by the field's name)."""
        for name, value in self:
            if isinstance(value, str):
                check_length(value, name)
        return self


class PersonInput(_Input):
    name: TextLine
    email: Email
    roles: list[Role]

    @field_validator("roles")
    @classmethod
    def _some_role(cls, roles: list[Role]) -> list[Role]:
        if not roles:
            raise ValueError("give at least one role")
        return sorted(set(roles))


class RecommendationInput(_Input):
    """A recommendation as published; ``due_date``, when not given, is read from its text.

    ``due_note`` (not stored) says how an approximate date in the text was read, for the
    caller to show. A date the text states but that cannot be read, or that a given
    ``due_date`` contradicts, is a ``RecommendationDateError``.
    """

    number: Number
    text: Text
    due_date: LooseDate | None = None
    directed_at: Line = "chief constables"
    force_response: Multiline | None = None
    pcc_note: Multiline | None = None
    _due_note: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _due_from_text(self) -> RecommendationInput:
        stated = due_date_in(self.text)
        if self.due_date is None:
            if stated.problem:
                raise RecommendationDateError(self.number, stated.problem)
            self.due_date, self._due_note = stated.day, stated.note
        elif stated.day is not None and not _same_due(self.due_date, stated):
            raise RecommendationDateError(
                self.number, f"due date {self.due_date} is not the date its text gives "
                f"({stated.phrase}); leave the due date out to take the text's")
        return self

    @property
    def due_note(self) -> str | None:
        return self._due_note


def _same_due(given: date, stated: DueDate) -> bool:
    """A given date agrees with the text's; "By March 2025," allows any day of March."""
    if stated.day is None or given == stated.day:
        return True
    return stated.note is not None and (given.year, given.month) == (stated.day.year,
                                                                      stated.day.month)


class AreaInput(_Input):
    number: Number
    text: Text
    force_response: Multiline | None = None


class ReportInput(_Input):
    """A report as registered, with the content the OPCC already has."""

    title: TextLine
    published_on: LooseDate
    publication_types: Line = ""
    police_forces: Line = ""
    link: Line = ""
    link_label: Line = ""
    force: Line | None = None
    key_findings: Multiline | None = None
    recommendations: list[RecommendationInput] = []
    areas_for_improvement: list[AreaInput] = []
    afi_statement: Multiline | None = None
    recommendations_intro: Multiline | None = None
    cc_response: Multiline | None = None
    pcc_response: Multiline | None = None

    @field_validator("link")
    @classmethod
    def _http_link(cls, link: str) -> str:
        """The report's link is an http(s) URL, or none (empty)."""
        return check_url(link, "link") if link else link

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


#: The most a report file may hold (as a document ``s55 import`` reads).
REPORT_FILE_BYTES = 5 * 1024 * 1024


def load_report_file(path: Path) -> ReportInput:
    """A ``ReportInput`` from a TOML or YAML file (a regular UTF-8 file of at most 5 MB)."""
    import tomllib

    import yaml

    from workflow.core import files
    from workflow.core.nesting import NestingError, load_toml, load_yaml

    raw = files.read_text(path, REPORT_FILE_BYTES)
    try:
        data = load_toml(raw) if path.suffix == ".toml" else load_yaml(raw)
    except NestingError as exc:
        raise InvalidInputError(str(path), str(exc)) from None
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
    except InvalidInputError:
        raise
    except ValueError as exc:
        raise InvalidInputError("email", str(exc)) from None


def check_portal_reference(value: str, what: str = "--portal-reference") -> str:
    """The HMICFRS portal's reference for a submission, stripped: one line of printable
    characters (no control, separator other than a space, invisible, unassigned or
    private-use character) of at most ``limits.LIMITS['portal_reference']``. The rendered
    document escapes it too: it sits in a Markdown list item."""
    text = check_line(value.strip(), what)
    if not text.isprintable():
        odd = sorted({f"U+{ord(c):04X}" for c in text if not c.isprintable()})
        raise InvalidInputError(what, f"contains characters that do not print "
                                f"({', '.join(odd)}); it must be one line of printable "
                                "characters")
    return text


#: Characters a URL never holds unencoded (RFC 3986) that change how it is read: a
#: backslash is a slash to browsers but not to ``urlsplit`` ("https://a.example\\@b.example"
#: has two hosts), and ``<``, ``>``, ``"`` or a backtick would end the URL in a Markdown
#: autolink or an attribute.
_NOT_IN_URLS = re.compile(r'[\\<>"`]')


def _splits(url: str) -> bool:
    """Whether ``urlsplit`` reads ``url`` whole, its port included ("http://[x" or a port
    out of range raise only when asked)."""
    try:
        urlsplit(url).port  # noqa: B018 - asked for the ValueError it may raise
    except ValueError:
        return False
    return True


def check_url(value: str, what: str = "url") -> str:
    """An absolute http(s) URL with a host, stripped, or an ``InvalidInputError``: the one
    rule for every URL typed or imported (a report's link, where a response was published).
    Whatever it accepts, ``notifications.hrefs.safe_href`` links."""
    from notifications.hrefs import safe_href

    text = check_visible(check_length(value.strip(), "url", what), what)
    if not _splits(text) or _NOT_IN_URLS.search(text) or text.startswith("#") \
            or safe_href(text) != text:
        raise InvalidInputError(what, f"{value!r} is not an http(s) URL (a full address "
                                "such as https://www.example.org/report)")
    return text


# HMICFRS writes "By 31 March 2025, forces should ..."; the date phrase ends at the comma.
_BY = re.compile(r"^by\s+(?P<end>the\s+end\s+of\s+)?(?P<phrase>[^,:;]{1,60}?)\s*[,:;]",
                 re.IGNORECASE)
# ... or, without the comma, a full date right after "By" ("By 31 March 2025 forces ...").
_BY_DAY = re.compile(r"^by\s+(?P<phrase>\d{1,2}(?:st|nd|rd|th)?\s+[a-z]{3,9}\.?\s+\d{4})\b",
                     re.IGNORECASE)
# A phrase meant as a date holds a year, with a month's name or in a date's shape
# ("31 Smarch 2025", "Marhc 2025"), or is numeric (10/10/2025); "By the time forces may
# act," and "By working with partners," are not dates.
_NUMERIC_DATE = re.compile(r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b")
_YEAR = re.compile(r"\b\d{4}\b")
_MONTH_WORD = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b",
                         re.IGNORECASE)
_DATE_SHAPE = re.compile(r"^(?:\d{1,2}(?:st|nd|rd|th)?\s+)?[a-z]+\.?\s+\d{4}$", re.IGNORECASE)
_MONTH_YEAR = re.compile(r"^([a-z]+)\.?\s+([0-9]{4})$", re.IGNORECASE)
_MONTHS = {name.lower(): i for i in range(1, 13)
           for name in (calendar.month_name[i], calendar.month_abbr[i])} | {"sept": 9}
_SPACING = str.maketrans({"\u00a0": " ", "\u2019": "'"})


@dataclass(frozen=True)
class DueDate:
    """What a recommendation's opening words say about its due date.

    ``day`` is None when the text names none. ``note`` says how an approximate phrase
    ("By March 2025,") was read; ``problem`` says why a date-like phrase could not be.
    """

    day: date | None
    phrase: str | None = None
    note: str | None = None
    problem: str | None = None


def due_date_in(text: str) -> DueDate:
    """The due date a recommendation's text opens with ("By 31 March 2025, ...").

    The one reading of recommendation due dates: ``RecommendationInput`` (``report add``
    by file or ``--rec``, ``rec add``) and the document importer all use it. "By the end
    of March 2025," is the month's last day; "By March 2025," is too, with a ``note``. A
    date-like phrase that is not a date is a ``problem``, never silently no date.
    """
    opening = " ".join(text.translate(_SPACING).split()).lstrip("*_ ")
    m = _BY_DAY.match(opening) or _BY.match(opening)
    phrase = m["phrase"].strip("*_ ") if m else ""
    if not _dateish(phrase):
        return DueDate(None)
    day = document_date(phrase)
    if day is not None:
        return DueDate(day, phrase)
    my = _MONTH_YEAR.match(phrase)
    month = _MONTHS.get(my.group(1).lower()) if my else None
    if my and month:
        year = int(my.group(2))
        day = date(year, month, calendar.monthrange(year, month)[1])
        if m and m.groupdict().get("end"):
            return DueDate(day, phrase)  # "by the end of March 2025" is exact
        return DueDate(day, phrase, note=f"due date {phrase!r} read as {_long(day)}, the "
                       "month's last day")
    return DueDate(None, phrase, problem=f"cannot read {phrase!r} as a due date "
                   "(expected e.g. 'By 31 March 2025,')")


def _dateish(phrase: str) -> bool:
    return bool(_NUMERIC_DATE.search(phrase) or _YEAR.search(phrase) and (
        _MONTH_WORD.search(phrase) or _DATE_SHAPE.match(phrase)))


def _long(day: date) -> str:
    return f"{day.day} {day:%B %Y}"
