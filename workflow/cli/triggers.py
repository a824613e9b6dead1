"""One command per lifecycle trigger (generated from the table) and ``s55 do ID TRIGGER``."""

from __future__ import annotations

from typing import Annotated

import typer

from states import TRANSITIONS, TransitionSpec
from workflow.cli.app import OnBehalfOf, ResponseId, acting_as, app, open_workflow

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


def fire(response_id: int, trigger: str, actor: str | None, reason: str | None,
         url: str | None, published_on: str | None, portal_reference: str | None,
         due: str | None, expect_version: int | None, on_behalf_of: str | None = None) -> None:
    from workflow.clock import london_today
    from workflow.dashboard import status

    wf = open_workflow()
    params = {"url": url, "published_on": published_on, "portal_reference": portal_reference,
              "force_input_due": due}
    row = wf.fire(response_id, trigger, actor, reason=reason, params=params,
                  expected_version=expect_version, on_behalf_of=on_behalf_of)
    left = status(row, london_today(wf.clock))["days_left"]
    typer.echo(f"response {row.id}: {trigger} -> {row.state} (version {row.version}; "
               f"deadline {row.deadline:%d %b %Y}, {left} days left)")


@app.command("do")
def do(response_id: ResponseId, trigger: str, reason: Reason = None,
       url: Url = None, published_on: PublishedOn = None, portal_reference: PortalRef = None,
       due: Due = None, expect_version: ExpectVersion = None,
       on_behalf_of: OnBehalfOf = None) -> None:
    """Fire any trigger by name (see `s55 show ID` for those allowed now)."""
    fire(response_id, trigger, acting_as(), reason, url, published_on, portal_reference, due,
         expect_version, on_behalf_of)


def _register(spec: TransitionSpec) -> None:
    def command(response_id: ResponseId, reason: Reason = None, url: Url = None,
                published_on: PublishedOn = None, portal_reference: PortalRef = None,
                due: Due = None, expect_version: ExpectVersion = None,
                on_behalf_of: OnBehalfOf = None) -> None:
        fire(response_id, spec.trigger, acting_as(), reason, url, published_on,
             portal_reference, due, expect_version, on_behalf_of)

    roles = ", ".join(sorted(r.value for r in spec.roles))
    sources = ", ".join(s.value for s in spec.sources)
    command.__doc__ = f"{spec.summary[0].upper()}{spec.summary[1:]} ({sources} -> " \
                      f"{spec.dest.value}; role: {roles})."
    app.command(spec.trigger.replace("_", "-"))(command)


for _spec in TRANSITIONS:
    _register(_spec)
