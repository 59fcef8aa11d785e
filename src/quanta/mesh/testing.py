"""Testing: data against its contract, as ``datacontract test`` does (a contract file and its
``servers``) or as published (a registered product's current publish).

An area of the :class:`~quanta.mesh.Mesh` facade over the shared :class:`~quanta.mesh.core.MeshCore`;
the checks themselves run in :mod:`quanta.contracts.suite`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quanta.contracts import Run
    from quanta.contracts.selection import Selection, TestOptions
    from quanta.mesh.core import MeshCore
    from quanta.spec import Contract
    from quanta.spec.documents import JsonObject


class TestingArea:
    """Contract tests of files and of published products."""

    def __init__(self, core: MeshCore) -> None:
        self.core = core

    def test(
        self,
        target: str,
        *,
        server: str | None = None,
        kinds: set[str] | None = None,
        options: TestOptions | None = None,
    ) -> dict[str, Run]:
        """Test data against its contract: a contract file (on one of its ``servers``) or a registered
        product (its current publish). ``kinds`` limits the checks: schema, quality, sla; ``options``
        carries the rest of datacontract-cli's selection (dimension, quality ids, tags, row filters)."""
        from quanta.contracts.selection import Selection, TestOptions
        from quanta.contracts.suite import run_file

        options = options or TestOptions()
        if kinds is not None:
            options = replace(options, selection=replace(options.selection, categories=kinds))
        path = Path(target)
        if path.suffix in (".yaml", ".yml", ".json") or path.is_file():
            return run_file(path, None if server == "all" else server, options)
        if options.filter is not None or options.filters is not None:
            from quanta.contracts.overrides import FilterError

            raise FilterError("--filter/--filters apply to contract files", hint="test a contract file")
        return {target: self.test_product(target, options.selection or Selection())}

    def test_product(self, ref: str, selection: Selection) -> Run:
        from quanta.contracts.suite import run_all
        from quanta.engines import get_engine
        from quanta.spec import Contract

        product_id, port, snapshot, publish = self.core.resolve(ref)
        contract = Contract.model_validate(
            self.core.registry.port_contracts(product_id, publish.version)[port]
        )
        inputs = {**self._related_tables(contract, product_id)}
        inputs.update(
            {obj.name: self.core.warehouse.scan(product_id, port, snapshot) for obj in contract.objects[:1]}
        )
        stats = {contract.objects[0].name: self.core.warehouse.column_stats(product_id, port, snapshot)}
        history = [p.created_at for p in self.core.registry.publishes(product_id)]
        run = run_all(contract, get_engine(), inputs, stats, selection, history)
        # Every test of published data is remembered, for observability and maturity scoring.
        self.core.registry.append_event(
            "contract.tested",
            product_id,
            self.core.settings.user,
            {
                "run": publish.run_id,
                "version": publish.version,
                "snapshot": snapshot,
                "passed": run.passed,
                "summary": run.summary(),
                "checks": [c.to_dict() for c in run.checks],
            },
        )
        return run

    def _related_tables(self, contract: Contract, product_id: str) -> JsonObject:
        """Tables that relationships point to (``to: customers.customer_id``), found among the other
        products by the name of their contract's schema object; ambiguous names are left out."""
        from quanta.contracts.aggregates import relationship_metrics

        wanted = {table for obj in contract.objects for _, table in relationship_metrics(obj)}
        found: dict[str, list[tuple[str, str]]] = {}
        for other in self.core.registry.products():
            if other.id == product_id or not wanted:
                continue
            for port, document in self.core.registry.port_contracts(other.id).items():
                for obj in document.get("schema") or []:
                    if obj.get("name") in wanted:
                        found.setdefault(obj["name"], []).append((other.id, port))
        tables: JsonObject = {}
        for name, owners in found.items():
            if len(owners) == 1 and self.core.registry.current_publish(owners[0][0]) is not None:
                other_id, port = owners[0]
                _, _, snapshot, _ = self.core.resolve(other_id)
                tables[name] = self.core.warehouse.scan(other_id, port, snapshot)
        return tables
