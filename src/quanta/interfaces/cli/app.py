"""The Typer application and the options every command shares."""

from __future__ import annotations

import inspect
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperCommand, TyperGroup
from typer.models import CommandInfo, TyperInfo

if TYPE_CHECKING:
    from typer import _click as click  # the click Typer vendors, which its groups subclass

    from quanta.mesh import Mesh

# The module of every top-level command, in the order ``quanta --help`` lists them. A command's module
# is imported when that command runs or help describes it, so ``quanta test`` builds and imports one
# command, not all of them (tests/test_cli_lazy.py keeps this table equal to what the modules register).
_HELP_ORDER = (
    ("agents", "mcp"),
    ("blueprints", "new search"),
    ("changes", "changes subscribe deliver"),
    ("contract_test", "test"),
    ("data", "build versions rollback query runs demo diff ci"),
    ("governance", "whoami"),
    ("kpis", "kpis feedback"),
    ("lineage", "lineage impact"),
    ("maturity", "score"),
    ("observe", "health incidents"),
    ("serve", "serve"),
    ("wire", "pgwire"),
    ("flight", "flight"),
    ("workspace", "init validate apply ls show import export"),
    ("blueprints", "blueprint"),  # Typer lists sub-apps after commands
    ("contract", "contract"),
    ("data", "quarantine schedule"),
    ("governance", "access token space audit policy"),
    ("observe", "alerts"),
)
COMMANDS = {name: module for module, names in _HELP_ORDER for name in names.split()}


class LazyGroup(TyperGroup):
    """The ``quanta`` group: lists every command of :data:`COMMANDS`, imports and builds one on demand.
    Its help lists each command by name and help text, which need no parameters built: it gets an
    outline of the commands (:func:`outlined_command`), not the commands."""

    _outlining = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *(name for name in self.commands if name not in COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            import_module(f"{__package__}.{COMMANDS[cmd_name]}")
            if self._outlining:
                return outlined_command(cmd_name)
            command = registered_command(cmd_name)
            if command is not None:
                self.commands[cmd_name] = command
        return super().get_command(ctx, cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._outlining = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._outlining = False

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in COMMANDS:  # a typo: "did you mean" chooses among every command
            for name in COMMANDS:
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)


def registered_command(name: str) -> click.Command | None:
    """The click command (or group) Typer builds from what is registered on ``app`` under ``name``."""
    from typer.main import get_command_from_info, get_group_from_info

    info = _registered(name)
    if isinstance(info, CommandInfo):
        return get_command_from_info(
            info,
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=app.rich_markup_mode,
        )
    if isinstance(info, TyperInfo):
        return get_group_from_info(
            info,
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=app.rich_markup_mode,
            suggest_commands=app.suggest_commands,
        )
    return None


def outlined_command(name: str) -> click.Command | None:
    """What help lists of a registered command or group: its name, help and panel, as Typer solves
    them (:func:`registered_command`), without building its parameters or subcommands (a tenth of a
    second for all of them; tests/test_cli_lazy.py holds help the same either way)."""
    from typer.main import solve_typer_info_defaults

    info = _registered(name)
    if isinstance(info, CommandInfo):
        assert info.callback is not None
        return TyperCommand(
            name=name,
            help=inspect.getdoc(info.callback) if info.help is None else inspect.cleandoc(info.help),
            short_help=info.short_help,
            hidden=info.hidden,
            deprecated=info.deprecated,
            rich_markup_mode=app.rich_markup_mode,
            rich_help_panel=info.rich_help_panel,
        )
    if isinstance(info, TyperInfo):
        solved = solve_typer_info_defaults(info)
        return TyperGroup(
            name=name,
            help=solved.help,
            short_help=solved.short_help,
            hidden=solved.hidden,
            deprecated=solved.deprecated,
            rich_markup_mode=app.rich_markup_mode,
            rich_help_panel=solved.rich_help_panel,
        )
    return None


def _registered(name: str) -> CommandInfo | TyperInfo | None:
    from typer.main import get_command_name

    for info in app.registered_commands:
        if (info.name or get_command_name(info.callback.__name__ if info.callback else "")) == name:
            return info
    for group in app.registered_groups:
        if group.name == name:
            return group
    return None


def _group() -> None:
    # A callback makes Typer build a group even while no command module is imported yet.
    pass


app = typer.Typer(
    name="quanta",
    help="Quanta: a self-serve data mesh platform. Data products and contracts from metadata.",
    cls=LazyGroup,
    callback=_group,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)

Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show the full traceback on errors.")]
Lenient = Annotated[
    bool,
    typer.Option(
        "--lenient",
        help="Official-schema findings in contracts are warnings when Quanta can still read them.",
    ),
]
Paths = Annotated[
    list[Path] | None,
    typer.Argument(help="Files or folders (default: the whole workspace).", show_default=False),
]


def open_mesh(required: bool = True, *, light: bool = False) -> Mesh:
    """The mesh of the current workspace; ``light`` for commands that only read the catalog (a local
    registry is then read without loading SQLAlchemy)."""
    from quanta.mesh import Mesh

    return Mesh.open(required=required, light=light)
