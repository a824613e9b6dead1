"""Mail transports: SMTP (aiosmtplib) and a local spool folder of .eml files."""

from notifications.transports.base import Alongside, Transport
from notifications.transports.spool import SpoolTransport

__all__ = ["Alongside", "SpoolTransport", "Transport"]
