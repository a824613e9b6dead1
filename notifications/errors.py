"""Errors of the mail package. Kept apart so every module can import them without loops.

``NotificationError`` is the root; the workflow layer wraps the ones a user can cause
in its own ``S55Error`` subclasses (``notifications`` never imports ``workflow``).
"""

from __future__ import annotations


class NotificationError(Exception):
    """Root of every error raised by ``notifications``."""


class HeaderInjectionError(NotificationError, ValueError):
    """A header value (subject, address) carries CR/LF or another forbidden character."""

    def __init__(self, header: str, value: str, problem: str) -> None:
        self.header, self.value, self.problem = header, value, problem
        super().__init__(f"refusing {header} header {value!r}: {problem}")


class TemplateMissingError(NotificationError, LookupError):
    """No template exists for a message kind."""

    def __init__(self, kind: str, name: str) -> None:
        self.kind, self.name = kind, name
        super().__init__(f"no template {name} for mail kind {kind!r}")


class TemplateRenderError(NotificationError):
    """A template failed to render (StrictUndefined: a variable it uses was not given)."""

    def __init__(self, kind: str, name: str, problem: str) -> None:
        self.kind, self.name, self.problem = kind, name, problem
        super().__init__(f"template {name} for mail kind {kind!r} failed: {problem}")


class DeliveryError(NotificationError):
    """One message could not be delivered. ``permanent`` means retrying cannot help."""

    permanent = False

    def __init__(self, recipient: str, problem: str, code: int | None = None) -> None:
        self.recipient, self.problem, self.code = recipient, problem, code
        super().__init__(f"delivery to {recipient} failed: {problem}")


class TemporaryDeliveryError(DeliveryError):
    """The server said "try later" (4xx) about one message."""


class PermanentDeliveryError(DeliveryError):
    """The server refused one message for good (5xx), e.g. an unknown recipient."""

    permanent = True


class ConnectionLostError(DeliveryError):
    """The connection dropped (or timed out) while a message was in flight."""


class TransportError(NotificationError):
    """The transport cannot be used at all (connect, TLS, AUTH, spool folder)."""

    def __init__(self, transport: str, problem: str) -> None:
        self.transport, self.problem = transport, problem
        super().__init__(f"mail transport {transport}: {problem}")


class AuthRejectedError(TransportError):
    """The SMTP server rejected the configured username/password."""
