"""SMTP delivery with aiosmtplib: the only module in s55 that imports it.

One connection carries a whole run. Security is explicit: ``starttls`` (port 587,
``start_tls=True``), ``tls`` (port 465, implicit TLS, ``use_tls=True``) or ``none``. Mixing
the two TLS styles gives "unknown protocol" errors (cole/aiosmtplib#16, #122), so we never
let aiosmtplib guess: ``start_tls`` is always True or False, never None (in 5.x None
upgrades on its own when offered, and calling ``starttls()`` again fails).
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import aiosmtplib

from notifications.errors import (
    AuthRejectedError,
    ConnectionLostError,
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    TransportError,
)
from notifications.transports.base import Alongside

SECURITY = ("starttls", "tls", "none")


def _delivery_error(recipient: str, exc: aiosmtplib.SMTPResponseException) -> DeliveryError:
    problem = f"{exc.code} {exc.message}".strip()
    if 400 <= exc.code < 500:
        return TemporaryDeliveryError(recipient, problem, exc.code)
    return PermanentDeliveryError(recipient, problem, exc.code)


class SMTPTransport:
    """Sends over one SMTP connection; reconnects only when asked to (``open`` again)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        ca_file: Path | None = None,
    ) -> None:
        if security not in SECURITY:
            raise TransportError(f"{host}:{port}", f"unknown security {security!r}; use "
                                 + ", ".join(SECURITY))
        self.host, self.port, self.security = host, port, security
        self.username, self._password = username, password  # the password is never shown
        self.timeout = timeout
        self.ca_file = ca_file
        auth = f", AUTH as {username}" if username else ""
        self.description = f"SMTP {host}:{port} ({security}{auth})"
        self._smtp: aiosmtplib.SMTP | None = None

    def _tls_context(self) -> ssl.SSLContext | None:
        if self.security == "none":
            return None
        ctx = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        return ctx

    async def open(self) -> None:
        await self.close()
        smtp = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            timeout=self.timeout,
            use_tls=self.security == "tls",
            start_tls=self.security == "starttls",
            tls_context=self._tls_context(),
        )
        try:
            await smtp.connect()
            if self.username:
                await smtp.login(self.username, self._password or "")
        except aiosmtplib.SMTPAuthenticationError as exc:
            await self._quietly_close(smtp)
            raise AuthRejectedError(self.description,
                                    f"login as {self.username} rejected: {exc.code}") from None
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
            await self._quietly_close(smtp)
            # str(exc) of aiosmtplib errors never includes credentials.
            raise TransportError(self.description, f"cannot connect: {exc}") from None
        self._smtp = smtp

    async def send(self, sender: str, recipient: str, data: bytes,
                   alongside: Alongside | None = None) -> None:
        smtp = self._smtp
        if smtp is None or not smtp.is_connected:
            if alongside is not None:
                alongside()
            raise ConnectionLostError(recipient, "not connected")
        try:
            if alongside is None:
                await smtp.mail(sender)
            else:
                await self._mail_alongside(smtp, sender, alongside)
            await smtp.rcpt(recipient)
            await smtp.data(data)
        except aiosmtplib.SMTPResponseException as exc:
            # The server refused this message only: reset the transaction and go on.
            await self._reset(smtp)
            raise _delivery_error(recipient, exc) from None
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            # aiosmtplib raises SMTPServerDisconnected on a dropped connection; the caller
            # reconnects and retries from the first unsent message.
            self._smtp = None
            await self._quietly_close(smtp)
            raise ConnectionLostError(recipient, f"connection lost: {exc}") from None

    @staticmethod
    async def _mail_alongside(smtp: aiosmtplib.SMTP, sender: str, alongside: Alongside) -> None:
        """MAIL FROM, running ``alongside`` while the server answers it."""
        mail = asyncio.ensure_future(smtp.mail(sender))
        await asyncio.sleep(0)  # the task's first step writes MAIL FROM to the socket
        try:
            alongside()
        except BaseException:
            mail.cancel()
            await asyncio.gather(mail, return_exceptions=True)
            raise
        await mail

    async def _reset(self, smtp: aiosmtplib.SMTP) -> None:
        try:
            await smtp.rset()
        except (aiosmtplib.SMTPException, OSError):
            self._smtp = None
            await self._quietly_close(smtp)

    @staticmethod
    async def _quietly_close(smtp: aiosmtplib.SMTP) -> None:
        if smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            await self._quietly_close(smtp)
