"""Every file of ``tests/corpus`` through ``quanta test`` and ``quanta validate``: each may be refused,
none may end in "internal error" (an exception that is not a QuantaError).

The CLI runs in process (its Typer app, as ``quanta`` runs it) because a subprocess per file and command
would take minutes; a few files also go through the real entry point to show both agree.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quanta.errors import QuantaError
from quanta.interfaces.cli.main import app
from tests.conftest import run_cli

pytestmark = pytest.mark.slow  # 300+ files, two commands each

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(p.relative_to(CORPUS) for p in CORPUS.rglob("*") if p.is_file())


def case_folders() -> list[Path]:
    return sorted({Path(*f.parts[:2]) for f in FILES})


@pytest.mark.parametrize("case", case_folders(), ids=str)
def test_no_corpus_file_crashes_test_or_validate(
    case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(CORPUS / case, tmp_path / "case")
    monkeypatch.chdir(tmp_path / "case")
    monkeypatch.delenv("QUANTA_DATABASE_URL", raising=False)
    crashes = []
    for file in (f for f in FILES if f.is_relative_to(case)):
        target = str(file.relative_to(case))
        for command in (["test", target], ["validate", target]):
            result = CliRunner().invoke(app, command)
            error = result.exception
            # SystemExit is an exit code; a QuantaError is what the entry point renders as a clear error.
            if error is not None and not isinstance(error, (SystemExit, QuantaError)):
                crashes.append(f"quanta {' '.join(command)}: {type(error).__name__}: {error}")
    assert not crashes, "\n".join(crashes)


def test_the_real_entry_point_agrees(tmp_path: Path) -> None:
    shutil.copytree(CORPUS / "invalid" / "loose-dcs-file", tmp_path / "case")
    for command in ("test", "validate"):
        result = run_cli(command, "orders.dcs.yaml", cwd=tmp_path / "case")
        assert result.returncode == 1, result.stdout + result.stderr
        assert "internal error" not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr
