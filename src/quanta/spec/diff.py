"""Field-level differences between two versions of a document (shown by ``quanta apply``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Change:
    """One changed field: ``added``, ``removed`` or ``changed``, at a dotted path."""

    kind: str
    path: str
    old: Any = None
    new: Any = None

    def __str__(self) -> str:
        if self.kind == "added":
            return f"+ {self.path}: {_short(self.new)}"
        if self.kind == "removed":
            return f"- {self.path}: {_short(self.old)}"
        return f"~ {self.path}: {_short(self.old)} ► {_short(self.new)}"


def diff(old: Any, new: Any, path: str = "") -> list[Change]:
    """Every difference between ``old`` and ``new``; list items with a ``name`` are matched by name."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[Change] = []
        for key in [*old, *(k for k in new if k not in old)]:
            here = f"{path}.{key}" if path else str(key)
            if key not in new:
                changes.append(Change("removed", here, old=old[key]))
            elif key not in old:
                changes.append(Change("added", here, new=new[key]))
            else:
                changes += diff(old[key], new[key], here)
        return changes
    if isinstance(old, list) and isinstance(new, list) and _named(old) and _named(new):
        return diff({i["name"]: i for i in old}, {i["name"]: i for i in new}, path)
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [c for i, (a, b) in enumerate(zip(old, new, strict=True)) for c in diff(a, b, f"{path}[{i}]")]
    return [] if old == new else [Change("changed", path, old, new)]


def _named(items: list[Any]) -> bool:
    names = [i.get("name") for i in items if isinstance(i, dict)]
    return (
        len(names) == len(items) and all(isinstance(n, str) for n in names) and len(set(names)) == len(names)
    )


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value) if not isinstance(value, str) else value
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
