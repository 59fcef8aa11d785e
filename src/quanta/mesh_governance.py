"""The governance half of the ``Mesh`` facade: principals, governed queries, access requests, audit.

A mixin of :class:`quanta.mesh.Mesh`, split out so the facade stays readable; interfaces call these
methods on the ``Mesh`` like any other.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from quanta.errors import NotFoundError
from quanta.observability.prometheus import observe_query

if TYPE_CHECKING:
    from quanta.engines.base import TableScan
    from quanta.errors import Problem
    from quanta.governance.access import Access, ProductFacts
    from quanta.governance.model import Governance, Principal
    from quanta.governance.policies import PolicySet
    from quanta.query.governed import (
        GovernedPlan,
        GovernedQueries,
        GovernedResult,
        GovernedStream,
        ProductRead,
        QueryCall,
    )
    from quanta.registry import Registry
    from quanta.registry.stores.audit_grants import AuditRecord
    from quanta.settings import Settings
    from quanta.spec import LoadedProduct
    from quanta.storage import Warehouse
    from quanta.workspace import Workspace


_T = TypeVar("_T")
_ACTING: ContextVar[str | None] = ContextVar("quanta_acting_principal", default=None)


@contextmanager
def acting_as(principal_id: str) -> Iterator[None]:
    """Within the block, the facade acts for ``principal_id`` (a server sets this per request, after
    authenticating a token), so one shared ``Mesh`` serves every caller with their own rights."""
    token = _ACTING.set(principal_id)
    try:
        yield
    finally:
        _ACTING.reset(token)


class MeshGovernance:
    """Mixin of ``Mesh``: who is asking, what they may read, and the record of it."""

    workspace: Workspace | None
    settings: Settings

    if TYPE_CHECKING:  # provided by Mesh; declared here for the type checker only

        @property
        def registry(self) -> Registry: ...

        @property
        def warehouse(self) -> Warehouse: ...

        def resolve(self, ref: str) -> Any: ...

    @cached_property
    def governance(self) -> Governance:
        from quanta.governance.model import Governance

        return Governance.load(self.workspace.root if self.workspace else None)

    @cached_property
    def policies(self) -> PolicySet:
        """Shipped global policies, the workspace's ``policies/`` and each ``domains/<d>/policies/``."""
        from quanta.governance.policies import PolicySet

        root = self.workspace.root if self.workspace else None
        folders = [root / "policies", *sorted(root.glob("domains/*/policies"))] if root else []
        return PolicySet.load([f for f in folders if f.is_dir()])

    def policy_problems(self, products: list[LoadedProduct]) -> list[Problem]:
        """Validate-time policy decisions as positioned problems on each product's descriptor."""
        from quanta.errors import Problem
        from quanta.governance.landing import policy_document

        problems = []
        for loaded in products:
            contracts = {name: c.contract for name, c in loaded.contracts.items()}
            document = policy_document(loaded.product, contracts)
            for decision in self.policies.evaluate("validate", document, domain=loaded.product.domain):
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

    def principal(self, principal_id: str | None = None) -> Principal:
        """The principal by id; by default the one acting: the one a server authenticated for this
        request (:func:`acting_as`), else ``QUANTA_USER`` (the local admin)."""
        return self.governance.principal(principal_id or _ACTING.get() or self.settings.user)

    @cached_property
    def _governed(self) -> GovernedQueries:
        from quanta.engines.duckdb import DuckDBEngine
        from quanta.query.governed import GovernedQueries

        root = str(self.warehouse.root.resolve())
        return GovernedQueries(DuckDBEngine(allowed_directories=[root]), root)

    def governed_query(
        self, sql: str, *, as_principal: str | None = None, limit: int | None = None
    ) -> GovernedResult:
        """Run SQL over products as the acting principal, or (for admins, audited) as someone else."""
        return self._governed_call(sql, as_principal, limit, self._governed.run)

    def governed_stream(
        self, sql: str, *, as_principal: str | None = None, limit: int | None = None
    ) -> GovernedStream:
        """:meth:`governed_query` with the rows as a ``pyarrow.RecordBatchReader`` computed while it
        is read (the same masks, row filters and audit): for results of any size."""
        return self._governed_call(sql, as_principal, limit, self._governed.stream)

    def _governed_call(
        self, sql: str, as_principal: str | None, limit: int | None, execute: Callable[[QueryCall], _T]
    ) -> _T:
        """``execute`` a governed query as the acting principal (or, for admins, as another one),
        with the audit entries and query metrics every governed query gets."""
        from quanta.query.governed import QueryCall
        from quanta.query.products import QueryError

        actor = self.principal()
        principal = actor
        if as_principal and as_principal != actor.id:
            if not actor.can("impersonate"):
                self.registry.audit("impersonate", actor.id, as_principal, "deny")
                raise QueryError(f"{actor.id} may not query as someone else", hint="ask a platform admin")
            principal = self.principal(as_principal)

        def record(plan: GovernedPlan) -> None:
            """The allow entries, written while the engine runs the query (and before it returns)."""
            for product_id in plan.products:
                details = {
                    "sql": sql,
                    "as": principal.id,
                    "columns": plan.columns.get(product_id),
                    "masked": plan.masked.get(product_id),
                    "row_filter": plan.filtered.get(product_id),
                }
                domain = product_id.partition(".")[0]
                self.registry.audit("query", actor.id, product_id, "allow", domain=domain, details=details)

        started, outcome = time.perf_counter(), "ok"
        try:
            resolve = partial(self._product_read, principal)
            return execute(QueryCall(principal, sql, resolve, limit, record))
        except Exception as exc:
            details = {"sql": sql, "as": principal.id, "error": str(exc)[:500]}
            # A refusal is a denial (on the product it names, so its domain sees it); a query that
            # was allowed but failed in the engine is an error.
            subject = getattr(exc, "product_id", "-")
            domain = subject.partition(".")[0] if subject != "-" else None
            decision = "error" if str(exc).startswith("query failed") else "deny"
            outcome = "error" if decision == "error" else "denied"
            self.registry.audit("query", actor.id, subject, decision, domain=domain, details=details)
            raise
        finally:
            observe_query(outcome, time.perf_counter() - started)  # never raises; no-op outside servers

    def product_facts(self, product_id: str) -> ProductFacts:
        """Domain, type and visibility of the latest registered version (read fresh each time)."""
        return _facts(product_id, self.registry.descriptor(product_id, None))

    def access(self, principal: Principal, product_id: str) -> Access:
        """The access decision for one principal and product (no side effects)."""
        from quanta.governance.access import decide

        grants = self.registry.grants(principal=principal.id, product_id=product_id)
        if principal.space is not None:
            grants += self.registry.grants(principal=f"space:{principal.space}", product_id=product_id)
        decision = decide(principal, self.product_facts(product_id), grants, self.governance)
        if decision.allowed and principal.space is not None:
            # Whatever put the product into the space, the share policies still hold on every read.
            refused = self._share_refusals(principal.space, product_id)
            if refused:
                return replace(decision, allowed=False, reason="; ".join(refused))
        return decision

    def _share_refusals(self, space_id: str, product_id: str) -> list[str]:
        from quanta.governance.landing import policy_document
        from quanta.spec.contract import Contract
        from quanta.spec.product import DataProduct

        space = self.governance.space(space_id)
        descriptor = DataProduct.model_validate(self.registry.descriptor(product_id, None))
        contracts = {
            port: Contract.model_validate(c)
            for port, c in self.registry.port_contracts(product_id, None).items()
        }
        document = policy_document(descriptor, contracts)
        document["space"] = {"name": space_id, "kind": space.kind if space else "partner"}
        decisions = self.policies.evaluate("share", document, domain=descriptor.domain)
        return [m for d in decisions if d.outcome == "deny" for m in d.messages]

    def export_data(
        self, sql: str, target: Path, *, as_principal: str | None = None, limit: int | None = None
    ) -> int:
        """Run a governed query and stream the result to a file (CSV, JSON or Parquet, by suffix), one
        batch at a time; returns the rows written. Egress: the egress policies decide on what leaves
        in clear."""
        from quanta.governance.model import GovernanceError
        from quanta.query.export import WRITERS, write_file

        if target.suffix.lower() not in WRITERS:
            raise GovernanceError(f"cannot export to {target.name}", hint=f"use a {', '.join(WRITERS)} file")
        result = self.governed_stream(sql, as_principal=as_principal, limit=limit)
        actor = self.principal()
        for product_id in result.products:
            clear = set(result.columns.get(product_id, [])) - set(result.masked.get(product_id, {}))
            contracts = self.registry.port_contracts(product_id, None)
            shown = {port: _only_columns(c, clear) for port, c in contracts.items()}
            document = {
                "product": {"id": product_id, "domain": product_id.partition(".")[0]},
                "contracts": shown,
                "request": {"purpose": "export", "egress": True},
                "principal": {"id": actor.id},
            }
            refused = [
                m
                for d in self.policies.evaluate("access", document)
                if d.outcome == "deny"
                for m in d.messages
            ]
            if refused:
                domain = product_id.partition(".")[0]
                details = {"sql": sql, "policies": refused}
                self.registry.audit("export", actor.id, product_id, "deny", domain=domain, details=details)
                raise GovernanceError(
                    "export refused by policy: " + "; ".join(refused), hint="query it in place"
                )
        try:
            rows = write_file(result.reader, target)
        except BaseException:
            target.unlink(missing_ok=True)  # no half-written file that looks like a result
            raise
        for product_id in result.products:
            written = {"sql": sql, "file": str(target), "rows": rows}
            domain = product_id.partition(".")[0]
            self.registry.audit("export", actor.id, product_id, "allow", domain=domain, details=written)
        return rows

    def _product_read(self, principal: Principal, product_id: str, at: str | None) -> ProductRead:
        from quanta.governance.access import decide
        from quanta.query.governed import ProductRead
        from quanta.query.products import AccessDenied, QueryError, UnknownProduct

        owners = [principal.id] + ([f"space:{principal.space}"] if principal.space else [])
        state = self.registry.read_state(product_id, owners)  # one round trip for the common case
        if state is None:
            hint = "see quanta ls"
            try:
                self.registry.descriptor(product_id)  # the registry's hint: did you mean ...?
            except NotFoundError as exc:
                hint = exc.hint or hint
            raise UnknownProduct(f"unknown product {product_id!r}", hint=hint)
        latest, current_id, grants = state
        descriptor = self._immutable(
            ("descriptor", product_id, latest), lambda: self.registry.descriptor(product_id, latest)
        )
        current = (
            self._immutable(("publish", current_id), lambda: self.registry.publish_by_id(current_id))
            if current_id is not None
            else None
        )
        facts = _facts(product_id, descriptor)
        decision = decide(principal, facts, grants, self.governance)
        if decision.allowed and principal.space is not None:
            refused = self._share_refusals(principal.space, product_id)
            if refused:
                decision = replace(decision, allowed=False, reason="; ".join(refused))
        if not decision.allowed:
            raise AccessDenied(
                f"access denied to {product_id}: {decision.reason}",
                product_id=product_id,
                hint=f"quanta access request {product_id} --purpose '...'",
            )
        if at or current is None:
            try:
                _, port, snapshot, publish = self.resolve(f"{product_id}@{at}" if at else product_id)
            except NotFoundError as exc:
                raise QueryError(exc.message, hint=exc.hint) from None
        else:
            publish = current
            port, snapshot = next(iter(current.snapshots.items()))
        obj = self._contract_object(product_id, publish.version, port)
        if latest != publish.version:  # a column classified since is masked in older versions too
            obj = _strictest(obj, self._contract_object(product_id, latest, port))
        lineage = ((publish.checks or {}).get("governance") or {}).get("lineage") or {}
        if lineage:  # tags inherited from the inputs through column lineage are masked like declared ones
            obj = _strictest(obj, _inherited_object(obj, lineage))
        key = (product_id, port, snapshot)
        if key not in self._scans:  # a snapshot's files never change
            self._scans[key] = self.warehouse.scan(product_id, port, snapshot)
        return ProductRead(product_id, facts.domain, publish.version, obj, self._scans[key], decision)

    def _contract_object(self, product_id: str, version: str, port: str) -> Any:
        """The contract object of a port of a registered version (versions are immutable: cached)."""
        from quanta.spec.contract import Contract

        key = (product_id, version, port)
        if key not in self._contracts:
            contract = self.registry.port_contracts(product_id, version).get(port)
            if contract is None:
                raise NotFoundError(f"{product_id} {version} has no port {port}", hint="see quanta show")
            self._contracts[key] = Contract.model_validate(contract).objects[0]
        return self._contracts[key]

    def _immutable(self, key: tuple[Any, ...], load: Callable[[], _T]) -> _T:
        """``load()``, remembered under ``key``: for what never changes once written (registered
        versions, publishes, snapshot files)."""
        if key not in self._cache:
            self._cache[key] = load()
        value: _T = self._cache[key]
        return value

    @cached_property
    def _cache(self) -> dict[tuple[Any, ...], Any]:
        return {}

    @cached_property
    def _scans(self) -> dict[tuple[str, str, int], TableScan]:
        return {}

    @cached_property
    def _contracts(self) -> dict[tuple[str, str, str], Any]:
        return {}

    # --- audit ----------------------------------------------------------------------------------

    def audit_log(self, domain: str | None = None, limit: int | None = None) -> list[AuditRecord]:
        actor = self.principal()
        if not actor.can("read_audit", domain):
            raise NotFoundError(f"{actor.id} may not read the audit log", hint="ask a governance steward")
        return self.registry.audit_entries(domain=domain, limit=limit)

    def verify_audit(self) -> tuple[int, list[str]]:
        return self.registry.verify_audit()


def _facts(product_id: str, descriptor: dict[str, Any]) -> ProductFacts:
    from quanta.governance.access import ProductFacts

    custom = {c.get("property"): c.get("value") for c in descriptor.get("customProperties") or []}
    domain = descriptor.get("domain") or product_id.partition(".")[0]
    return ProductFacts(product_id, domain, descriptor.get("type"), custom.get("visibility"))


def _only_columns(contract: dict[str, Any], columns: set[str]) -> dict[str, Any]:
    """The contract with only the properties in ``columns`` (what an export shows in clear)."""
    schema = [
        {**obj, "properties": [p for p in obj.get("properties") or [] if p.get("name") in columns]}
        for obj in contract.get("schema") or []
    ]
    return {**contract, "schema": schema}


def contract_objects(contract: dict[str, Any]) -> list[Any]:
    from quanta.spec.contract import Contract

    return list(Contract.model_validate(contract).objects)


def _inherited_object(obj: Any, lineage: dict[str, Any]) -> Any:
    """``obj`` with only what lineage says each column inherits (for :func:`_strictest`)."""
    props = [
        p.model_copy(
            update={"classification": lineage[p.column].get("level"), "tags": lineage[p.column].get("tags")}
        )
        for p in obj.properties or []
        if p.column in lineage
    ]
    return obj.model_copy(update={"properties": props})


def _strictest(obj: Any, current: Any) -> Any:
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
