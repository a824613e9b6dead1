"""Typer's argument coercion without Pydantic for the values every command passes.

Typer (0.2x) turns each command-line value into its Python type through a Pydantic
``TypeAdapter`` built per parameter when the command runs: importing Pydantic and building
the adapters costs a cold ``s55 list`` or ``s55 show`` about 0.1 s, more than the query. For
the few kinds of value s55's commands take - a string, a flag, a number through one of our
parsers (``app.Bounded``), a path, an unset default - the result is known without Pydantic,
so ``install`` puts a runtime parameter in front of Typer's that returns it directly.
Anything else (a list, a choice, a string where a number is wanted, a value a parser refuses
with ``ValueError``) goes to Typer's own Pydantic coercion unchanged, so every accepted
value and every error message stays Typer's (a test compares the two on every parameter of
every command).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def install() -> None:
    """Put the fast coercion in front of Typer's (a no-op on a Typer without adapters)."""
    try:
        from typer import core
        from typer._coercion import RuntimeParam
    except ImportError:
        return
    found = getattr(core, "build_runtime_param", None)
    if found is None or getattr(found, "s55_fast", False):
        return
    original: Callable[[Any], Any] = found

    @dataclass(frozen=True)
    class FastRuntimeParam(RuntimeParam):  # type: ignore[misc]
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

    def build(descriptor: Any) -> Any:
        fast = _fast_for(descriptor)
        if fast is None:
            return original(descriptor)
        return FastRuntimeParam(parameter_info=descriptor.parameter_info,
                                annotation=descriptor.annotation, fast=fast,
                                descriptor=descriptor, slow=[])

    build.s55_fast = True  # type: ignore[attr-defined]
    build.typer_own = original  # type: ignore[attr-defined]  # for the tests to compare
    core.build_runtime_param = build
