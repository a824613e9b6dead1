"""Rendering mail from templates: StrictUndefined, autoescaping, overrides, subjects; and
notifications/ never importing workflow/."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest

from notifications.errors import TemplateMissingError, TemplateRenderError
from notifications.render import BUILTIN_DIR, KINDS, PARTS, render, template_name

ROOT = Path(__file__).resolve().parents[2]

CONTEXT = {
    "opcc_name": "OPCC for Norfolk", "force": "Norfolk", "recipient_name": "Ann <Admin>",
    "response_id": 7, "report_title": "ASB & <b>PEEL</b>", "report_link": "https://x.example",
    "report_published": date(2024, 10, 10), "deadline": date(2024, 12, 4), "days_left": 12,
    "force_input_due": date(2024, 11, 6), "signoff_due": date(2024, 11, 20),
    "published_url": "https://opcc.example/r/7", "published_on": date(2024, 11, 30),
    "portal_reference": "HMI-123", "reason": "Needs <more> detail", "actor": "Ann Admin",
    "response": {"key_findings": "k", "cc_response": "c", "pcc_response": "p",
                 "afi_statement": None},
    "recommendations": [{"number": 8, "text": "Do <x>", "due_date": date(2025, 9, 30),
                         "force_response": "ok", "pcc_note": None}],
    "areas": [],
    "outbox_id": 3, "dead_recipient": "a@b.example", "dead_subject": "s", "attempts": 8,
    "error": "550 no", "transport": "spool folder x",
    # Escalations (see workflow/escalations/sweep.py _context).
    "state": "force_input", "waiting_on": "force liaison", "rule_id": "force-input-d28",
    "summary": "force input still outstanding <4 weeks> before the deadline",
    "severity": "warning", "urgent": False, "occurrence": 0, "due_day": date(2024, 11, 6),
    "moved_from": None, "moved_because": None,
    "notify_roles": ["force"], "cc_roles": ["admin"], "superseded": ["draft-d42"],
    # A privilege change (workflow/people/management.py _notify).
    "person_name": "Puppet <PCC>", "person_email": "p@x.example", "change": "now holds pcc",
    "roles": ["pcc"], "changed_by": "ann@x.example", "event_id": 12,
    # Audit checkpoints (see workflow/assurance/checkpoints.py record).
    "line": "s55-checkpoint v1 count=3 head=" + "a" * 64, "count": 3, "head": "a" * 64,
    "signed": True, "key": "0123456789abcdef",
    # The link mails (workflow/responses/approvals.py _send).
    "link_days": 14, "link_until": "15 Oct 2024 at 10:00",
    # The sign-off's receipt and the PCC's notice (workflow/mail/compose.py).
    "signed_text": "## Norfolk's PCC response <as signed>", "fingerprint": "f" * 64,
    "signature": "Signed off by Dee Deputy for p@x.example under delegation #2",
    "signer_name": "Dee <Deputy>", "signer_email": "dee@x.example",
    "signed_on": date(2024, 11, 22), "signed_time": "10:00", "pcc_name": "Giles <PCC>",
    "delegation": {"id": 2, "starts_on": date(2024, 11, 18), "ends_on": date(2024, 11, 29),
                   "reason": "leave"},
    # Changes to who may act (workflow/people: office, delegation, identification).
    "changes": [{"about": "the office's name", "was": "not set", "now": "OPCC <N>"}],
    "asked_by": "Ann <Admin>", "deputy_name": "Dep <Uty>",
    "starts_on": date(2024, 11, 1), "ends_on": date(2024, 11, 30), "ended": False,
    "how": "The PCC made it.", "by_name": "Ann Admin", "confirmed": True,
    # National reports in HMICFRS's feed (workflow/feed/watch.py _digest).
    "items": [{"title": "State <of> Policing", "link": "https://x.example/s",
               "published_on": date(2024, 11, 1), "deadline": date(2024, 12, 26)}],
    # Added to every message by workflow.mail.compose.prepare_messages.
    "today": date(2024, 11, 22), "recipient_roles": ["admin"],
    "contact": {"name": "Gov <Officer>", "email": "gov@opcc.example"},
}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_all_parts(kind: str) -> None:
    """Every kind renders a one-line subject, a text part and an HTML part under StrictUndefined."""
    out = render(kind, CONTEXT)
    assert out.subject
    assert "\n" not in out.subject
    assert "Ann <Admin>" in out.text  # plain text is not escaped
    assert "Ann &lt;Admin&gt;" in out.html  # HTML is autoescaped
    assert "None" not in out.text


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_three_template_files(kind: str) -> None:
    """Each kind ships subject, text and HTML templates in notifications/templates."""
    for part in PARTS:
        assert (BUILTIN_DIR / template_name(kind, part)).is_file()


@pytest.mark.parametrize("kind", KINDS)
def test_a_missing_variable_is_an_error(kind: str) -> None:
    """StrictUndefined: leaving out a variable a template uses raises, naming the template."""
    ctx = {k: v for k, v in CONTEXT.items() if k != "opcc_name" and k != "report_title"}
    with pytest.raises(TemplateRenderError, match=kind):
        render(kind, ctx)


def test_every_shipped_template_is_a_known_kind() -> None:
    """No template file is left out of KINDS (and so out of the tests above)."""
    shipped = {p.name.split(".")[0] for p in BUILTIN_DIR.glob("*.j2")
               if not p.name.startswith("_")}
    assert shipped == set(KINDS)


def test_unknown_kind_is_refused() -> None:
    """A kind with no templates raises TemplateMissingError naming the file."""
    with pytest.raises(TemplateMissingError, match="nope.subject.j2"):
        render("nope", CONTEXT)


def test_subjects_carry_title_id_and_days_left() -> None:
    """Transition subjects name the report title, the response id and the statutory
    deadline, labelled as such, with the days to it."""
    subject = render("request_force_input", CONTEXT).subject
    assert "#7" in subject
    assert "ASB & <b>PEEL</b>" in subject
    assert "(statutory deadline 4 December 2024, due in 12 days)" in subject


def test_organisation_override_wins(tmp_path: Path) -> None:
    """A file in template_dir replaces the built-in one; the others still come from the package."""
    (tmp_path / "publish.subject.j2").write_text("Published at last: {{ report_title }}")
    out = render("publish", CONTEXT, override_dir=tmp_path)
    assert out.subject == "Published at last: ASB & <b>PEEL</b>"
    assert "https://opcc.example/r/7" in out.text


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "notifications").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_notifications_never_import_workflow(path: Path) -> None:
    """notifications/ stays below workflow/; only transports/smtp.py imports aiosmtplib."""
    mods = _imports(path)
    assert not any(m == "workflow" or m.startswith("workflow.") for m in mods)
    if path.name != "smtp.py":
        assert not any(m.split(".")[0] == "aiosmtplib" for m in mods)
