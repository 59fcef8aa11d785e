"""DATSIS maturity scoring in the ``Mesh`` facade: Discoverable, Addressable, Trustworthy,
Self-describing, Interoperable and Secure, each criterion explained.

The facade gathers the facts (the registered metadata and what the platform observed: publishes,
builds, incidents, grants, detections on landing, the search index) and the scorer in
``quanta.discovery.maturity`` judges them. Scores are stored when they change: after each publish (a build
observer) and whenever someone looks. During a build, the candidate version is scored before it is
published, for the publish policies (``input.maturity``).

An area of the :class:`~quanta.mesh.Mesh` facade.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from quanta.errors import NotFoundError, PermissionDenied

if TYPE_CHECKING:
    from quanta.build.runner import BuildResult
    from quanta.discovery.maturity.facts import Facts, Observed
    from quanta.discovery.maturity.scoring import Maturity
    from quanta.mesh.core import MeshCore
    from quanta.mesh.discovery import DiscoveryArea
    from quanta.mesh.observability import ObservabilityArea
    from quanta.registry.stores.maturity_scores import MaturityRecord
    from quanta.spec import Contract, DataProduct, LoadedProduct
    from quanta.spec.documents import JsonObject

log = logging.getLogger(__name__)
_RUNS = 20


class MaturityArea:
    """DATSIS scores, their history, and the maturity of a version being built."""

    def __init__(self, core: MeshCore, discovery: DiscoveryArea, health: ObservabilityArea) -> None:
        self.core = core
        self._discovery, self._health = discovery, health

    def maturity(self, product_id: str, *, record: bool = True, served: bool = False) -> Maturity:
        """The DATSIS score of the product's latest registered version, every criterion explained;
        stored (when it changed) unless ``record`` is False. ``served``: of the version consumers read
        instead (never stored when that is not the latest: the trend follows registered versions)."""
        self._may_see_maturity(product_id)
        version = self.core.registry.served_versions([product_id]).get(product_id) if served else None
        if version is not None and version != self.core.registry.descriptor(product_id).get("version"):
            return self._score_registered(product_id, None, version)
        return self._score_registered(product_id, "demand" if record else None)

    def maturity_all(self, offset: int = 0, limit: int | None = None) -> tuple[list[Maturity], int]:
        """Scores of the products the acting principal may see (a page of them), and their number."""
        visible = [p.id for p in self.core.registry.products() if self._maturity_visible(p.id)]
        chosen = visible[offset : None if limit is None else offset + limit]
        return [self._score_registered(pid, "demand") for pid in chosen], len(visible)

    def maturity_history(self, product_id: str, limit: int = 100) -> list[MaturityRecord]:
        """The stored scores of the product, oldest first: its trend."""
        self.core.product_facts(product_id)  # an unknown id is a 404, not an empty history
        self._may_see_maturity(product_id)
        return self.core.registry.maturity_history(product_id, limit)

    def maturity_for_build(self, loaded: LoadedProduct, detections: list[JsonObject]) -> JsonObject:
        """``input.maturity`` for the publish policies: the version being built, scored before it is
        published (its data passed the contract; ``detections`` are what landed). Fails closed: when
        scoring breaks, the policies see level 0 and the error."""
        from quanta.discovery.maturity.scoring import score

        try:
            facts = self._candidate_facts(loaded, detections)
            return score(facts).policy_input()
        except Exception as exc:  # a scoring bug must not let a gated product through, nor crash the build
            log.exception("maturity of %s could not be computed", loaded.product.id)
            return {"level": 0, "name": "basic", "score": 0, "dimensions": {}, "unmet": [], "error": str(exc)}

    def maturity_observer(self) -> MaturityRecorder:
        """The build observer that stores each published product's new score."""
        return MaturityRecorder(self)

    # --- facts ----------------------------------------------------------------------------------

    def _score_registered(self, product_id: str, trigger: str | None, version: str | None = None) -> Maturity:
        from quanta.discovery.maturity.scoring import score

        product, contracts = self._registered_spec(product_id, version)
        product_file, contract_files = self._files(product)
        facts = _facts(
            product, contracts, self._observed(product_id, product.version), product_file, contract_files
        )
        result = score(facts)
        if trigger is not None:
            self.core.registry.record_maturity(result.record(trigger))
        return result

    def _registered_spec(
        self, product_id: str, version: str | None = None
    ) -> tuple[DataProduct, dict[str, Contract]]:
        """A registered version's descriptor and contracts (the latest by default), parsed once per
        version."""
        from quanta.spec import Contract, DataProduct

        descriptor = self.core.registry.descriptor(product_id, version)
        version = descriptor.get("version")

        def parse() -> tuple[DataProduct, dict[str, Contract]]:
            contracts = self.core.registry.port_contracts(product_id, version)
            return DataProduct.model_validate(descriptor), {
                port: Contract.model_validate(doc) for port, doc in contracts.items()
            }

        parsed: tuple[DataProduct, dict[str, Contract]] = self.core.immutable(
            ("maturity-spec", product_id, version), parse
        )
        return parsed

    def _candidate_facts(self, loaded: LoadedProduct, detections: list[JsonObject]) -> Facts:
        product = loaded.product
        observed = self._observed(product.id, product.version, candidate=True, detections=detections)
        relative = self.core.workspace.relative if self.core.workspace else str
        files = {port: relative(c.path) for port, c in loaded.contracts.items()}
        contracts = {port: c.contract for port, c in loaded.contracts.items()}
        return _facts(product, contracts, observed, relative(loaded.path), files)

    def _observed(
        self,
        product_id: str,
        version: str | None,
        *,
        candidate: bool = False,
        detections: list[JsonObject] | None = None,
    ) -> Observed:
        from quanta.discovery.maturity.facts import Observed, RunOutcome

        publishes = self.core.registry.publishes(product_id)
        runs = [r for r in self.core.registry.runs(product_id, _RUNS) if r.status not in ("running",)]
        outcomes = [RunOutcome(r.id, r.status, r.error, "snapshot" in r.details) for r in runs]
        if candidate:  # this build's data passed its contract: it counts as a passing build
            outcomes.insert(0, RunOutcome("this build", "published"))
        if detections is None and publishes:
            landed = (publishes[-1].checks.get("governance") or {}).get("detections")
            detections = list(landed) if isinstance(landed, list) else []
        versions = [p.version for p in publishes] + ([version or "0.0.0"] if candidate else [])
        return Observed(
            published_versions=tuple(versions),
            runs=tuple(outcomes),
            previous_readable=self._previous_readable(product_id, versions),
            slo_attainment=self._health.slo_attainment(product_id, days=30),
            open_incidents=tuple(i.title for i in self.core.registry.open_incidents(product_id)),
            grants=tuple(self.core.registry.grants(product_id=product_id)),
            detections=None if detections is None else tuple(detections),
            indexed=self._indexed(product_id),
            candidate=candidate,
        )

    def _previous_readable(self, product_id: str, versions: list[str]) -> bool | None:
        distinct = list(dict.fromkeys(reversed(versions)))  # newest first
        if len(distinct) < 2:
            return None
        try:
            self.core.resolve(f"{product_id}@{distinct[1]}")
        except NotFoundError:
            return False
        return True

    def _indexed(self, product_id: str) -> bool | None:
        try:
            hits = self._discovery.search(product_id, limit=5).hits
        except Exception:  # the search index is derived data: when it fails, the criterion says so
            log.info("the search index could not be asked about %s", product_id, exc_info=True)
            return None
        return any(hit.product_id == product_id for hit in hits)

    def _files(self, product: DataProduct) -> tuple[str, dict[str, str]]:
        """Where the product's descriptor and contracts are, for hints: the workspace's conventional
        folder ``domains/<domain>/<name>/`` when it holds the product, else the bare file names."""
        domain, _, name = product.id.partition(".")
        folder = f"domains/{domain}/{name}"
        if self.core.workspace is None or not (self.core.workspace.root / folder / "product.yaml").is_file():
            return "product.yaml", {}
        ports = product.output_ports or []
        return f"{folder}/product.yaml", {p.name: f"{folder}/{p.contract}" for p in ports if p.contract}

    # --- who may see a score --------------------------------------------------------------------

    def _maturity_visible(self, product_id: str) -> bool:
        """Like the catalog: every product's metadata is visible, except to partners, who see only
        what was shared into their space."""
        principal = self.core.principal()
        return principal.space is None or self.core.access(principal, product_id).allowed

    def _may_see_maturity(self, product_id: str) -> None:
        """Refuse partners a product not shared with them; unknown ids are refused (404, with a "did you
        mean") where the product is read."""
        if not self._maturity_visible(product_id):
            raise PermissionDenied(
                f"{product_id} is not shared into your space",
                hint="partners see only the products shared into their space",
            )


class MaturityRecorder:
    """A build observer: stores the new score of every product a build published or failed (a failure
    lowers Trustworthy), so the trend shows both."""

    def __init__(self, area: MaturityArea) -> None:
        self._area = area

    def build_started(self, loaded: LoadedProduct, run_id: str, at: datetime) -> None:
        return None

    def build_finished(self, loaded: LoadedProduct, result: BuildResult, started: datetime) -> None:
        if result.status in ("published", "failed"):
            before = self._area.core.registry.maturity_levels().get(loaded.product.id)
            trigger = "publish" if result.status == "published" else "build"
            level = self._area._score_registered(loaded.product.id, trigger).level
            # A publish changes the version search shows; a level change the marketplace's facet.
            if result.status == "published" or level != before:
                self._area._discovery.keep_search_current([loaded.product.id])


def _facts(
    product: DataProduct,
    contracts: dict[str, Contract],
    observed: Observed,
    product_file: str,
    contract_files: dict[str, str],
) -> Facts:
    from quanta.discovery.maturity.facts import Facts

    return Facts(product, contracts, observed, product_file, contract_files)
