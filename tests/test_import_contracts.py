"""``make lint`` checks the import rules with import-linter, and an import that breaks one fails it
(docs/architecture.md, the README's Development section)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_project_keeps_its_import_contracts() -> None:
    result = _lint(ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_import_that_breaks_a_contract_fails_naming_it(tmp_path: Path) -> None:
    """The same checker on a contract the tree breaks today (the CLI does import the facade): it must
    fail, and name the importing module and line."""
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "quanta"\n\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "the CLI may not import the facade"\n'
        'type = "forbidden"\n'
        'source_modules = ["quanta.interfaces.cli"]\n'
        'forbidden_modules = ["quanta.mesh"]\n',
        encoding="utf-8",
    )
    result = _lint(config)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert "quanta.interfaces.cli." in result.stdout and "-> quanta.mesh" in result.stdout
