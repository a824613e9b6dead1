"""Typer's argument coercion without Pydantic for the values every command passes.

Typer (0.29) turns each command-line value into its Python type through a Pydantic
``TypeAdapter`` built per parameter when the command runs: importing Pydantic and building
the adapters costs a cold ``s55 list`` or ``s55 show`` about 0.1 s, more than the query.
For the few kinds of value s55's commands take - a string, a flag, a number through one
of our parsers (``app.Bounded``), a path, an unset default - the result is known without
Pydantic, so ``install`` puts a runtime parameter in front of Typer's that returns it
directly. Anything else (a list, a choice, a string where a number is wanted, a value a
parser refuses with ``ValueError``) goes to Typer's own Pydantic coercion unchanged, so
every accepted value and every error message stays Typer's (a test compares the two on
every parameter of every command).

The part of Typer replaced is private, so ``install`` runs only on the Typer releases it was
tested with (``SUPPORTED_TYPER``, the range ``pyproject.toml`` pins) and stops the program
with one line naming the installed release on any other, rather than break unseen.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The Typer releases ``install`` was written and tested against (0.29.0 and 0.29.3);
#: ``pyproject.toml`` requires the same range (a test keeps them equal).
SUPPORTED_TYPER = ">=0.29,<0.30"
_LOWEST, _BELOW = (tuple(int(n) for n in bound.lstrip("<>=").split("."))
                   for bound in SUPPORTED_TYPER.split(","))

#: (value, Typer's parameter, context) -> the value, or raises _UndecidedError.
_Fast = Callable[[Any, Any, Any], Any]


class _UndecidedError(Exception):
    """The fast path does not know this value: Typer's own coercion decides."""


def _text(value: Any, _param: Any, _ctx: Any) -> Any:
    if type(value) is str:  # what Pydantic's lax ``str`` returns for a str: itself
        return value
    raise _UndecidedError


def _flag(value: Any, _param: Any, _ctx: Any) -> Any:
    if type(value) is bool:
        return value
    raise _UndecidedError


def _number(kind: type) -> _Fast:
    def fast(value: Any, _param: Any, _ctx: Any) -> Any:
        if type(value) is kind:  # a default, already of its type
            return value
        raise _UndecidedError
    return fast


def _parsed(parser: Callable[[Any], Any]) -> _Fast:
    def fast(value: Any, _param: Any, _ctx: Any) -> Any:
        try:
            return parser(value)
        except (ValueError, AssertionError):  # Pydantic would word these: let it
            raise _UndecidedError from None
    return fast


def _fast_for(descriptor: Any) -> _Fast | None:
    """The fast coercion for a parameter, or None when Typer's own should always run."""
    from typer._param_types import routes_to_path

    info, annotation = descriptor.parameter_info, descriptor.annotation
    if descriptor.file_annotation is not None:
        return None
    if info.parser is not None:
        return _parsed(info.parser)
    if annotation is str:
        return _text
    if annotation is bool:
        return _flag
    if annotation in (int, float) and info.min is None and info.max is None \
            and not info.clamp:
        return _number(annotation)
    if routes_to_path(annotation, info) and annotation is Path and info.path_type is None:
        return _path(info)
    return None


def _path(info: Any) -> _Fast:
    from typer._param_types import coerce_cli_path

    def fast(value: Any, param: Any, ctx: Any) -> Any:
        if type(value) is not str or not value:
            raise _UndecidedError
        # Typer's path checks (exists, dir_okay, ...) as it runs them, on the Path
        # Pydantic would have made of the string.
        return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
    return fast


def typer_problem(version: str) -> str | None:
    """Why this Typer cannot run s55 (one line naming it and the supported range), or None.

    ``install`` replaces a private part of Typer (``typer.core.build_runtime_param``,
    ``typer._coercion.RuntimeParam``), written and tested against the releases in
    ``SUPPORTED_TYPER``; any other release may have moved them without a word.
    """
    release = tuple(int(n) for n in re.findall(r"[0-9]+", version)[:2])
    if _LOWEST <= release < _BELOW:
        return None
    return (f"s55 needs Typer {SUPPORTED_TYPER} (its start-up replaces a private part of "
            f"Typer), but Typer {version} is installed: pip install 'typer{SUPPORTED_TYPER}'")


@dataclass(frozen=True)
class _Build:
    """What ``typer.core`` calls to build a parameter's coercion once ``install`` ran."""

    typer_own: Callable[[Any], Any]  # Typer's own builder, kept for the tests to compare
    fast_param: Callable[..., Any]  # the FastRuntimeParam class made by ``install``

    def __call__(self, descriptor: Any) -> Any:
        fast = _fast_for(descriptor)
        if fast is None:
            return self.typer_own(descriptor)
        return self.fast_param(parameter_info=descriptor.parameter_info,
                               annotation=descriptor.annotation, fast=fast,
                               descriptor=descriptor, slow=[])


def install() -> None:
    """Put the fast coercion in front of Typer's (once; again is a no-op).

    On a Typer outside ``SUPPORTED_TYPER`` it stops the program instead, with
    ``Error: ...`` (``typer_problem``) and exit status 1.
    """
    import typer

    if (problem := typer_problem(typer.__version__)) is not None:
        raise SystemExit(f"Error: {problem}")
    from typer import core
    from typer._coercion import RuntimeParam

    original = vars(core)["build_runtime_param"]
    if isinstance(original, _Build):
        return

    @dataclass(frozen=True)
    class FastRuntimeParam(RuntimeParam):
        """Coercion that skips Pydantic for the values ``fast`` knows."""

        fast: _Fast
        descriptor: Any
        slow: list[Any]  # Typer's runtime parameter, built the first time it is needed

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                return self.fast(value, param, ctx)
            except _UndecidedError:
                if not self.slow:
                    self.slow.append(original(self.descriptor))
                return self.slow[0]._coerce_value(value, param, ctx)

    # typer.core imports the name from typer._coercion without re-exporting it, and its
    # parameters call it through that module global: the global is what is replaced.
    patched = _Build(original, FastRuntimeParam)
    core.build_runtime_param = patched  # type: ignore[attr-defined]  # private in typer.core
