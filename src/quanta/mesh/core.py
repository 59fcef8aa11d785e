"""The typed core every area of the facade shares: the workspace, the settings, the registry, the
warehouse, who is acting, and what they may do.

Areas (specs, publishing, governance, ...) hold one ``MeshCore`` and nothing of each other but what
they are given; the core holds no area. Everything here is cheap to create: the registry and the
warehouse open on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from datetime import UTC, datetime
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from quanta.errors import NotFoundError, WorkspaceError
from quanta.settings import Settings
from quanta.workspace import Workspace

if TYPE_CHECKING:
    from quanta.governance.access import Access, ProductFacts
    from quanta.governance.keys import MeshKey
    from quanta.governance.model import Governance, Principal
    from quanta.governance.policies import PolicySet
    from quanta.registry import Registry
    from quanta.registry.catalog import CatalogReads
    from quanta.registry.stores.publishing import PublishRecord
    from quanta.spec import DataProduct
    from quanta.spec.documents import JsonObject
    from quanta.storage import Warehouse

_T = TypeVar("_T")
LOAD_WAIT = 10.0
_ACTING: ContextVar[str | None] = ContextVar("quanta_acting_principal", default=None)


@contextmanager
def acting_as(principal_id: str | None) -> Iterator[None]:
    """Within the block, the facade acts for ``principal_id`` (a server sets this per request, after
    authenticating a token; None: the workspace user), so one shared ``Mesh`` serves every caller
    with their own rights. The block is one request: its access decisions read the catalog's change
    counter once (:func:`~quanta.registry.catalog.one_catalog_view`), not once per decision."""
    from quanta.registry.catalog import one_catalog_view

    token = _ACTING.set(principal_id)
    try:
        with one_catalog_view():
            yield
    finally:
        _ACTING.reset(token)


class MeshCore:
    """What every area reads: where the mesh lives, its registry and warehouse, and who is acting."""

    def __init__(self, workspace: Workspace | None, settings: Settings, *, light: bool = False) -> None:
        self.workspace = workspace
        self.settings = settings
        self.light = light
        self._cache: dict[tuple[object, ...], object] = {}
        self._current: dict[tuple[object, ...], tuple[int, object]] = {}
        self._loading: dict[tuple[object, ...], threading.RLock] = {}
        self._loading_lock = threading.Lock()

    # --- where the mesh lives -------------------------------------------------------------------

    @cached_property
    def registry(self) -> Registry:
        url = self._registry_url()
        if url is None:
            raise WorkspaceError(
                "no workspace, so no registry",
                hint="run inside a workspace ('quanta init') or set QUANTA_DATABASE_URL",
            )
        if self.workspace is not None and not self.settings.database_url:  # the workspace's SQLite file
            self.workspace.state_dir.mkdir(parents=True, exist_ok=True)
        # SQLAlchemy is a quarter of a second to import: only commands that touch the registry pay for it.
        from quanta.registry import Registry

        return Registry.open(url)

    @property
    def catalog(self) -> CatalogReads:
        """What catalog views read (products, versions, descriptors, contracts, consumers, the change
        counter): the registry. A ``light`` core (a command that only reads the catalog) reads a local
        SQLite registry at the newest schema through ``sqlite3`` instead, the same statements without
        SQLAlchemy, until something opens the registry itself (its own writes then show at once)."""
        if self.light and "registry" not in self.__dict__ and self._sqlite_catalog is not None:
            return self._sqlite_catalog
        return self.registry

    @cached_property
    def _sqlite_catalog(self) -> CatalogReads | None:
        from quanta.registry.catalog import SqliteCatalog

        url = self._registry_url()
        return SqliteCatalog.open(url) if url else None

    def _registry_url(self) -> str | None:
        """``QUANTA_DATABASE_URL``, else the workspace's SQLite file (None without either)."""
        if self.settings.database_url:
            return self.settings.database_url.get_secret_value()
        return self.workspace.database_url if self.workspace else None

    @cached_property
    def warehouse(self) -> Warehouse:
        from quanta.storage import Warehouse

        return Warehouse(self.registry.url, self.require_workspace().state_dir / "warehouse")

    def key(self, name: str) -> MeshKey:
        """The mesh's ``mask`` or ``receipt`` key (environment, else the workspace's key file)."""
        from quanta.governance.keys import mesh_key

        return self.immutable(
            ("key", name), lambda: mesh_key(name, self.workspace.state_dir if self.workspace else None)
        )

    def require_workspace(self) -> Workspace:
        if self.workspace is None:
            raise WorkspaceError("not inside a workspace", hint="run 'quanta init DIR' and cd into it")
        return self.workspace

    def relative(self, path: Path) -> str:
        return self.workspace.relative(path) if self.workspace else str(path)

    def immutable(self, key: tuple[object, ...], load: Callable[[], _T]) -> _T:
        """``load()``, remembered under ``key``: for what never changes once written (registered
        versions, publishes, snapshot files)."""
        if key not in self._cache:
            self._cache[key] = load()
        value: _T = self._cache[key]  # type: ignore[assignment]
        return value

    def current(self, key: tuple[object, ...], load: Callable[[], _T], *, exact: bool = False) -> _T:
        """``load()``, remembered until the catalog next changes, in this process or any other (the
        registry's change counter, read first: a value loaded after a change is never filed under
        the count before it). Views may lag another process's change by the counter's recheck
        interval; ``exact`` values (what access decisions read) never do."""
        version = self.catalog.catalog_version(0) if exact else self.catalog.catalog_version()
        found = self._current.get(key)
        if found is None or found[0] != version:
            found = self._load_once(key, version, load)
        cached: _T = found[1]  # type: ignore[assignment]
        return cached

    def _load_once(
        self, key: tuple[object, ...], version: int, load: Callable[[], object]
    ) -> tuple[int, object]:
        """``load()`` filed under ``version``; one thread loads a key at a time, and those asking for it
        meanwhile take what it loaded (after a publish, fifty requests render a page once). A wait
        longer than ``LOAD_WAIT`` seconds loads anyway: never a deadlock, at worst a second load."""
        with self._loading_lock:
            loading = self._loading.setdefault(key, threading.RLock())
        waited = loading.acquire(timeout=LOAD_WAIT)
        try:
            found = self._current.get(key)
            if found is None or found[0] != version:
                found = (version, load())
                if len(self._current) > 4096:  # many products and principals: start over, not grow
                    self._current.clear()
                self._current[key] = found
            return found
        finally:
            if waited:
                loading.release()
            with self._loading_lock:
                self._loading.pop(key, None)

    def descriptor(self, product_id: str) -> JsonObject:
        """The latest registered descriptor of a product (an unknown id: the helpful NotFoundError)."""
        return self.current(
            ("descriptor", product_id), lambda: self.catalog.descriptor(product_id, None), exact=True
        )

    # --- who acts, and what they may do ---------------------------------------------------------

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

    def principal(self, principal_id: str | None = None) -> Principal:
        """The principal by id; by default the one acting: the one a server authenticated for this
        request (:func:`acting_as`), else ``QUANTA_USER`` (the local admin)."""
        return self.governance.principal(principal_id or _ACTING.get() or self.settings.user)

    def product_facts(self, product_id: str) -> ProductFacts:
        """Domain, type and visibility of the latest registered version (read fresh each time)."""
        from quanta.governance.access import ProductFacts

        return ProductFacts.of(product_id, self.descriptor(product_id))

    def access(self, principal: Principal, product_id: str) -> Access:
        """The access decision for one principal and product (no side effects)."""
        from quanta.governance.access import decide

        owners = [principal.id] + ([f"space:{principal.space}"] if principal.space else [])
        grants = [  # expiry is judged by decide(), now: a cached grant still lapses on time
            grant
            for owner in owners
            for grant in self.current(
                ("grants", owner, product_id),
                partial(self.registry.grants, principal=owner, product_id=product_id),
                exact=True,
            )
        ]
        decision = decide(principal, self.product_facts(product_id), grants, self.governance)
        if decision.allowed and principal.space is not None:
            # Whatever put the product into the space, the share policies still hold on every read.
            refused = self.share_refusals(principal.space, product_id)
            if refused:
                return replace(decision, allowed=False, reason="; ".join(refused))
        return decision

    def share_refusals(self, space_id: str, product_id: str) -> list[str]:
        """What the share policies say against ``product_id`` being read in partner space ``space_id``."""
        return self.current(
            ("share_refusals", space_id, product_id),
            lambda: self._share_refusals(space_id, product_id),
            exact=True,
        )

    def _share_refusals(self, space_id: str, product_id: str) -> list[str]:
        from quanta.governance.landing import policy_document
        from quanta.spec.contract import Contract
        from quanta.spec.product import DataProduct

        space = self.governance.space(space_id)
        descriptor = DataProduct.model_validate(self.descriptor(product_id))
        contracts = {
            port: Contract.model_validate(c)
            for port, c in self.registry.port_contracts(product_id, None).items()
        }
        document = policy_document(descriptor, contracts)
        document["space"] = {"name": space_id, "kind": space.kind if space else "partner"}
        decisions = self.policies.evaluate("share", document, domain=descriptor.domain)
        return [m for d in decisions if d.outcome == "deny" for m in d.messages]

    def may_publish(self, products: list[DataProduct]) -> None:
        """The acting principal may register and publish these products (the role matrix)."""
        from quanta.governance.model import GovernanceError

        actor = self.principal()
        refused = sorted(
            p.id for p in products if not actor.can("publish", p.domain or p.id.partition(".")[0])
        )
        if refused:
            raise GovernanceError(
                f"{actor.id} may not publish {', '.join(refused)}",
                hint="producers and domain owners publish in their own domains (governance.yaml)",
            )

    def may_publish_id(self, product_id: str) -> None:
        from quanta.errors import PermissionDenied

        actor, domain = self.principal(), self.product_facts(product_id).domain
        if not actor.can("publish", domain):
            raise PermissionDenied(
                f"{actor.id} may not manage {product_id}'s versions or quarantine",
                hint=f"producers and owners of domain {domain} can",
            )

    # --- which data a reference reads -----------------------------------------------------------

    def publishes(self, product_id: str) -> list[PublishRecord]:
        self.descriptor(product_id)  # raises a helpful NotFoundError for unknown ids
        return list(self.current(("publishes", product_id), lambda: self.registry.publishes(product_id)))

    def resolve(self, ref: str) -> tuple[str, str, int, PublishRecord]:
        """``id``, ``id@version`` or ``id@ISO-time`` ► (product, port, snapshot, publish) to read."""
        from quanta.query.products import parse_ref
        from quanta.registry.versions import major, pick_publish, retired_on

        parsed = parse_ref(ref)
        if parsed is None:
            raise NotFoundError(f"{ref!r} is not a product reference", hint="use domain.name[@version|@time]")
        product_id, at = parsed
        if not at:  # the common case: one row, not the whole history
            current = self.registry.current_publish(product_id)
            if current is None:
                raise NotFoundError(
                    f"{product_id} has no published data yet", hint=f"quanta build {product_id}"
                )
            port, snapshot = next(iter(current.snapshots.items()))
            return product_id, port, snapshot, current
        publishes = self.publishes(product_id)
        if not publishes:
            raise NotFoundError(f"{product_id} has no published data yet", hint=f"quanta build {product_id}")
        chosen = pick_publish(publishes, at, product_id)
        retired = retired_on(publishes, chosen, self._grace_days(product_id))
        if retired is not None and retired <= datetime.now(UTC):
            raise NotFoundError(
                f"{product_id}@{chosen.version} is no longer readable: major version "
                f"{major(chosen.version)} was deprecated by {publishes[-1].version} and retired on "
                f"{retired:%Y-%m-%d}",
                hint=f"read {product_id} (now {publishes[-1].version}); 'quanta diff' shows what changed",
            )
        port, snapshot = next(iter(chosen.snapshots.items()))
        return product_id, port, snapshot, chosen

    def _grace_days(self, product_id: str) -> int:
        descriptor = self.descriptor(product_id)
        for prop in descriptor.get("customProperties") or []:
            if prop.get("property") == "majorGraceDays" and str(prop.get("value")).isdigit():
                return int(prop["value"])
        return self.settings.major_grace_days
