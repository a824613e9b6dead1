"""One command per lifecycle trigger (generated from the table) and ``s55 do ID TRIGGER``."""

from __future__ import annotations

from typing import Annotated

import typer

from states import TRANSITIONS, TransitionSpec
from workflow.cli.app import Actor, ResponseId, app, open_workflow

Reason = Annotated[str | None, typer.Option(help="why (required to send back or close)")]
Url = Annotated[str | None, typer.Option(help="publish: where the response is published")]
PublishedOn = Annotated[str | None, typer.Option(help="publish: the day it went up "
                                                      "(default today)")]
PortalRef = Annotated[str | None, typer.Option(help="submit_to_portal: the HMICFRS Monitoring "
                                                    "Portal reference")]
Due = Annotated[str | None, typer.Option(help="request_force_input/return_to_force: the date "
                                              "the force must comment by (s55(4))")]
ExpectVersion = Annotated[int | None, typer.Option(help="refuse if the response changed since "
                                                        "this version (see `s55 show`)")]


def fire(response_id: int, trigger: str, actor: str, reason: str | None, url: str | None,
         published_on: str | None, portal_reference: str | None, due: str | None,
         expect_version: int | None) -> None:
    """Fire one trigger and say where the response now stands against its deadline."""
    from states.deadlines import outcome_text
    from workflow.clock import london_today
    from workflow.dashboard import status

    wf = open_workflow()
    params = {"url": url, "published_on": published_on, "portal_reference": portal_reference,
              "force_input_due": due}
    row = wf.fire(response_id, trigger, actor, reason=reason, params=params,
                  expected_version=expect_version)
    standing = status(row, london_today(wf.clock))["outcome"]
    where = ("closed" if standing["kind"] == "closed"
             else f"deadline {row.deadline:%d %b %Y}, {outcome_text(standing)}")
    typer.echo(f"response {row.id}: {trigger} -> {row.state} (version {row.version}); {where}")


@app.command("do")
def do(response_id: ResponseId, trigger: str, actor: Actor, reason: Reason = None,
       url: Url = None, published_on: PublishedOn = None, portal_reference: PortalRef = None,
       due: Due = None, expect_version: ExpectVersion = None) -> None:
    """Fire any trigger by name (see `s55 show ID` for those allowed now)."""
    fire(response_id, trigger, actor, reason, url, published_on, portal_reference, due,
         expect_version)


def _register(spec: TransitionSpec) -> None:
    def command(response_id: ResponseId, actor: Actor, reason: Reason = None, url: Url = None,
                published_on: PublishedOn = None, portal_reference: PortalRef = None,
                due: Due = None, expect_version: ExpectVersion = None) -> None:
        fire(response_id, spec.trigger, actor, reason, url, published_on, portal_reference, due,
             expect_version)

    roles = ", ".join(sorted(r.value for r in spec.roles))
    sources = ", ".join(s.value for s in spec.sources)
    command.__doc__ = f"{spec.summary[0].upper()}{spec.summary[1:]} ({sources} -> " \
                      f"{spec.dest.value}; role: {roles})."
    app.command(spec.trigger.replace("_", "-"))(command)


for _spec in TRANSITIONS:
    _register(_spec)
