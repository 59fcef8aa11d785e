"""Governance: validate-time policies, the governed query service (masks, row filters, audit) and
governed exports, the audit log.

An area of the :class:`~quanta.mesh.Mesh` facade over the shared :class:`~quanta.mesh.core.MeshCore`.
"""

from __future__ import annotations

import threading
import time
from contextvars import copy_context
from dataclasses import dataclass, replace
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from quanta.errors import NotFoundError
from quanta.mesh.core import acting_as
from quanta.observability.prometheus import current_interface, observe_query

if TYPE_CHECKING:
    from quanta.engines.base import TableScan
    from quanta.errors import Problem
    from quanta.governance.model import Principal
    from quanta.mesh.core import MeshCore
    from quanta.query.governed import (
        GovernedPlan,
        GovernedQueries,
        GovernedResult,
        GovernedStream,
        ProductRead,
    )
    from quanta.registry.stores.audit_grants import AuditRecord
    from quanta.registry.stores.publishing import PublishRecord
    from quanta.spec import LoadedProduct
    from quanta.spec.contract import SchemaObject
    from quanta.spec.documents import JsonObject


_T = TypeVar("_T")


@dataclass(frozen=True)
class ReadableTable:
    """A product a principal may read, as an empty table: ``schema`` (its domain) and the statements
    creating ``<domain>.<name>`` with the columns and types of its first port's first object."""

    product_id: str
    schema: str
    statements: list[str]
    columns: frozenset[str] | None = None
    """Only these columns may be read (a column-scoped grant); None: every column."""


@dataclass(frozen=True)
class ReceiptCheck:
    """The verdict on one receipt: ``valid``, or every reason it is not."""

    valid: bool
    problems: list[str]
    receipt_id: str | None
    audit_ids: list[int]


class GovernanceArea:
    """What the acting principal may read, the governed query service that reads it, and the audit."""

    def __init__(self, core: MeshCore) -> None:
        self.core = core
        self._scans: dict[tuple[str, str, int], TableScan] = {}  # a snapshot's files never change
        self._contracts: dict[tuple[str, str, str], SchemaObject] = {}  # nor a registered version
        self._links: dict[int, str] = {}  # the hash of each audit entry a read wrote, until its receipt
        self._lock = threading.Lock()

    def policy_problems(self, products: list[LoadedProduct]) -> list[Problem]:
        """Validate-time policy decisions as positioned problems on each product's descriptor."""
        from quanta.errors import Problem
        from quanta.governance.landing import policy_document

        problems = []
        for loaded in products:
            contracts = {name: c.contract for name, c in loaded.contracts.items()}
            document = policy_document(loaded.product, contracts)
            for decision in self.core.policies.evaluate("validate", document, domain=loaded.product.domain):
                if decision.outcome == "allow":
                    continue
                for message in decision.messages or ["denied"]:
                    problems.append(
                        Problem(
                            f"policy {decision.policy}: {message}",
                            str(loaded.path),
                            1,
                            1,
                            hint="a policy in grace only warns; see quanta policy ls",
                            severity="error" if decision.outcome == "deny" else "warning",
                        )
                    )
        return problems

    @cached_property
    def queries(self) -> GovernedQueries:
        from quanta.engines.duckdb import DuckDBEngine
        from quanta.query.governed import GovernedQueries
        from quanta.query.results import ResultCache

        root = str(self.core.warehouse.root.resolve())
        mask_key = self.core.key("mask").secret
        results = ResultCache(self.core.settings.result_cache_mb << 20)
        return GovernedQueries(DuckDBEngine(allowed_directories=[root]), root, mask_key, results)

    def governed_query(
        self, sql: str, *, as_principal: str | None = None, limit: int | None = None
    ) -> GovernedResult:
        """Run SQL over products as the acting principal, or (for admins, audited) as someone else:
        :meth:`governed_stream`, collected (for results known to be small)."""
        return self.governed_stream(sql, as_principal=as_principal, limit=limit).collect()

    def governed_stream(
        self,
        sql: str,
        *,
        as_principal: str | None = None,
        limit: int | None = None,
        batch_bytes: int | None = None,
    ) -> GovernedStream:
        """The one governed query path: SQL over products as the acting principal (or, for admins,
        as someone else), with masks, row filters and audit; the rows as Arrow record batches
        computed while they are read. Close the stream (or use ``with``) to stop it early.
        ``batch_bytes``: batches of about this size where rows are narrow (fewer, larger messages for
        a transport such as Flight), instead of the usual row count."""
        from quanta.query.governed import QueryCall
        from quanta.query.products import QueryError

        principal = actor = self.core.principal()
        interface = current_interface()  # named in the audit entries (python, http, pgwire, flight)
        if as_principal and as_principal != actor.id:
            if not actor.can("impersonate"):
                self.core.registry.audit("impersonate", actor.id, as_principal, "deny")
                raise QueryError(f"{actor.id} may not query as someone else", hint="ask a platform admin")
            principal = self.core.principal(as_principal)

        def failed(exc: Exception) -> str:
            """The deny or error entry of a query that was refused or failed; the metric's outcome."""
            details = {"sql": sql, "as": principal.id, "interface": interface, "error": str(exc)[:500]}
            # A refusal is a denial (on the product it names, so its domain sees it); a query that
            # was allowed but failed in the engine is an error.
            subject = getattr(exc, "product_id", "-")
            domain = subject.partition(".")[0] if subject != "-" else None
            decision = "error" if str(exc).startswith("query failed") else "deny"
            self.core.registry.audit("query", actor.id, subject, decision, domain=domain, details=details)
            return "error" if decision == "error" else "denied"

        started, context = time.perf_counter(), copy_context()  # the interface the query came through

        def finished(error: Exception | None) -> None:
            outcome = failed(error) if error is not None else "ok"
            context.run(observe_query, outcome, time.perf_counter() - started)  # never raises

        try:
            resolve = partial(self._product_read, principal)
            sign = partial(self._receipt, actor.id, principal.id, sql)
            record = partial(self._record, actor.id, principal.id, sql, interface)
            aside = not self.core.registry.url.startswith("sqlite")  # a server: overlap its round trips
            call = QueryCall(principal, sql, resolve, limit, record, aside, finished, sign, batch_bytes)
            stream = self.queries.stream(call)
        except Exception as exc:
            observe_query(failed(exc), time.perf_counter() - started)
            raise
        return stream

    def _record(self, actor: str, principal: str, sql: str, interface: str, plan: GovernedPlan) -> list[int]:
        """The allow entries of a read, written while the engine starts (and before any row leaves)."""
        ids = []
        for product_id in plan.products:
            details = {
                "sql": sql,
                "as": principal,
                "interface": interface,
                "version": plan.versions.get(product_id),
                "columns": plan.columns.get(product_id),
                "masked": plan.masked.get(product_id),
                "row_filter": plan.filtered.get(product_id),
                **_access_details(plan, product_id),
                **({"result_cache": "hit"} if plan.cached else {}),
            }
            domain = product_id.partition(".")[0]
            seq, link = self.core.registry.audit_link(
                "query", actor, product_id, "allow", domain=domain, details=details
            )
            ids.append(seq)
            with self._lock:  # for the read's receipt, without reading the entry back
                self._links[seq] = link
                if len(self._links) > 4096:
                    self._links.pop(next(iter(self._links)))
        return ids

    def _receipt(
        self, actor: str, principal: str, sql: str, plan: GovernedStream, rows: int, complete: bool
    ) -> JsonObject:
        """The signed receipt of a read (once its stream has ended): what it read, and where the
        audit log holds it."""
        from quanta.governance.receipts import ReadFacts, issue

        links = []
        for seq in plan.audit_ids:
            with self._lock:
                link = self._links.pop(seq, None)
            if link is None and (entry := self.core.registry.audit_entry(seq)) is not None:
                link = entry.hash
            if link is not None:
                links.append((seq, link))
        facts = ReadFacts(
            principal, actor, sql, dict(plan.versions), dict(plan.masked), dict(plan.filtered),
            {p: a.reason for p, a in plan.access.items()}, rows, complete, links,
        )  # fmt: skip
        return issue(facts, self.core.key("receipt"))

    def verify_receipt(self, receipt: JsonObject) -> ReceiptCheck:
        """Whether a receipt is genuine (this mesh's receipt key signed exactly its fields) and the
        audit log still holds, unchanged and unbroken up to them, the entries it names."""
        from quanta.governance.receipts import check_entries, check_form, check_signature

        problems = check_form(receipt)
        if problems:
            return ReceiptCheck(False, problems, None, [])
        problems = check_signature(receipt, self.core.key("receipt"))
        seqs = [link["seq"] for link in receipt["audit"]]
        entries = {seq: self.core.registry.audit_entry(seq) for seq in seqs}
        problems += check_entries(receipt, entries)
        if seqs:
            _, broken = self.core.registry.verify_audit(upto=max(seqs))
            problems += [
                f"the audit log was tampered with before this receipt's entries: {p}" for p in broken
            ]
        return ReceiptCheck(not problems, problems, str(receipt.get("id") or ""), seqs)

    def export_data(
        self, sql: str, target: Path, *, as_principal: str | None = None, limit: int | None = None
    ) -> int:
        """Run a governed query and stream the result to a file (CSV, JSON or Parquet, by suffix), one
        batch at a time; returns the rows written. Egress: see :meth:`export_stream`."""
        from quanta.governance.model import GovernanceError
        from quanta.query.export import WRITERS, write_file

        if target.suffix.lower() not in WRITERS:
            raise GovernanceError(f"cannot export to {target.name}", hint=f"use a {', '.join(WRITERS)} file")
        with self.export_stream(sql, str(target), as_principal=as_principal, limit=limit) as stream:
            try:
                return write_file(stream.reader, target)
            except BaseException:
                target.unlink(missing_ok=True)  # no half-written file that looks like a result
                raise

    def export_stream(
        self, sql: str, destination: str, *, as_principal: str | None = None, limit: int | None = None
    ) -> GovernedStream:
        """:meth:`governed_stream` for rows leaving the platform (a file, a download): egress. The
        egress policies decide on what leaves in clear; once the last row is read, the export entries
        (``destination``, rows) go into the audit log."""
        from quanta.governance.model import GovernanceError

        stream = self.governed_stream(sql, as_principal=as_principal, limit=limit)
        actor = self.core.principal()
        for product_id in stream.products:
            clear = set(stream.columns.get(product_id, [])) - set(stream.masked.get(product_id, {}))
            contracts = self.core.registry.port_contracts(product_id, None)
            shown = {port: _only_columns(c, clear) for port, c in contracts.items()}
            document = {
                "product": {"id": product_id, "domain": product_id.partition(".")[0]},
                "contracts": shown,
                "request": {"purpose": "export", "egress": True},
                "principal": {"id": actor.id},
            }
            refused = [
                m
                for d in self.core.policies.evaluate("access", document)
                if d.outcome == "deny"
                for m in d.messages
            ]
            if refused:
                stream.close()
                domain = product_id.partition(".")[0]
                details = {"sql": sql, "policies": refused}
                self.core.registry.audit(
                    "export", actor.id, product_id, "deny", domain=domain, details=details
                )
                raise GovernanceError(
                    "export refused by policy: " + "; ".join(refused), hint="query it in place"
                )

        def exported(rows: int) -> None:
            for product_id in stream.products:
                written = {"sql": sql, "file": destination, "rows": rows}
                domain = product_id.partition(".")[0]
                self.core.registry.audit(
                    "export", actor.id, product_id, "allow", domain=domain, details=written
                )

        stream.running.read_through.append(exported)
        return stream

    def _product_read(self, principal: Principal, product_id: str, at: str | None) -> ProductRead:
        from quanta.governance.access import ProductFacts, decide
        from quanta.query.governed import ProductRead
        from quanta.query.products import AccessDenied, QueryError, UnknownProduct

        owners = [principal.id] + ([f"space:{principal.space}"] if principal.space else [])
        state = self.core.registry.read_state(product_id, owners)  # one round trip for the common case
        if state is None:
            hint = "see quanta ls"
            try:
                self.core.registry.descriptor(product_id)  # the registry's hint: did you mean ...?
            except NotFoundError as exc:
                hint = exc.hint or hint
            raise UnknownProduct(f"unknown product {product_id!r}", hint=hint)
        latest, current_id, grants = state
        descriptor = self.core.immutable(
            ("descriptor", product_id, latest), lambda: self.core.registry.descriptor(product_id, latest)
        )
        current = (
            self.core.immutable(("publish", current_id), lambda: self.core.registry.publish_by_id(current_id))
            if current_id is not None
            else None
        )
        facts = ProductFacts.of(product_id, descriptor)
        decision = decide(principal, facts, grants, self.core.governance)
        if decision.allowed and principal.space is not None:
            refused = self.core.share_refusals(principal.space, product_id)
            if refused:
                decision = replace(decision, allowed=False, reason="; ".join(refused))
        if not decision.allowed:
            raise AccessDenied(
                f"access denied to {product_id}: {decision.reason}",
                product_id=product_id,
                hint=read_hint(product_id),
            )
        if at or current is None:
            try:
                _, port, snapshot, publish = self.core.resolve(f"{product_id}@{at}" if at else product_id)
            except NotFoundError as exc:
                raise QueryError(exc.message, hint=exc.hint) from None
        else:
            publish = current
            port, snapshot = next(iter(current.snapshots.items()))
        obj = self.core.immutable(  # one object per version pair and publish: the query service's key
            ("read-object", product_id, latest, publish.version, publish.run_id, port),
            partial(self._read_object, product_id, latest, publish, port),
        )
        key = (product_id, port, snapshot)
        if key not in self._scans:  # a snapshot's files never change
            self._scans[key] = self.core.warehouse.scan(product_id, port, snapshot)
        return ProductRead(product_id, facts.domain, publish.version, obj, self._scans[key], decision)

    def _read_object(self, product_id: str, latest: str, publish: PublishRecord, port: str) -> SchemaObject:
        """The contract object a read of ``publish`` shows: its own, with every column at least as
        strict as in the ``latest`` registered version and as what it inherits through lineage."""
        obj = self._contract_object(product_id, publish.version, port)
        if latest != publish.version:  # a column classified since is masked in older versions too
            obj = _strictest(obj, self._contract_object(product_id, latest, port))
        lineage = ((publish.checks or {}).get("governance") or {}).get("lineage") or {}
        if lineage:  # tags inherited from the inputs through column lineage are masked like declared ones
            obj = _strictest(obj, _inherited_object(obj, lineage))
        return obj

    def _contract_object(self, product_id: str, version: str, port: str) -> SchemaObject:
        """The contract object of a port of a registered version (versions are immutable: cached)."""
        from quanta.spec.contract import Contract

        key = (product_id, version, port)
        if key not in self._contracts:
            contract = self.core.registry.port_contracts(product_id, version).get(port)
            if contract is None:
                raise NotFoundError(f"{product_id} {version} has no port {port}", hint="see quanta show")
            self._contracts[key] = Contract.model_validate(contract).objects[0]
        return self._contracts[key]

    def readable_tables(self, principal_id: str, dialect: str = "duckdb") -> list[ReadableTable]:
        """The published products ``principal_id`` may read, as ``CREATE TABLE`` statements in
        ``dialect`` (names, types and descriptions; no data)."""
        from quanta.spec.contract import Contract
        from quanta.spec.formats.sql import dialect_named, statements

        ddl = dialect_named(dialect)
        tables = []
        with acting_as(principal_id):
            who = self.core.principal()
            for summary in self.core.registry.products():
                if self.core.registry.current_publish(summary.id) is None:
                    continue
                access = self.core.access(who, summary.id)
                if not access.allowed:
                    continue
                domain, _, name = summary.id.partition(".")
                contracts = self.core.registry.port_contracts(summary.id)
                for document in list(contracts.values())[:1]:
                    contract = Contract.model_validate(document)
                    for obj in contract.objects[:1]:
                        renamed = obj.model_copy(update={"name": f"{domain}.{name}", "physical_name": None})
                        created = [s.sql(dialect=dialect) for s in statements(renamed, ddl)]
                        tables.append(ReadableTable(summary.id, domain, created, access.columns))
        return tables

    # --- audit ----------------------------------------------------------------------------------

    def audit_log(self, domain: str | None = None, limit: int | None = None) -> list[AuditRecord]:
        actor = self.core.principal()
        if not actor.can("read_audit", domain):
            raise NotFoundError(f"{actor.id} may not read the audit log", hint="ask a governance steward")
        return self.core.registry.audit_entries(domain=domain, limit=limit)

    def verify_audit(self) -> tuple[int, list[str]]:
        return self.core.registry.verify_audit()


def read_hint(product_id: str) -> str:
    """What to do about a refused read, as every interface says it."""
    return f"quanta access request {product_id} --purpose '...'"


def _access_details(plan: GovernedPlan, product_id: str) -> JsonObject:
    """How the principal came to read a product, for its audit entry: under a grant, the grant, its
    purpose and the id of the terms of use its request accepted (shown on every read under it)."""
    access = plan.access.get(product_id)
    if access is None:
        return {}
    if access.grant is None:
        return {"access": access.reason}
    found = {"access": access.reason, "grant": access.grant.id, "purpose": access.grant.purpose}
    accepted = access.grant.terms or {}
    if accepted.get("digest"):
        found["terms"] = accepted["digest"]
    return found


def _only_columns(contract: JsonObject, columns: set[str]) -> JsonObject:
    """The contract with only the properties in ``columns`` (what an export shows in clear)."""
    schema = [
        {**obj, "properties": [p for p in obj.get("properties") or [] if p.get("name") in columns]}
        for obj in contract.get("schema") or []
    ]
    return {**contract, "schema": schema}


def contract_objects(contract: JsonObject) -> list[SchemaObject]:
    from quanta.spec.contract import Contract

    return list(Contract.model_validate(contract).objects)


def _inherited_object(obj: SchemaObject, lineage: JsonObject) -> SchemaObject:
    """``obj`` with only what lineage says each column inherits (for :func:`_strictest`)."""
    props = [
        p.model_copy(
            update={"classification": lineage[p.column].get("level"), "tags": lineage[p.column].get("tags")}
        )
        for p in obj.properties or []
        if p.column in lineage
    ]
    return obj.model_copy(update={"properties": props})


def _strictest(obj: SchemaObject, current: SchemaObject) -> SchemaObject:
    """``obj`` with each property's classification and tags at least as strict as in ``current``."""
    from quanta.governance.model import level_rank

    latest = {p.column: p for p in current.properties or []}
    props = []
    for prop in obj.properties or []:
        now = latest.get(prop.column)
        if now is None:
            props.append(prop)
            continue
        level = max([prop.classification, now.classification], key=level_rank)
        tags = sorted({*(prop.tags or []), *(now.tags or [])}) or None
        props.append(prop.model_copy(update={"classification": level, "tags": tags}))
    return obj.model_copy(update={"properties": props})
