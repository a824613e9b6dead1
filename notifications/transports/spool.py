"""The embedded default transport: each message becomes one ``.eml`` file in a folder.

The file name is derived from the Message-ID, and files are written atomically
(temporary file, fsync, rename), so a resend after a crash replaces the same file
instead of adding a second copy.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from email.parser import BytesHeaderParser
from pathlib import Path

from notifications.errors import TransportError
from notifications.transports.base import Alongside


def spool_name(data: bytes) -> str:
    """``<sha256 of the Message-ID>.eml``: stable across resends of one message."""
    headers = BytesHeaderParser().parsebytes(data)
    key = headers.get("Message-ID") or hashlib.sha256(data).hexdigest()
    return hashlib.sha256(str(key).encode()).hexdigest()[:32] + ".eml"


class SpoolTransport:
    """Writes messages to ``directory`` instead of sending them."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.description = f"spool folder {self.directory} (no SMTP host configured)"

    async def open(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransportError("spool", f"cannot create {self.directory}: {exc}") from exc

    async def send(self, sender: str, recipient: str, data: bytes,
                   alongside: Alongside | None = None) -> None:
        if alongside is not None:
            alongside()
        target = self.directory / spool_name(data)
        envelope = f"X-Envelope-From: {sender}\r\nX-Envelope-To: {recipient}\r\n".encode()
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".eml")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(envelope + data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise TransportError("spool", f"cannot write {target}: {exc}") from exc

    async def close(self) -> None:
        return None
