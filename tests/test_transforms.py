"""Python transforms: inputs as DuckDB relations, any table-like result, errors positioned in user code."""

from __future__ import annotations

from pathlib import Path

import pytest

from quanta.mesh import Mesh

PRODUCT = """\
apiVersion: v1.0.0
kind: DataProduct
id: ops.summary
version: 1.0.0
type: aggregate
owner: olga
inputPorts:
  - name: events
    source: {type: file, path: data/events.csv}
outputPorts:
  - name: summary
    contract: summary.odcs.yaml
build:
  transform:
    python: transform.py:build
"""

CONTRACT = """\
apiVersion: v3.2.0
kind: DataContract
id: ops.summary
version: 1.0.0
status: active
schema:
  - name: summary
    properties:
      - {name: kind, logicalType: string, required: true, unique: true}
      - {name: n, logicalType: integer, required: true}
"""


def workspace(tmp_path: Path, code: str) -> Mesh:
    root = tmp_path / "ws"
    Mesh.init(root)
    folder = root / "domains" / "ops" / "summary"
    folder.mkdir(parents=True)
    (folder / "product.yaml").write_text(PRODUCT)
    (folder / "summary.odcs.yaml").write_text(CONTRACT)
    (folder / "transform.py").write_text(code)
    (root / "data").mkdir()
    (root / "data" / "events.csv").write_text("id,kind\n1,login\n2,logout\n3,login\n")
    return Mesh.open(root)


@pytest.mark.parametrize(
    "code",
    [
        "def build(events):\n    return events.aggregate('kind, count(*) as n', 'kind')\n",
        (
            "def build(inputs):\n"
            "    return inputs['events'].aggregate('kind, count(*) as n', 'kind').to_arrow_table()\n"
        ),
        "def build(events):\n    return events.aggregate('kind, count(*) as n', 'kind').df()\n",
    ],
    ids=["relation", "arrow-from-dict", "pandas"],
)
def test_python_transform_results_are_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    if "df()" in code:
        pytest.importorskip("pandas")
    mesh = workspace(tmp_path, code)
    monkeypatch.chdir(mesh.workspace.root)  # type: ignore[union-attr]
    (result,) = mesh.build()
    assert result.status == "published", result.error
    rows = mesh.query("select kind, n from ops.summary order by kind").to_pylist()
    assert rows == [{"kind": "login", "n": 2}, {"kind": "logout", "n": 1}]


def test_python_transform_errors_name_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mesh = workspace(tmp_path, "def build(events):\n    return events.missing_method()\n")
    monkeypatch.chdir(mesh.workspace.root)  # type: ignore[union-attr]
    (result,) = mesh.build()
    assert result.status == "failed"
    assert "Python transform transform.py:build failed" in (result.error or "")
    assert "transform.py" in (result.hint or "")
