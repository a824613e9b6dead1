"""What mail says to its reader: the ask, dates worded against today, lists, the rule.

Rendered straight from the templates with a context like the one the workflow builds
(``workflow.mail.outbox``); every expected sentence is written out by hand.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from notifications.render import BUILTIN_DIR, KINDS, Timing, render

DEADLINE = date(2024, 12, 4)  # s55(5A): the Norfolk report, published 10 October 2024
REC_3 = ("By 31 March 2025, forces should:\n\n"
         "- review their risk assessment processes; and\n"
         "  - keep them under review\n"
         "- retain completed risk assessments.")

BASE: dict[str, Any] = {
    "opcc_name": "OPCC for Norfolk", "force": "Norfolk", "recipient_name": "Sam Reader",
    "response_id": 3, "report_title": "ASB spotlight", "report_link": "",
    "report_published": date(2024, 10, 10), "deadline": DEADLINE, "days_left": 42,
    "force_input_due": date(2024, 11, 6), "signoff_due": date(2024, 11, 20),
    "published_url": "https://opcc.example/r", "published_on": date(2024, 12, 3),
    "portal_reference": None,
    "reason": "Recommendation 3 needs dates.", "actor": "Ann Admin", "state": "force_input",
    "response": {"key_findings": "k", "cc_response": "c", "pcc_response": None,
                 "afi_statement": None},
    "recommendations": [
        {"number": 3, "text": REC_3, "due_date": date(2025, 3, 31), "force_response": None,
         "pcc_note": None},
        {"number": 8, "text": "Train all neighbourhood teams.", "due_date": None,
         "force_response": None, "pcc_note": None}],
    "areas": [],
    # What workflow.mail.compose.prepare_messages adds to every message.
    "today": date(2024, 10, 23), "recipient_roles": ["force"],
    "contact": {"name": "Ann Admin", "email": "ann@opcc.example"},
    # Escalations (workflow/escalations/sweep.py _context) and the dead-mail alert.
    "waiting_on": "force liaison", "rule_id": "overdue",
    "summary": "Not published by the Section 55 deadline", "severity": "overdue",
    "urgent": True, "occurrence": 0, "due_day": DEADLINE,
    "moved_from": None, "moved_because": None,
    "notify_roles": ["admin", "force"], "cc_roles": ["chief_executive"], "superseded": [],
    "outbox_id": 12, "dead_recipient": "x@force.example", "dead_subject": "S",
    "attempts": 8, "error": "550 no such user",
}

#: The kinds that ask someone to act, and the state each is sent in.
ASKING = {
    "request_force_input": "force_input", "return_to_force": "force_input",
    "submit_force_input": "pcc_signoff", "return_to_draft": "draft",
    "sign_off": "forwarded_to_panel", "publish": "published", "mail_dead": "force_input",
    "escalation_draft": "draft", "escalation_force_input": "force_input",
    "escalation_signoff": "pcc_signoff", "escalation_publish": "forwarded_to_panel",
    "escalation_overdue": "forwarded_to_panel", "escalation_portal": "published",
}
#: Any s55 command line (a pointer only an admin can follow).
COMMAND = re.compile(r"\bs55 (show|request-force-input|rec|edit|submit-force-input|sign-off|"
                     r"publish|submit-to-portal|outbox|escalations)\b")


def ctx(**changes: Any) -> dict[str, Any]:
    return {**BASE, **changes}


class TestWhatWeNeed:
    def test_force_liaison_is_told_what_by_when_and_how(self) -> None:
        """The force's request says what is needed (each recommendation by its published
        number, with its due date), by when, and that a reply reaches a named person."""
        text = render("request_force_input", ctx()).text
        assert (
            "What we need from you\n"
            "---------------------\n"
            "The Chief Constable's comments on the report, and the force's response to each "
            "of its recommendations: the action the force has taken or proposes, or why it "
            "will take none.\n"
            "\n"
            "  Recommendation 3 (due 31 March 2025)\n"
            "    By 31 March 2025, forces should:\n"
            "\n"
            "    - review their risk assessment processes; and\n"
            "      - keep them under review\n"
            "    - retain completed risk assessments.\n"
            "\n"
            "  Recommendation 8\n"
            "    Train all neighbourhood teams.\n"
            "\n"
            "By:  6 November 2024 (due in 14 days), the date the OPCC asked for\n"
            "How: Reply to this message with the comments, answering each recommendation under "
            "its number as published. Your reply goes to Ann Admin (ann@opcc.example), who "
            "records it in s55.\n"
        ) in text
        assert not COMMAND.search(text)

    def test_pcc_is_told_to_review_and_sign_off(self) -> None:
        """The PCC's mail asks for comments and sign-off by the sign-off date, says how to
        reach the governance officer, and carries the response to review."""
        text = render("submit_force_input", ctx(state="pcc_signoff", recipient_roles=["pcc"],
                                                today=date(2024, 11, 18))).text
        assert (
            "What we need from you\n"
            "---------------------\n"
            "Your comments on the report (the PCC's response is not written yet), then your "
            "sign-off: read the force's comments below, give your comments, and sign the "
            "response off or say what must change.\n"
            "\n"
            "By:  20 November 2024 (due in 2 days), the date set for sign-off\n"
            "How: Reply to this message with your comments, or to say that you sign the "
            "response off or what must change. Your reply goes to Ann Admin "
            "(ann@opcc.example), who will arrange for your sign-off to be recorded in s55 "
            "under your own name: nobody else may sign off for you.\n"
        ) in text
        assert "Chief Constable's response\n--------------------------\nc\n" in text
        assert not COMMAND.search(text)

    def test_a_passed_date_asks_for_as_soon_as_possible(self) -> None:
        """Once the date asked for has passed, the ask says so instead of naming it as due."""
        text = render("escalation_force_input", ctx(today=date(2024, 11, 9))).text
        assert ("By:  as soon as possible: the date the OPCC asked for was 6 November 2024 (3 days "
                "overdue)\n"
                in text)

    def test_without_anyone_to_reply_to_the_office_is_named(self) -> None:
        """No Reply-To (no admin yet): the mail does not promise a person, it names the office."""
        text = render("request_force_input", ctx(contact=None)).text
        assert ("How: Send the comments to the OPCC for Norfolk, answering each recommendation "
                "under its number as published.\n") in text

    @pytest.mark.parametrize("kind", sorted(ASKING))
    def test_every_asking_mail_has_one_block(self, kind: str) -> None:
        """Each mail that asks someone to act has exactly one "What we need from you" block,
        in the text and the HTML part."""
        out = render(kind, ctx(state=ASKING[kind], recipient_roles=["admin"]))
        assert out.text.count("What we need from you\n---------------------\n") == 1
        assert out.html.count(">What we need from you</h2>") == 1

    @pytest.mark.parametrize("kind", sorted(ASKING))
    @pytest.mark.parametrize("roles", [["force"], ["pcc"], ["chief_executive"], ["panel"]])
    def test_no_command_line_reaches_a_reader_who_is_not_an_admin(self, kind: str,
                                                                   roles: list[str]) -> None:
        """Only admins use the s55 command: nobody else is pointed at one."""
        out = render(kind, ctx(state=ASKING[kind], recipient_roles=roles))
        assert not COMMAND.search(out.text), out.text
        assert not COMMAND.search(out.html)

    @pytest.mark.parametrize(("kind", "state", "line"), [
        ("escalation_draft", "draft", "In s55: s55 show 3, then s55 request-force-input 3 "
         "(--due DATE sets the date the force must answer by)"),
        ("escalation_force_input", "force_input", "In s55: s55 rec respond 3 NUMBER --file "
         "FILE for each recommendation, s55 edit 3 cc_response --file FILE, then "
         "s55 submit-force-input 3"),
        ("escalation_publish", "forwarded_to_panel", "In s55: s55 publish 3 --url URL"),
        ("publish", "published", "In s55: s55 submit-to-portal 3 --portal-reference REF"),
        ("mail_dead", "force_input", "In s55: s55 outbox retry 12"),
    ])
    def test_an_admin_keeps_the_command(self, kind: str, state: str, line: str) -> None:
        """An admin reader gets the command that does what is asked."""
        out = render(kind, ctx(state=state, recipient_roles=["admin"]))
        assert f"\n{line}\n" in out.text

    def test_nothing_needed_is_said_plainly(self) -> None:
        """The panel's copy of the sign-off asks nothing, and says so."""
        text = render("sign_off", ctx(state="forwarded_to_panel",
                                      recipient_roles=["panel"])).text
        assert ("What we need from you\n---------------------\n"
                "Nothing is needed from you: this message is for your information.\n\n"
                "Report:") in text

    @pytest.mark.parametrize("kind", sorted(ASKING))
    def test_the_web_link_has_one_place(self, kind: str) -> None:
        """``action_url`` (absent today) is printed inside the block, in both parts."""
        url = "https://s55.opcc.example/a/tok3n"
        without = render(kind, ctx(state=ASKING[kind], recipient_roles=["force", "pcc"]))
        linked = render(kind, ctx(state=ASKING[kind], recipient_roles=["force", "pcc"],
                                  action_url=url))
        assert url not in without.text + without.html
        assert f"\nOpen this page to do it: {url}\n" in linked.text
        assert f'<p><a href="{url}">Open this page to do it</a></p>' in linked.html

    def test_only_the_action_partial_prints_the_web_link(self) -> None:
        """In mail that asks someone to act, the link has a single place (the action
        partial; ``_ask`` only words the "How" around it); the mails that are nothing
        but a link (a fresh one asked for, a reader's sign-in, a change to confirm) print it
        themselves."""
        users = sorted(p.name for p in BUILTIN_DIR.glob("*.j2") if "action_url" in p.read_text())
        assert users == ["_action.html.j2", "_action.txt.j2", "_ask.j2", "action_link.html.j2",
                         "action_link.txt.j2", "delegation_request.html.j2",
                         "delegation_request.txt.j2", "identity_change_request.html.j2",
                         "identity_change_request.txt.j2", "sign_in_link.html.j2",
                         "sign_in_link.txt.j2"]

    def test_html_escapes_the_contact(self) -> None:
        """A name typed with markup is escaped in HTML (and kept as typed in text)."""
        out = render("request_force_input",
                     ctx(contact={"name": "Ann <b>", "email": "a@o.example"}))
        assert "Ann &lt;b&gt; (a@o.example)" in out.html
        assert "Ann <b> (a@o.example)" in out.text


class TestDates:
    @pytest.mark.parametrize(("today", "sentence"), [
        (date(2024, 11, 27), "It will be published by 4 December 2024, as section 55 requires "
         "(due in 7 days)."),
        (date(2024, 12, 4), "It will be published today, 4 December 2024: the last day "
         "section 55 allows."),
        (date(2024, 12, 10), "Section 55 required it to be published by 4 December 2024; that "
         "date passed 6 days ago, and it will be published as soon as possible."),
    ])
    def test_sign_off_mail_follows_the_deadline(self, today: date, sentence: str) -> None:
        """The panel's sign-off mail words the deadline as due, due today or passed, in
        the text and the HTML part; it never promises a date that has gone."""
        out = render("sign_off", ctx(state="forwarded_to_panel", recipient_roles=["panel"],
                                     today=today))
        assert sentence in out.text
        assert sentence in out.html
        if today > DEADLINE:
            assert "will be published by 4 December 2024" not in out.text

    def test_every_template_words_dates_through_timing(self) -> None:
        """No built-in template counts days itself (``days_left``/``days_phrase``): they all
        use the one ``timing`` filter, so none can go stale against the dates."""
        stale = sorted(p.name for p in BUILTIN_DIR.glob("*.j2")
                       if re.search(r"days_left|days_phrase", p.read_text()))
        assert stale == []

    @pytest.mark.parametrize(("published_on", "subject", "line"), [
        (date(2024, 12, 3), "] Published 1 day early: ASB spotlight",
         "Statutory deadline: 4 December 2024 (published 1 day early)"),
        (date(2024, 12, 4), "] Published on the deadline: ASB spotlight",
         "Statutory deadline: 4 December 2024 (published on the deadline)"),
        (date(2024, 12, 7), "] Published 3 days late: ASB spotlight",
         "Statutory deadline: 4 December 2024 (published 3 days late)"),
    ])
    def test_publish_mail_says_whether_the_deadline_was_met(self, published_on: date,
                                                            subject: str, line: str) -> None:
        """After publication the deadline reads how early or late it was met, not as days
        left, in the subject and the body alike."""
        out = render("publish", ctx(state="published", recipient_roles=["panel"],
                                    published_on=published_on, today=date(2024, 12, 20)))
        assert out.subject.endswith(subject)
        assert f"\n{line}\n" in out.text

    @pytest.mark.parametrize(("on", "status", "printed"), [
        (date(2024, 12, 1), "due", "due in 3 days"), (date(2024, 12, 3), "due", "due tomorrow"),
        (date(2024, 12, 4), "today", "due today"), (date(2024, 12, 5), "late", "1 day overdue"),
        (date(2025, 1, 4), "late", "31 days overdue"),
    ])
    def test_timing(self, on: date, status: str, printed: str) -> None:
        """The filter's three states and its printed phrase."""
        t = Timing(DEADLINE, on)
        assert (t.status, str(t), t.late) == (status, printed, status == "late")

    def test_timing_of_a_missing_date_names_it(self) -> None:
        """A missing ``today`` is a template error naming it (StrictUndefined), not a crash."""
        with pytest.raises(Exception, match="'today' is undefined"):
            render("sign_off", {k: v for k, v in ctx().items() if k != "today"})


class TestEscalationFooter:
    def test_rule_is_named_in_words(self) -> None:
        """The footer says what kind of alert this is and the rule's words, and who else had it."""
        text = render("escalation_overdue", ctx(state="force_input")).text
        assert (
            "Why you have this message\n"
            "-------------------------\n"
            "This is an overdue alert sent under the escalation policy of the OPCC for "
            'Norfolk: "Not published by the Section 55 deadline" (due on 4 December 2024). '
            "It went to the OPCC governance team, the force liaison, with a copy to the "
            "OPCC chief executive.\n"
        ) in text
        assert "Escalation rule" not in text
        assert "overdue (overdue)" not in text

    def test_admins_also_get_the_rule_id(self) -> None:
        """An admin can find the firing in s55: the rule's id and the command to see more."""
        text = render("escalation_overdue", ctx(state="force_input", recipient_roles=["admin"],
                                                superseded=["publish-d2"])).text
        assert ("\nIn s55 this is rule overdue (it replaces publish-d2); s55 escalations plan 3 "
                "shows what comes next.\n") in text

    @pytest.mark.parametrize("kind", [k for k in KINDS if k.startswith("escalation_")])
    def test_states_are_in_words(self, kind: str) -> None:
        """Where a response stands is said in words, not as the stored state name."""
        text = render(kind, ctx(state="pcc_signoff")).text
        assert "Where it stands: waiting for the Police and Crime Commissioner's sign-off\n" in text
        assert "pcc_signoff" not in text
