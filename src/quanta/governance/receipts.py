"""Receipts of governed reads: what was read, by whom, through which masks and filters, how many rows,
and where the audit log holds it, signed with the mesh's receipt key.

A receipt is a JSON object (format in docs/governance.md, "Verifiable answers"). Its signature is
HMAC-SHA-256 under the receipt key (:mod:`quanta.governance.keys`) over the canonical JSON of every
other field, so a changed field fails; its ``audit`` links name the entries (position and chain hash)
the query wrote before its first row left, so a log that was edited, truncated or rewritten since
fails too (:func:`check_entries`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quanta.governance.keys import MeshKey
    from quanta.registry.stores.audit_grants import AuditRecord

FORMAT = "quanta.receipt/v1"
ALGORITHM = "HMAC-SHA-256"
_REQUIRED: dict[str, type] = {
    "format": str,
    "audit": list,
    "principal": str,
    "actor": str,
    "statement": str,
    "products": dict,
    "masks": dict,
    "row_filters": dict,
    "rows": int,
    "complete": bool,
    "policies": dict,
    "issued_at": str,
    "key_id": str,
    "algorithm": str,
    "signature": str,
}


@dataclass(frozen=True)
class ReadFacts:
    """What a governed read did, as the receipt states it (everything but the signature)."""

    principal: str
    actor: str
    statement: str
    products: dict[str, str]
    """product id -> version read"""
    masks: dict[str, dict[str, str]]
    row_filters: dict[str, str]
    policies: dict[str, str]
    """product id -> what let the principal read it (a role, a grant and the policy that approved it)"""
    rows: int
    complete: bool
    audit: list[tuple[int, str]] = field(default_factory=list)
    """(position, chain hash) of each audit entry the read wrote"""


def issue(facts: ReadFacts, key: MeshKey) -> dict[str, Any]:
    """The signed receipt of a read."""
    body: dict[str, Any] = {
        "format": FORMAT,
        "audit": [{"seq": seq, "hash": link} for seq, link in facts.audit],
        "principal": facts.principal,
        "actor": facts.actor,
        "statement": facts.statement,
        "products": facts.products,
        "masks": facts.masks,
        "row_filters": facts.row_filters,
        "policies": facts.policies,
        "rows": facts.rows,
        "complete": facts.complete,
        "issued_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "key_id": key.key_id,
        "algorithm": ALGORITHM,
    }
    signature = _sign(body, key)
    first = facts.audit[0][0] if facts.audit else 0
    return {"id": f"r{first}-{signature[:12]}", **body, "signature": signature}


def _sign(body: dict[str, Any], key: MeshKey) -> str:
    fields = {k: v for k, v in body.items() if k not in ("id", "signature")}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key.secret, canonical.encode(), hashlib.sha256).hexdigest()


def check_form(receipt: object) -> list[str]:
    """What is wrong with the shape of a receipt (empty: it can be checked further)."""
    if not isinstance(receipt, dict):
        return ["a receipt is a JSON object (the 'receipt' of a query result)"]
    problems = []
    for name, kind in _REQUIRED.items():
        if name not in receipt:
            problems.append(f"the receipt has no '{name}' field: it is not a complete Quanta receipt")
        elif not isinstance(receipt[name], kind) or (kind is int and isinstance(receipt[name], bool)):
            problems.append(f"the receipt's '{name}' field is not a {_KIND_NAMES.get(kind, 'value')}")
    if not problems and receipt["format"] != FORMAT:
        problems.append(f"unknown receipt format {receipt['format']!r} (this mesh reads {FORMAT})")
    for link in receipt.get("audit") or [] if not problems else []:
        seq = link.get("seq") if isinstance(link, dict) else None
        if not (isinstance(seq, int) and 0 < seq < 2**62 and isinstance(link.get("hash"), str)):
            problems.append("each 'audit' link is an object {seq: <entry number>, hash: <hex>}")
            break
    return problems


_KIND_NAMES = {str: "text", list: "list", dict: "object", int: "whole number", bool: "true/false"}


def check_signature(receipt: dict[str, Any], key: MeshKey) -> list[str]:
    """Whether the mesh's receipt key signed exactly these fields."""
    if receipt["key_id"] != key.key_id:
        other = (
            f"the receipt was signed with key {receipt['key_id']}, not this mesh's receipt key {key.key_id}"
        )
        return [f"{other}: it comes from another mesh, or the receipt key was rotated since"]
    if not hmac.compare_digest(_sign(receipt, key), receipt["signature"]):
        return [
            "the signature does not match the receipt's fields: the receipt was altered after it was issued"
        ]
    return []


def check_entries(receipt: dict[str, Any], entries: dict[int, AuditRecord | None]) -> list[str]:
    """Whether each audit entry the receipt names still says what the receipt says (``entries``: the
    log's entry at each named position, None when there is none)."""
    problems = []
    if not receipt["audit"]:
        problems.append("the receipt names no audit entry: nothing vouches for it")
    for link in receipt["audit"]:
        seq, entry = link["seq"], entries.get(link["seq"])
        if entry is None:
            problems.append(
                f"audit entry {seq} is not in the log: the log was truncated or the entry deleted"
            )
            continue
        if entry.hash != link["hash"]:
            problems.append(
                f"audit entry {seq} is not the entry the receipt was issued against (its chain hash "
                f"differs): the log was rewritten up to this entry"
            )
            continue
        problems += _entry_differences(receipt, entry)
    return problems


def _entry_differences(receipt: dict[str, Any], entry: AuditRecord) -> list[str]:
    details, product = entry.details, entry.subject
    expected = {
        "kind": ("query", entry.kind),
        "decision": ("allow", entry.decision),
        "actor": (receipt["actor"], entry.actor),
        "principal": (receipt["principal"], details.get("as")),
        "statement": (receipt["statement"], details.get("sql")),
        "product": (True, product in receipt["products"]),
        "version": (receipt["products"].get(product), details.get("version")),
        "masks": (receipt["masks"].get(product) or {}, details.get("masked") or {}),
        "row filter": (receipt["row_filters"].get(product), details.get("row_filter")),
    }
    return [
        f"audit entry {entry.seq} disagrees with the receipt on the {what}"
        for what, (wanted, found) in expected.items()
        if wanted != found
    ]
