"""The approvers' link tokens, derived from a key outside the database.

The database never holds a usable token. A mail that carries a personal link is stored in
the outbox with a placeholder in the link's place, ``s55-link.<key id>.<nonce>``, and the
dispatcher fills in the token as it sends (``fill``); the MAIL_QUEUED event's digest covers
the stored body, placeholder included, so ``s55 audit verify`` still checks every row, and
``s55 outbox show`` shows the placeholder. The token is

    base64url(HMAC-SHA256(link key, nonce 0x1f dedupe key))   (43 characters)

where the nonce is 128 random bits chosen when the mail is rendered, the dedupe key is
the outbox row's ``<event id>:<recipient>`` (so a placeholder copied into another mail -
say into a field the force writes - fills in a token no link has), and the link key is
``HMAC-SHA256(audit key, "s55 link key v1")``: only its SHA-256 is stored
(``ActionLink.token_hash``), and checking a token needs no key at all.

Why the audit key file rather than a key file of its own: it already exists where links
matter (``s55 init`` creates it owner-only, ``load`` refuses it group/world readable,
``s55 doctor`` checks it, the README tells operators to keep it apart from database
backups), and one secret is one thing to protect, back up and rotate rather than two.
The label separates the domains: a token is never an audit MAC, and HMAC being a PRF,
tokens say nothing about the audit key. ``s55 audit rotate-key`` keeps the old keys in
the keyring, and the placeholder names the key it was issued under, so mail queued
before a rotation is still filled in with the token its link's hash was stored for;
links already delivered need no key at all. Without an audit key (``S55_AUDIT_KEY_FILE``
unset) no link is issued: the mail asks its reader to reply, and an admin records what
they say on the command line (``s55 doctor`` warns). A placeholder whose key is no longer
in the key file cannot be filled in: the dispatcher refuses that message (dead, the
admins alerted, saying so) rather than send a link that cannot work.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from workflow.core.errors import ConfigError
from workflow.keys.audit_key import Keyring

#: A link's place in a stored mail: the key id (16 hex) and the nonce (32 hex). The dots
#: keep it from ever looking like a token (``links`` refuses it without a look-up).
PLACEHOLDER = re.compile(r"s55-link\.([0-9a-f]{16})\.([0-9a-f]{32})")
_LABEL = b"s55 link key v1"


class LinkKeyError(ConfigError):
    """A stored mail's link cannot be filled in: its key is not in the audit key file."""


def placeholder(ring: Keyring) -> str:
    """A new link's place in a mail, under the current key of ``ring``."""
    return f"s55-link.{ring.current}.{secrets.token_hex(16)}"


def token(key: bytes, nonce: str, dedupe_key: str) -> str:
    """The token for one link: ``key`` is the audit key it was issued under."""
    link_key = hmac.new(key, _LABEL, hashlib.sha256).digest()
    mac = hmac.new(link_key, f"{nonce}\x1f{dedupe_key}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def token_hash(token: str) -> str:
    """What the database keeps of a token: its SHA-256 (hex), the look-up key."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def token_for(ring: Keyring | None, place: str, dedupe_key: str) -> str:
    """The token replacing the placeholder ``place`` in the row ``dedupe_key``."""
    found = PLACEHOLDER.fullmatch(place)
    if found is None:
        raise LinkKeyError(f"{place!r} is not a link placeholder")
    kid, nonce = found.groups()
    key = ring.keys.get(kid) if ring is not None else None
    if key is None:
        where = "no audit key file is configured (S55_AUDIT_KEY_FILE)" if ring is None else \
            "it is not in the audit key file"
        raise LinkKeyError(f"its personal link was issued under audit key {kid}, but {where}: "
                           "the link cannot be filled in; restore that key file and run "
                           "`s55 outbox retry`, or ask the reader to request a fresh link")
    return token(key, nonce, dedupe_key)


def key_ids(text: str) -> set[str]:
    """The key ids the placeholders in ``text`` name."""
    return {m.group(1) for m in PLACEHOLDER.finditer(text)}


def fill(text: str, ring: Keyring | None, dedupe_key: str) -> str:
    """``text`` with every placeholder replaced by its token (``LinkKeyError`` when a
    key is missing): what the reader receives."""
    return PLACEHOLDER.sub(lambda m: token_for(ring, m.group(0), dedupe_key), text)
