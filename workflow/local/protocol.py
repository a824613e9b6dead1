"""The local service's wire: frames over one Unix stream connection per command.

A frame is a kind (one byte), the length of its body (four bytes, network order) and the
body: JSON for what is said (``REQUEST``, ``ANSWER``, ``EXIT`` and the file requests),
bytes for what is carried (``STDOUT``, ``STDERR``, ``DATA``). Bytes longer than a frame go
as several ``DATA`` frames closed by one ``END``.

The conversation: the client sends one ``REQUEST`` (the arguments and the facts of its
terminal); the service answers with ``STDOUT`` and ``STDERR`` as the command writes them,
asks for files as the command opens them (``READ``, ``LIST``, ``WRITE`` then ``DATA`` ...
``END`` or ``ABANDON``; the client answers each with an ``ANSWER``, and a read's bytes
follow it as ``DATA`` ... ``END``) and closes with ``EXIT`` and the exit code.

Standard library only: the client loads this module and nothing heavier.
"""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Iterator
from typing import Any

REQUEST, ANSWER, DATA, END = b"q", b"a", b"d", b"z"
STDOUT, STDERR, EXIT = b"o", b"e", b"x"
READ, LIST, WRITE, ABANDON = b"r", b"l", b"w", b"k"

_HEAD = struct.Struct("!cI")
#: The largest body of one frame; longer bytes are split into several DATA frames.
FRAME_BYTES = 1 << 20


class ClosedError(ConnectionError):
    """The connection failed or closed, or the other end sent what this wire does not
    carry (any failure of the connection itself is this error, so that it is never taken
    for a failure of the command)."""


class Channel:
    """One connection, spoken in frames."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._reader = sock.makefile("rb")

    def send(self, kind: bytes, body: bytes = b"") -> None:
        try:
            self.sock.sendall(_HEAD.pack(kind, len(body)) + body)
        except OSError as exc:
            raise ClosedError(f"the connection failed: {exc}") from exc

    def send_json(self, kind: bytes, value: Any) -> None:
        self.send(kind, json.dumps(value, ensure_ascii=False).encode("utf-8"))

    def send_data(self, data: bytes) -> None:
        """``data`` as DATA frames, then END."""
        for start in range(0, len(data), FRAME_BYTES):
            self.send(DATA, data[start:start + FRAME_BYTES])
        self.send(END)

    def receive(self) -> tuple[bytes, bytes]:
        """The next frame's kind and body; ``ClosedError`` at the end of the connection."""
        head = self._exactly(_HEAD.size)
        kind, length = _HEAD.unpack(head)
        if length > FRAME_BYTES:
            raise ClosedError(f"a frame of {length} bytes is longer than this wire carries")
        return kind, self._exactly(length)

    def receive_json(self, expected: bytes) -> Any:
        kind, body = self.receive()
        if kind != expected:
            raise ClosedError(f"expected a {expected!r} frame, got {kind!r}")
        return json.loads(body)

    def receive_data(self, limit: int) -> bytes:
        """DATA frames up to END, joined; ``ClosedError`` past ``limit`` bytes."""
        return b"".join(self._chunks(limit))

    def _chunks(self, limit: int) -> Iterator[bytes]:
        total = 0
        while True:
            kind, body = self.receive()
            if kind == END:
                return
            total += len(body)
            if kind != DATA or total > limit:
                raise ClosedError("file bytes not as asked for")
            yield body

    def _exactly(self, size: int) -> bytes:
        try:
            data = self._reader.read(size) if size else b""
        except OSError as exc:
            raise ClosedError(f"the connection failed: {exc}") from exc
        if len(data) != size:
            raise ClosedError("the connection closed")
        return data

    def close(self) -> None:
        self._reader.close()
        self.sock.close()
