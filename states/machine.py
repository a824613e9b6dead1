"""The ``transitions`` machine built once from the lifecycle table, and the diagrams.

The machine is the definition, not the store: the engine loads a row, attaches a
light subject object in the row's state, fires the trigger and reads the new
state back. ``auto_transitions=False`` because the default adds a ``to_<state>()``
bypass around every guard (transitions ``core.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from transitions import Machine

from states.guards import Snapshot
from states.lifecycle import FINAL, TRANSITIONS, State, TransitionSpec


class Subject:
    """What the machine moves: a state and the content its guards read."""

    state: str
    #: Fires a trigger by name; ``transitions`` adds it (``add_model``).
    trigger: Callable[[str], bool]

    def __init__(self, state: State, snapshot: Snapshot) -> None:
        self.state = state.value
        self.snapshot = snapshot


def _condition(spec: TransitionSpec) -> Any:
    def holds(event: Any) -> bool:
        return all(guard(event.model.snapshot) for guard in spec.guards)

    holds.__name__ = f"guards_of_{spec.trigger}"
    return holds


@cache
def machine() -> Machine:
    """The one machine for every response (building one per row is slow:
    pytransitions/transitions#146)."""
    m = Machine(
        model=None,
        states=[s.value for s in State],
        initial=State.DRAFT.value,
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
    )
    for spec in TRANSITIONS:
        m.add_transition(
            spec.trigger,
            [s.value for s in spec.sources],
            spec.dest.value,
            conditions=[_condition(spec)] if spec.guards else None,
        )
    return m


def fire(state: State, trigger: str, snapshot: Snapshot) -> State | None:
    """Run ``trigger`` from ``state``; the new state, or ``None`` if a guard said no.

    The caller has already checked roles, source state and parameters; this is the
    machine's own verdict, so a guard added to the table can never be skipped.
    """
    m = machine()
    subject = Subject(state, snapshot)
    m.add_model(subject, initial=state.value)
    try:
        moved = subject.trigger(trigger)
        return State(subject.state) if moved else None
    finally:
        m.remove_model(subject)


def mermaid() -> str:
    """The lifecycle as a Mermaid state diagram."""
    lines = ["stateDiagram-v2", f"    [*] --> {State.DRAFT.value}"]
    for spec in TRANSITIONS:
        label = spec.trigger + (" (reason)" if spec.needs_reason else "")
        roles = ", ".join(sorted(r.value for r in spec.roles))
        for source in spec.sources:
            lines.append(f"    {source.value} --> {spec.dest.value}: {label} [{roles}]")
    lines += [f"    {s.value} --> [*]" for s in State if s in FINAL]
    return "\n".join(lines) + "\n"


def dot() -> str:
    """The lifecycle as a Graphviz DOT digraph."""
    lines = ["digraph s55 {", "    rankdir=LR;", '    node [shape=box, style=rounded];']
    for s in State:
        shape = ", peripheries=2" if s in FINAL else ""
        lines.append(f'    {s.value} [label="{s.value}"{shape}];')
    for spec in TRANSITIONS:
        style = ", style=dashed" if spec.needs_reason else ""
        roles = ", ".join(sorted(r.value for r in spec.roles))
        for source in spec.sources:
            lines.append(
                f'    {source.value} -> {spec.dest.value} '
                f'[label="{spec.trigger}\\n[{roles}]"{style}];'
            )
    lines.append("}")
    return "\n".join(lines) + "\n"
