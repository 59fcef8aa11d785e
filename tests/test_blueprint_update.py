"""Community blueprints (issue 16, part 3): a blueprint in a local git repository, versioned by tags; a
product made from v1 is updated to v2 keeping its local edits, and a conflicting edit is reported as
file:line with nothing lost."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import run_cli

COPIER = """\
_subdirectory: template
_answers_file: .copier-answers.yml
_message_before_copy: A product over a CSV drop, the team's way
domain: {type: str, default: team}
name: {type: str, default: things}
"""
PRODUCT = """\
apiVersion: v1.0.0
kind: DataProduct
id: {{ domain }}.{{ name }}
name: {{ name }}
version: 0.1.0
domain: {{ domain }}
status: draft
type: source-aligned
team: {name: {{ domain }}, members: [{username: local-admin, role: owner}]}
inputPorts:
  - name: raw
    source: {type: file, path: domains/{{ domain }}/{{ name }}/rows.csv}
outputPorts:
  - {name: {{ name }}, type: table, version: 0.1.0, contract: {{ name }}.odcs.yaml}
build:
  transform: {sql: transform.sql}
"""
CONTRACT = """\
apiVersion: v3.1.0
kind: DataContract
id: {{ domain }}.{{ name }}.{{ name }}
name: {{ name }}
version: 0.1.0
status: draft
schema:
  - name: {{ name }}
    properties:
      - name: id
        logicalType: integer
        required: true
      - name: label
        logicalType: string
    quality:
      - metric: rowCount
        mustBeGreaterThan: 0
"""
NEW_RULE = """\
      - metric: nullValues
        arguments: {properties: [label]}
        mustBe: 0
"""
CI = """\
name: quanta ci
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: pip install quanta
      - run: quanta ci --output junit
"""


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _blueprint_v1(folder: Path) -> Path:
    template = folder / "template"
    (template / ".github/workflows").mkdir(parents=True)
    (folder / "copier.yml").write_text(COPIER)
    (template / "product.yaml.jinja").write_text(PRODUCT)
    (template / "{{ name }}.odcs.yaml.jinja").write_text(CONTRACT)
    (template / "transform.sql").write_text("select id, label\nfrom raw\n")
    (template / "rows.csv").write_text("id,label\n1,a\n2,b\n")
    (template / ".github/workflows/ci.yml").write_text(CI)
    (template / "{{ _copier_conf.answers_file }}.jinja").write_text("{{ _copier_answers | to_nice_yaml }}")
    git(folder, "init", "-q", "-b", "main")
    git(folder, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    git(folder, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "v1")
    git(folder, "tag", "v1.0.0")
    return folder


def _release_v2(folder: Path) -> None:
    ci = folder / "template/.github/workflows/ci.yml"
    ci.write_text(CI.replace("pip install quanta", "pip install 'quanta>=0.2'"))
    contract = folder / "template/{{ name }}.odcs.yaml.jinja"
    contract.write_text(contract.read_text() + NEW_RULE)
    git(folder, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "v2")
    git(folder, "tag", "v2.0.0")


def _commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message)


def test_update_keeps_edits_brings_changes_and_reports_conflicts(tmp_path: Path) -> None:
    blueprint = _blueprint_v1(tmp_path / "team-blueprint")
    assert run_cli("init", "ws", cwd=tmp_path).returncode == 0
    root = tmp_path / "ws"
    git(root, "init", "-q", "-b", "main")
    added = run_cli("blueprint", "add", "team", str(blueprint), cwd=root)
    assert added.returncode == 0 and "v1.0.0" in added.stdout, added.stderr
    assert "team" in run_cli("blueprint", "ls", cwd=root).stdout
    for name in ("kept", "clash"):
        made = run_cli("new", "team", "--domain", "shop", "--name", name, cwd=root)
        assert made.returncode == 0, made.stderr
        assert "blueprint team@v1.0.0" in made.stdout
    kept, clash = root / "domains/shop/kept", root / "domains/shop/clash"
    assert "_commit: v1.0.0" in (kept / ".copier-answers.yml").read_text()
    (kept / "transform.sql").write_text("-- our own filter\nselect id, label\nfrom raw\nwhere id > 0\n")
    clash_ci = clash / ".github/workflows/ci.yml"
    clash_ci.write_text(CI.replace("pip install quanta", "pip install quanta==0.1.5"))
    _commit_all(root, "products and local edits")
    _release_v2(blueprint)

    updated = run_cli("blueprint", "update", cwd=root)
    assert updated.returncode == 1, updated.stdout + updated.stderr
    # the edit is kept, the CI change and the new quality rule arrive
    assert "where id > 0" in (kept / "transform.sql").read_text()
    assert "quanta>=0.2" in (kept / ".github/workflows/ci.yml").read_text()
    assert "metric: nullValues" in (kept / "kept.odcs.yaml").read_text()
    assert "_commit: v2.0.0" in (kept / ".copier-answers.yml").read_text()
    assert "value: team@v2.0.0" in (kept / "product.yaml").read_text()  # what made it, for the registry
    # the conflicting edit: reported as file:line, both sides kept
    text = clash_ci.read_text()
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith("<<<<<<<"))
    assert f"domains/shop/clash/.github/workflows/ci.yml:{line}" in updated.stderr
    assert "quanta==0.1.5" in text and "quanta>=0.2" in text
    assert "metric: nullValues" in (clash / "clash.odcs.yaml").read_text()
    assert run_cli("validate", "domains/shop/kept", cwd=root).returncode == 0


def test_update_refuses_uncommitted_work_and_names_the_fix(tmp_path: Path) -> None:
    blueprint = _blueprint_v1(tmp_path / "team-blueprint")
    assert run_cli("init", "ws", cwd=tmp_path).returncode == 0
    root = tmp_path / "ws"
    git(root, "init", "-q", "-b", "main")
    assert run_cli("blueprint", "add", "team", str(blueprint), cwd=root).returncode == 0
    assert run_cli("new", "team", "--domain", "shop", "--name", "things", cwd=root).returncode == 0
    _release_v2(blueprint)
    refused = run_cli("blueprint", "update", "shop.things", cwd=root)
    assert refused.returncode == 1 and "commit" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    assert "_commit: v1.0.0" in (root / "domains/shop/things/.copier-answers.yml").read_text()
