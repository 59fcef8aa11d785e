"""The official examples validate, import, export and re-validate; a round trip loses nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quanta.errors import FormatError
from quanta.mesh import Mesh
from quanta.spec.formats import importer
from quanta.spec.standards import load_schema, schema_for
from quanta.spec.yamlsource import load_file, parse_yaml
from tests.conftest import EXAMPLES, run_cli

ODCS = sorted((EXAMPLES / "odcs").glob("*.yaml"))
ODPS = sorted((EXAMPLES / "odps").glob("*.yaml"))


def _same(a: object, b: object) -> bool:
    """Equal including number types (1000000 is not 1000000.0) and key content."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _schema_errors(data: dict, kind: str) -> list[str]:
    from jsonschema import Draft201909Validator

    schema_file, _ = schema_for(kind, data["apiVersion"])
    assert schema_file is not None
    return [e.message for e in Draft201909Validator(load_schema(schema_file)).iter_errors(data)]


def test_examples_are_present() -> None:
    assert len(ODCS) >= 7 and len(ODPS) >= 1


@pytest.mark.parametrize("path", ODCS, ids=lambda p: p.name)
def test_odcs_round_trip_preserves_every_field(path: Path) -> None:
    original = load_file(path).data
    imported = parse_yaml(importer("odcs").import_text(path.read_text(), str(path))).data
    exported = parse_yaml(Mesh(None).export("odcs", str(path))).data
    assert _same(imported, original)
    assert _same(exported, original)
    assert _schema_errors(exported, "odcs") == []


@pytest.mark.parametrize("path", ODPS, ids=lambda p: p.name)
def test_odps_round_trip_preserves_every_field(path: Path) -> None:
    original = load_file(path).data
    imported = parse_yaml(importer("odps").import_text(path.read_text(), str(path))).data
    exported = parse_yaml(Mesh(None).export("odps", str(path))).data
    assert _same(imported, original)
    assert _same(exported, original)
    assert _schema_errors(exported, "odps") == []


@pytest.mark.parametrize("path", ODCS, ids=lambda p: p.name)
def test_odcs_examples_downgrade_to_3_1_or_say_why(path: Path) -> None:
    try:
        text = Mesh(None).export("odcs", str(path), api_version="v3.1.0")
    except FormatError as exc:
        assert "added in v3.2.0" in exc.message
        return
    data = parse_yaml(text).data
    assert data["apiVersion"] == "v3.1.0"
    assert _schema_errors(data, "odcs") == []


def test_cli_export_writes_a_valid_file(tmp_path: Path) -> None:
    source = EXAMPLES / "odcs" / "all-full-example.odcs.yaml"
    out = tmp_path / "out.yaml"
    result = run_cli("export", "odcs", str(source), "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert parse_yaml(out.read_text()).data == load_file(source).data
    again = run_cli("validate", str(out), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "1 file valid" in again.stdout


def test_cli_validate_examples_outside_a_workspace(tmp_path: Path) -> None:
    files = [str(p) for p in [*ODCS, *ODPS]]
    result = run_cli("validate", *files, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["files"] == len(files)
