"""Escalation planning leaves Python's garbage collector to the program that runs it: no
library module switches it off, freezes it or changes its thresholds, and ``plans``
answers the same whether the embedding program has it running or paused. The one program
of ours that owns its process, the local service's warm server, may freeze what it loaded
before it forks (so its children share those pages)."""

from __future__ import annotations

import ast
import gc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from states.escalations import Moment
from tests.factories import ADMIN, NORFOLK_DEADLINE, norfolk_report
from workflow.escalations.plan import load_policy, plans
from workflow.escalations.sweep import sweep
from workflow.responses import content
from workflow.responses.service import Workflow

ROOT = Path(__file__).resolve().parents[3]
PRODUCT = ("workflow", "states", "notifications")
#: What changes the collector for the whole process, whoever else runs in it.
PROCESS_WIDE = frozenset({"disable", "enable", "freeze", "unfreeze", "set_threshold",
                          "set_debug"})
#: Programs, not libraries: each runs in a process of its own that nothing else shares.
OWN_PROCESS = frozenset({"workflow/local/server.py"})


def collector_changes(source: str) -> list[str]:
    """Each use of a process-wide ``gc`` switch in ``source``, as ``line: gc.name``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in PROCESS_WIDE \
                and isinstance(node.value, ast.Name) and node.value.id == "gc":
            found.append(f"{node.lineno}: gc.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "gc":
            found += [f"{node.lineno}: gc.{a.name}" for a in node.names
                      if a.name in PROCESS_WIDE or a.name == "*"]
    return found


def test_no_product_module_changes_the_collector() -> None:
    found = {str(path.relative_to(ROOT)): hits
             for package in PRODUCT for path in sorted((ROOT / package).rglob("*.py"))
             if (hits := collector_changes(path.read_text(encoding="utf-8")))}
    assert set(found) <= OWN_PROCESS, found


@pytest.mark.parametrize(("line", "name"), [
    ("gc.disable()", "disable"), ("gc.freeze()", "freeze"),
    ("gc.set_threshold(10**6)", "set_threshold"), ("from gc import disable", "disable"),
    ("from gc import *", "*")])
def test_a_collector_switch_is_reported(line: str, name: str) -> None:
    assert collector_changes(f"import gc\n\ndef f():\n    {line}\n") == [f"4: gc.{name}"]
    assert collector_changes("import gc\n\ndef f():\n    gc.collect(0)\n") == []


def test_plans_are_the_same_with_the_collector_running_or_paused(wf: Workflow) -> None:
    """Two open responses, one with a firing recorded: the plans as of a later day are
    equal either way, and the collector is left as the caller had it."""
    at = datetime(2024, 10, 10, 10, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        first = content.add_report(wf, norfolk_report(), ADMIN).id
        second = content.add_report(wf, norfolk_report(title="Another report"), ADMIN).id
    fired = sweep(wf.db, wf.settings, wf.clock,
                  now=datetime.combine(NORFOLK_DEADLINE - timedelta(21), datetime.min.time(),
                                       UTC).replace(hour=12))
    assert fired.fired  # a firing recorded, so planning reads one
    policy = load_policy(wf.settings)
    moment = Moment.at(datetime.combine(NORFOLK_DEADLINE, datetime.min.time(), UTC), 9)
    running = plans(wf.db, policy, moment)
    assert gc.isenabled()
    gc.disable()
    try:
        paused = plans(wf.db, policy, moment)
        still_paused = not gc.isenabled()
    finally:
        gc.enable()
    assert still_paused
    assert paused == running
    assert sorted(running) == sorted([first, second])
