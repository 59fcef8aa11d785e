"""The code stays readable: no module over 500 lines, no function over 60 (issue 13's limits), and the
facade's public signatures name their types (no ``Any``). Run with ``-s`` to see the distribution."""

from __future__ import annotations

import ast
import statistics
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "quanta"
MODULE_LINES, FUNCTION_LINES = 500, 60


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _functions(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (
            f"{path.relative_to(SRC)}:{node.lineno} {node.name}",
            (node.end_lineno or node.lineno) - node.lineno + 1,
        )
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def _p90(values: list[int]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def test_no_module_is_over_500_lines() -> None:
    lines = {str(p.relative_to(SRC)): len(p.read_text(encoding="utf-8").splitlines()) for p in _modules()}
    values = sorted(lines.values())
    median, p90 = statistics.median(values), _p90(values)
    print(f"modules: {len(values)}, lines median {median}, p90 {p90:.0f}, max {values[-1]}")
    assert not {m: n for m, n in lines.items() if n > MODULE_LINES}


def test_no_function_is_over_60_lines() -> None:
    found = [f for p in _modules() for f in _functions(p)]
    values = sorted(n for _, n in found)
    print(f"functions: {len(values)}, lines p90 {_p90(values):.0f}, max {values[-1]}")
    assert not [(name, n) for name, n in found if n > FUNCTION_LINES]


def test_the_facade_names_its_types() -> None:
    """No ``Any`` in the public signatures of ``Mesh`` and its areas (mypy's disallow_any_explicit holds
    the whole package to it; this says it where a reader looks)."""
    import inspect

    from quanta.mesh import Mesh

    found = []
    for name, member in inspect.getmembers(Mesh):
        if name.startswith("_"):
            continue
        target = getattr(member, "fget", None) or member
        func = getattr(target, "__wrapped__", target)
        annotations = getattr(func, "__annotations__", {})
        found += [f"{name}: {a}" for a in annotations.values() if "Any" in str(a)]
    assert not found
