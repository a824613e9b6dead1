"""The table of characters no free-text field takes: every Unicode format character
(category Cf) Python knows, the line and paragraph separators and the blank Hangul fillers;
nothing a person types in a name, a title or a response."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from workflow.core.characters import INVISIBLE, check_visible, invisible_in
from workflow.core.checks import check_line, check_text
from workflow.core.errors import InvalidInputError
from workflow.core.os_account import check_text as check_account_text

EXTRAS = {0x2028, 0x2029, 0x115F, 0x1160, 0x3164, 0xFFA0}


def test_every_format_character_is_in_the_table() -> None:
    """A new Unicode release adding format characters fails here until the table has them."""
    missing = [f"U+{c:04X}" for c in range(sys.maxunicode + 1)
               if unicodedata.category(chr(c)) == "Cf" and not INVISIBLE.match(chr(c))]
    assert missing == []


def test_the_table_holds_nothing_else() -> None:
    """Beyond Cf and the extras, only code points this Python does not know yet (Unicode
    15's further Egyptian format controls)."""
    odd = [f"U+{c:04X}" for c in range(sys.maxunicode + 1)
           if INVISIBLE.match(chr(c)) and c not in EXTRAS
           and unicodedata.category(chr(c)) not in ("Cf", "Cn")]
    assert odd == []


@pytest.mark.parametrize("text", [
    "Giles Orpen-Smellie", "Chief Constable’s response – “agreed”", "Zoë Brontë", "José Núñez",
    "Ньютон", "王小明", "PEEL 2023–25: £3.5m", "one\n\ttwo", "Naïve café № 5 ½ °C",
])
def test_ordinary_text_passes(text: str) -> None:
    assert check_visible(text, "name") == text
    assert check_text(text, "text") == text


@pytest.mark.parametrize(("char", "name"), [
    ("\u202e", "RIGHT-TO-LEFT OVERRIDE"), ("\u202d", "LEFT-TO-RIGHT OVERRIDE"),
    ("\u202a", "LEFT-TO-RIGHT EMBEDDING"), ("\u2066", "LEFT-TO-RIGHT ISOLATE"),
    ("\u2069", "POP DIRECTIONAL ISOLATE"), ("\u200e", "LEFT-TO-RIGHT MARK"),
    ("\u200b", "ZERO WIDTH SPACE"), ("\u200d", "ZERO WIDTH JOINER"), ("\u2060", "WORD JOINER"),
    ("\ufeff", "ZERO WIDTH NO-BREAK SPACE"), ("\u00ad", "SOFT HYPHEN"),
    ("\u061c", "ARABIC LETTER MARK"), ("\U000e0041", "TAG LATIN CAPITAL LETTER A"),
    ("\u3164", "HANGUL FILLER"),
])
def test_each_is_named_in_one_line(char: str, name: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        check_visible(f"a{char}b{char}", "title")
    message = str(refused.value)
    assert message == (f"title: contains invisible or direction-changing characters "
                       f"(U+{ord(char):04X} {name}), which make text read differently from "
                       "what is stored; type it without them")
    assert "\n" not in message
    assert char not in message


@given(st.text(), st.sampled_from(sorted({chr(c) for c in (0x202E, 0x200B, 0x2067, 0xFEFF,
                                                             0x00AD, 0xE0020)})),
       st.integers(0, 100))
@example("Custody report", "\u202e", 7)
def test_every_door_check_refuses_it_anywhere(text: str, char: str, at: int) -> None:
    """Inserted anywhere in any text, the character is refused by the one-line, the
    multi-line and the account checks alike."""
    value = text[:at] + char + text[at:]
    for check in (check_line, check_text, check_account_text):
        with pytest.raises(InvalidInputError):
            check(value, "field")
    assert char in invisible_in(value)
