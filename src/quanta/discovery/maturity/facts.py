"""What the DATSIS scorer judges: a product version's metadata (descriptor and contracts) and what the
platform observed of it (publishes, builds, incidents, grants, what landed), gathered by the facade."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quanta.registry.stores.audit_grants import GrantRecord
    from quanta.spec.contract import Contract, SchemaProperty
    from quanta.spec.product import DataProduct

GLOSSARY_PROPERTIES = {"glossary", "terms", "glossaryterms", "businessterms"}
"""Custom properties that hold glossary terms (as in the search index)."""


@dataclass(frozen=True)
class RunOutcome:
    """How one finished build of the product ended."""

    id: str
    status: str
    """published, skipped, failed or crashed"""
    error: str | None = None
    quarantined: bool = False
    """Its staged data was kept in quarantine (failed checks or refused by policy)."""


@dataclass(frozen=True)
class Observed:
    """What the platform saw of the product, up to the version being scored."""

    published_versions: tuple[str, ...] = ()
    """The version of each publish, oldest first."""
    runs: tuple[RunOutcome, ...] = ()
    """Finished builds, newest first."""
    previous_readable: bool | None = None
    """Whether the previous published version can still be read (None: there is none)."""
    slo_attainment: float | None = None
    """Share of the last 30 days the freshness SLA was met (None: no SLA or no history)."""
    open_incidents: tuple[str, ...] = ()
    grants: tuple[GrantRecord, ...] = ()
    detections: tuple[dict[str, Any], ...] | None = None
    """Sensitive columns found when the data landed (None: it never landed)."""
    indexed: bool | None = None
    """Whether the marketplace search finds the product (None: the index could not be asked)."""
    candidate: bool = False
    """Scored during a build, before publishing: this build's staged data passed its contract."""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Column:
    """One property of an output port's contract, with where it is written (for hints)."""

    port: str
    file: str
    object: str
    object_index: int
    index: int
    prop: SchemaProperty

    @property
    def name(self) -> str:
        return self.prop.name or ""

    def at(self, name: str) -> str:
        """Where to set field ``name`` of this column, e.g. ``orders.odcs.yaml: schema[0].properties[3]
        (status).description``."""
        return f"{self.file}: schema[{self.object_index}].properties[{self.index}] ({self.name}).{name}"


@dataclass(frozen=True)
class Facts:
    """Everything one score is computed from."""

    product: DataProduct
    contracts: dict[str, Contract]
    """output port ► its contract"""
    observed: Observed
    product_file: str = "product.yaml"
    contract_files: dict[str, str] = field(default_factory=dict)
    """output port ► the contract's file, as the author knows it"""

    def contract_file(self, port: str) -> str:
        output = self.product.output(port)
        return self.contract_files.get(port) or (output.contract if output and output.contract else port)

    @cached_property
    def columns(self) -> list[Column]:
        """Every top-level property of every schema object of every output port's contract."""
        return [
            Column(port, self.contract_file(port), obj.name, i, j, prop)
            for port, contract in self.contracts.items()
            for i, obj in enumerate(contract.objects)
            for j, prop in enumerate(obj.properties or [])
        ]

    @cached_property
    def fingerprint(self) -> str:
        """A hash of the metadata (not the observations): exports are validated once per fingerprint."""
        body = {
            "product": self.product.to_dict(),
            "contracts": {p: c.to_dict() for p, c in self.contracts.items()},
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def glossary_terms(element: Any) -> list[str]:
    """Glossary terms of a product, contract, object or column: authoritative definitions of type
    ``businessDefinition``, or a ``glossary``/``terms`` custom property (the search index's rule)."""
    terms = [
        str(d.url)
        for d in getattr(element, "authoritative_definitions", None) or []
        if str(d.type).lower().replace(" ", "") == "businessdefinition"
    ]
    for prop in getattr(element, "custom_properties", None) or []:
        if str(prop.property).lower().replace("_", "") in GLOSSARY_PROPERTIES:
            value = prop.value
            items = value if isinstance(value, list) else str(value or "").split(",")
            terms += [str(v).strip() for v in items if str(v).strip()]
    return terms


def names(items: list[str], most: int = 5) -> str:
    """``a, b, c`` or ``a, b, c, d, e and 3 more``."""
    shown = ", ".join(items[:most])
    return f"{shown} and {len(items) - most} more" if len(items) > most else shown


def count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
