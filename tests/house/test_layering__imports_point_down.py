"""The plan of the house holds : imports point one way.

Every module of the product is parsed (``ast``) and its imports are checked against the
rules below: ``states/`` stays pure, ``notifications/`` never imports ``workflow/``, nothing
in the library imports a face (``workflow/cli/``, ``workflow/web/``, ``workflow/local/``),
nothing in the product imports ``bench/``, each room of ``workflow/`` imports only what
its ``__init__`` docstring says, a few libraries stay in the one module that owns them, and
no modules import each other in a circle (lazy imports inside functions count;
``if TYPE_CHECKING:`` ones do not).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
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
    module ``workflow.audit.trail``; an imported name that is not a module stays its module)."""
    found = set()
    for name in imports_in(source):
        if name in KNOWN:
            found.add(name)
    return found


FACES = ("workflow.cli", "workflow.web", "workflow.local")


def _docstring_block(after: str) -> list[str]:
    """The indented lines that follow the line ending with ``after`` in ``workflow``'s
    docstring (the layers, or the light modules)."""
    doc = ast.get_docstring(ast.parse((ROOT / "workflow" / "__init__.py").read_text("utf-8")))
    lines = (doc or "").splitlines()
    start = next(i for i, line in enumerate(lines) if line.rstrip().endswith(after))
    block = []
    for line in lines[start + 1:]:
        if block and not line.startswith("    "):
            break
        if line.strip():
            block.append(line.strip())
    return block


#: The layers of ``workflow/``, lowest first, as its docstring states them.
LAYERS: tuple[str, ...] = tuple(f"workflow.{line.split()[0]}"
                                for line in _docstring_block("holds this list to it):"))
#: Modules the read commands load: no ORM, pydantic, Jinja2 or holidays at import.
LIGHT: frozenset[str] = frozenset(
    name for line in _docstring_block("only inside the functions that need them:")
    for name in line.split())
HEAVY = ("sqlmodel", "pydantic", "pydantic_settings", "jinja2", "holidays")


def layer_of(module: str) -> int | None:
    """The rung of ``module``'s package in ``LAYERS`` (None for ``workflow`` itself, and
    for ``states`` and ``notifications``, which are below every rung)."""
    for i, package in enumerate(LAYERS):
        if inside(module, package):
            return i
    return None


def inside(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def room_allows(module: str, target: str) -> bool:
    """May ``module`` import ``target`` (both ours)? Down the layers, or within a package."""
    if not inside(target, "workflow") or target == "workflow":
        return not inside(module, "states", "notifications") or not inside(target, "workflow")
    mine, theirs = layer_of(module), layer_of(target)
    if theirs is None or mine is None:
        return False
    return theirs < mine or LAYERS[mine] == LAYERS[theirs]


def top_level_imports(source: str) -> set[str]:
    """What ``source`` imports when it is imported: module-level statements only (not
    inside a function, nor under ``if TYPE_CHECKING:``)."""
    tree = ast.parse(source)
    names: set[str] = set()

    def take(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.If) and not _type_checking_only(node):
                take(node.body)
                take(node.orelse)
            elif isinstance(node, ast.Try):
                take(node.body)

    take(tree.body)
    return names


def light_violations(module: str, source: str) -> list[str]:
    """A light module that would load something heavy as it is imported."""
    if module not in LIGHT:
        return []
    names = top_level_imports(source)
    found = [f"{module} (light) imports {lib} at module level"
             for lib in sorted({n.split(".")[0] for n in names} & set(HEAVY))]
    found += [f"{module} (light) imports {t}, which is not light, at module level"
              for t in sorted(names & KNOWN) if t not in LIGHT and not inside(t, "states",
                                                                              "notifications")
              and t != "workflow" and not any(m.startswith(t + ".") for m in LIGHT)]
    return found


#: The parts of documents/ that read text only: no database, no templates.
PURE_DOCUMENTS = {"workflow.documents", "workflow.documents.blocks", "workflow.documents.model",
                  "workflow.documents.recs", "workflow.documents.office",
                  "workflow.documents.parse"}

#: (library: who may import it) for libraries one module owns.
ONLY_IN: dict[str, Callable[[str], bool]] = {
    "typer": lambda m: inside(m, "workflow.cli"),
    "apscheduler": lambda m: m == "workflow.escalations.daemon",
    "aiosmtplib": lambda m: m == "notifications.transports.smtp",
    # Bank holidays reach states/ as a lookup; only workflow/core/bank_holidays.py builds it.
    "holidays": lambda m: m == "workflow.core.bank_holidays",
    # The web app's libraries stay in its room (uvicorn also in `s55 serve`).
    "starlette": lambda m: inside(m, "workflow.web"),
    "itsdangerous": lambda m: inside(m, "workflow.web"),
    "uvicorn": lambda m: inside(m, "workflow.web") or m == "workflow.cli.serve",
    # The feed's bytes reach feedparser only through defusedxml's check, in one module.
    "feedparser": lambda m: m == "workflow.feed.read",
    "defusedxml": lambda m: m == "workflow.feed.read",
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
        found.append(f"{module}: the library must not import a face (cli/, web/, local/)")
    for lib, allowed in ONLY_IN.items():
        if lib in roots and not allowed(module):
            found.append(f"{module} imports {lib}")
    for target in sorted(product_imports(source)):
        if target != module and not room_allows(module, target):
            found.append(f"{module} may not import {target}")
    if module in PURE_DOCUMENTS:
        found += [f"{module} reads text only, may not import {t}"
                  for t in sorted(product_imports(source))
                  if inside(t, "workflow") and t not in PURE_DOCUMENTS
                  and not inside(t, "workflow.core")]
    return found + light_violations(module, source)


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
MAIL_ORDER = (("delivery",), ("store", "outbox_admin"), ("outbox",), ("compose",), ("recipients",),
              ("errors", "digest"))


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
        ("workflow.responses.service", "from workflow.cli.app import app"),
        ("workflow.reads.detail", "from workflow.web import app"),
        ("workflow.storage.db", "from workflow.audit import trail"),
        ("workflow.core.checks", "from workflow.documents.model import ParsedDocument"),
        ("workflow.mail.outbox", "from workflow.links import action_links"),
        ("workflow.audit.trail", "import bench.common"),
        ("workflow.storage.models", "from workflow.escalations.plan import load_policy"),
        ("workflow.mail.outbox", "from workflow.responses.service import Workflow"),
        ("workflow.documents.parse", "from workflow.storage.models import Response"),
        ("workflow.responses.content", "import typer"),
        ("workflow.cli.app", "import apscheduler"),
        ("workflow.responses.service", "import starlette"),
        ("workflow.cli.reading", "import uvicorn"),
        ("workflow.audit_report.build", "from workflow.doctor import diagnose"),
        ("workflow.local.server", "from workflow.cli.app import app"),
        ("workflow.local.client", "import typer"),
        ("workflow.reads.detail", "from workflow.local import client"),
    ])
    def test_a_forbidden_import_is_reported(self, module: str, line: str) -> None:
        source = f"def f():\n    {line}\n"  # lazily, inside a function: still counted
        assert violations(module, source)

    @pytest.mark.parametrize(("module", "line"), [
        ("workflow.reads.detail", "import sqlmodel"),
        ("workflow.escalations.plan", "from workflow.storage.models import Response"),
        ("workflow.cli.reading", "from jinja2 import Environment"),
        ("workflow.core.bank_holidays", "import holidays"),
    ])
    def test_a_light_module_loading_something_heavy_is_reported(self, module: str,
                                                                line: str) -> None:
        assert violations(module, f"{line}\n")
        assert not light_violations(module, f"def f():\n    {line}\n")  # lazily: allowed

    def test_the_layers_name_every_package(self) -> None:
        """Every package of ``workflow/`` is on a rung, and every rung is a package."""
        packages = {f"workflow.{p.parent.name}" for p in (ROOT / "workflow").glob("*/__init__.py")}
        assert set(LAYERS) == packages
        assert len(LAYERS) == len(set(LAYERS))
        assert [m for m in LIGHT if m not in KNOWN] == []

    def test_an_import_for_type_checking_only_is_not(self) -> None:
        source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                  "    from workflow.responses.service import Workflow\n")
        assert violations("workflow.mail.outbox", source) == []

    def test_a_circle_is_found(self) -> None:
        edges: dict[str, Iterable[str]] = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
        assert cycles({k: set(v) for k, v in edges.items()}) == [["a", "b", "c"]]


def test_the_guarded_libraries_are_really_used_where_allowed() -> None:
    """Guards against the checks passing because nothing is scanned."""
    roots = {module_name(p): {n.split(".")[0] for n in imports_in(p.read_text("utf-8"))}
             for p in MODULES}
    for lib in ONLY_IN:
        assert [m for m, r in roots.items() if lib in r], lib
    assert {"workflow.storage.db", "workflow.mail.outbox"} <= KNOWN


def test_every_package_says_what_it_holds() -> None:
    """Each package of workflow/ opens with a docstring naming each of its modules."""
    for init in sorted((ROOT / "workflow").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        modules = {p.stem for p in init.parent.glob("*.py")} | {
            p.parent.name for p in init.parent.glob("*/__init__.py")}
        missing = sorted(m for m in modules - {"__init__", "__main__"}
                         if f"``{m}``" not in doc)
        assert missing == [], f"{init.relative_to(ROOT)} does not name {missing}"
