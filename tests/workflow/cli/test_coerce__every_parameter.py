"""``workflow.cli.coerce``: every value of every parameter of every command comes out as
Typer's own (Pydantic) coercion makes it, or is refused with the same message."""

from __future__ import annotations

from typing import Any

import pytest
import typer.main
from typer import core
from typer._click import Context

from workflow.cli import app
from workflow.cli.coerce import _fast_for

SAMPLES: list[Any] = ["1", "42", "0", "-5", "2147483648", "abc", "", " x ", "٣", "1.5",
                      "x.toml", "/nonexistent/dir/file", ".", True, False, 7, 2.5]


def _commands(group: Any, ctx: Context) -> list[Any]:
    found = []
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        found += _commands(cmd, ctx) if hasattr(cmd, "list_commands") else [cmd]
    return found


def _outcome(runtime: Any, value: Any, param: Any, ctx: Context) -> Any:
    try:
        result = runtime._coerce_value(value, param, ctx)
    except Exception as exc:  # noqa: BLE001 - the very error is what is compared
        return ("refused", type(exc).__name__, str(exc))
    return ("value", type(result).__name__, result)


def test_fast_coercion_is_typers_own() -> None:
    root = typer.main.get_command(app)
    ctx = Context(root)
    own = core.build_runtime_param.typer_own  # type: ignore[attr-defined]
    fast_params = 0
    for command in _commands(root, ctx):
        for param in command.params:
            descriptor = getattr(param, "type_descriptor", None)
            if descriptor is None or _fast_for(descriptor) is None:
                continue
            fast_params += 1
            fast, slow = core.build_runtime_param(descriptor), own(descriptor)
            for value in SAMPLES:
                assert _outcome(fast, value, param, ctx) == _outcome(slow, value, param, ctx), \
                    (command.name, param.name, value)
    assert fast_params > 100  # ids, strings, flags and paths of every command


@pytest.mark.parametrize("args", [["list"], ["show", "1"], ["log", "1"]])
@pytest.mark.slow
def test_reading_commands_import_no_pydantic_to_parse(args: list[str]) -> None:
    import subprocess
    import sys

    code = ("import sys; from workflow.cli import app\n"
            "from typer.testing import CliRunner\n"
            f"CliRunner().invoke(app, {args!r})\n"
            "print('typer._adapters' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"S55_DATABASE_URL": "sqlite:////nonexistent/x.db",
                                          "PATH": ""})
    assert out.stdout.strip().splitlines()[-1] == "False"
