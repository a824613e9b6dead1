"""One command per lifecycle trigger (generated from the table) and ``s55 do ID TRIGGER``.

Each trigger's command takes only the options that trigger takes (its ``Param``s from the
table, a reason, the expected version); ``s55 do`` takes every option, since it fires any.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any

import typer

from states import TRANSITIONS, TRIGGERS, Param, TransitionSpec
from workflow.cli.app import (
    ExpectVersion,
    OnBehalfOf,
    ResponseId,
    acting_as,
    app,
    open_workflow,
    with_signature,
)
from workflow.core.limits import stated

#: Each trigger parameter as an option: (Python name, option, what it is).
_OPTIONS: dict[Param, tuple[str, str, str]] = {
    Param.FORCE_INPUT_DUE: ("due", "--due", "the date the force must comment by (s55(4))"),
    Param.URL: ("url", "--url", f"where the response is published ({stated('url')})"),
    Param.PUBLISHED_ON: ("published_on", "--published-on", "the day it went up (default today)"),
    Param.PORTAL_REFERENCE: ("portal_reference", "--portal-reference",
                             "the HMICFRS Monitoring Portal reference "
                             f"({stated('portal_reference')})"),
}


def fire(response_id: int, trigger: str, actor: str | None, reason: str | None,
         params: dict[str, str | None], expect_version: int | None,
         on_behalf_of: str | None = None) -> None:
    """Fire one trigger and say where the response now stands against its deadline."""
    from states.deadlines import outcome_in, outcome_text
    from states.words import long_date, state_words
    from workflow.core.clock import london_today

    wf = open_workflow()
    row = wf.fire(response_id, trigger, actor, reason=reason, params=params,
                  expected_version=expect_version, on_behalf_of=on_behalf_of)
    standing = outcome_in(row.state, row.deadline, london_today(wf.clock), row.published_on)
    where = ("" if standing["kind"] == "closed"
             else f"; statutory deadline {long_date(row.deadline)}, {outcome_text(standing)}")
    typer.echo(f"response {row.id} is now {state_words(row.state)} (version {row.version})"
               f"{where}")


def _option(name: str, flag: str, help_text: str) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                             annotation=Annotated[str | None, typer.Option(flag, help=help_text)])


def _signature(reason_help: str, params: list[tuple[Param, str]], *,
               trigger_argument: bool = False) -> inspect.Signature:
    """ID [TRIGGER], --reason, the given trigger options, --expect-version, --on-behalf-of
    (``--as`` is added to every command by the app)."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    trigger = [inspect.Parameter("trigger", keyword, annotation=Annotated[str, typer.Argument(
        metavar="TRIGGER", help=f"one of {', '.join(TRIGGERS)}")])] if trigger_argument else []
    return inspect.Signature([
        inspect.Parameter("response_id", keyword, annotation=ResponseId), *trigger,
        _option("reason", "--reason", reason_help),
        *(_option(_OPTIONS[p][0], _OPTIONS[p][1], help_text) for p, help_text in params),
        inspect.Parameter("expect_version", keyword, default=None, annotation=ExpectVersion),
        # Offered on sign_off too, so that trying is refused in words (never for the PCC).
        inspect.Parameter("on_behalf_of", keyword, default=None, annotation=OnBehalfOf),
    ])


def _fire_with(trigger: str | None, values: dict[str, Any]) -> None:
    params = {p.value: values.get(_OPTIONS[p][0]) for p in _OPTIONS}
    fire(values["response_id"], trigger or values["trigger"], acting_as(),
         values["reason"], params, values["expect_version"], values.get("on_behalf_of"))


def _do(**values: Any) -> None:
    """Fire any trigger by name (see `s55 show ID` for those allowed now)."""
    _fire_with(None, values)


def _takers(param: Param) -> str:
    return "/".join(s.trigger for s in TRANSITIONS if param in s.required + s.optional)


with_signature(_do, _signature(
    f"why (required to send back or close; {stated('reason')})",
    [(p, f"{_takers(p)}: {_OPTIONS[p][2]}") for p in _OPTIONS], trigger_argument=True))
app.command("do")(_do)


def _register(spec: TransitionSpec) -> None:
    def command(**values: Any) -> None:
        _fire_with(spec.trigger, values)

    takes = [p for p in _OPTIONS if p in spec.required + spec.optional]
    reason = (f"why (required; {stated('reason')})" if spec.needs_reason
              else f"a note for the state log ({stated('reason')})")
    with_signature(command, _signature(
        reason, [(p, _OPTIONS[p][2] + (" (required)" if p in spec.required else ""))
                 for p in takes]))
    roles = ", ".join(sorted(r.value for r in spec.roles))
    sources = ", ".join(s.value for s in spec.sources)
    command.__doc__ = f"{spec.summary[0].upper()}{spec.summary[1:]} ({sources} -> " \
                      f"{spec.dest.value}; role: {roles})."
    app.command(spec.trigger.replace("_", "-"))(command)


for _spec in TRANSITIONS:
    _register(_spec)
