"""The dispatcher's retry schedule: exponential backoff with jitter, capped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from notifications.dispatcher import backoff, next_attempt_at


class TestBackoff:
    def test_grows_exponentially_and_is_capped(self) -> None:
        """With no jitter the delay halves the exponential step; it never exceeds the cap."""
        assert [backoff(n, 0.0).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
        assert backoff(40, 0.999).total_seconds() <= 6 * 3600

    def test_jitter_spreads_within_the_step(self) -> None:
        """Jitter moves the delay within [delay/2, delay): a pure function of now and jitter."""
        now = datetime(2024, 12, 1, tzinfo=UTC)
        low, high = next_attempt_at(now, 3, 0.0), next_attempt_at(now, 3, 0.99)
        assert (low - now).total_seconds() == 120
        assert 120 < (high - now).total_seconds() < 240

    def test_bad_input_refused(self) -> None:
        """Attempts count from 1 and jitter is a fraction."""
        with pytest.raises(ValueError, match="attempts"):
            backoff(0, 0.5)
        with pytest.raises(ValueError, match="jitter"):
            backoff(1, 1.0)
