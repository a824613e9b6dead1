"""Reading TOML and YAML files with their nesting bounded.

``tomllib`` and PyYAML's composer recurse once per level of nesting: a file of
2,000 nested lists (``a = [[[[...``) ends in a ``RecursionError`` traceback, not an answer.
No file s55 reads (a report, the escalation policy) nests more than a few
levels, so anything deeper than ``MAX_DEPTH`` is refused with one line, whether the parser
got there or gave up on the way.

Light on purpose (the standard library only; PyYAML inside the function that needs it).
"""

from __future__ import annotations

import tomllib
from typing import Any

#: The deepest nesting of tables and lists any file s55 reads may have.
MAX_DEPTH = 32


class NestingError(ValueError):
    """A file's tables and lists are nested deeper than ``MAX_DEPTH``; ``str`` says so."""

    def __init__(self) -> None:
        super().__init__(f"its tables and lists are nested more than {MAX_DEPTH} levels deep "
                         "(no file s55 reads needs so many)")


def deeper_than(data: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``data`` (dicts and lists) nests more than ``limit`` levels, a scalar being
    level 0. Iterative, and each container is walked once per depth it is met at, so
    YAML's aliases (one list shared many times over) cost no more than the file's size and
    a list that holds itself counts as too deep."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    seen: dict[int, int] = {}
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if level > limit:
            return True
        if seen.get(id(node), 0) >= level:
            continue
        seen[id(node)] = level
        stack.extend((child, level + 1) for child in children)
    return False


def _bounded(data: Any) -> Any:
    if deeper_than(data):
        raise NestingError
    return data


def load_toml(text: str) -> dict[str, Any]:
    """``tomllib.loads(text)``; ``NestingError`` when it nests too deep (the parser's own
    ``TOMLDecodeError`` otherwise)."""
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise NestingError from None
    return dict(_bounded(data))


def load_yaml(text: str) -> Any:
    """``yaml.safe_load(text)``; ``NestingError`` when it nests too deep (PyYAML's own
    ``YAMLError`` otherwise)."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise NestingError from None
    return _bounded(data)

