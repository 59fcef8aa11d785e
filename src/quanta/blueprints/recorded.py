"""Which blueprint@version made a product, recorded where every reader of the registry sees it: the
descriptor's ``customProperties`` (``{property: blueprint, value: files@0.9.0}``), written by ``quanta
new`` and raised by ``quanta blueprint update``. Shipped blueprints are versioned with Quanta."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

PROPERTY = "blueprint"
DESCRIPTOR = "product.yaml"
_TOP_KEY = re.compile(r"^customProperties:\s*(#.*)?$")


def shipped_version() -> str:
    from quanta import __version__

    return __version__


def record(folder: Path, name: str, version: str | None) -> None:
    """Write (or replace) the ``blueprint`` custom property of ``folder``'s descriptor; a descriptor
    that is not there or not a mapping is left alone (validation reports it)."""
    path = folder / DESCRIPTOR
    if not path.is_file():
        return
    text = path.read_text(encoding="utf-8")
    value = f"{name}@{version}" if version else name
    current = recorded(text)
    if current is not None:
        path.write_text(text.replace(f"value: {current}", f"value: {value}", 1), encoding="utf-8")
        return
    item = f"  - property: {PROPERTY}\n    value: {value}\n"
    lines = text.splitlines(keepends=True)
    at = next((i for i, line in enumerate(lines) if _TOP_KEY.match(line)), None)
    if at is None:
        ending = "" if text.endswith("\n") or not text else "\n"
        path.write_text(f"{text}{ending}customProperties:\n{item}", encoding="utf-8")
        return
    lines.insert(at + 1, item)
    path.write_text("".join(lines), encoding="utf-8")


def recorded(text: str) -> str | None:
    """The ``blueprint`` custom property of a descriptor's text, if it has one."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    props = data.get("customProperties") if isinstance(data, dict) else None
    for prop in props if isinstance(props, list) else []:
        if isinstance(prop, dict) and prop.get("property") == PROPERTY and prop.get("value"):
            return str(prop["value"])
    return None
