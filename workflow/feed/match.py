"""Which force a feed item is about: this office's (its name or an alias), another, or none.

A name matches as whole words, ignoring case and spacing, in the item's title or one of its
categories: "Norfolk" matches "PEEL 2025: Norfolk Constabulary" but not "Norfolkshire".
An item naming no police force of England and Wales (nor a national one) is national or
thematic: it may still call for a response, so the admins are told of it once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum

from workflow.feed.read import Item

#: The police forces HMICFRS inspects, by the words that name them in its titles: the 43
#: territorial forces of England and Wales and the national ones.
FORCES = (
    "Avon and Somerset", "Bedfordshire", "Cambridgeshire", "Cheshire", "City of London",
    "Cleveland", "Cumbria", "Derbyshire", "Devon and Cornwall", "Dorset", "Durham",
    "Dyfed-Powys", "Essex", "Gloucestershire", "Greater Manchester", "Gwent", "Hampshire",
    "Hertfordshire", "Humberside", "Kent", "Lancashire", "Leicestershire", "Lincolnshire",
    "Merseyside", "Metropolitan Police", "Norfolk", "North Wales", "North Yorkshire",
    "Northamptonshire", "Northumbria", "Nottinghamshire", "South Wales", "South Yorkshire",
    "Staffordshire", "Suffolk", "Surrey", "Sussex", "Thames Valley", "Warwickshire",
    "West Mercia", "West Midlands", "West Yorkshire", "Wiltshire",
    "British Transport Police", "Civil Nuclear Constabulary", "Ministry of Defence Police",
)


class About(StrEnum):
    """What an item is about, as far as this office is concerned."""

    OURS = "ours"
    OTHER_FORCE = "other_force"
    NATIONAL = "national"


def pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive, whole-word pattern for any of ``names`` (spacing ignored)."""
    parts = sorted({" ".join(n.split()) for n in names if n and n.strip()}, key=len,
                   reverse=True)
    if not parts:
        return None
    words = (r"\s+".join(re.escape(w) for w in name.split()) for name in parts)
    return re.compile(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)", re.IGNORECASE)


def names_in(found: re.Pattern[str] | None, item: Item) -> bool:
    """Whether ``found`` matches the item's title or one of its categories."""
    if found is None:
        return False
    return any(found.search(text) for text in (item.title, *item.categories))


class Matcher:
    """Decides ``About`` for items, given this force's name and its aliases."""

    def __init__(self, force: str, aliases: Iterable[str]) -> None:
        self.ours = pattern([force, *aliases])
        self.any_force = pattern(FORCES)

    def about(self, item: Item) -> About:
        if names_in(self.ours, item):
            return About.OURS
        if names_in(self.any_force, item):
            return About.OTHER_FORCE
        return About.NATIONAL
