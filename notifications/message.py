"""Building one RFC 5322 message: header checks, a stable Message-ID, text + HTML parts.

Every value that ends up in a header is checked here (no CR/LF, no control
characters, one plain address per recipient), so a report title or an address typed
with an embedded newline can never add headers or recipients.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
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
    #: Where a reply goes (one plain address), so a recipient who answers reaches a
    #: person rather than the automatic sender; None sends no Reply-To.
    reply_to: str | None = None


def _header(value: str) -> str:
    """ASCII as is; anything else RFC 2047-encoded (folded with CRLF)."""
    if value.isascii():
        return value
    return Header(value, "utf-8").encode().replace("\n", "\r\n")


def _qp(body: str) -> bytes:
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    return binascii.b2a_qp(text.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


def message_bytes(mail: Mail) -> bytes:
    """The message as sent on the wire (CRLF line endings), headers checked.

    Written out directly rather than through ``EmailMessage``: the stdlib's header
    registry parses every header and cost ~3 ms a message, more than the SMTP round
    trips themselves. The boundary derives from the Message-ID, so a resend is
    byte-identical. The Date is the queueing time, not the sending time, for the same reason.
    """
    headers = [
        ("From", check_address(mail.sender, "From")),
        ("To", check_address(mail.recipient, "To")),
        *([("Reply-To", check_address(mail.reply_to, "Reply-To"))] if mail.reply_to else []),
        ("Subject", _header(check_header_text("Subject", mail.subject))),
        ("Message-ID", check_header_text("Message-ID", mail.message_id)),
        ("Date", format_datetime(mail.date)),
        ("Auto-Submitted", "auto-generated"),  # RFC 3834: no out-of-office loops
        *((n, _header(check_header_text(n, v))) for n, v in mail.headers),
    ]
    boundary = "=_s55_" + hashlib.sha256(mail.message_id.encode()).hexdigest()[:24]
    head = "".join(f"{n}: {v}\r\n" for n, v in headers)
    head += f'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="{boundary}"\r\n'
    parts = b""
    for subtype, body in (("plain", mail.body_text), ("html", mail.body_html)):
        parts += (f"--{boundary}\r\nContent-Type: text/{subtype}; charset=\"utf-8\"\r\n"
                  "Content-Transfer-Encoding: quoted-printable\r\n\r\n").encode()
        parts += _qp(body) + b"\r\n"
    return head.encode() + b"\r\n" + parts + f"--{boundary}--\r\n".encode()
