"""The plan of the house holds (STYLE.md habit 2, issue 11): imports point one way.

Every module of the product is parsed (``ast``) and its imports are checked against the
rules below: ``states/`` stays pure, ``notifications/`` never imports ``workflow/``, nothing
in the library imports a face (``workflow/cli/``, ``workflow/web/``), nothing in the product
imports ``bench/``, each room of ``workflow/`` imports only what its ``__init__`` docstring
says, a few libraries stay in the one module that owns them, and no modules import each
other in a circle (lazy imports inside functions count; ``if TYPE_CHECKING:`` ones do not).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("states", "workflow", "notifications")
MODULES = sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
                 if "versions" not in p.parts)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


KNOWN = {module_name(p) for p in MODULES}


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_in(source: str) -> set[str]:
    """Every module named by an import in ``source`` (``from a import b`` gives ``a.b``
    too, since ``b`` may be a module); imports under ``if TYPE_CHECKING:`` are left out."""
    tree = ast.parse(source)
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
            and _type_checking_only(node) for n in ast.walk(node)}
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def product_imports(source: str) -> set[str]:
    """The modules of ours that ``source`` imports (``from workflow import audit`` is the
    module ``workflow.audit``; an imported name that is not a module stays its module)."""
    found = set()
    for name in imports_in(source):
        if name in KNOWN:
            found.add(name)
    return found


FACES = ("workflow.cli", "workflow.web")
CORE_LEAVES = {"workflow", "workflow.errors", "workflow.clock", "workflow.config",
               "workflow.audit_keys", "workflow.link_keys", "workflow.inputs"}


def inside(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def room_allows(module: str, target: str) -> bool:
    """May ``module`` import ``target`` (both ours)? The rooms' docstrings, as code."""
    if inside(target, "states") or target in CORE_LEAVES or inside(module, *FACES):
        return True
    if inside(module, "workflow.storage"):
        return inside(target, "workflow.storage") or (
            module == "workflow.storage.backup" and target == "workflow.audit")
    if inside(module, "workflow.mail"):
        return inside(target, "notifications", "workflow.storage", "workflow.mail",
                      "workflow.audit")
    if module in PURE_DOCUMENTS:
        return target in PURE_DOCUMENTS
    if inside(module, "workflow.documents"):
        return not inside(target, "workflow.escalations", "workflow.mail")
    if inside(module, "workflow.escalations"):
        return not inside(target, "workflow.documents")
    if inside(module, "workflow.audit_report"):  # a read over the log and the rows
        return not inside(target, "workflow.mail", "workflow.escalations", "workflow.documents")
    return True


#: The parts of documents/ that read text only: no database, no templates.
PURE_DOCUMENTS = {"workflow.documents", "workflow.documents.blocks", "workflow.documents.model",
                  "workflow.documents.recs", "workflow.documents.office",
                  "workflow.documents.parse"}

#: (library: who may import it) for libraries one module owns.
ONLY_IN: dict[str, Callable[[str], bool]] = {
    "typer": lambda m: inside(m, "workflow.cli"),
    "apscheduler": lambda m: m == "workflow.escalations.daemon",
    "aiosmtplib": lambda m: m == "notifications.transports.smtp",
    # Bank holidays reach states/ as a lookup; only workflow/workdays.py builds it.
    "holidays": lambda m: m == "workflow.workdays",
    # The web app's libraries stay in its room (uvicorn also in `s55 serve`).
    "starlette": lambda m: inside(m, "workflow.web"),
    "itsdangerous": lambda m: inside(m, "workflow.web"),
    "uvicorn": lambda m: inside(m, "workflow.web") or m == "workflow.cli.serve",
}
IMPURE = {"workflow", "notifications", "sqlalchemy", "sqlmodel", "jinja2", "typer",
          "aiosmtplib", "apscheduler", "bench", "os", "socket", "subprocess", "pathlib"}


def violations(module: str, source: str) -> list[str]:
    """Every rule ``module`` (with this source) breaks, as a sentence each."""
    names = imports_in(source)
    roots = {n.split(".")[0] for n in names}
    found = []
    if inside(module, "states") and roots & IMPURE:
        found.append(f"{module}: states/ must stay pure, imports {sorted(roots & IMPURE)}")
    if inside(module, "notifications") and "workflow" in roots:
        found.append(f"{module}: notifications/ must not import workflow/")
    if "bench" in roots:
        found.append(f"{module}: the product must not import bench/")
    if not inside(module, *FACES) and any(inside(n, *FACES) for n in names):
        found.append(f"{module}: the library must not import a face (cli/, web/)")
    for lib, allowed in ONLY_IN.items():
        if lib in roots and not allowed(module):
            found.append(f"{module} imports {lib}")
    for target in sorted(product_imports(source)):
        if target != module and not room_allows(module, target):
            found.append(f"{module} may not import {target}")
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(p): product_imports(p.read_text(encoding="utf-8")) - {module_name(p)}
            for p in MODULES}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import circles in ``edges`` (one per strongly connected group, Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
            low[node] = min(low[node], low[nxt] if nxt in stack else low[node])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(set(edges) - set(index)):
        if node not in index:
            visit(node)
    return found


def _without_packages(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """Edges to a package's ``__init__`` from its own submodules are not circles."""
    return {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in edges.items()}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_imports_point_one_way(path: Path) -> None:
    """Each module keeps the rules of its room."""
    assert violations(module_name(path), path.read_text(encoding="utf-8")) == []


def test_no_module_imports_another_in_a_circle() -> None:
    """No circles, also through imports made lazily inside functions."""
    assert cycles(_without_packages(graph())) == []


def test_the_product_does_not_import_bench_or_tests() -> None:
    assert not [p for p in MODULES if {"bench", "tests", "conftest"} &
                {n.split(".")[0] for n in imports_in(p.read_text(encoding="utf-8"))}]


#: The mail room's modules, top to bottom (its ``__init__`` docstring); a rung may import
#: only the rungs below it, so one on the same rung or above is an arrow pointing up.
MAIL_ORDER = (("outbox",), ("store",), ("failures", "deliverable"), ("views",), ("queue",),
              ("transition", "write"), ("prepare",), ("recipients",), ("errors", "digest"))


def test_the_mail_room_imports_down_its_order() -> None:
    """Every mail module is on a rung, and imports only mail modules on lower rungs."""
    rung = {f"workflow.mail.{m}": i for i, names in enumerate(MAIL_ORDER) for m in names}
    assert set(rung) == {m for m in KNOWN if m.startswith("workflow.mail.")}
    edges = graph()
    assert [(m, t) for m in sorted(rung) for t in sorted(edges[m])
            if t in rung and rung[t] <= rung[m]] == []


class TestTheRulesCanFail:
    """The checks above would catch a forbidden import (each case is one line of source)."""

    @pytest.mark.parametrize(("module", "line"), [
        ("states.guards", "import sqlalchemy"),
        ("states.machine", "from workflow.storage.db import Database"),
        ("notifications.render", "from workflow import audit"),
        ("workflow.service", "from workflow.cli.app import app"),
        ("workflow.queries", "from workflow.web import app"),
        ("workflow.audit", "import bench.common"),
        ("workflow.storage.models", "from workflow.escalations.plan import load_policy"),
        ("workflow.mail.queue", "from workflow.service import Workflow"),
        ("workflow.documents.parse", "from workflow.storage.models import Response"),
        ("workflow.content", "import typer"),
        ("workflow.cli.app", "import apscheduler"),
        ("workflow.service", "import starlette"),
        ("workflow.cli.views", "import uvicorn"),
        ("workflow.audit_report.build", "from workflow.mail import queue"),
    ])
    def test_a_forbidden_import_is_reported(self, module: str, line: str) -> None:
        source = f"def f():\n    {line}\n"  # lazily, inside a function: still counted
        assert violations(module, source)

    def test_an_import_for_type_checking_only_is_not(self) -> None:
        source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                  "    from workflow.service import Workflow\n")
        assert violations("workflow.mail.queue", source) == []

    def test_a_circle_is_found(self) -> None:
        edges: dict[str, Iterable[str]] = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
        assert cycles({k: set(v) for k, v in edges.items()}) == [["a", "b", "c"]]


def test_the_guarded_libraries_are_really_used_where_allowed() -> None:
    """Guards against the checks passing because nothing is scanned."""
    roots = {module_name(p): {n.split(".")[0] for n in imports_in(p.read_text("utf-8"))}
             for p in MODULES}
    for lib in ONLY_IN:
        assert [m for m, r in roots.items() if lib in r], lib
    assert {"workflow.storage.db", "workflow.mail.queue"} <= KNOWN


def test_every_room_says_what_it_holds_and_may_import() -> None:
    """Each sub-package of workflow/ opens with a docstring naming what it may import."""
    for init in sorted((ROOT / "workflow").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "import" in doc, init
