"""``quanta blueprint update``: bring products made from a blueprint up to its newest version.

Copier replays the product's recorded answers on the old and the new version and merges the difference
into the product (a three-way merge): local edits stay, and where an edit and the blueprint change the
same lines both are kept between conflict markers, reported here as file:line. Copier needs the
workspace in git with the product's files committed, so the merge has a base to come back to.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

from quanta.blueprints.catalog import BlueprintError, git, tags
from quanta.blueprints.recorded import DESCRIPTOR, record, recorded
from quanta.blueprints.render import read_answers

CONFLICT_MARK = "<<<<<<< "


@dataclass(frozen=True)
class Updated:
    """One product's update: versions before and after, files changed, conflicts as file:line."""

    folder: Path
    source: str
    before: str | None
    after: str | None
    changed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    @property
    def current(self) -> bool:
        return self.before == self.after and not self.changed


def update_products(root: Path, folders: list[Path]) -> list[Updated]:
    """Update each product folder to its blueprint's newest version tag."""
    return [update_product(root, folder) for folder in folders]


def update_product(root: Path, folder: Path) -> Updated:
    from copier import run_update

    answers = read_answers(folder)
    source = str(answers.get("_src_path", ""))
    before = str(answers["_commit"]) if answers.get("_commit") else None
    versions = tags(source) if source else []
    if not versions:
        return Updated(folder, source, before, before)
    if versions[-1] == before:
        return Updated(folder, source, before, before)
    snapshot = _texts(folder)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run_update(
                folder,
                defaults=True,
                overwrite=True,
                skip_answered=True,
                conflict="inline",
                quiet=True,
                vcs_ref=versions[-1],
                unsafe=False,
            )
    except Exception as exc:  # Copier refuses: not in git, uncommitted changes, a broken template
        reason = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise BlueprintError(
            f"{_shown(root, folder)}: cannot update from {source}: {reason}",
            hint="commit the workspace's changes first (Copier merges against the last commit)",
        ) from exc
    made_by = (
        recorded((folder / DESCRIPTOR).read_text(encoding="utf-8"))
        if (folder / DESCRIPTOR).is_file()
        else None
    )
    if made_by is not None:  # the descriptor says which version made it now
        record(folder, made_by.partition("@")[0], versions[-1])
    after_texts = _texts(folder)
    changed = sorted(name for name in after_texts if after_texts[name] != snapshot.get(name))
    conflicts = [
        f"{_shown(root, folder / name)}:{number}"
        for name in changed
        for number, line in enumerate(after_texts[name].splitlines(), 1)
        if line.startswith(CONFLICT_MARK)
    ]
    if conflicts:
        # Copier leaves the conflicting files unmerged in git's index, where they would stop the next
        # product's merge; the markers stay in the files (nothing lost) and are reported as file:line.
        git("reset", "--quiet", "--", str(folder), what=f"clear the merge state of {folder}", cwd=folder)
    return Updated(folder, source, before, versions[-1], changed, conflicts)


def _texts(folder: Path) -> dict[str, str]:
    found = {}
    for path in folder.rglob("*"):
        if path.is_file():
            try:
                found[str(path.relative_to(folder))] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                found[str(path.relative_to(folder))] = path.read_bytes().hex()
    return found


def _shown(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
