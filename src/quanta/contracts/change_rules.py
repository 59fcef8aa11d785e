"""The rule table of breaking-change classification, and the change it produces.

:data:`RULES` gives every kind of change its severity seen from the consumer's side and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["breaking", "non-breaking", "info"]

RULES: dict[str, tuple[Severity, str]] = {
    "object.removed": ("breaking", "Consumers that read this object lose it."),
    "object.renamed": ("breaking", "Queries naming the object by its old name fail."),
    "object.added": ("non-breaking", "A new object leaves what consumers read unchanged."),
    "property.removed": ("breaking", "Queries and code that read this property fail."),
    "property.renamed": ("breaking", "Queries naming the old property fail (same id, new name)."),
    "property.added": ("non-breaking", "A new optional property leaves what consumers read unchanged."),
    "property.added.required": ("non-breaking", "Readers are unaffected; producers must fill it in."),
    "physical_name.changed": ("breaking", "Consumers reading storage directly use the old physical name."),
    "type.changed": ("breaking", "Values of the new type may not parse where the old type was expected."),
    "type.widened": ("non-breaking", "Every value of the old type fits the new type exactly."),
    "type.respelled": ("info", "The new type name is an alias of the old one."),
    "type.added": ("non-breaking", "Declaring a type only adds a guarantee."),
    "type.removed": ("breaking", "Consumers can no longer rely on the type of the values."),
    "required.added": ("breaking", "Data already published with nulls no longer conforms."),
    "required.removed": (
        "non-breaking",
        "Nulls may now arrive; data that was valid stays valid.",
    ),
    "unique.added": ("breaking", "Data already published with duplicates no longer conforms."),
    "unique.removed": (
        "non-breaking",
        "Duplicates may now arrive; data that was valid stays valid.",
    ),
    "primary_key.changed": ("breaking", "Joins, deduplication and merges on the key give other results."),
    "enum.narrowed": ("breaking", "Values already published may no longer be allowed."),
    "enum.widened": (
        "non-breaking",
        "New values may arrive; data that was valid stays valid.",
    ),
    "enum.changed": ("breaking", "Old values may no longer be allowed and new ones may arrive."),
    "bounds.tightened": ("breaking", "Values already published may fall outside the tighter bound."),
    "bounds.loosened": (
        "non-breaking",
        "Values outside the old range may arrive; data that was valid stays valid.",
    ),
    "bounds.changed": ("breaking", "The old and new bound cannot be compared; assume consumers break."),
    "length.tightened": ("breaking", "Values already published may no longer have an allowed length."),
    "length.loosened": (
        "non-breaking",
        "Longer or shorter values may arrive; data that was valid stays valid.",
    ),
    "length.changed": ("breaking", "The old and new length cannot be compared; assume consumers break."),
    "pattern.changed": ("breaking", "Values may match the old pattern but not the new one, or vice versa."),
    "format.changed": ("breaking", "Consumers that parse values in the old format break."),
    "multiple_of.changed": ("breaking", "Values may fall between the steps consumers relied on."),
    "timezone.changed": ("breaking", "Timestamps are read in another time zone than consumers assume."),
    "option.changed": ("breaking", "Quanta does not know this type option; assume consumers break."),
    "classification.raised": ("breaking", "Consumers cleared only for the old level may lose access."),
    "classification.lowered": ("info", "More consumers may be granted access; nobody loses it."),
    "classification.changed": ("breaking", "The level has no known rank; consumers may lose access."),
    "quality.added": ("non-breaking", "A new rule adds a guarantee; the shape of the data is unchanged."),
    "quality.removed": ("info", "The rule is no longer checked; consumers relying on it should look."),
    "quality.changed": ("non-breaking", "The rule changed; the shape of the data is unchanged."),
    "relationship.added": ("non-breaking", "A declared relationship adds a guarantee to join on."),
    "relationship.removed": ("info", "The relationship is no longer declared; the data is unchanged."),
    "sla.worsened": ("breaking", "Consumers planning on the old service level are served worse."),
    "sla.improved": ("non-breaking", "Consumers are served at least as well as before."),
    "sla.added": ("non-breaking", "A new service-level promise only adds a guarantee."),
    "sla.removed": ("breaking", "Consumers lose a service-level promise they may plan on."),
    "sla.changed": ("info", "Quanta cannot rank this service-level change; review it."),
    "server.added": ("non-breaking", "A new server adds a way to read the data."),
    "server.removed": ("breaking", "Consumers reading from this server lose it."),
    "server.changed": ("breaking", "Consumers connecting to the old location or format break."),
    "description.changed": ("info", "Documentation only; the data and its guarantees are unchanged."),
    "business_name.changed": ("info", "Documentation only; the data and its guarantees are unchanged."),
    "tags.changed": ("info", "Tags help discovery; the data and its guarantees are unchanged."),
    "status.changed": ("info", "The lifecycle status changed; consumers may plan a migration."),
    "partitioning.changed": ("info", "Partitioning changes how fast queries run, not what they return."),
    "metadata.changed": ("info", "Metadata only; the data and its guarantees are unchanged."),
}


@dataclass(frozen=True)
class ContractChange:
    """One difference between two contract versions and what it means for consumers."""

    severity: Severity
    kind: str
    path: str
    old: Any = None
    new: Any = None
    reason: str = ""

    def __str__(self) -> str:
        change = f"{_short(self.old)} ► {_short(self.new)}"
        return f"{self.severity}: {self.kind} at {self.path}: {change}. {self.reason}"


def _short(value: Any, limit: int = 60) -> str:
    text = " ".join((value if isinstance(value, str) else repr(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
