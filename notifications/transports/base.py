"""What the dispatcher needs from a transport: open once, send many, close.

``send`` takes a ``before_data`` hook the transport awaits just before it hands the
message body over (SMTP ``DATA``). The dispatcher uses it to make sure the previous
message's "sent" is committed first, so a crash can leave at most the one message in
flight unrecorded (see ``dispatcher``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

BeforeData = Callable[[], Awaitable[None]]


class Transport(Protocol):
    #: Shown to people ("SMTP mail.example.org:587 (STARTTLS)", "spool folder /x").
    description: str

    async def open(self) -> None:
        """Connect (SMTP) or prepare (spool). Raises ``TransportError``."""
        ...

    async def send(self, sender: str, recipient: str, data: bytes,
                   before_data: BeforeData | None = None) -> None:
        """Deliver one message. Raises a ``DeliveryError`` subclass about that message."""
        ...

    async def close(self) -> None:
        """Release the connection; never raises."""
        ...
