"""Characters nobody sees: refused in every free-text field, at every door.

Bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E/U+200F, U+061C) reorder what
is shown, so ``s55 log``, a mail subject or a page can read differently from what is stored
("Trojan Source", CVE-2021-42574); zero-width characters (U+200B-U+200D, U+2060, U+FEFF)
make two names that look the same differ, or hide words. Both are refused with one line
naming them, never stripped: what is stored is what was typed.

The set chosen is all of Unicode's format characters (general category Cf) as Python 3.11
knows them, plus the line and paragraph separators (U+2028, U+2029) and the Hangul fillers
that render as nothing (U+115F, U+1160, U+3164, U+FFA0). That takes in the soft hyphen
(U+00AD, invisible unless a line breaks there), the word joiner and invisible operators
(U+2060-U+2064), the byte-order mark inside text (a file's leading one is dropped when it is
read), the interlinear annotation marks (U+FFF9-U+FFFB) and the tag characters
(U+E0001, U+E0020-U+E007F), which carry hidden ASCII. The price: the zero-width joiner and
non-joiner (U+200C, U+200D) that emoji sequences and some scripts use are refused too; s55's
texts are English official documents, where neither belongs. A test compares this table
with ``unicodedata`` so a new Unicode release cannot widen the gap unnoticed.

Light on purpose (the standard library only): the read commands' modules share it.
"""

from __future__ import annotations

import re

# Code point ranges (inclusive); the comment names each group.
_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x0600, 0x0605),  # Arabic number signs
    (0x061C, 0x061C),  # Arabic letter mark (bidi)
    (0x06DD, 0x06DD),  # Arabic end of ayah
    (0x070F, 0x070F),  # Syriac abbreviation mark
    (0x0890, 0x0891),  # Arabic pound and piastre marks above
    (0x08E2, 0x08E2),  # Arabic disputed end of ayah
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers (blank letters)
    (0x180E, 0x180E),  # Mongolian vowel separator
    (0x200B, 0x200F),  # zero width space, non-joiner, joiner; LRM, RLM
    (0x2028, 0x202E),  # line and paragraph separators; LRE, RLE, PDF, LRO, RLO
    (0x2060, 0x2064),  # word joiner, invisible operators
    (0x2066, 0x206F),  # LRI, RLI, FSI, PDI; deprecated format characters
    (0x3164, 0x3164),  # Hangul filler
    (0xFEFF, 0xFEFF),  # zero width no-break space (byte-order mark)
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF9, 0xFFFB),  # interlinear annotation anchor, separator, terminator
    (0x110BD, 0x110BD),  # Kaithi number sign
    (0x110CD, 0x110CD),  # Kaithi number sign above
    (0x13430, 0x1343F),  # Egyptian hieroglyph format controls
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0001, 0xE0001),  # language tag
    (0xE0020, 0xE007F),  # tag characters
)

INVISIBLE = re.compile("[" + "".join(
    re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
    for a, b in _RANGES) + "]")


def invisible_in(value: str) -> list[str]:
    """The distinct invisible or direction-changing characters in ``value``, in code point
    order (empty when there are none)."""
    return sorted(set(INVISIBLE.findall(value)))


def named(found: list[str]) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE, U+200B ZERO WIDTH SPACE``: each character found, by
    its code point and its Unicode name."""
    import unicodedata

    return ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'FORMAT CHARACTER')}"
                     for c in found)


def check_visible(value: str, what: str) -> str:
    """``value`` if every character in it shows as itself, else one ``InvalidInputError``
    naming ``what`` and the characters (see the module for which)."""
    found = invisible_in(value)
    if found:
        from workflow.core.errors import InvalidInputError

        raise InvalidInputError(what, f"contains invisible or direction-changing characters "
                                f"({named(found)}), which make text read differently from "
                                "what is stored; type it without them")
    return value
