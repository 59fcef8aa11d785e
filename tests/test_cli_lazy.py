"""The CLI imports a command's module only when that command runs, yet lists and documents every one."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import typer
import typer.main

import quanta.interfaces.cli as cli_package
from quanta.interfaces.cli.app import COMMANDS, LazyGroup, app
from tests.test_contract_plan import CONTRACT  # footers prove some rules, a SQL rule scans


def _registered() -> dict[str, str]:
    """Every top-level command and sub-app the CLI modules register, and the module that does."""
    for module in pkgutil.iter_modules(cli_package.__path__):
        import_module(f"{cli_package.__name__}.{module.name}")
    found = {
        info.name or typer.main.get_command_name(info.callback.__name__): info.callback.__module__
        for info in app.registered_commands
        if info.callback is not None
    }
    for group in app.registered_groups:
        assert group.name and group.typer_instance
        callback = group.typer_instance.registered_commands[0].callback
        assert callback is not None
        found[group.name] = callback.__module__
    return {name: module.rsplit(".", 1)[-1] for name, module in found.items()}


def test_the_command_table_names_every_registered_command() -> None:
    assert _registered() == COMMANDS


def test_the_group_lists_and_builds_every_command() -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, LazyGroup)
    ctx = typer.Context(group)
    assert group.list_commands(ctx) == list(COMMANDS)
    for name in COMMANDS:
        command = group.get_command(ctx, name)
        assert command is not None and command.name == name


def _modules_after(args: list[str], cwd: Path) -> set[str]:
    script = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('MODULES', *sorted(sys.modules), file=sys.stderr))\n"
        "from quanta.interfaces.cli.main import main\n"
        f"sys.argv = ['quanta', *{args!r}]\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], check=False, cwd=cwd, capture_output=True, text=True
    )
    line = next(x for x in result.stderr.splitlines() if x.startswith("MODULES "))
    return set(line.split()[1:])


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "quanta.interfaces.cli.main", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": ""},
        check=True,
    )
    listed = [
        line.split()[1] for line in result.stdout.splitlines() if line.startswith("│ ") and "  " in line
    ]
    assert [name for name in listed if name in COMMANDS] == list(COMMANDS)


def test_quanta_test_imports_only_its_command(tmp_path: Path) -> None:
    modules = _modules_after(["test", "--help"], tmp_path)
    commands = {f"quanta.interfaces.cli.{module}" for module in set(COMMANDS.values())}
    assert commands & modules == {"quanta.interfaces.cli.contract_test"}


def test_quanta_test_on_a_file_imports_no_registry_and_no_pyarrow(tmp_path: Path) -> None:
    import duckdb

    duckdb.sql(f"copy (select 1 as n) to '{tmp_path / 't.parquet'}'")
    (tmp_path / "c.yaml").write_text(CONTRACT)
    modules = _modules_after(["test", "c.yaml"], tmp_path)
    assert "quanta.contracts.execute" in modules  # it did test the data
    assert {"sqlalchemy", "pyarrow", "numpy"} & modules == set()
