"""Suggested rules written into a contract's YAML text, keeping everything else as the producer wrote it
(order, comments, quoting): each rule becomes lines inserted at the end of its property, under its
``logicalTypeOptions`` or ``quality`` when the property has them, or replaces a ``required: false``.

The positions come from :mod:`quanta.spec.yamlsource` (every key's line and column); values are written
as JSON, which YAML reads as it is.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quanta.blueprints.suggest import Suggestion
    from quanta.spec.yamlsource import Document, JsonPath


def with_suggestions(doc: Document, obj_index: int, suggestions: Sequence[Suggestion]) -> str:
    """The text of ``doc`` with ``suggestions`` for the properties of schema object ``obj_index``."""
    lines = doc.text.splitlines(keepends=True)
    properties = doc.data["schema"][obj_index].get("properties") or []
    index = {str(p.get("physicalName") or p.get("name")): i for i, p in enumerate(properties)}
    inserts: dict[int, list[str]] = {}  # after which line (0-based) go which new lines
    for column in dict.fromkeys(s.column for s in suggestions):
        path: JsonPath = ("schema", obj_index, "properties", index[column])
        mine = [s for s in suggestions if s.column == column]
        for after, new in _property_edits(doc, lines, path, properties[index[column]], mine):
            inserts.setdefault(after, []).extend(new)
    out: list[str] = []
    for number, line in enumerate(lines):
        out.append(line if line.endswith("\n") else line + "\n")
        out += inserts.get(number, [])
    return "".join(out)


def unified_diff(before: str, after: str, path: str) -> str:
    """The change as ``diff -u`` shows it (a/ and b/ prefixes, like git)."""
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{path}",
            tofile=f"b/{path}",
        )
    )


def _property_edits(
    doc: Document,
    lines: list[str],
    path: JsonPath,
    prop: dict[str, object],
    suggestions: list[Suggestion],
) -> list[tuple[int, list[str]]]:
    """(line after which, lines) for the suggestions of one property; a ``required: false`` line is
    rewritten in place."""
    indent = " " * (doc.positions[(*path, "name")][1] - 1)
    edits: list[tuple[int, list[str]]] = []
    own: list[str] = []
    options: list[str] = []
    quality: list[str] = []
    for s in suggestions:
        key = s.key[0]
        if key in ("required", "unique") and (*path, key) in doc.positions:
            number = doc.positions[(*path, key)][0] - 1
            lines[number] = f"{indent}{key}: {json.dumps(s.value)}  # {s.evidence}\n"
        elif key == "logicalTypeOptions":
            options.append(f"{s.key[1]}: {json.dumps(s.value)}  # {s.evidence}")
        elif key == "quality":
            quality += _quality_item(s)
        else:
            own.append(f"{key}: {json.dumps(s.value)}  # {s.evidence}")
    end = _block_end(doc, lines, path)
    if options and isinstance(prop.get("logicalTypeOptions"), dict) and prop["logicalTypeOptions"]:
        edits.append(_under(doc, lines, (*path, "logicalTypeOptions"), options, list_item=False))
    elif options:
        own += ["logicalTypeOptions:", *(f"  {line}" for line in options)]
    if quality and isinstance(prop.get("quality"), list) and prop["quality"]:
        edits.append(_under(doc, lines, (*path, "quality"), quality, list_item=True))
    elif quality:
        own += ["quality:", *(f"  {line}" for line in quality)]
    edits.append((end, [f"{indent}{line}\n" for line in own]))
    return edits


def _quality_item(s: Suggestion) -> list[str]:
    rule = s.value
    assert isinstance(rule, dict)
    out = [f"- metric: {rule['metric']}  # {s.evidence}", "  arguments:"]
    out += [f"    {k}: {json.dumps(v)}" for k, v in rule["arguments"].items()]
    out += [f"  {k}: {json.dumps(v)}" for k, v in rule.items() if k not in ("metric", "arguments")]
    return out


def _under(
    doc: Document, lines: list[str], path: JsonPath, new: list[str], *, list_item: bool
) -> tuple[int, list[str]]:
    """New lines at the end of the mapping or list at ``path``, indented like its first entry."""
    column = doc.positions[(*path, 0)][1] if list_item else _first_child_column(doc, path)
    pad = " " * (column - 1 - (2 if list_item else 0))  # a list item's position is after its "- "
    return _block_end(doc, lines, path), [f"{pad}{line}\n" for line in new]


def _first_child_column(doc: Document, path: JsonPath) -> int:
    children = [pos for p, pos in doc.positions.items() if len(p) == len(path) + 1 and p[:-1] == path]
    return min(children)[1]


def _block_end(doc: Document, lines: list[str], path: JsonPath) -> int:
    """The last line (0-based) of the node at ``path``: its last key or value, then the lines indented
    deeper than its keys (a multi-line value) and, for a list item, comments at its keys' depth."""
    last = max(pos[0] for p, pos in doc.positions.items() if p[: len(path)] == path) - 1
    base = doc.positions[path][1] - 1
    item = isinstance(path[-1], int)
    while last + 1 < len(lines):
        following = lines[last + 1]
        depth = len(following) - len(following.lstrip(" "))
        comment = following.lstrip(" ").startswith("#")
        if not following.strip() or not (depth > base or (item and comment and depth >= base)):
            break
        last += 1
    return last


def with_versions_bumped(doc: Document, paths: Sequence[JsonPath], level: str) -> str:
    """The text of ``doc`` with the semantic version at each of ``paths`` raised a ``level`` step
    (major, minor or patch): a registered version's content never changes."""
    import semver

    lines = doc.text.splitlines(keepends=True)
    for path in paths:
        if path not in doc.values:
            continue
        old = str(_at(doc.data, path))
        if not semver.Version.is_valid(old):
            continue
        number, column, _style = doc.values[path]
        line = lines[number - 1]
        start = line.index(old, column - 1)
        lines[number - 1] = (
            line[:start] + str(semver.Version.parse(old).next_version(level)) + line[start + len(old) :]
        )
    return "".join(lines)


def _at(data: object, path: JsonPath) -> object:
    for part in path:
        data = data[part]  # type: ignore[index]
    return data
