"""Split a Markdown document into top-level blocks and name the headings that matter.

markdown-it-py tokenises (CommonMark); this module only groups its top-level
tokens into ``Block``s with 0-based line ranges and plain text, and classifies
heading text into the sections of a Section 55 response. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from markdown_it import MarkdownIt
from markdown_it.token import Token

from workflow.core.nesting import MARKDOWN_TOO_DEEP, MAX_NESTING, too_deep_at

# One parser for the process: building MarkdownIt compiles its rules (slow to repeat).
_MD = MarkdownIt("commonmark", {"maxNesting": MAX_NESTING})

#: Level given to a bold paragraph promoted to a heading: deeper than any real one.
BOLD_LEVEL = 7

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                         "\u00a0": " ", "\u2013": "-", "\u2014": "-"})


@dataclass(frozen=True)
class Block:
    """One top-level Markdown block: ``start``/``end`` are 0-based, end exclusive."""

    start: int
    end: int
    level: int | None  # heading level; None for anything else
    text: str  # plain text of its inline content (markup removed)
    bold: bool  # a paragraph made of one bold span (Word's "heading")
    starts_bold: bool  # a paragraph opening with a bold span ("**Published on:** 10 ...")
    verbatim: bool  # code or raw HTML: its blank lines are content
    link: tuple[str, str] | None  # first link in it: (label, url)

    @property
    def line(self) -> int:
        return self.start + 1


def normalise_source(text: str) -> str:
    """LF line endings, no BOM: the line numbers reported are the file's."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def plain(text: str) -> str:
    """Text for comparisons: straight quotes, single spaces."""
    return " ".join(text.translate(_QUOTES).split())


def _inline_text(tok: Token) -> str:
    parts: list[str] = []
    for child in tok.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)


def _first_link(tok: Token) -> tuple[str, str] | None:
    children = tok.children or []
    for i, child in enumerate(children):
        if child.type == "link_open":
            label = []
            for c in children[i + 1:]:
                if c.type == "link_close":
                    break
                label.append(c.content if c.type in ("text", "code_inline") else "")
            return "".join(label), str(child.attrs.get("href", ""))
    return None


def _kids(tok: Token) -> list[Token]:
    """Inline children without the empty text tokens markdown-it puts around emphasis."""
    return [c for c in tok.children or () if not (c.type == "text" and not c.content.strip())]


def _is_bold(tok: Token) -> bool:
    kids = _kids(tok)
    return (len(kids) >= 3 and kids[0].type == "strong_open" and kids[-1].type == "strong_close"
            and sum(c.type == "strong_open" for c in kids) == 1)


def _make_block(tokens: Sequence[Token], i: int, j: int) -> Block:
    """The block made of tokens[i:j] (an opening token to its closing one)."""
    first = tokens[i]
    start, end = first.map if first.map else (0, 0)
    inlines = [t for t in tokens[i:j] if t.type == "inline"]
    text = " ".join(_inline_text(t) for t in inlines) if inlines else first.content
    link = next((lk for lk in map(_first_link, inlines) if lk), None)
    level = int(first.tag[1]) if first.type == "heading_open" else None
    para = first.type == "paragraph_open" and len(inlines) == 1
    bold = para and _is_bold(inlines[0])
    starts_bold = para and bool(_kids(inlines[0])) and _kids(inlines[0])[0].type == "strong_open"
    return Block(start, end, level, text.strip(), bold, starts_bold,
                 first.type in ("fence", "code_block", "html_block"), link)


class NestedTooDeeplyError(ValueError):
    """Block quotes or lists nest too deeply to be read whole; ``line`` (1-based) is where."""

    def __init__(self, line: int) -> None:
        self.line = line
        super().__init__(MARKDOWN_TOO_DEEP)


def blocks(source: str) -> list[Block]:
    """The top-level blocks of ``source`` (already normalised), in order;
    ``NestedTooDeeplyError`` where markdown-it would stop reading."""
    tokens = _MD.parse(source)
    deep = too_deep_at(tokens)
    if deep is not None:  # markdown-it stopped there and dropped the rest
        raise NestedTooDeeplyError(deep)
    out: list[Block] = []
    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i]
        j = i + 1
        if tok.nesting == 1:
            while j < n and not (tokens[j].level == tok.level and tokens[j].nesting == -1):
                j += 1
            j += 1
        if tok.map is not None:
            out.append(_make_block(tokens, i, j))
        i = j
    return out


class Kind(StrEnum):
    BANNER = "banner"
    FIELD = "field"
    KEY_FINDINGS = "key_findings"
    RECOMMENDATIONS = "recommendations"
    RECOMMENDATION = "recommendation"
    AFIS = "afis"
    AFI = "afi"
    CC = "cc"
    PCC = "pcc"
    OFFICE = "office"
    UNKNOWN = "unknown"


class Field(StrEnum):
    TITLE = "title"
    PUBLISHED = "published"
    TYPES = "publication_types"
    FORCES = "police_forces"
    LINK = "link"
    DEADLINE = "deadline"
    RESPONSE_PUBLISHED = "response_published"  # the day the response itself went up


#: The labels each metadata field goes by (compared lower-case, without ":" or bold).
FIELD_LABELS: dict[str, Field] = {
    "inspection title": Field.TITLE, "title of inspection": Field.TITLE,
    "report title": Field.TITLE, "inspection": Field.TITLE,
    "published on": Field.PUBLISHED, "date published": Field.PUBLISHED,
    "publication date": Field.PUBLISHED, "date of publication": Field.PUBLISHED,
    "report published": Field.PUBLISHED,
    "publication types": Field.TYPES, "publication type": Field.TYPES,
    "police forces": Field.FORCES, "police force": Field.FORCES,
    "link to report": Field.LINK, "report link": Field.LINK, "link to the report": Field.LINK,
    "section 55 response deadline": Field.DEADLINE, "s55 response deadline": Field.DEADLINE,
    "section 55 deadline": Field.DEADLINE, "s.55 response deadline": Field.DEADLINE,
    "response deadline": Field.DEADLINE,
    "response published on": Field.RESPONSE_PUBLISHED,
    "response published": Field.RESPONSE_PUBLISHED,
    "date response published": Field.RESPONSE_PUBLISHED,
    "response publication date": Field.RESPONSE_PUBLISHED,
}

_SECTIONS: dict[str, Kind] = {
    "key findings": Kind.KEY_FINDINGS, "summary of key findings": Kind.KEY_FINDINGS,
    "recommendations": Kind.RECOMMENDATIONS, "areas for improvement": Kind.AFIS,
    "areas of improvement": Kind.AFIS, "for office use only": Kind.OFFICE,
    "office use only": Kind.OFFICE, "for office use": Kind.OFFICE,
}

_NUMBERED = re.compile(
    r"^(?P<what>recommendation|area for improvement|area of improvement|afi)\b"
    r"\s*(?:no\.?|number|#)?\s*(?P<num>[0-9]+)?\b(?P<rest>.*)$")


_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split()) if i}


@dataclass(frozen=True)
class Heading:
    kind: Kind
    number: int | None = None  # recommendation / AFI number; None if it has none
    field: Field | None = None
    value: str | None = None  # "Inspection Title: X" carries its value on the heading


def _key(text: str) -> str:
    return plain(text).lower().strip(" :.*#")


def _numbered(key: str) -> Heading | None:
    m = _NUMBERED.match(key)
    if m is None:
        return None
    kind = Kind.RECOMMENDATION if m["what"] == "recommendation" else Kind.AFI
    # "Recommendation 3 (Chief Constables)" is still recommendation 3.
    if m["num"]:
        return Heading(kind, int(m["num"]))
    rest = m["rest"].strip(" :-.")
    word = rest.split()[0] if rest else ""
    if word in _WORDS:
        return Heading(kind, _WORDS[word])
    # A bare "Recommendation" has no number (an error upstream); "Recommendation
    # accepted" is ordinary text that happens to be a heading.
    return Heading(kind) if not rest else None


def _field(text: str) -> Heading | None:
    key = _key(text)
    if key in FIELD_LABELS:
        return Heading(Kind.FIELD, field=FIELD_LABELS[key])
    label, sep, value = plain(text).partition(":")
    if sep and _key(label) in FIELD_LABELS and value.strip():
        return Heading(Kind.FIELD, field=FIELD_LABELS[_key(label)], value=value.strip())
    return None


def _response(key: str) -> Kind | None:
    if "response to inspection" in key or "response to hmicfrs" in key:
        return Kind.BANNER
    if key.startswith(("chief constable", "chief officer", "force response", "the force")):
        return Kind.CC
    if key.startswith(("pcc", "police and crime commissioner", "commissioner")) and (
        "response" in key or "comment" in key
    ):
        return Kind.PCC
    return None


def classify(text: str) -> Heading:
    """What a heading's text names; ``Kind.UNKNOWN`` when it is not ours."""
    key = _key(text)
    kind = _response(key)
    if kind is not None:
        return Heading(kind)
    if key in _SECTIONS:
        return Heading(_SECTIONS[key])
    return _numbered(key) or _field(text) or Heading(Kind.UNKNOWN)
