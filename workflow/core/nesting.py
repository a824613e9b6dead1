"""Reading TOML and YAML files with their nesting bounded, and Markdown kept within the
depth markdown-it reads.

``tomllib`` and PyYAML's composer recurse once per level of nesting: a file of
2,000 nested lists (``a = [[[[...``) ends in a ``RecursionError`` traceback, not an answer.
No file s55 reads (a report, the escalation policy) nests more than a few
levels, so anything deeper than ``MAX_DEPTH`` is refused with one line, whether the parser
got there or gave up on the way.

markdown-it does not recurse without end: it stops reading at a depth of nested blocks
(``maxNesting``, 20 in its CommonMark preset) and drops the rest of the text without a word,
so a response with block quotes or lists nested that deep would be published, rendered and
imported in part. ``check_markdown`` refuses such text at the door, in one line.

Light on purpose (the standard library, and markdown-it, which the light modules may use;
PyYAML inside the function that needs it).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

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



#: What the Markdown refusal says (after the field's name or the document's line).
MARKDOWN_TOO_DEEP = ("block quotes or lists are nested too deeply here to be read whole (a "
                     "list 8 deep, or block quotes 17 deep, at most)")
#: markdown-it's depth at which it stops reading (``maxNesting``, as s55's parsers are
#: built); s55 refuses one below, so reaching the cap and stopping there are both refused.
MAX_NESTING = 20
# The run of container markers and indentation that opens a line. A line that opens a
# block at the depth refused has at least 16 columns of it (a list level needs its marker
# and a space or two columns of indentation; a block quote one ">"), so a text without one
# is never parsed here; a text with one is parsed to decide.
_PREFIX = re.compile(r"^[ \t>*+\-.)0-9]{6,}", re.MULTILINE)
_SUSPECT_COLUMNS = 16


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"maxNesting": MAX_NESTING})


def too_deep_at(tokens: Sequence[Token]) -> int | None:
    """The 1-based line of the first block nested as deep as markdown-it reads (None when
    every block is shallower): the one test of Markdown nesting, on a parse's tokens."""
    line = None
    for tok in tokens:
        if tok.map is not None:
            line = tok.map[0] + 1
        if tok.level >= MAX_NESTING - 1:
            return line or 1
    return None


def _suspect(text: str) -> bool:
    return any(len(m.group()) + 3 * m.group().count("\t") >= _SUSPECT_COLUMNS
               for m in _PREFIX.finditer(text))


def markdown_too_deep(text: str) -> int | None:
    """The line (1-based) where ``text``'s block quotes or lists nest as deep as
    markdown-it reads, or None. Cheap for ordinary text: it is parsed only when some line
    opens with 16 columns or more of markers and indentation."""
    if not _suspect(text):
        return None
    return too_deep_at(_parser().parse(text))


def check_markdown(value: str, what: str) -> str:
    """``value`` if markdown-it reads all of it, else one ``InvalidInputError``."""
    line = markdown_too_deep(value)
    if line is not None:
        from workflow.core.errors import InvalidInputError

        raise InvalidInputError(what, f"line {line}: {MARKDOWN_TOO_DEEP}")
    return value
