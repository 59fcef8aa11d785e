"""The CLI imports a command's module only when that command runs, yet lists and documents every one."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import time
from importlib import import_module
from pathlib import Path

import pytest
import typer
import typer.main
from typer.testing import CliRunner

import quanta.interfaces.cli as cli_package
from quanta.interfaces.cli import app as app_module
from quanta.interfaces.cli.app import COMMANDS, LazyGroup, app, outlined_command
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
    # A valid contract is told valid by jsonschema-rs; jsonschema only explains an invalid one.
    assert "jsonschema_rs" in modules and "jsonschema" not in modules


def test_ls_and_show_import_no_pydantic(tmp_path: Path) -> None:
    """Settings are read without pydantic, and typer (held below 0.29) parses options without it: the
    commands a user runs most start without loading it (docs: README, start-up)."""
    from quanta.mesh import Mesh

    Mesh.init(tmp_path, name="lazy")
    for args in (["ls"], ["show", "nowhere.nothing"], ["--help"]):
        modules = _modules_after(args, tmp_path)
        assert "quanta.settings" in modules or args == ["--help"]
        assert {m for m in modules if m.split(".")[0] in ("pydantic", "pydantic_core")} == set(), args


def test_quanta_test_on_a_csv_file_with_a_sql_rule_imports_no_pyarrow(tmp_path: Path) -> None:
    """A CSV file's columns are tried against their sniffed types, and a SQL rule that is not a count
    runs on its own: both read plain values, without pyarrow and numpy (a sixth of a second to load)."""
    (tmp_path / "t.csv").write_text("n,day\n1,2024-01-01\n0,2024-01-02\n", encoding="utf-8")
    contract = CONTRACT.replace("./{model}.parquet", "./t.csv").replace("format: parquet", "format: csv")
    contract = contract.replace("select count(*) from t where n > 5", "select max(n) from t")
    (tmp_path / "c.yaml").write_text(contract)
    done = subprocess.run(
        [sys.executable, "-m", "quanta.interfaces.cli.main", "test", "c.yaml", "--output", "json"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"measured":1,"threshold":"<2"' in done.stdout.replace(" ", "").replace("\n", "")
    modules = _modules_after(["test", "c.yaml"], tmp_path)
    assert "quanta.contracts.sqlrules" in modules
    assert {"sqlalchemy", "pyarrow", "numpy"} & modules == set()


def test_help_lists_outlines_the_same_as_the_built_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """Help lists each command from an outline (name, help, panel: no parameters built, a tenth of a
    second saved); built in full, every command would list the same."""
    for name in COMMANDS:
        import_module(f"quanta.interfaces.cli.{COMMANDS[name]}")  # as the group does before outlining
        outline = outlined_command(name)
        assert outline is not None and outline.name == name and not outline.params
    runner = CliRunner()
    env = {"COLUMNS": "200", "NO_COLOR": "1"}
    outlined = runner.invoke(app, ["--help"], env=env)
    monkeypatch.setattr(app_module, "outlined_command", app_module.registered_command)
    built = runner.invoke(app, ["--help"], env=env)
    assert outlined.exit_code == built.exit_code == 0
    assert outlined.output == built.output
    assert all(name in outlined.output for name in COMMANDS)


@pytest.fixture
def registered(tmp_path: Path) -> Path:
    """The demo mesh with its products registered (nothing built)."""
    from quanta.mesh import Mesh

    root = tmp_path / "mesh"
    Mesh.init(root, demo=True)
    Mesh.open(root).apply()
    return root


def test_ls_and_show_read_a_local_registry_without_sqlalchemy(registered: Path) -> None:
    heavy = {
        "sqlalchemy",
        "alembic",
        "pydantic_settings",
        "quanta.registry.store",
        "quanta.registry.models",
        "quanta.spec.product",
        "pyarrow",
        "duckdb",
        "jsonschema",
        "sqlglot",
    }
    for args in (["ls"], ["show", "sales.orders"]):
        modules = _modules_after(args, registered)
        assert "quanta.registry.catalog" in modules  # it did read the registry
        assert heavy & modules == set(), args


def test_a_light_mesh_sees_its_own_changes_at_once_and_others_within_the_recheck(registered: Path) -> None:
    from quanta.mesh import Mesh
    from quanta.registry.catalog import CATALOG_RECHECK_SECONDS, SqliteCatalog

    product = registered / "domains" / "sales" / "orders" / "product.yaml"

    def release(before: str, after: str) -> None:
        product.write_text(product.read_text().replace(f"\nversion: {before}\n", f"\nversion: {after}\n", 1))

    def latest(mesh: Mesh) -> str:
        return next(p.latest_version for p in mesh.products() if p.id == "sales.orders")

    light = Mesh.open(registered, light=True)
    assert latest(light) == "1.0.0" and light.product("sales.orders").summary.latest_version == "1.0.0"
    assert isinstance(light.core.catalog, SqliteCatalog)  # no SQLAlchemy so far
    release("1.0.0", "1.0.1")
    Mesh.open(registered).apply()  # another process registers a version
    time.sleep(CATALOG_RECHECK_SECONDS)
    assert latest(light) == "1.0.1"
    assert light.product("sales.orders").summary.latest_version == "1.0.1"
    release("1.0.1", "1.0.2")
    light.apply()  # its own write opens the registry, which it reads from then on: seen at once
    assert not isinstance(light.core.catalog, SqliteCatalog)
    assert latest(light) == "1.0.2"
