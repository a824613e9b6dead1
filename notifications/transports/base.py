"""What the dispatcher needs from a transport: open once, send many, close.

``send`` takes an ``alongside`` callable: quick, synchronous work the transport runs
once the message is under way but before its body goes out (SMTP: after MAIL FROM is
written, while the server answers it). The dispatcher commits the *previous* message's
"sent" there, so that commit costs no time on the SMTP conversation's critical path and
is still durable before the next DATA: a crash leaves at most the one message in flight
unrecorded (see ``dispatcher``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

Alongside = Callable[[], None]



class Transport(Protocol):
    #: Shown to people ("SMTP mail.example.org:587 (STARTTLS)", "spool folder /x").
    description: str

    async def open(self) -> None:
        """Connect (SMTP) or prepare (spool). Raises ``TransportError``."""
        ...

    async def send(self, sender: str, recipient: str, data: bytes,
                   alongside: Alongside | None = None) -> None:
        """Deliver one message, calling ``alongside`` (if given) exactly once before the
        body goes out. Raises a ``DeliveryError`` subclass about that message; an
        exception from ``alongside`` propagates and nothing more is sent."""
        ...

    async def close(self) -> None:
        """Release the connection; never raises."""
        ...
