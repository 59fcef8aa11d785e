"""Breaking-change classification: what a new contract version means for the consumers of the old one.

Every difference between two contracts becomes a :class:`ContractChange` with a severity seen from
the consumer's side: ``breaking`` (previously valid consumer code or published data may now be wrong;
needs a major version), ``non-breaking`` (an addition or a stronger promise; minor) or ``info``
(documentation only; patch). :data:`RULES` is the whole rule table.

The rule table is kept in :mod:`.change_rules`, the walk over both contracts in :mod:`.walk`, and the
type, bound and service-level comparisons in :mod:`.compat`; this module is the public face of all three.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from quanta.contracts.change_rules import RULES, ContractChange, Severity
from quanta.contracts.compat import physical_change, sla_change
from quanta.contracts.walk import CLASSIFICATION_LEVELS, SENSITIVE_TAGS, ContractWalk
from quanta.errors import QuantaError
from quanta.spec.contract import Contract
from quanta.spec.loader import LoadedContract
from quanta.spec.yamlsource import JsonPath

__all__ = [
    "CLASSIFICATION_LEVELS",
    "RULES",
    "SENSITIVE_TAGS",
    "ContractChange",
    "Severity",
    "classify",
    "locate",
    "physical_change",
    "requires_major",
    "sla_change",
    "suggest_version",
]

_CONTRACT_FIELDS = frozenset({"version", "schema", "slaProperties", "servers", "tags"})


def classify(old: Contract, new: Contract) -> list[ContractChange]:
    """Every change from ``old`` to ``new``: schema objects first, then SLAs, servers and metadata."""
    found = ContractWalk()
    found.objects(old.objects, new.objects)
    found.slas(old.sla_properties or [], new.sla_properties or [])
    found.servers(old, new)
    found.tags(old.tags, new.tags, "tags")
    found.rest(old, new, "", _CONTRACT_FIELDS)
    return found.items


def requires_major(changes: Sequence[ContractChange]) -> bool:
    """Whether publishing these changes needs a new major version."""
    return any(c.severity == "breaking" for c in changes)


def suggest_version(old_version: str, changes: Sequence[ContractChange]) -> str:
    """The next semantic version: major if anything breaks, minor for additions, patch for info only."""
    import semver

    prefix = "v" if old_version.startswith("v") else ""
    try:
        version = semver.Version.parse(old_version.removeprefix("v"))
    except ValueError:
        raise QuantaError(
            f"version {old_version!r} is not a semantic version", hint="use MAJOR.MINOR.PATCH, e.g. 1.0.0"
        ) from None
    severities = {c.severity for c in changes}
    if "breaking" in severities:
        version = version.bump_major()
    elif "non-breaking" in severities:
        version = version.bump_minor()
    elif "info" in severities:
        version = version.bump_patch()
    else:
        return old_version
    return f"{prefix}{version}"


def locate(
    change: ContractChange, old: LoadedContract, new: LoadedContract
) -> tuple[str, int | None, int | None]:
    """(file, line, column) of a change: in the new document, or in the old one for what was removed."""
    new_path, new_complete = _json_path(new.doc.data, change.path)
    old_path, old_complete = _json_path(old.doc.data, change.path)
    doc, path = (old.doc, old_path) if old_complete and not new_complete else (new.doc, new_path)
    return (doc.source, *doc.locate(path))


def _json_path(data: Any, dotted: str) -> tuple[JsonPath, bool]:
    """The document path of a change path (list items found by name), and whether it was found whole."""
    path: list[str | int] = []
    for part in dotted.split("."):
        if isinstance(data, dict) and part in data:
            path.append(part)
            data = data[part]
            continue
        names = ("name", "property", "server", "id", "metric")
        found = isinstance(data, list) and next(
            (
                i
                for i, item in enumerate(data)
                if isinstance(item, dict) and part in [item.get(n) for n in names]
            ),
            None,
        )
        if found is None or found is False:
            return tuple(path), False
        path.append(found)
        data = data[found]
    return tuple(path), True
