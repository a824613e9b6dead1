"""Building a message: header text and addresses checked against injection, and the
multipart message with its stable Message-ID."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from notifications.errors import HeaderInjectionError
from notifications.message import (
    Mail,
    check_address,
    check_header_text,
    message_bytes,
    message_id_for,
)


class TestHeaders:
    @pytest.mark.parametrize("value", ["a\r\nBcc: x@y.example", "line\nfeed", "nul\x00",
                                       "tab\tchar", "sep\u2028"])
    def test_control_characters_refused_in_subject(self, value: str) -> None:
        """CR, LF and other control characters in a subject are refused (no header injection)."""
        with pytest.raises(HeaderInjectionError, match="Subject"):
            check_header_text("Subject", value)

    @pytest.mark.parametrize("value", ["a@b.example\r\nBcc: evil@x.example",
                                       "a@b.example, c@d.example", "Ann <a@b.example>",
                                       "no-at-sign", "a@b.example\n",
                                       "", "a b@c.example"])
    def test_bad_addresses_refused(self, value: str) -> None:
        """Only one plain local@domain address is accepted as a recipient."""
        with pytest.raises(HeaderInjectionError):
            check_address(value)

    def test_built_message_refuses_injected_subject(self) -> None:
        """Building a message with a CR/LF subject raises before any bytes exist."""
        mail = Mail("s55@opcc.example", "a@b.example", "Hi\r\nBcc: evil@x.example", "t", "<p>h</p>",
                    "<x@y>", datetime(2024, 1, 1, tzinfo=UTC))
        with pytest.raises(HeaderInjectionError):
            message_bytes(mail)

    def test_message_has_text_and_html_parts_and_stable_id(self) -> None:
        """A message is multipart/alternative (text then HTML) with the Message-ID given."""
        mid = message_id_for("12:a@b.example", "s55@opcc.example")
        assert mid == message_id_for("12:a@b.example", "s55@opcc.example")
        assert mid != message_id_for("13:a@b.example", "s55@opcc.example")
        assert mid.endswith("@opcc.example>")
        raw = message_bytes(Mail("s55@opcc.example", "a@b.example", "Subj", "plain £", "<p>h</p>",
                                 mid, datetime(2024, 1, 1, tzinfo=UTC)))
        msg = message_from_bytes(raw, policy=policy.default)
        assert msg["Message-ID"] == mid
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
        assert msg.get_body(("plain",)).get_content().strip() == "plain £"  # type: ignore[union-attr]
