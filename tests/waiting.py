"""Waiting on another process: poll the very condition the test then asserts, with a deadline.

A test that waits on a proxy (the SMTP server got the last message) and then asserts
something else (the outbox row is ``sent``) races the process it watches; poll the asserted
state itself, and fail with what was last seen when the deadline passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(read: Callable[[], T], done: Callable[[T], bool], *, timeout: float,
               what: str, every: float = 0.05) -> T:
    """Call ``read`` until ``done(value)`` holds; that value, or AssertionError at the deadline
    naming ``what`` and the last value read."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout} s (last seen: {value!r})")
        time.sleep(every)  # polling the asserted state itself, not waiting for time to pass
