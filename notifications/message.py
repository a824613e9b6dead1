"""Building one RFC 5322 message: header checks, a stable Message-ID, text + HTML parts.

Every value that ends up in a header is checked here (no CR/LF, no control
characters, one plain address per recipient), so a report title or an address typed
with an embedded newline can never add headers or recipients.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from notifications.errors import HeaderInjectionError

#: A deliberately plain address: ASCII dot-atom local part and a hostname. Names,
#: angle brackets, commas and quoted local parts are refused (one recipient, no tricks);
#: non-ASCII addresses would need SMTPUTF8, which we cannot assume of a relay.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?)*$"
)
#: C0 controls (CR and LF included), DEL, C1 controls and the Unicode line/paragraph
#: separators, which some mail clients also treat as line breaks.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MAX_SUBJECT = 250  # well under RFC 5322's 998-octet line limit once encoded
MAX_ADDRESS = 254  # RFC 5321 forward-path limit

def check_header_text(header: str, value: str, *, limit: int = MAX_SUBJECT) -> str:
    """Return ``value`` if it is safe in a header, else raise ``HeaderInjectionError``."""
    bad = _FORBIDDEN.search(value)
    if bad:
        what = {"\r": "a carriage return", "\n": "a line feed"}.get(bad.group(), "a control "
                                                                  f"character {bad.group()!r}")
        raise HeaderInjectionError(header, value, f"contains {what}")
    if not value.strip():
        raise HeaderInjectionError(header, value, "is empty")
    if len(value) > limit:
        raise HeaderInjectionError(header, value, f"is longer than {limit} characters")
    return value


def check_address(value: str, header: str = "To") -> str:
    """Return ``value`` if it is one plain ``local@domain`` address, else raise."""
    check_header_text(header, value, limit=MAX_ADDRESS)
    if not _ADDRESS.match(value):
        raise HeaderInjectionError(header, value, "is not a single plain address local@domain")
    return value


def message_id_for(dedupe_key: str, sender: str) -> str:
    """The stable Message-ID of the message with this dedupe key.

    SMTP has no idempotency key, so a crash between "server accepted" and "recorded
    as sent" resends; an identical Message-ID lets recipients (and our tests) see the
    duplicate for what it is.
    """
    domain = sender.rpartition("@")[2] or "s55.invalid"
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:40]
    return f"<s55.{digest}@{domain}>"


@dataclass(frozen=True)
class Mail:
    """Everything needed to build one message to one recipient."""

    sender: str
    recipient: str
    subject: str
    body_text: str
    body_html: str
    message_id: str
    date: datetime
    headers: tuple[tuple[str, str], ...] = ()


def build_message(mail: Mail) -> EmailMessage:
    """A multipart/alternative message (plain text first, then HTML), headers checked."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = check_address(mail.sender, "From")
    msg["To"] = check_address(mail.recipient, "To")
    msg["Subject"] = check_header_text("Subject", mail.subject)
    msg["Message-ID"] = check_header_text("Message-ID", mail.message_id)
    # The queueing time, not the sending time: a resend is then byte-identical.
    msg["Date"] = format_datetime(mail.date)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office loops
    for name, value in mail.headers:
        msg[name] = check_header_text(name, value)
    msg.set_content(mail.body_text)
    msg.add_alternative(mail.body_html, subtype="html")
    return msg


def message_bytes(mail: Mail) -> bytes:
    """The message as sent on the wire (CRLF line endings)."""
    return build_message(mail).as_bytes(policy=policy.SMTP)
