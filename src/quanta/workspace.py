"""A workspace: a folder holding ``quanta.yaml`` and the mesh's descriptors under ``domains/``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quanta.errors import Problem, SpecError, WorkspaceError

WORKSPACE_FILE = "quanta.yaml"
PRODUCT_FILE = "product.yaml"
CONTRACT_GLOB = "*.odcs.yaml"
_SKIP = {".quanta", ".venv", ".git", "node_modules", "__pycache__"}


def _readable(path: Path) -> Path:
    """Relative to the current folder when below it, so messages show short clickable paths."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


@dataclass(frozen=True)
class Workspace:
    """Where descriptors live and where the embedded registry and warehouse go (``.quanta/``)."""

    root: Path
    config: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.config.get("name") or self.root.name)

    @property
    def state_dir(self) -> Path:
        return self.root / ".quanta"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.state_dir / 'registry.db'}"

    @classmethod
    def find(cls, start: Path | None = None) -> Workspace:
        """The workspace containing ``start`` (default: the current folder)."""
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / WORKSPACE_FILE).is_file():
                return cls.load(folder)
        raise WorkspaceError(
            f"no {WORKSPACE_FILE} in {here} or any folder above it",
            hint="create a workspace with 'quanta init DIR' (or 'quanta init DIR --demo'), then cd into it",
        )

    @classmethod
    def load(cls, root: Path) -> Workspace:
        from quanta.spec.yamlsource import load_file

        doc = load_file(root / WORKSPACE_FILE)
        if doc.data is None:
            return cls(root, {})
        if not isinstance(doc.data, dict):
            raise SpecError([doc.problem((), "quanta.yaml must be a mapping", "e.g. 'name: my-mesh'")])
        unknown = set(doc.data) - {"name", "description", "defaults"}
        if unknown:
            key = sorted(unknown)[0]
            raise SpecError(
                [doc.problem((key,), f"unknown field {key!r}", "allowed: name, description, defaults")]
            )
        return cls(root, dict(doc.data))

    def descriptor_files(self, paths: list[Path] | None = None) -> list[Path]:
        """Product descriptors and contracts under ``paths`` (default: the whole workspace)."""
        found: list[Path] = []
        for path in paths or [self.root]:
            if not path.exists():
                raise SpecError([Problem("path not found", source=str(path), hint="check the path")])
            if path.is_file():
                found.append(path)
                continue
            for candidate in sorted(path.rglob("*.yaml")):
                if _SKIP.intersection(candidate.relative_to(path).parts):
                    continue
                if candidate.name == PRODUCT_FILE or candidate.match(CONTRACT_GLOB):
                    found.append(_readable(candidate))
        return found

    def relative(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path)
