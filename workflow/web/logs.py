"""What ``s55 serve`` logs, with every personal link's token cut out.

A link's token is in its path (``/l/<token>/...``), and uvicorn's access log prints each
request's path, which under systemd lands in the journal for any reader of it. Every line
``s55 serve`` logs (uvicorn's access and error lines, and ours) passes ``NoTokens`` first,
which writes each ``/l/<token>`` as ``/l/…``: a line still says which kind of page was
asked for and how it answered, and no log holds a token.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

#: A link's path segment: whatever follows ``/l/`` up to the next ``/``, ``?``, ``#``,
#: quote or space.
_TOKEN = re.compile(r"/l/[^/?#\s\"']+")
CUT = "/l/…"


def without_tokens(text: str) -> str:
    """``text`` with every link token in it cut out."""
    return _TOKEN.sub(CUT, text)


def _cut(value: Any) -> Any:
    return without_tokens(value) if isinstance(value, str) else value


class NoTokens(logging.Filter):
    """Cuts tokens out of a record's message, its arguments and its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _cut(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_cut(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _cut(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = without_tokens(record.exc_text)
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's own logging set-up, with ``NoTokens`` on each of its handlers, and the
    same handler for every other logger's warnings (ours)."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"no_tokens": {"()": NoTokens}}
    for handler in config["handlers"].values():
        handler["filters"] = ["no_tokens"]
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    return config
