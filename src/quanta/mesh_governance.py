"""The governance half of the ``Mesh`` facade: principals, governed queries, access requests, audit.

A mixin of :class:`quanta.mesh.Mesh`, split out so the facade stays readable; interfaces call these
methods on the ``Mesh`` like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from quanta.errors import NotFoundError

if TYPE_CHECKING:
    from quanta.engines.base import TableScan
    from quanta.errors import Problem
    from quanta.governance.access import Access, ProductFacts
    from quanta.governance.model import Governance, Principal
    from quanta.governance.policies import PolicySet
    from quanta.query.governed import GovernedQueries, GovernedResult, ProductRead
    from quanta.registry import Registry
    from quanta.registry.governance import AuditRecord, GrantRecord, TokenRecord
    from quanta.settings import Settings
    from quanta.spec import LoadedProduct
    from quanta.storage import Warehouse
    from quanta.workspace import Workspace


_T = TypeVar("_T")


class MeshGovernance:
    """Mixin of ``Mesh``: who is asking, what they may read, and the record of it."""

    workspace: Workspace | None
    settings: Settings

    # Provided by Mesh.
    @property
    def registry(self) -> Registry:
        raise NotImplementedError

    @property
    def warehouse(self) -> Warehouse:
        raise NotImplementedError

    def resolve(self, ref: str) -> Any:
        raise NotImplementedError

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
        """The principal by id; by default the one acting (``QUANTA_USER``, the local admin)."""
        return self.governance.principal(principal_id or self.settings.user)

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
        from quanta.query.products import QueryError

        actor = self.principal()
        principal = actor
        if as_principal and as_principal != actor.id:
            if not actor.can("impersonate"):
                self.registry.audit("impersonate", actor.id, as_principal, "deny")
                raise QueryError(f"{actor.id} may not query as someone else", hint="ask a platform admin")
            principal = self.principal(as_principal)

        def record(plan: GovernedResult) -> None:
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

        try:
            return self._governed.run(
                principal, sql, lambda p, at: self._product_read(principal, p, at), limit=limit, audit=record
            )
        except Exception as exc:
            details = {"sql": sql, "as": principal.id, "error": str(exc)[:500]}
            self.registry.audit("query", actor.id, "-", "deny", details=details)
            raise

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

    def share(self, space_id: str, product_id: str, days: int = 365) -> GrantRecord:
        """Share a product into a partner space (stewards and the product's domain owners), if the share
        policies allow it (no restricted or pii data goes to partners)."""
        from quanta.governance.model import GovernanceError

        actor = self.principal()
        domain = self.product_facts(product_id).domain
        if not (actor.can("manage_spaces") or actor.can("approve_access", domain)):
            raise GovernanceError(f"{actor.id} may not share {product_id}", hint="ask a governance steward")
        if self.governance.space(space_id) is None:
            known = ", ".join(s.id for s in self.governance.spec.spaces) or "none"
            raise GovernanceError(f"unknown space {space_id!r}", hint=f"spaces in governance.yaml: {known}")
        refused = self._share_refusals(space_id, product_id)
        if refused:
            self.registry.audit("share", actor.id, product_id, "deny", domain=domain,
                                details={"space": space_id, "policies": refused})  # fmt: skip
            raise GovernanceError("sharing refused by policy: " + "; ".join(refused), hint="quanta policy ls")
        request = self.registry.request_grant(
            f"space:{space_id}", product_id, [], f"shared into {space_id}", days
        )
        grant = self.registry.decide_grant(request, "granted", actor.id, "share")
        self.registry.audit(
            "share", actor.id, product_id, "allow", domain=domain, details={"space": space_id}
        )
        return grant

    def export_data(self, sql: str, target: Path) -> GovernedResult:
        """Run a governed query and write the result to a file (CSV or Parquet): egress, so the egress
        policies decide on what leaves in clear."""
        from quanta.governance.model import GovernanceError

        result = self.governed_query(sql)
        actor = self.principal()
        for product_id in result.products:
            clear = set(result.columns.get(product_id, [])) - set(result.masked.get(product_id, {}))
            contracts = self.registry.port_contracts(product_id, None)
            shown = {port: _only_columns(c, clear) for port, c in contracts.items()}
            document = {
                "product": {"id": product_id},
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
        _write(result.table, target)
        for product_id in result.products:
            details = {"sql": sql, "file": str(target), "rows": result.table.num_rows}
            domain = product_id.partition(".")[0]
            self.registry.audit("export", actor.id, product_id, "allow", domain=domain, details=details)
        return result

    def _product_read(self, principal: Principal, product_id: str, at: str | None) -> ProductRead:
        from quanta.governance.access import decide
        from quanta.query.governed import ProductRead
        from quanta.query.products import QueryError

        owners = [principal.id] + ([f"space:{principal.space}"] if principal.space else [])
        state = self.registry.read_state(product_id, owners)  # one round trip for the common case
        if state is None:
            raise QueryError(f"unknown product {product_id!r}", hint="see quanta ls")
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
            raise QueryError(
                f"access denied to {product_id}: {decision.reason}",
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

    # --- tokens ---------------------------------------------------------------------------------

    def create_token(
        self, name: str, *, scopes: list[str] | None = None, days: int = 30, principal_id: str | None = None
    ) -> tuple[str, TokenRecord]:
        """A new API token (returned once, in clear; only its hash is stored) for the acting principal,
        or for another one (admins: service accounts)."""
        import hashlib
        import secrets

        from quanta.governance.model import SCOPES, GovernanceError

        actor = self.principal()
        owner = self.principal(principal_id) if principal_id else actor
        if owner.id != actor.id and not actor.can("impersonate"):
            raise GovernanceError(
                f"{actor.id} may not create tokens for {owner.id}", hint="ask a platform admin"
            )
        chosen = scopes or ["read"]
        unknown = sorted(set(chosen) - set(SCOPES))
        if unknown:
            raise GovernanceError(f"unknown scope {', '.join(unknown)}", hint=f"scopes: {', '.join(SCOPES)}")
        if not 1 <= days <= 365:
            raise GovernanceError(f"a token lasts 1 to 365 days, not {days}", hint="--days 30")
        token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        digest = hashlib.sha256(secret.encode()).hexdigest()
        record = self.registry.add_token(token_id, owner.id, name, digest, chosen, days)
        self.registry.audit(
            "token.create", actor.id, owner.id, "allow", details={"token": token_id, "scopes": chosen}
        )
        return f"qt_{token_id}_{secret}", record

    def authenticate(self, token: str) -> tuple[Principal, list[str]]:
        """The principal and scopes a bearer token stands for; a clear error for any bad token."""
        import hashlib
        import hmac

        from quanta.governance.model import GovernanceError

        prefix, _, rest = token.strip().partition("_")
        token_id, _, secret = rest.partition("_")
        if prefix != "qt" or not token_id or not secret:
            raise GovernanceError("not a Quanta API token", hint="tokens look like qt_<id>_<secret>")
        found = self.registry.token(token_id)
        digest = hashlib.sha256(secret.encode()).hexdigest()
        if found is None or not hmac.compare_digest(found[1], digest):
            raise GovernanceError("unknown or wrong API token", hint="create one: quanta token create NAME")
        record = found[0]
        if record.status == "revoked":
            raise GovernanceError(
                f"token {token_id} was revoked", hint="create a new one: quanta token create NAME"
            )
        if record.status == "expired":
            raise GovernanceError(
                f"token {token_id} expired on {record.expires_at:%Y-%m-%d %H:%M} UTC",
                hint="create a new one: quanta token create NAME",
            )
        return self.principal(record.principal), record.scopes

    def tokens(self) -> list[TokenRecord]:
        actor = self.principal()
        return self.registry.tokens(None if actor.can("impersonate") else actor.id)

    def revoke_token(self, token_id: str) -> TokenRecord:
        from quanta.governance.model import GovernanceError

        actor = self.principal()
        mine = {t.id for t in self.registry.tokens(actor.id)}
        if token_id not in mine and not actor.can("impersonate"):
            raise GovernanceError(f"{actor.id} may not revoke token {token_id}", hint="see quanta token ls")
        record = self.registry.revoke_token(token_id)
        self.registry.audit("token.revoke", actor.id, record.principal, "deny", details={"token": token_id})
        return record

    # --- audit ----------------------------------------------------------------------------------

    def audit_log(self, domain: str | None = None, limit: int | None = None) -> list[AuditRecord]:
        actor = self.principal()
        if not actor.can("read_audit", domain):
            raise NotFoundError(f"{actor.id} may not read the audit log", hint="ask a governance steward")
        return self.registry.audit_entries(domain=domain, limit=limit)

    def verify_audit(self) -> tuple[int, list[str]]:
        return self.registry.verify_audit()

    # --- access requests ------------------------------------------------------------------------

    def request_access(
        self, product_id: str, purpose: str, *, columns: list[str] | None = None, days: int = 90
    ) -> int:
        from quanta.governance.model import GovernanceError

        principal = self.principal()
        self.product_facts(product_id)  # raises for an unknown product
        if not purpose.strip():
            raise GovernanceError(
                "an access request needs a purpose", hint="--purpose 'what you will do with it'"
            )
        if days < 1 or days > 365:
            raise GovernanceError(f"duration {days} days is out of range", hint="ask for 1 to 365 days")
        contracts = self.registry.port_contracts(product_id, None)
        known = {p.column for c in contracts.values() for o in _objects(c) for p in o.properties or []}
        unknown = sorted(set(columns or []) - known)
        if unknown:
            raise GovernanceError(
                f"{product_id} has no column {', '.join(unknown)}",
                hint=f"columns: {', '.join(sorted(known))}",
            )
        grant_id = self.registry.request_grant(principal.id, product_id, columns or [], purpose, days)
        self.registry.audit(
            "access.request", principal.id, product_id, "requested", domain=product_id.partition(".")[0],
            details={"request": grant_id, "purpose": purpose, "columns": columns or [], "days": days},
        )  # fmt: skip
        return grant_id

    def decide_access(self, request_id: int, approve: bool, reason: str | None = None) -> GrantRecord:
        from quanta.governance.model import GovernanceError

        actor = self.principal()
        request = next((g for g in self.registry.grants() if g.id == request_id), None)
        if request is None:
            raise NotFoundError(f"no access request {request_id}", hint="see quanta access ls")
        domain = self.product_facts(request.product_id).domain
        if not actor.can("approve_access", domain):
            raise GovernanceError(
                f"{actor.id} may not decide access to {request.product_id}", hint="ask its owner"
            )
        if request.status != "requested":
            raise GovernanceError(
                f"request {request_id} is already {request.status}", hint="see quanta access ls"
            )
        decided = self.registry.decide_grant(
            request_id, "granted" if approve else "rejected", actor.id, reason
        )
        self.registry.audit(
            "access.grant" if approve else "access.reject", actor.id, request.product_id,
            "allow" if approve else "deny", domain=domain,
            details={"request": request_id, "principal": request.principal, "reason": reason},
        )  # fmt: skip
        return decided

    def revoke_access(self, grant_id: int, reason: str | None = None) -> GrantRecord:
        from quanta.governance.model import GovernanceError

        actor = self.principal()
        grant = next((g for g in self.registry.grants() if g.id == grant_id), None)
        if grant is None:
            raise NotFoundError(f"no grant {grant_id}", hint="see quanta access ls")
        domain = self.product_facts(grant.product_id).domain
        if not actor.can("approve_access", domain) and actor.id != grant.principal:
            raise GovernanceError(f"{actor.id} may not revoke grant {grant_id}", hint="ask its owner")
        revoked = self.registry.decide_grant(grant_id, "revoked", actor.id, reason)
        self.registry.audit(
            "access.revoke", actor.id, grant.product_id, "deny", domain=domain,
            details={"grant": grant_id, "principal": grant.principal, "reason": reason},
        )  # fmt: skip
        return revoked

    def access_requests(self, product_id: str | None = None) -> list[GrantRecord]:
        return self.registry.grants(product_id=product_id)


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


def _write(table: Any, target: Path) -> None:
    from quanta.governance.model import GovernanceError

    if target.suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, target)
    elif target.suffix == ".csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, target)
    else:
        raise GovernanceError(f"cannot export to {target.name}", hint="use a .csv or .parquet file")


def _objects(contract: dict[str, Any]) -> list[Any]:
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
