"""The ``s55`` Typer application, its one error boundary and the options commands share.

The database layer is imported inside each command so that ``s55 --help`` stays
fast. One error boundary (``_Group.invoke``) turns our errors into ``Error: ...``
on stderr and exit code 1; Typer/Click usage errors exit 2.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import Callable, Iterator, MutableMapping
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import typer.main
from typer.core import TyperGroup
from typer.models import CommandInfo

from workflow.cli import coerce
from workflow.core.limits import stated

coerce.install()  # no Pydantic to parse a string or an id (see workflow/cli/coerce.py)

if TYPE_CHECKING:
    from workflow.core.settings import Settings
    from workflow.responses.service import Workflow
    from workflow.storage.db import Database


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
#: The ``--as`` of the command running in this process.
_ACTOR: ContextVar[str | None] = ContextVar("s55_actor", default=None)

AsOption = Annotated[str | None, typer.Option(
    "--as", envvar="S55_ACTOR", show_envvar=True, metavar="EMAIL",
    help="who is acting: under identity claimed this email is taken on trust; under os "
         "(the default; see `s55 office show`) the operating-system account decides and --as "
         "may only name you")]


def acting_as() -> str | None:
    """The ``--as`` (or ``S55_ACTOR``) given to the running command, if any."""
    return _ACTOR.get()


def with_signature(function: Callable[..., Any], signature: inspect.Signature) -> None:
    """Give ``function`` the parameters Typer reads its options from (``inspect`` honours
    ``__signature__``): a command whose options are built, not written out."""
    function.__signature__ = signature  # type: ignore[attr-defined]  # not in typeshed


def _with_as(command: Callable[..., Any]) -> Callable[..., Any]:
    """``command`` taking the one shared ``--as`` option (read back with ``acting_as``).

    A control character or line break in it (which would forge a line of ``s55 log``) is
    refused before the command runs.
    """
    signature = inspect.signature(command, eval_str=True)

    @functools.wraps(command)
    def wrapper(*args: Any, as_actor: str | None = None, **kwargs: Any) -> Any:
        from workflow.core.errors import InvalidInputError

        if as_actor and _CONTROL.search(as_actor):
            raise InvalidInputError("--as", f"{as_actor!r} contains a control character or "
                                    "line break")
        _ACTOR.set(as_actor.strip() if as_actor and as_actor.strip() else None)
        return command(*args, **kwargs)

    shared = inspect.Parameter("as_actor", inspect.Parameter.KEYWORD_ONLY, default=None,
                               annotation=AsOption)
    with_signature(wrapper, signature.replace(
        parameters=[*signature.parameters.values(), shared]))
    wrapper.__annotations__ = {**command.__annotations__, "as_actor": AsOption}
    return wrapper


class _App(typer.Typer):
    """A Typer app whose every command takes ``--as`` the same way, and whose commands
    are built when first looked up (``_Commands``), not all of them on every run."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: This app's commands as registered, in order; Typer builds none of them itself.
        self.lazy: list[CommandInfo] = []
        self.info.cls = type("_Group", (_Group,), {"owner": self})

    def command(  # type: ignore[override]  # same call, any function accepted
            self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]],
                                                             Callable[..., Any]]:
        register = super().command(*args, **kwargs)

        def decorator(function: Callable[..., Any]) -> Callable[..., Any]:
            register(_with_as(function))
            self.lazy.append(self.registered_commands.pop())
            return function

        return decorator


class _Commands(MutableMapping[str, Any]):
    """A group's ``commands``: every name, in Typer's order (commands as registered, then
    the groups), each command built the first time it is looked up.

    Typer builds a Click command by reading its function's signature, its annotations and
    every option (about 0.3 ms a command); building all of them cost a cold ``s55``
    about 24 ms for the one command it runs. What is built is Typer's own
    ``get_command_from_info``, so a command is exactly the command Typer would build.
    """

    def __init__(self, owner: _App, groups: MutableMapping[str, Any]) -> None:
        self._owner = owner
        self._infos = {_name(info): info for info in owner.lazy}
        self._built: dict[str, Any] = {}
        self._groups = groups

    def __getitem__(self, name: str) -> Any:
        if name in self._built:
            return self._built[name]
        info = self._infos.get(name)
        if info is None:
            return self._groups[name]
        command = self._built[name] = typer.main.get_command_from_info(
            info, pretty_exceptions_short=self._owner.pretty_exceptions_short,
            rich_markup_mode=self._owner.rich_markup_mode)
        return command

    def __setitem__(self, name: str, command: Any) -> None:
        self._infos.pop(name, None)
        self._groups[name] = command

    def __delitem__(self, name: str) -> None:
        if self._infos.pop(name, None) is None:
            del self._groups[name]
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        yield from self._infos
        yield from (name for name in self._groups if name not in self._infos)

    def __len__(self) -> int:
        return len(self._infos) + sum(1 for name in self._groups if name not in self._infos)

    def summary(self, name: str) -> tuple[str | None, str | None, bool] | None:
        """(help, short help, hidden) of a command not built yet, as Typer would give
        them; None for one built already, or a group."""
        info = self._infos.get(name)
        if info is None or name in self._built:
            return None
        text = inspect.getdoc(info.callback) if info.help is None else inspect.cleandoc(
            info.help)
        return text, info.short_help, bool(info.hidden)


def _name(info: CommandInfo) -> str:
    """The command's name, as Typer gives it (the function's, with dashes)."""
    assert info.callback is not None
    return info.name or typer.main.get_command_name(info.callback.__name__)


def _check_utf8(args: list[str]) -> None:
    """Refuse an argument that is not UTF-8 (bytes Python keeps as lone surrogates), which
    no table, log line or message could hold."""
    from workflow.core.errors import InvalidInputError

    for arg in args:
        if _SURROGATE.search(arg):
            shown = arg.encode("utf-8", "backslashreplace").decode("ascii", "replace")
            raise InvalidInputError("argument", f"'{shown}' is not UTF-8 text")


class _Group(TyperGroup):
    """The one error boundary of the CLI; its commands are built as they are looked up."""

    owner: _App | None = None  # set on each app's own subclass (``_App``)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.owner is not None:
            self.commands = _Commands(self.owner, self.commands)

    def invoke(self, ctx: Any) -> Any:
        from notifications.errors import NotificationError
        from workflow.core.errors import S55Error

        try:
            _check_utf8([*getattr(ctx, "protected_args", []), *ctx.args])
            return super().invoke(ctx)
        except (S55Error, NotificationError) as exc:
            from workflow.cli.table import visible

            # One line, always: text a user gave (echoed in the message) cannot add one.
            hint = getattr(exc, "cli_hint", "")
            typer.echo(f"Error: {visible(str(exc))}{f' ({hint})' if hint else ''}", err=True)
            raise typer.Exit(1) from None
        except Exception as exc:
            # A driver error (database down, disk full) is still one line, not a traceback.
            if type(exc).__module__.split(".")[0] not in ("sqlalchemy", "psycopg", "sqlite3"):
                raise
            first = str(getattr(exc, "orig", exc) or exc).strip().splitlines()[0]
            typer.echo(f"Error: database: {first}", err=True)
            raise typer.Exit(1) from None

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """Each command with its whole one-line summary, wrapped to the terminal.

        Click would cut a summary to what fits on one line with "…", and at the first
        full stop it meets, even the one in "e.g.".
        """
        rows = [(name, " ".join((text or short or "").split("\n\n")[0].split()))
                for name in self.list_commands(ctx)
                if (found := self._summary(ctx, name)) is not None
                for text, short, hidden in [found] if not hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


    def _summary(self, ctx: Any, name: str) -> tuple[str | None, str | None, bool] | None:
        """A command's (help, short help, hidden), without building it when not built."""
        if isinstance(self.commands, _Commands) and (known := self.commands.summary(name)):
            return known
        cmd = self.get_command(ctx, name)
        return None if cmd is None else (cmd.help, cmd.short_help, cmd.hidden)


def typer_app(help_text: str) -> _App:
    """A command group that shares the root's error boundary."""
    return _App(cls=_Group, help=help_text, no_args_is_help=True,
                add_completion=False, rich_markup_mode=None,
                pretty_exceptions_enable=False)


app = typer_app("s55: carry Section 55 (Police Act 1996) responses from draft to the "
                "HMICFRS portal.")
people_app = typer_app("People and their roles (admin, force, pcc, chief_executive, panel, "
                       "auditor).")
report_app = typer_app("Inspection reports.")
rec_app = typer_app("Recommendations of a response (numbers exactly as published).")
afi_app = typer_app("Areas for improvement of a response (numbers exactly as published).")
audit_app = typer_app("The tamper-evident audit log.")
app.add_typer(people_app, name="people")
app.add_typer(report_app, name="report")
app.add_typer(rec_app, name="rec")
app.add_typer(afi_app, name="afi")
app.add_typer(audit_app, name="audit")

#: The largest id or count the database can hold (PostgreSQL ``integer``; SQLite holds more).
INT_MAX = 2**31 - 1
_DIGITS = re.compile(r"-?[0-9]+")


class Bounded:
    """A Typer ``parser``: a whole number written in ASCII digits, from ``low`` to ``high``.

    Used by every id and number the command line takes, so that no value reaches the
    database that it cannot hold (SQLite's ``OverflowError``, PostgreSQL's "integer out of
    range"), and "٣", "1.0" or "1_000" are not read as numbers. A wrong value is a
    ``NumberError`` (one ``Error:`` line, exit 1) naming the option and the range; it is not
    a ``ValueError``, so Typer's own validation lets it through to the error boundary.
    """

    def __init__(self, what: str, low: int, high: int = INT_MAX) -> None:
        self.what, self.low, self.high = what, low, high

    def __call__(self, value: object) -> int:
        from workflow.core.errors import NumberError

        if isinstance(value, int) and not isinstance(value, bool):  # a default
            return value
        text = str(value)
        shown = text if len(text) <= 40 else text[:40] + "..."
        if not _DIGITS.fullmatch(text):
            raise NumberError(self.what, f"{shown!r} is not a whole number in digits 0-9 "
                                         f"({self.low} to {self.high})")
        number = int(text)
        if not self.low <= number <= self.high:
            raise NumberError(self.what, f"{shown} is out of range ({self.low} to {self.high})")
        return number


def id_argument(metavar: str = "ID", help_text: str | None = None) -> Any:
    """A positional id: a whole number from 1 to ``INT_MAX``."""
    return typer.Argument(parser=Bounded(metavar.strip("[]"), 1), metavar=metavar,
                          help=help_text)


def number_option(flag: str, low: int, high: int = INT_MAX, *, help_text: str,
                  metavar: str = "N") -> Any:
    """An option taking a whole number from ``low`` to ``high`` (stated in ``--help``)."""
    return typer.Option(flag, parser=Bounded(flag, low, high), metavar=metavar,
                        help=f"{help_text} ({low} to {high})")


OnBehalfOf = Annotated[str | None, typer.Option(
    "--on-behalf-of", metavar="EMAIL", help="an admin acting for this person (needs --reason; "
    "never for sign-off)")]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
ResponseId = Annotated[int, id_argument(help_text="response id (see `s55 list`)")]
#: ``--response ID`` of the listing commands.
ResponseOpt = number_option("--response", 1, metavar="ID", help_text="only this response")
#: ``--limit N`` of the listing commands.
LimitOpt = number_option("--limit", 1, help_text="at most this many, newest first")
ExpectVersion = Annotated[int | None, number_option(
    "--expect-version", 1, metavar="VERSION",
    help_text="refuse if the response changed since this version (see `s55 show`)")]
#: ``--output FILE`` of a command that prints a document (``print_or_write``).
OutputOpt = Annotated[Path | None, typer.Option(
    help="write here instead of stdout (never over an existing file without --force)",
    readable=False)]
#: ``--force``: an ``--output`` file that exists is replaced.
ForceOpt = Annotated[bool, typer.Option("--force", help="replace an existing --output file")]
#: A recommendation's number as published: a positive whole number.
RecNumber = Annotated[int, id_argument("NUMBER")]
#: The most ``--file`` reads for one text (a long section is a few tens of kB).
TEXT_FILE_BYTES = 1024 * 1024


def text_options(field: str) -> tuple[Any, Any]:
    """``--text`` and ``--file`` for a text kept in ``field``, its length limit stated.

    Like every path the commands take (``readable=False``), the file is not looked at while
    the arguments are read: it is opened once, by ``workflow.core.files``, which says in one
    line why it cannot be read; through the local service, by the caller's own client.
    """
    return (Annotated[str | None, typer.Option("--text", help="the text itself "
                                                f"({stated(field)})")],
            Annotated[Path | None, typer.Option(
                "--file", help=f"read the text from this UTF-8 file (at most 1 MB; the text "
                f"{stated(field)})", exists=False, readable=False)])


#: A response's section or a recommendation's answer or note.
TextOpt, FileOpt = text_options("key_findings")
#: A recommendation's own text.
RecTextOpt, RecFileOpt = text_options("text")


def open_reader() -> tuple[Settings, Database]:
    """``open_database`` for the read-only commands (list, show, log): the settings read
    without pydantic-settings unless a value needs its word
    (``workflow.core.light_settings``)."""
    from workflow.core.light_settings import read

    return _open(read())


def open_database(*, need_schema: bool = True) -> tuple[Settings, Database]:
    """Settings from the environment and the database they name (no ORM models loaded)."""
    from workflow.core.settings import load_settings

    return _open(load_settings(), need_schema=need_schema)


def _open(settings: Settings, *, need_schema: bool = True) -> tuple[Settings, Database]:
    from workflow.storage.db import Database

    db = Database(settings.database_url, statement_timeout_ms=settings.statement_timeout_ms,
                  audit_key_file=settings.audit_key_file)
    if need_schema:
        db.require_schema()
        # The database's settings decide; this process's environment may not loosen them:
        # refused here, before the command does anything (and again in each transaction).
        from workflow.identity.office import in_force

        db.query(lambda s: in_force(s, settings))
    return settings, db


def open_workflow(*, need_schema: bool = True) -> Workflow:
    from workflow.responses.service import Workflow

    settings, db = open_database(need_schema=need_schema)
    return Workflow(db, settings)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def print_or_write(text: str, output: Path | None, force: bool) -> bool:
    """Print ``text`` as it is, or write it to ``output`` (an existing file only replaced
    with ``force``); whether it was written."""
    if output is None:
        typer.echo(text, nl=False)
        return False
    from workflow.core import files

    files.write_text(output, [text], overwrite=force)
    return True


def read_text(text: str | None, file: Path | None) -> str:
    from workflow.core.errors import InvalidInputError

    if (text is None) == (file is None):
        raise InvalidInputError("input", "give exactly one of --text or --file")
    if file is None:
        return text or ""
    from workflow.core import files

    return files.read_text(file, TEXT_FILE_BYTES)



def main() -> None:
    """Console entry point."""
    app(prog_name="s55")
