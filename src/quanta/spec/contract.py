"""The Open Data Contract Standard (ODCS) 3.1 / 3.2 as pydantic models.

The official JSON Schema is the gatekeeper for what a document may contain (it runs before these
models); the models give typed access inside Quanta and keep every field the author set, so that a
contract read and written again is the same contract.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

LogicalType = Literal[
    "string", "date", "timestamp", "time", "number", "integer", "object", "array", "boolean", "map"
]
COMPARATORS = (
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
)


class OdcsModel(BaseModel):
    """Base of every ODCS element: camelCase on the wire, unknown-but-valid fields kept verbatim."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    def custom(self, name: str, default: Any = None) -> Any:
        """Value of the custom property ``name`` (on elements that have ``customProperties``)."""
        for prop in getattr(self, "custom_properties", None) or []:
            if prop.property == name:
                return prop.value
        return default

    def to_dict(self) -> dict[str, Any]:
        """Only the fields the author set, under their ODCS names, in reading order."""
        tidy: dict[str, Any] = tidy_order(self.model_dump(by_alias=True, exclude_unset=True, mode="json"))
        return tidy


class CustomProperty(OdcsModel):
    property: str
    value: Any = None
    id: str | None = None
    description: str | None = None


class AuthoritativeDefinition(OdcsModel):
    url: str
    type: str
    id: str | None = None
    description: str | None = None


class Described(OdcsModel):
    """Fields most ODCS elements share."""

    id: str | None = None
    tags: list[str] | None = None
    custom_properties: list[CustomProperty] | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None


class ContractDescription(OdcsModel):
    purpose: str | None = None
    limitations: str | None = None
    usage: str | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None
    custom_properties: list[CustomProperty] | None = None


class Role(OdcsModel):
    role: str
    id: str | None = None
    description: str | None = None
    access: str | None = None
    first_level_approvers: str | None = None
    second_level_approvers: str | None = None
    custom_properties: list[CustomProperty] | None = None


class Server(OdcsModel):
    """Where the data lives; type-specific fields (host, path, account...) are kept as set."""

    server: str
    type: str
    id: str | None = None
    description: str | None = None
    environment: str | None = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    path: str | None = None
    location: str | None = None
    format: str | None = None
    delimiter: str | None = None
    roles: list[Role] | None = None
    custom_properties: list[CustomProperty] | None = None


class QualityRule(OdcsModel):
    """A data quality rule of any ODCS type: text, library metric, sql or custom engine."""

    id: str | None = None
    name: str | None = None
    type: Literal["text", "library", "sql", "custom"] | None = None
    description: str | None = None
    metric: str | None = None
    rule: str | None = None
    arguments: dict[str, Any] | None = None
    query: str | None = None
    engine: str | None = None
    implementation: str | dict[str, Any] | None = None
    must_be: Any = None
    must_not_be: Any = None
    must_be_greater_than: int | float | None = None
    must_be_greater_or_equal_to: int | float | None = None
    must_be_less_than: int | float | None = None
    must_be_less_or_equal_to: int | float | None = None
    must_be_between: list[int | float] | None = None
    must_not_be_between: list[int | float] | None = None
    unit: str | None = None
    dimension: str | None = None
    method: str | None = None
    severity: str | None = None
    business_impact: str | None = None
    schedule: str | None = None
    scheduler: str | None = None
    tags: list[str] | None = None
    custom_properties: list[CustomProperty] | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None

    @property
    def kind(self) -> str:
        """The effective rule type (ODCS defaults to ``library``)."""
        return self.type or ("sql" if self.query else "library")

    def comparator(self) -> tuple[str, Any] | None:
        """The one comparator set on this rule, as (ODCS name, threshold)."""
        fields = self.model_fields_set
        for name in COMPARATORS:
            attr = _snake(name)
            if attr in fields:
                return name, getattr(self, attr)
        return None


class Relationship(OdcsModel):
    type: str | None = None
    from_: str | list[str] | None = Field(default=None, alias="from")
    to: str | list[str] | None = None
    custom_properties: list[CustomProperty] | None = None


class EnumValue(OdcsModel):
    value: Any = None
    label: str | None = None
    id: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    custom_properties: list[CustomProperty] | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None


class SchemaProperty(Described):
    """A column (or nested field) of a schema object."""

    name: str | None = None
    business_name: str | None = None
    description: str | None = None
    logical_type: LogicalType | None = None
    logical_type_options: dict[str, Any] | None = None
    physical_type: str | None = None
    physical_name: str | None = None
    required: bool | None = None
    unique: bool | None = None
    primary_key: bool | None = None
    primary_key_position: int | None = None
    partitioned: bool | None = None
    partition_key_position: int | None = None
    classification: str | None = None
    encrypted_name: str | None = None
    critical_data_element: bool | None = None
    semantic_type: str | None = None
    transform_source_objects: list[str] | None = None
    transform_logic: str | None = None
    transform_description: str | None = None
    examples: list[Any] | None = None
    enum: list[EnumValue] | None = None
    synonyms: list[dict[str, Any]] | None = None
    items: SchemaProperty | None = None
    properties: list[SchemaProperty] | None = None
    map: dict[str, Any] | None = None
    relationships: list[Relationship] | None = None
    quality: list[QualityRule] | None = None
    context: str | dict[str, Any] | None = None

    @property
    def column(self) -> str:
        """The name of the column in storage."""
        return self.physical_name or self.name or ""


class SchemaObject(Described):
    """A table, view or other dataset described by the contract."""

    name: str
    business_name: str | None = None
    description: str | None = None
    logical_type: Literal["object"] | None = None
    physical_type: str | None = None
    physical_name: str | None = None
    data_granularity_description: str | None = None
    synonyms: list[dict[str, Any]] | None = None
    properties: list[SchemaProperty] | None = None
    relationships: list[Relationship] | None = None
    quality: list[QualityRule] | None = None
    context: str | dict[str, Any] | None = None

    @property
    def table(self) -> str:
        return self.physical_name or self.name

    def find_property(self, name: str) -> SchemaProperty | None:
        return next((p for p in self.properties or [] if p.name == name), None)


class SupportItem(OdcsModel):
    channel: str
    id: str | None = None
    url: str | None = None
    description: str | None = None
    tool: str | None = None
    scope: str | None = None
    invitation_url: str | None = None
    custom_properties: list[CustomProperty] | None = None


class Pricing(OdcsModel):
    id: str | None = None
    price_amount: int | float | None = None
    price_currency: str | None = None
    price_unit: str | None = None


class TeamMember(OdcsModel):
    username: str
    id: str | None = None
    name: str | None = None
    description: str | None = None
    role: str | None = None
    date_in: str | None = None
    date_out: str | None = None
    replaced_by_username: str | None = None
    tags: list[str] | None = None
    custom_properties: list[CustomProperty] | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None


class Team(OdcsModel):
    id: str | None = None
    name: str | None = None
    description: str | None = None
    members: list[TeamMember] | None = None
    tags: list[str] | None = None
    custom_properties: list[CustomProperty] | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None


class SlaProperty(OdcsModel):
    property: str
    value: str | float | int | bool | None = None
    id: str | None = None
    value_ext: str | float | int | bool | None = None
    unit: str | None = None
    element: str | None = None
    driver: str | None = None
    description: str | None = None
    scheduler: str | None = None
    schedule: str | None = None


class Contract(OdcsModel):
    """An ODCS data contract (``kind: DataContract``)."""

    api_version: str = "v3.2.0"
    kind: Literal["DataContract"] = "DataContract"
    id: str
    version: str
    status: str | None = None
    name: str | None = None
    tenant: str | None = None
    domain: str | None = None
    data_product: str | None = None
    description: ContractDescription | None = None
    context: str | dict[str, Any] | None = None
    tags: list[str] | None = None
    servers: list[Server] | None = None
    schema_: list[SchemaObject] | None = Field(default=None, alias="schema")
    support: list[SupportItem] | None = None
    price: Pricing | None = None
    team: Team | list[TeamMember] | None = None
    roles: list[Role] | None = None
    sla_default_element: str | None = None
    sla_properties: list[SlaProperty] | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None
    custom_properties: list[CustomProperty] | None = None
    contract_created_ts: str | None = None

    @property
    def objects(self) -> list[SchemaObject]:
        return self.schema_ or []

    def object(self, name: str) -> SchemaObject | None:
        return next((o for o in self.objects if o.name == name), None)

    def sla(self, name: str) -> SlaProperty | None:
        return next((s for s in self.sla_properties or [] if s.property == name), None)


_FIRST = ("apiVersion", "kind", "id", "name", "version", "status")
_LAST = ("tags", "customProperties", "authoritativeDefinitions")
# Values that belong to the author, not to the standard: never reordered.
_FREE_FORM = frozenset({"value", "valueExt", "examples", "arguments", "implementation", "logicalTypeOptions"})


def tidy_order(data: Any) -> Any:
    """Identity fields first and annotations last at every level, whatever the model inheritance order."""
    if isinstance(data, list):
        return [tidy_order(item) for item in data]
    if not isinstance(data, dict):
        return data
    keys = [k for k in _FIRST if k in data]
    keys += [k for k in data if k not in _FIRST and k not in _LAST]
    keys += [k for k in _LAST if k in data]
    return {k: data[k] if k in _FREE_FORM else tidy_order(data[k]) for k in keys}


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)


SchemaProperty.model_rebuild()
