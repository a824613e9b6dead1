"""An address whose domain is an IDNA A-label (``xn--bcher-kva.de``, bücher.de as DNS
carries it) is a plain ASCII address: accepted and kept as typed (lower-cased). It was
refused, because the address checker spelt the domain in Unicode before the mail header
check saw it. A label that is not valid IDNA is still refused in one line."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import ADMIN
from tests.workflow.cli.conftest import Refused
from workflow.core.checks import check_email
from workflow.people import management
from workflow.responses.service import Workflow


@pytest.mark.parametrize("typed", ["a@xn--bcher-kva.de", "A@XN--BCHER-KVA.DE",
                                   "panel@council.xn--bcher-kva.de"])
def test_an_a_label_domain_is_accepted(norfolk_wf: Workflow, run: Any, typed: str) -> None:
    result = run("people", "add", "Bücher Panel", typed, "--role", "panel", actor=ADMIN)
    assert result.exit_code == 0, result.output
    assert typed.lower() in result.stdout
    assert typed.lower() in {p["email"] for p in management.people(norfolk_wf)}


def test_the_address_is_what_mail_can_carry() -> None:
    from notifications.message import check_address

    assert check_address(check_email("a@xn--bcher-kva.de")) == "a@xn--bcher-kva.de"


@pytest.mark.parametrize(("typed", "why"), [
    ("a@xn--zz.de", "the part after the @-sign is not valid IDNA (Invalid A-label)"),
])
def test_a_broken_a_label_is_refused(refused: Refused, typed: str, why: str) -> None:
    refused(["people", "add", "X", typed, "--role", "panel"],
            f"Error: email: {typed!r} is not an email address ({why})")


def test_a_unicode_domain_is_still_refused(refused: Refused) -> None:
    """What s55 cannot put in a ``To`` header as typed is refused, not rewritten."""
    refused(["people", "add", "X", "a@bücher.de", "--role", "panel"],
            "Error: email: 'a@bücher.de' is not an address mail can be sent to (plain ASCII "
            "local@domain)")
