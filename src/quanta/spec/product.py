"""The Quanta data product descriptor, aligned with the Open Data Product Standard (ODPS) 1.0.

A descriptor uses ODPS field names throughout and adds what the platform needs to automate a product:
its ``type``, where each input port reads from (another product or an external source), which contract
file each output port honours, and a ``build`` section. Exporting to ODPS moves these additions into
``customProperties`` so the result validates against the official schema (see ``formats/odps.py``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from quanta.spec.contract import AuthoritativeDefinition, CustomProperty, tidy_order

ProductStatus = Literal["proposed", "draft", "active", "deprecated", "retired"]
ProductType = Literal["source-aligned", "aggregate", "consumer-aligned"]
PRODUCT_ID = re.compile(r"^(?P<domain>[a-z][a-z0-9_]*)\.(?P<name>[a-z][a-z0-9_]*)$")


class DescriptorModel(BaseModel):
    """Strict: a misspelt field in a descriptor is an error, not silently ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    def to_dict(self) -> dict[str, Any]:
        tidy: dict[str, Any] = tidy_order(self.model_dump(by_alias=True, exclude_unset=True, mode="json"))
        return tidy


class Annotated_(DescriptorModel):
    """Fields ODPS allows on most elements."""

    tags: list[str] | None = None
    custom_properties: list[CustomProperty] | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None


class FileSource(DescriptorModel):
    """Files on disk: one path or a glob, relative to the workspace root."""

    type: Literal["file"]
    path: str
    format: Literal["csv", "parquet", "json"] | None = None
    options: dict[str, Any] | None = None
    cursor: str | None = None


class DatabaseSource(DescriptorModel):
    """A table or query in an existing database reached through a SQLAlchemy URL."""

    type: Literal["database"]
    url: str
    table: str | None = None
    query: str | None = None
    cursor: str | None = None


Source = Annotated[FileSource | DatabaseSource, Field(discriminator="type")]


class InputPort(Annotated_):
    """Where a product reads from: another product's output port, or an external source."""

    name: str
    description: str | None = None
    product: str | None = None
    port: str | None = None
    version: str | None = None
    source: Source | None = None
    contract_id: str | None = None


class OutputPort(Annotated_):
    """A published dataset, bound to the contract it honours."""

    name: str
    description: str | None = None
    type: str | None = "table"
    version: str | None = None
    contract: str | None = None
    contract_id: str | None = None
    object: str | None = None
    sbom: list[dict[str, Any]] | None = None
    input_contracts: list[dict[str, Any]] | None = None


class ManagementPort(Annotated_):
    """An access point for discovering, observing or controlling the product."""

    name: str
    content: str
    type: str | None = None
    url: str | None = None
    channel: str | None = None
    description: str | None = None


class Description(DescriptorModel):
    purpose: str | None = None
    limitations: str | None = None
    usage: str | None = None
    authoritative_definitions: list[AuthoritativeDefinition] | None = None
    custom_properties: list[CustomProperty] | None = None


class SupportChannel(Annotated_):
    channel: str
    url: str | None = None
    description: str | None = None
    tool: str | None = None
    scope: str | None = None
    invitation_url: str | None = None


class TeamMember(Annotated_):
    username: str
    name: str | None = None
    description: str | None = None
    role: str | None = None
    date_in: str | None = None
    date_out: str | None = None
    replaced_by_username: str | None = None


class Team(Annotated_):
    name: str | None = None
    description: str | None = None
    members: list[TeamMember] | None = None


class Transform(DescriptorModel):
    """How the product's data is computed: a SQL file (or inline SQL), or a Python function."""

    sql: str | None = None
    python: str | None = None


class Build(DescriptorModel):
    engine: str = "duckdb"
    transform: Transform | None = None
    schedule: str | None = None


class DataProduct(Annotated_):
    """A data product descriptor (``product.yaml``)."""

    api_version: Literal["v1.0.0", "v0.9.0"] = "v1.0.0"
    kind: Literal["DataProduct"] = "DataProduct"
    id: str
    name: str | None = None
    version: str | None = None
    status: str = "draft"
    domain: str | None = None
    tenant: str | None = None
    type: ProductType | None = None
    owner: str | None = None
    description: Description | None = None
    team: Team | None = None
    support: list[SupportChannel] | None = None
    input_ports: list[InputPort] | None = None
    output_ports: list[OutputPort] | None = None
    management_ports: list[ManagementPort] | None = None
    build: Build | None = None
    product_created_ts: str | None = None

    @property
    def owner_name(self) -> str | None:
        """The explicit owner, else the first team member whose role is owner."""
        if self.owner:
            return self.owner
        for member in (self.team.members if self.team else None) or []:
            if (member.role or "").lower() in ("owner", "product owner", "data product owner"):
                return member.username
        return None

    def output(self, name: str) -> OutputPort | None:
        return next((p for p in self.output_ports or [] if p.name == name), None)
