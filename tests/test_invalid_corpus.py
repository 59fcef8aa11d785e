"""The invalid corpus: every case is rejected with positioned errors, exit code 1 and no traceback.

Each folder under ``tests/corpus/invalid`` is a tiny workspace (``quanta.yaml`` + ``domains/...``) or a
few loose files, plus ``expect.yaml``:

- ``args``: the CLI arguments (default ``[validate]``), run in a copy of the case folder;
- ``problems``: every error the case must produce, each with ``file`` (relative to the case folder),
  ``line`` (``null`` when the file has no lines, e.g. it does not exist), optional ``column``, and
  substrings of the ``message`` and, optionally, of the ``hint``. A duplicated or spurious extra error
  fails the case too;
- ``xfail``: set only while a real bug in Quanta makes the case fail; the reason says what happens.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import run_cli

CORPUS = Path(__file__).parent / "corpus" / "invalid"
MIN_CASES = 40
EXPECT_KEYS = {"description", "args", "problems", "xfail"}
PROBLEM_KEYS = {"file", "line", "column", "message", "hint"}
# How the CLI renders a problem: `file:line:col: error: message (at path)`, then `  hint: ...`.
RENDERED = re.compile(
    r"^(?P<source>\S.*?)(?::(?P<line>\d+)(?::(?P<column>\d+))?)?"
    r": (?P<severity>error|warning): (?P<message>.*)$"
)
HINT_PREFIX = "  hint: "


@dataclass(frozen=True)
class Reported:
    """One problem as the CLI reported it, its file made relative to the case folder."""

    file: str
    line: int | None
    column: int | None
    message: str
    severity: str
    hint: str | None = None

    @property
    def position(self) -> tuple[str, int | None, int | None]:
        return self.file, self.line, self.column

    def __str__(self) -> str:
        where = ":".join(str(part) for part in self.position if part is not None)
        return f"{where}: {self.severity}: {self.message} [hint: {self.hint}]"


def case_folders() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith("."))


def load_expect(case: Path) -> dict[str, Any]:
    expect: dict[str, Any] = yaml.safe_load((case / "expect.yaml").read_text(encoding="utf-8"))
    return expect


def case_params() -> list[Any]:
    params = []
    for case in case_folders():
        reason = load_expect(case).get("xfail")
        marks = [pytest.mark.xfail(reason=f"Quanta bug: {reason}", strict=True)] if reason else []
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


def relative(source: str | None, root: Path) -> str:
    """``source`` as printed (relative to the folder the CLI ran in, or absolute) ► relative to ``root``."""
    if source is None:
        return "<none>"
    path = Path(source)
    path = path if path.is_absolute() else root / path
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return source


def parse_text(output: str, root: Path) -> list[Reported]:
    reported: list[Reported] = []
    for text in output.splitlines():
        if text.startswith(HINT_PREFIX) and reported:
            reported[-1] = replace(reported[-1], hint=text.removeprefix(HINT_PREFIX))
            continue
        match = RENDERED.match(text)
        if match:
            reported.append(
                Reported(
                    file=relative(match["source"], root),
                    line=int(match["line"]) if match["line"] else None,
                    column=int(match["column"]) if match["column"] else None,
                    message=match["message"],
                    severity=match["severity"],
                )
            )
    return reported


def parse_json(output: str, root: Path) -> list[Reported]:
    payload = json.loads(output)
    assert payload["ok"] is False
    return [
        Reported(
            file=relative(p["source"], root),
            line=p["line"],
            column=p["column"],
            message=p["message"],
            severity=p["severity"],
            hint=p["hint"],
        )
        for p in payload["problems"]
    ]


def matches(expected: dict[str, Any], got: Reported) -> bool:
    return (
        got.severity == "error"
        and got.file == expected["file"]
        and got.line == expected["line"]
        and ("column" not in expected or got.column == expected["column"])
        and expected["message"] in got.message
        and ("hint" not in expected or expected["hint"] in (got.hint or ""))
    )


def assert_problems(expected: list[dict[str, Any]], reported: list[Reported], how: str) -> None:
    listing = "\n".join(f"  {r}" for r in reported) or "  (nothing)"
    for item in expected:
        assert any(matches(item, got) for got in reported), f"{how}: expected {item}, got:\n{listing}"
    errors = [r for r in reported if r.severity == "error"]
    assert len(errors) == len(expected), f"{how}: expected {len(expected)} error(s), got:\n{listing}"


def run_case(case: Path, tmp_path: Path, *extra: str) -> tuple[Path, Any]:
    """Run the case's command in a fresh copy of its folder (validation may create ``.quanta/``)."""
    root = tmp_path / case.name
    shutil.copytree(case, root, ignore=shutil.ignore_patterns("expect.yaml"))
    args = load_expect(case).get("args") or ["validate"]
    return root, run_cli(*args, *extra, cwd=root)


def assert_clean_failure(result: Any) -> None:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert "internal error" not in output, output
    assert result.returncode == 1, output


@pytest.mark.parametrize("case", case_params())
def test_invalid_case_is_rejected_with_positions(case: Path, tmp_path: Path) -> None:
    expected = load_expect(case)["problems"]

    root, result = run_case(case, tmp_path / "text")
    assert_clean_failure(result)
    text = parse_text(result.stderr + result.stdout, root)
    assert_problems(expected, text, "text output")

    root, result = run_case(case, tmp_path / "json", "--json")
    assert_clean_failure(result)
    as_json = parse_json(result.stdout, root)
    assert_problems(expected, as_json, "--json output")
    assert sorted(map(str, (r.position for r in as_json))) == sorted(map(str, (r.position for r in text)))


def test_corpus_has_enough_cases() -> None:
    assert len(case_folders()) >= MIN_CASES


@pytest.mark.parametrize("case", case_folders(), ids=lambda p: p.name)
def test_expect_file_is_well_formed(case: Path) -> None:
    expect = load_expect(case)
    assert set(expect) <= EXPECT_KEYS, set(expect) - EXPECT_KEYS
    assert expect.get("description"), "say what the case is about"
    assert expect["problems"], "list at least one expected problem"
    for problem in expect["problems"]:
        assert set(problem) <= PROBLEM_KEYS, set(problem) - PROBLEM_KEYS
        assert {"file", "line", "message"} <= set(problem), problem
    assert all(isinstance(arg, str) for arg in expect.get("args") or [])
