"""What a check returns: a ``Result`` with its ``Status`` (never printed here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Result:
    check: str
    status: Status
    detail: str
    hint: str = ""

    def as_json(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


def _ok(check: str, detail: str, hint: str = "") -> Result:
    return Result(check, Status.OK, detail, hint)


def _warn(check: str, detail: str, hint: str) -> Result:
    return Result(check, Status.WARN, detail, hint)


def _fail(check: str, detail: str, hint: str) -> Result:
    return Result(check, Status.FAIL, detail, hint)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
