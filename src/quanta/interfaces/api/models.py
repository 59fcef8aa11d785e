"""Request and response bodies: pydantic at the edge, so the OpenAPI document describes them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Domain records answer as they are (dataclasses in the OpenAPI document), not copied into twins here.
from quanta.mesh import (
    GrantRecord,
    MaturityRecord,
    ProductSummary,
    ReceiptCheck,
    RunRecord,
    VersionInfo,
)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProductPage(BaseModel):
    items: list[ProductSummary]
    total: int
    limit: int
    offset: int


class ProductDetail(BaseModel):
    product: ProductSummary
    descriptor: dict[str, Any]
    contracts: dict[str, dict[str, Any]]
    versions: list[VersionInfo]
    consumers: list[str]


class QueryIn(Body):
    sql: str = Field(min_length=1, max_length=100_000, description="SQL over products by id.")
    limit: int | None = Field(default=1000, ge=1, le=100_000)
    format: Literal["json", "arrow"] = "json"


class QueryOut(BaseModel):
    columns: list[str]
    rows: list[dict[str, Any]]
    row_count: int
    masked: dict[str, dict[str, str]]
    receipt: dict[str, Any] | None = Field(
        default=None,
        description="The signed receipt of the read (docs/governance.md, 'Verifiable answers'): check it "
        "with POST /api/v1/audit/verify-receipt.",
    )


class Endpoints(BaseModel):
    """Where this server serves what: the SDK reads data over ``flight`` when it is there."""

    rest: str = Field(description="The REST API's base URL.")
    mcp: str = Field(description="The MCP server (streamable HTTP) for AI agents.")
    flight: str | None = Field(
        description="Arrow Flight SQL (grpc://host:port) when `quanta serve --flight-port` runs it."
    )
    postgres: str | None = Field(
        description="The PostgreSQL wire protocol (host:port) when `quanta serve --pg-port` runs it."
    )


class TermOut(BaseModel):
    port: str
    kind: str = Field(description="price, usage, limitations or terms")
    text: str


class AccessRequestIn(Body):
    product_id: str = Field(min_length=3, max_length=200)
    purpose: str = Field(min_length=1, max_length=2000)
    columns: list[str] | None = Field(default=None, max_length=500)
    days: int = Field(default=90, ge=1, le=365)
    accept_terms: bool = Field(
        default=False,
        description="Accept the product's terms of use (GET /products/{id}/access-terms): every term "
        "its contracts state (price, usage, limitations, custom terms); required when it states some.",
    )
    terms_digest: str | None = Field(
        default=None,
        pattern=r"^sha256:[0-9a-f]{12}$",
        description="The id of the terms read (the X-Quanta-Terms-Digest header of access-terms): "
        "the request is refused if the terms changed since.",
    )


class DecisionIn(Body):
    reason: str | None = Field(default=None, max_length=2000)


class GrantPage(BaseModel):
    items: list[GrantRecord]
    total: int
    limit: int
    offset: int


class RunPage(BaseModel):
    items: list[RunRecord]
    total: int
    limit: int
    offset: int


class CheckOut(BaseModel):
    name: str
    kind: str
    verdict: str
    measured: Any = None
    threshold: str | None = None
    object: str | None = None
    column: str | None = None
    severity: str | None = None
    message: str | None = None


class ChecksOut(BaseModel):
    product_id: str
    version: str
    run_id: str
    published_at: datetime
    summary: dict[str, int]
    checks: list[CheckOut]


class FreshnessOut(BaseModel):
    product_id: str
    version: str
    published_at: datetime
    age_seconds: float
    rows: dict[str, int]


class AuditOut(BaseModel):
    seq: int
    at: datetime
    kind: str
    actor: str
    domain: str | None
    subject: str
    decision: str
    details: dict[str, Any]


ReceiptCheckOut = ReceiptCheck
"""``valid``, or every reason the receipt is not (altered, another key, the log truncated or edited)."""


class AuditPage(BaseModel):
    items: list[AuditOut]
    total: int
    limit: int
    offset: int


class PolicyOut(BaseModel):
    id: str
    version: str
    """A digest of the policy's text: which text of it decided."""
    title: str
    stage: str
    events: list[str]
    scope: str
    source: str | None


class ProblemOut(BaseModel):
    """RFC 9457 problem details: every error the API returns."""

    type: str
    title: str
    status: int
    detail: str
    hint: str | None = None
    errors: list[dict[str, Any]] | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem documents a route may answer with."""
    return {
        status: {"model": ProblemOut, "content": {"application/problem+json": {}}, "description": "A problem"}
        for status in statuses
    }


class NotificationOut(BaseModel):
    at: datetime
    product_id: str
    kind: str
    message: str
    details: dict[str, Any]


class AppliedOut(BaseModel):
    product_id: str
    version: str
    status: str


class ApplyOut(BaseModel):
    applied: list[AppliedOut]
    warnings: list[str]


class BuildOut(BaseModel):
    product_id: str
    status: str
    version: str
    rows: dict[str, int]
    error: str | None


class FeedbackIn(Body):
    """A rating (1-5), a comment, or both; leaving one out keeps what was said before."""

    rating: int | None = Field(default=None, ge=1, le=5, description="Stars, 1 (poor) to 5 (excellent).")
    comment: str | None = Field(default=None, max_length=2000, description="What you found; 2000 characters.")


# --- maturity (DATSIS) ---------------------------------------------------------------------------


class MaturitySummaryOut(BaseModel):
    """A product's DATSIS score in one line: the level and the six dimension scores."""

    product_id: str
    version: str
    score: int
    level: str
    rank: int
    dimensions: dict[str, int]
    next_level: str | None


class MaturityPage(BaseModel):
    items: list[MaturitySummaryOut]
    total: int
    limit: int
    offset: int


class MaturityHistoryPage(BaseModel):
    items: list[MaturityRecord]
    total: int
    limit: int
    offset: int


# --- health, incidents and alert deliveries (observability) ---------------------------------------

from quanta.mesh import DeliveryRecord, IncidentRecord, ProductHealth  # noqa: E402  (this section's own)


class HealthPage(BaseModel):
    items: list[ProductHealth]
    total: int
    limit: int
    offset: int


class IncidentPage(BaseModel):
    items: list[IncidentRecord]
    total: int
    limit: int
    offset: int


class DeliveryPage(BaseModel):
    items: list[DeliveryRecord]
    total: int
    limit: int
    offset: int


# --- file deliveries (docs/changes.md) ---------------------------------------------------------------


class FileDeliveryIn(Body):
    """Have every new version of a product written as files into one of your folders on the server."""

    folder: str = Field(
        min_length=1,
        max_length=300,
        description="A folder of yours under the server's delivery root (QUANTA_DELIVERY_ROOT/<you>/): a "
        "relative path of letters, digits, _ . - separated by /, e.g. crm/inbox. Never absolute, never '..'.",
        examples=["crm/inbox"],
    )
    format: Literal["parquet", "csv"] = Field(default="parquet", description="The files' format.")
    mode: Literal["full", "changes"] = Field(
        default="full",
        description="full: every row of each version; changes: the rows changed since the version "
        "delivered last (the first delivery is whole).",
    )

    @field_validator("folder")
    @classmethod
    def _relative(cls, folder: str) -> str:
        if not _FOLDER.match(folder) or ".." in folder.split("/"):
            raise ValueError(
                "give a relative path of letters, digits, _ . - separated by /, e.g. crm/inbox (never "
                "absolute, never '..'): the files go under the server's delivery root, in your own folder"
            )
        return folder


_FOLDER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*/?$")


class FileDeliveryLatest(BaseModel):
    """The newest version queued for a subscription and how its delivery went."""

    version: str | None
    status: str
    """pending, sending, delivered or failed"""
    attempts: int
    last_error: str | None
    delivered_at: datetime | None


class FileDeliveryOut(BaseModel):
    id: int
    principal: str
    product_id: str
    folder: str
    """The folder on the server the files are written into."""
    format: str
    mode: str
    delivered_version: str | None
    """The version delivered last (a changes delivery starts from it)."""
    created_at: datetime
    latest: FileDeliveryLatest | None
