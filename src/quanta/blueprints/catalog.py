"""Which blueprints a workspace can use: the ones shipped with Quanta and the community's, listed in the
workspace's ``blueprints.yaml`` (a name, a git URL or folder; versions are the repository's tags)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from quanta.errors import QuantaError

SOURCES_FILE = "blueprints.yaml"
DEFAULT = "files"
_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
_VERSION_TAG = re.compile(r"^v?\d+(\.\d+)*$")


class BlueprintError(QuantaError):
    """A blueprint that cannot be found, read or rendered, or answers it refuses."""


@dataclass(frozen=True)
class Question:
    """One question of a blueprint's questionnaire (``copier.yml``)."""

    name: str
    help: str
    default: str
    choices: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Blueprint:
    """A Copier template a product can be made from; ``preset`` answers are fixed by the blueprint."""

    name: str
    source: str
    description: str
    shipped: bool
    preset: dict[str, str] = field(default_factory=dict)
    versions: list[str] = field(default_factory=list)

    @property
    def version(self) -> str | None:
        """The newest version tag (what ``quanta new`` renders), None for an untagged folder."""
        return self.versions[-1] if self.versions else None

    def questions(self) -> list[Question]:
        """The questions the blueprint asks (its preset answers left out)."""
        config = _read_config(self)
        found = []
        for name, spec in config.items():
            if name.startswith("_") or name in self.preset or not isinstance(spec, dict):
                continue
            if not self._asked(spec.get("when", True)):
                continue
            choices = spec.get("choices") or []
            values = list(choices.values()) if isinstance(choices, dict) else list(choices)
            found.append(Question(name, str(spec.get("help", "")), str(spec.get("default", "")), values))
        return found

    def _asked(self, when: object) -> bool:
        return _when(self, when)


def _when(blueprint: Blueprint, when: object) -> bool:
    """Whether a question is asked given the preset answers (a ``when`` naming others: asked)."""
    if not isinstance(when, str):
        return bool(when)
    from jinja2 import Environment, StrictUndefined, TemplateError

    try:
        rendered = Environment(undefined=StrictUndefined).from_string(when).render(**blueprint.preset)
    except TemplateError:
        return True
    return rendered.strip().lower() not in ("false", "", "0", "none")


def _shipped_template() -> str:
    return str(resources.files("quanta.blueprints") / "shipped" / "product")


SHIPPED_KINDS = {
    "files": "source-aligned product over CSV, Parquet or JSON files, SQL transform",
    "database": "source-aligned product over a database table (SQLite, PostgreSQL), SQL transform",
    "aggregate": "aggregate over other published products, SQL transform",
    "python": "source-aligned product over files, Python transform (DuckDB relations or pandas)",
    "warehouse": "consumer-aligned product over hub and spoke tables of an existing warehouse (SQLite, "
    "PostgreSQL), SQL transform joining them",
}


def shipped() -> list[Blueprint]:
    template = _shipped_template()
    return [
        Blueprint(name, template, text, shipped=True, preset={"kind": name})
        for name, text in SHIPPED_KINDS.items()
    ]


def community(root: Path) -> list[Blueprint]:
    """The blueprints listed in ``root/blueprints.yaml`` (versions are read when one is looked up)."""
    listed = _read_sources(root)
    return [
        Blueprint(name, str(entry.get("source", "")), str(entry.get("description", "")), False)
        for name, entry in listed.items()
    ]


def all_blueprints(root: Path | None) -> list[Blueprint]:
    return [*shipped(), *(community(root) if root is not None else [])]


def find(root: Path | None, name: str) -> Blueprint:
    """The blueprint called ``name``, with its version tags; a BlueprintError listing the known ones."""
    for blueprint in all_blueprints(root):
        if blueprint.name == name:
            if blueprint.shipped:
                return blueprint
            return Blueprint(
                blueprint.name,
                blueprint.source,
                blueprint.description,
                False,
                versions=tags(blueprint.source),
            )
    known = ", ".join(b.name for b in all_blueprints(root))
    raise BlueprintError(
        f"no blueprint called {name!r}",
        hint=f"known blueprints: {known}; add one with 'quanta blueprint add NAME GIT_URL|PATH'",
    )


def add(root: Path, name: str, source: str, description: str | None = None) -> Blueprint:
    """List a community blueprint in ``blueprints.yaml`` after checking it is a Copier template."""
    if not _NAME.match(name):
        raise BlueprintError(
            f"{name!r} is not a blueprint name", hint="use lowercase letters, digits, - and _"
        )
    if name in SHIPPED_KINDS:
        raise BlueprintError(f"{name!r} is a shipped blueprint", hint="choose another name")
    local = Path(source).expanduser()
    if local.exists():
        source = str(local.resolve())
    versions = tags(source)
    blueprint = Blueprint(name, source, description or "", False, versions=versions)
    config = _read_config(blueprint)
    text = description or str(config.get("_message_before_copy") or "").strip() or f"blueprint from {source}"
    listed = _read_sources(root)
    listed[name] = {"source": source, "description": text}
    path = root / SOURCES_FILE
    header = "# Community blueprints: quanta blueprint add NAME GIT_URL|PATH (versions are git tags)\n"
    path.write_text(header + yaml.safe_dump({"blueprints": listed}, sort_keys=True), encoding="utf-8")
    return Blueprint(name, source, text, False, versions=versions)


def tags(source: str) -> list[str]:
    """The version tags of a git repository (oldest first); [] for a plain folder."""
    if Path(source).is_dir() and not (Path(source) / ".git").exists():
        return []
    done = git("ls-remote", "--tags", "--refs", source, what=f"list the tags of {source}")
    names = [line.rsplit("refs/tags/", 1)[-1] for line in done.splitlines() if "refs/tags/" in line]
    return sorted((n for n in names if _VERSION_TAG.match(n)), key=_version_key)


def _version_key(tag: str) -> tuple[int, ...]:
    return tuple(int(part) for part in tag.lstrip("v").split("."))


def git(*args: str, what: str, cwd: Path | None = None) -> str:
    """Run git; a BlueprintError saying what could not be done when it fails."""
    try:
        done = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=60, check=False, cwd=cwd
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BlueprintError(
            f"cannot {what}: {exc}", hint="is git installed and the source reachable?"
        ) from exc
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["git failed"]
        message = next((x for x in lines if x.startswith(("fatal:", "error:"))), lines[-1])
        raise BlueprintError(
            f"cannot {what}: {message}", hint="check the URL or path, and that it is a git repository"
        )
    return done.stdout


def _read_sources(root: Path) -> dict[str, dict[str, str]]:
    path = root / SOURCES_FILE
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise BlueprintError(f"{path}: not valid YAML: {exc}", hint="fix or remove the file") from exc
    listed = data.get("blueprints") if isinstance(data, dict) else None
    if not isinstance(listed, dict):
        raise BlueprintError(
            f"{path}: expected a 'blueprints:' mapping of name to source", hint="fix the file"
        )
    return {str(k): dict(v) for k, v in listed.items() if isinstance(v, dict)}


def _read_config(blueprint: Blueprint) -> dict[str, object]:
    """The blueprint's ``copier.yml``: from the folder, or from its newest tag's tree."""
    source = Path(blueprint.source)
    if source.is_dir() and not blueprint.versions:
        text = _config_text(source)
    else:
        ref = blueprint.version or "HEAD"
        import tempfile

        with tempfile.TemporaryDirectory(prefix="quanta-blueprint-") as tmp:
            branch = ["--branch", ref] if blueprint.version else []
            args = ["clone", "--quiet", "--depth", "1", *branch, blueprint.source, tmp]
            git(*args, what=f"read {blueprint.source} at {ref}")
            text = _config_text(Path(tmp))
    try:
        config = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise BlueprintError(f"{blueprint.source}: copier.yml is not valid YAML: {exc}") from exc
    return dict(config) if isinstance(config, dict) else {}


def _config_text(folder: Path) -> str:
    for name in ("copier.yml", "copier.yaml"):
        if (folder / name).is_file():
            return (folder / name).read_text(encoding="utf-8")
    raise BlueprintError(
        f"{folder} is not a Copier template (no copier.yml)",
        hint="a blueprint is a folder or git repository with copier.yml at its root (docs/blueprints.md)",
    )
