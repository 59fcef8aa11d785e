"""``quanta init``: a new workspace, optionally with the demo mesh copied from package data."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from quanta.errors import WorkspaceError
from quanta.workspace import WORKSPACE_FILE

DEMO = "demo"


def create_workspace(directory: Path, *, demo: bool = False, name: str | None = None) -> list[Path]:
    """Write ``quanta.yaml`` (and the demo mesh); refuses to overwrite an existing workspace."""
    target = directory / WORKSPACE_FILE
    if target.exists():
        raise WorkspaceError(
            f"{target} already exists", hint="choose another folder, or remove quanta.yaml to start over"
        )
    if directory.exists() and not directory.is_dir():
        raise WorkspaceError(f"{directory} exists and is not a folder")
    directory.mkdir(parents=True, exist_ok=True)
    workspace_name = name or directory.resolve().name
    target.write_text(
        "# Quanta workspace. Products live in domains/<domain>/<product>/product.yaml\n"
        f"name: {workspace_name}\n",
        encoding="utf-8",
    )
    written = [target]
    (directory / "domains").mkdir(exist_ok=True)
    if demo:
        written += _copy_tree(resources.files("quanta.blueprints") / DEMO / "domains", directory / "domains")
        governance = directory / "governance.yaml"
        governance.write_text(
            (resources.files("quanta.blueprints") / DEMO / "governance.yaml").read_text("utf-8")
        )
        written.append(governance)
    return written


def _copy_tree(source: Traversable, destination: Path) -> list[Path]:
    written = []
    destination.mkdir(parents=True, exist_ok=True)
    for entry in sorted(source.iterdir(), key=lambda e: e.name):
        target = destination / entry.name
        if entry.is_dir():
            written += _copy_tree(entry, target)
        elif not entry.name.endswith((".pyc",)) and entry.name != "__init__.py":
            target.write_bytes(entry.read_bytes())
            written.append(target)
    return written
