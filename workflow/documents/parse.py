"""Read a Section 55 response written in the published layout into a ``ParsedDocument``.

The layout is the Norfolk response's (``tests/data/norfolk-asb-spotlight-2024.md``): a
banner heading, labelled fields (Inspection Title, Published on, ...), Key Findings,
Recommendations (numbered as published), Areas For Improvement, the Chief Constable's
response (overall, then per recommendation, repeating each recommendation's text), the PCC's
response (overall, then a "Recommendation N" heading for each recommendation the PCC
explains: its note, s55(5B)) and the "For Office Use Only" list. Pure: text in, data out.

Tolerated: headings bold or not and at any level, bold paragraphs used as headings,
"Label: value" on one line, extra blank lines, smart quotes, CRLF, sections absent or
in another order, sub-headings inside a free-text section (kept as its text). Never
guessed silently: content that fits nowhere, and every reading the importer cannot
confirm, is a ``DocumentWarning`` with its line (``STRICT_KINDS`` are refused by a
strict import).

The office-use list. Ticks are ``[x]``, ``☒``, ``☑``, ``✓``/``✔``; ``[ ]``/``☐`` are
unticked. A *plain* list (no marks at all, as in the Norfolk fixture) is the published
form whose check boxes were lost on the way to the web: the document is the published
response, so publication - and the forwarding to the Chief Constable and the panel that
must precede it (s55 lifecycle: ``sign_off`` before ``publish``) - is taken as done.
Submission on the HMICFRS portal happens after publication and a published copy
cannot show it, so it is *not* taken as done (a notice says so at its line). The day
the response went up is read from a "Response published on:" field or from a date on
the ticked publication line ("... on the website on 3 December 2024."), if either has it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from states.deadlines import STATUTE_RULE, statutory_deadline
from workflow.core.checks import published_number
from workflow.core.dates import format_date, parse_date
from workflow.core.errors import InvalidInputError
from workflow.documents.blocks import (
    BOLD_LEVEL,
    Block,
    Field,
    Heading,
    Kind,
    NestedTooDeeplyError,
    blocks,
    classify,
    normalise_source,
    plain,
)
from workflow.documents.model import (
    DocumentError,
    DocumentWarning,
    ParsedAreaForImprovement,
    ParsedDocument,
    ParsedRecommendation,
    ReportLink,
    WarningKind,
)
from workflow.documents.office import parse_checklist, response_published_on
from workflow.documents.recs import due_date, split_repetition, unbold

U, A, N = WarningKind.UNPLACED, WarningKind.AMBIGUOUS, WarningKind.NOTICE

#: Slots that hold free Markdown text; a deeper unknown heading inside one is its text.
_FREE_TEXT = ("preamble", "key_findings", "recs_intro", "rec:", "afi_statement", "afi:", "cc",
              "cc_rec:", "cc_afi:", "pcc")
#: Sections after whose heading a numbered heading defines a recommendation / an AFI.
_DEFINES = {Kind.RECOMMENDATION: (None, Kind.KEY_FINDINGS, Kind.RECOMMENDATIONS),
            Kind.AFI: (None, Kind.KEY_FINDINGS, Kind.RECOMMENDATIONS, Kind.AFIS)}
#: Slots of one numbered item (its text, the force's reply, the PCC's note).
_ITEMS = ("rec:", "afi:", "cc_rec:", "cc_afi:", "pcc_rec:")
_MAJOR_SLOT = {Kind.KEY_FINDINGS: "key_findings", Kind.RECOMMENDATIONS: "recs_intro",
               Kind.AFIS: "afi_statement", Kind.CC: "cc", Kind.PCC: "pcc",
               Kind.OFFICE: "office"}
_NAMES = {Kind.RECOMMENDATION: "recommendation", Kind.AFI: "area for improvement"}
_URL = re.compile(r"https?://[^\s<>)\]]+")
#: A Markdown link markdown-it would not make (its target is ``javascript:``, ``data:``,
#: ``file:``...): read as the link it was meant to be, so the importer's URL rule refuses it
#: rather than keep its text as the link's label.
_REFUSED_LINK = re.compile(r"\[(?P<label>.*)\]\((?P<url>\S*)\)")
_BLANKS = re.compile(r"\n(?:[ \t]*\n){2,}")


@dataclass
class Slot:
    """Where the blocks under one heading go."""

    key: str
    line: int  # 1-based line of its heading (or first block)
    level: int
    title: str = ""
    value: str | None = None  # a value given on the heading line itself
    items: list[Block] = field(default_factory=list)


class _Walker:
    """One pass over the blocks, sending each to the slot its heading names."""

    def __init__(self, source: str, path: str) -> None:
        self.path = path
        self.lines = source.split("\n")
        self.slots: dict[str, Slot] = {}
        self.unplaced: list[Slot] = []
        self.current: Slot | None = None
        self.major: Kind | None = None

    def run(self, items: list[Block]) -> None:
        for b in items:
            h = self._heading(b)
            if h is None:
                self._content(b)
            else:
                self._open(b, h)

    def _heading(self, b: Block) -> Heading | None:
        if b.level is not None:
            return classify(b.text)
        cur = self.current
        if cur is not None and cur.key.startswith(_ITEMS) and not cur.items:
            # The first paragraph under a numbered item is its text, bold or not (the
            # force's section repeats it in bold): "**The force should ...**" there is an
            # area for improvement, not the Chief Constable's heading.
            return None
        if b.bold or b.starts_bold:
            h = classify(b.text)
            numbered = h.kind in _NAMES
            if h.kind is Kind.UNKNOWN or (numbered and h.number is None):
                return None
            if b.bold or (h.kind is Kind.FIELD and h.value):
                return h
        return None

    def _content(self, b: Block) -> None:
        if self.current is None:
            self.current = Slot("unplaced", b.line, 0, "text before the first heading")
            self.unplaced.append(self.current)
        self.current.items.append(b)

    def _new(self, key: str, b: Block, h: Heading) -> Slot:
        slot = Slot(key, b.line, b.level or BOLD_LEVEL, b.text, h.value)
        if key in self.slots:
            self.unplaced.append(slot)  # a second "Key Findings": which one is meant?
            slot.title = f"{b.text} (a second one; the first is at line {self.slots[key].line})"
        else:
            self.slots[key] = slot
        self.current = slot
        return slot

    def _open(self, b: Block, h: Heading) -> None:
        if h.kind is Kind.UNKNOWN:
            self._unknown(b)
        elif h.kind is Kind.BANNER:
            self.major = None
            self._new("preamble", b, h)
        elif h.kind is Kind.FIELD:
            self._new(f"field:{h.field}", b, h)
        elif h.kind in _NAMES:
            self._numbered(b, h)
        else:
            self.major = h.kind
            self._new(_MAJOR_SLOT[h.kind], b, h)

    def _unknown(self, b: Block) -> None:
        cur = self.current
        level = b.level or BOLD_LEVEL
        if cur is not None and cur.key.startswith(_FREE_TEXT) and level > cur.level:
            cur.items.append(b)  # a sub-heading within the section's own text
            return
        slot = Slot("unplaced", b.line, level, b.text)
        self.unplaced.append(slot)
        self.current = slot

    def _numbered(self, b: Block, h: Heading) -> None:
        name = _NAMES[h.kind]
        if h.number is None:
            raise DocumentError(self.path, b.line, f"{name} heading {b.text!r} has no number")
        try:
            published_number(h.number)
        except InvalidInputError as exc:
            raise DocumentError(self.path, b.line, f"{name} heading {b.text!r}: "
                                f"{exc.problem}") from None
        prefix = "rec" if h.kind is Kind.RECOMMENDATION else "afi"
        if self.major is Kind.CC:
            key = f"cc_{prefix}:{h.number}"
            where = " in the Chief Constable's response"
        elif self.major is Kind.PCC and h.kind is Kind.RECOMMENDATION:
            key, where = f"pcc_rec:{h.number}", " in the PCC's response"  # its s55(5B) note
        elif self.major in _DEFINES[h.kind]:
            key, where = f"{prefix}:{h.number}", ""
        else:
            slot = Slot("unplaced", b.line, b.level or BOLD_LEVEL, b.text)
            slot.title = f"{b.text} (under {self.major}, where it has no place)"
            self.unplaced.append(slot)
            self.current = slot
            return
        if key in self.slots:
            raise DocumentError(self.path, b.line, f"duplicated {name} number {h.number}{where} "
                                f"(first at line {self.slots[key].line})")
        self._new(key, b, h)

    def markdown(self, key: str) -> str | None:
        """The slot's Markdown as written (blank-line runs collapsed); None if empty."""
        slot = self.slots.get(key)
        if slot is None or not slot.items:
            return None
        return "\n\n".join(self.source(b) for b in slot.items)

    def source(self, b: Block) -> str:
        text = "\n".join(self.lines[b.start:b.end]).rstrip()
        # Runs of blank lines (inside a loose list) mean one; not so in code.
        return text if b.verbatim else _BLANKS.sub("\n\n", text)


def parse_document(text: str, *, path: str = "<document>") -> ParsedDocument:
    """Structure a response document; raises ``DocumentError`` when it cannot be imported.

    ``path`` only names the document in errors.
    """
    source = normalise_source(text)
    if not source.strip():
        raise DocumentError(path, None, "the document is empty")
    try:
        items = blocks(source)
    except NestedTooDeeplyError as exc:
        raise DocumentError(path, exc.line, str(exc)) from None
    if not any(b.level is not None or b.bold for b in items):
        raise DocumentError(path, None, "not a response in the published layout: it has no "
                            "headings (is it Markdown?)")
    w = _Walker(source, path)
    w.run(items)
    return _Builder(w).build()


class _Builder:
    """Turns the walker's slots into a ``ParsedDocument``, collecting warnings."""

    def __init__(self, w: _Walker) -> None:
        self.w = w
        self.warnings: list[DocumentWarning] = []

    def warn(self, line: int | None, message: str, kind: WarningKind) -> None:
        self.warnings.append(DocumentWarning(line, message, kind))

    def build(self) -> ParsedDocument:
        title = self._required(Field.TITLE, "inspection title", "Inspection Title")
        published, line = self._date(Field.PUBLISHED, required=True)
        if published is None:  # unreachable: _date raises for a required date
            raise DocumentError(self.w.path, None, "no publication date")
        deadline = self._deadline(published, line)
        stated, _ = self._date(Field.DEADLINE, required=False)
        self._check_deadline(stated, deadline)
        recs = self._recommendations()
        afis = self._afis()
        checklist = parse_checklist(self.w.slots.get("office"), self.w.lines, self.warn)
        response_published, response_line = response_published_on(
            checklist, self._date(Field.RESPONSE_PUBLISHED, required=False), published,
            self.w.path, self.warn)
        self._report_unplaced()
        return ParsedDocument(
            title=title, published=published,
            publication_types=self._text(Field.TYPES), police_forces=self._text(Field.FORCES),
            link=self._link(), stated_deadline=stated, deadline=deadline,
            key_findings=self.w.markdown("key_findings"),
            recommendations_intro=self.w.markdown("recs_intro"), recommendations=recs,
            afi_statement=self.w.markdown("afi_statement"), areas_for_improvement=afis,
            cc_response=self.w.markdown("cc"), pcc_response=self.w.markdown("pcc"),
            checklist=checklist, force=self._force(),
            warnings=tuple(sorted(self.warnings, key=lambda x: x.line or 0)),
            response_published=response_published, response_published_line=response_line,
            published_line=line,
        )

    # -- fields ---------------------------------------------------------------
    def _field_slot(self, f: Field) -> Slot | None:
        return self.w.slots.get(f"field:{f}")

    def _text(self, f: Field) -> str:
        slot = self._field_slot(f)
        if slot is None:
            return ""
        if slot.value is not None:
            for b in slot.items:
                self.warn(b.line, f"text after {slot.title!r}, which already gave its value "
                          "on the heading line, was not imported", U)
            return slot.value
        return ", ".join(plain(b.text) for b in slot.items if b.text)

    def _required(self, f: Field, what: str, label: str) -> str:
        slot, value = self._field_slot(f), self._text(f)
        if not value:
            line = slot.line if slot else None
            raise DocumentError(self.w.path, line, f"no {what} (a {label!r} heading "
                                "followed by its value)")
        return value

    def _date(self, f: Field, *, required: bool) -> tuple[date | None, int | None]:
        slot, value = self._field_slot(f), self._text(f)
        if not value:
            if required:
                self._required(f, "publication date", "Published on")
            return None, None
        if slot is None:  # unreachable: a value comes from a slot
            return None, None
        line = slot.items[0].line if slot.items and slot.value is None else slot.line
        parsed = parse_date(value)
        if parsed is None:
            raise DocumentError(self.w.path, line, f"cannot read {value!r} as a date "
                                "(expected e.g. '10 October 2024')")
        return parsed, line

    def _deadline(self, published: date, line: int | None) -> date:
        try:
            return statutory_deadline(published)
        except OverflowError:
            raise DocumentError(self.w.path, line, "the publication date is out of range "
                                "for a Section 55 deadline") from None

    def _check_deadline(self, stated: date | None, deadline: date) -> None:
        slot = self._field_slot(Field.DEADLINE)
        last = format_date(deadline)
        if stated is None:
            self.warn(None, f"no Section 55 deadline stated; the statutory last day, {last}, "
                      f"is stored ({STATUTE_RULE})", N)
        elif stated != deadline:
            line = slot.items[0].line if slot and slot.items else (slot.line if slot else None)
            self.warn(line, f"the document states a Section 55 deadline of "
                      f"{format_date(stated)} but the statutory last day is {last} "
                      f"({STATUTE_RULE}); {last} is stored", N)

    def _link(self) -> ReportLink | None:
        slot = self._field_slot(Field.LINK)
        if slot is None:
            return None
        for b in slot.items:
            if b.link:
                return ReportLink(plain(b.link[0]), b.link[1])
        text = self._text(Field.LINK)
        meant = _REFUSED_LINK.fullmatch(text.strip())
        if meant:
            return ReportLink(plain(meant["label"]), meant["url"])
        m = _URL.search(text)
        if m:
            return ReportLink("", m.group(0))
        if text:
            self.warn(slot.line, f"the report link {text!r} has no URL", A)
            return ReportLink(text, "")
        return None

    def _force(self) -> str | None:
        slot = self.w.slots.get("preamble")
        if slot is None:
            return None
        m = re.match(r"^(.+?)'s?\s+police\s+and\s+crime\s+commissioner", plain(slot.title),
                     re.IGNORECASE)
        return m.group(1).strip() if m else None

    # -- recommendations and areas for improvement -------------------------
    def _numbers(self, prefix: str) -> list[int]:
        seen: dict[int, None] = {}
        for key in self.w.slots:
            for p in (f"{prefix}:", f"cc_{prefix}:"):
                if key.startswith(p):
                    seen.setdefault(int(key.removeprefix(p)), None)
        return list(seen)

    def _pair(self, prefix: str, number: int, name: str) -> tuple[str, str | None, int]:
        """(text, force response, line) of one numbered item, repetition removed."""
        own = self.w.slots.get(f"{prefix}:{number}")
        reply = self.w.slots.get(f"cc_{prefix}:{number}")
        items = reply.items if reply else []
        if own is None:
            n = 0
            while n < len(items) and items[n].bold:
                n += 1
            text = "\n\n".join(unbold(self.w.source(b)) for b in items[:n])
            found = "its text was taken from the bold text there" if n else "it has no text"
            self.warn(reply.line if reply else None, f"{name} {number} appears only in the "
                      f"Chief Constable's response; {found}", A)
            rest = items[n:]
        else:
            text = self.w.markdown(own.key) or ""
            n, partial = split_repetition(" ".join(b.text for b in own.items), items)
            if partial:
                self.warn(items[0].line, f"the force's response to {name} {number} repeats "
                          "only part of its text; nothing was removed", A)
            rest = items[n:]
        answer = "\n\n".join(self.w.source(b) for b in rest) or None
        slot = own or reply
        assert slot is not None  # _numbers found the number in one slot or both
        return text, answer, slot.line

    def _recommendations(self) -> tuple[ParsedRecommendation, ...]:
        out = []
        for number in self._numbers("rec"):
            text, answer, line = self._pair("rec", number, "recommendation")
            own = self.w.slots.get(f"rec:{number}")
            text_line = own.items[0].line if own and own.items else line
            due = due_date(text, text_line, self.w.path, self.warn)
            note = self.w.markdown(f"pcc_rec:{number}")
            if answer is None and note is None:
                self.warn(line, f"recommendation {number} has no response from the force "
                          "(s55(5B) needs one, or a PCC note, before sign-off)", N)
            out.append(ParsedRecommendation(number, text, due, answer, line, note))
        self._stray_notes({r.number for r in out})
        return tuple(out)

    def _stray_notes(self, numbers: set[int]) -> None:
        """A note in the PCC's section for a recommendation the report does not make."""
        for key, slot in self.w.slots.items():
            number = int(key.removeprefix("pcc_rec:")) if key.startswith("pcc_rec:") else None
            if number is not None and number not in numbers:
                slot.title = (f"{slot.title} (in the PCC response, but the report makes no "
                              f"recommendation {number})")
                self.w.unplaced.append(slot)

    def _afis(self) -> tuple[ParsedAreaForImprovement, ...]:
        out = []
        for number in self._numbers("afi"):
            text, answer, line = self._pair("afi", number, "area for improvement")
            out.append(ParsedAreaForImprovement(number, text, answer, line))
        return tuple(out)

    def _report_unplaced(self) -> None:
        for slot in self.w.unplaced:
            last = max((b.end for b in slot.items), default=slot.line)
            span = f"lines {slot.line}-{last}" if last > slot.line else f"line {slot.line}"
            self.warn(slot.line, f"{slot.title!r} ({span}) is not part of a Section 55 "
                      "response layout; it was not imported", U)
