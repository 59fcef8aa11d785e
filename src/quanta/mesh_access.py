"""Answers interfaces used to assemble themselves from core packages, in the ``Mesh`` facade.

A mixin of :class:`quanta.mesh.Mesh`: the catalog of tables a principal may read (the wire server's
``pg_catalog``), the partner spaces with what is shared into them, and ``quanta ci``'s findings as one
contract ``Run`` per step (what its reports render).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from quanta.mesh_governance import acting_as

if TYPE_CHECKING:
    from quanta.contracts.run import Run
    from quanta.governance.access import Access
    from quanta.governance.model import Governance, Principal
    from quanta.mesh import CiReport
    from quanta.registry import ProductSummary, Registry
    from quanta.registry.governance import GrantRecord


@dataclass(frozen=True)
class ReadableTable:
    """A product a principal may read, as an empty table: ``schema`` (its domain) and the statements
    creating ``<domain>.<name>`` with the columns and types of its first port's first object."""

    product_id: str
    schema: str
    statements: list[str]


@dataclass(frozen=True)
class SharedSpace:
    """A partner space of governance.yaml and the products shared into it (declared or granted)."""

    id: str
    kind: str
    products: list[str]


@dataclass(frozen=True)
class CiRuns:
    """``quanta ci``'s findings as one ``Run`` per step: ``lint``, ``breaking-changes``, then
    ``test <product>`` for every published product."""

    ok: bool
    runs: dict[str, Run]


class MeshAccess:
    """Mixin of ``Mesh``: the readable catalog, partner spaces, the ci report as runs."""

    if TYPE_CHECKING:  # provided by Mesh; declared here for the type checker only

        @property
        def registry(self) -> Registry: ...

        @property
        def governance(self) -> Governance: ...

        def principal(self, principal_id: str | None = None) -> Principal: ...

        def access_requests(self, product_id: str | None = None) -> list[GrantRecord]: ...

        def access(self, principal: Principal, product_id: str) -> Access: ...

        def products(
            self, domain: str | None = None, type: str | None = None, status: str | None = None
        ) -> list[ProductSummary]: ...

        def ci(self, *, lenient: bool = False) -> CiReport: ...

    def readable_tables(self, principal_id: str, dialect: str = "duckdb") -> list[ReadableTable]:
        """The published products ``principal_id`` may read, as ``CREATE TABLE`` statements in
        ``dialect`` (names, types and descriptions; no data)."""
        from quanta.spec.contract import Contract
        from quanta.spec.formats.sql import dialect_named, statements

        ddl = dialect_named(dialect)
        tables = []
        with acting_as(principal_id):
            who = self.principal()
            for summary in self.products():
                if (
                    self.registry.current_publish(summary.id) is None
                    or not self.access(who, summary.id).allowed
                ):
                    continue
                domain, _, name = summary.id.partition(".")
                contracts = self.registry.port_contracts(summary.id)
                for document in list(contracts.values())[:1]:
                    contract = Contract.model_validate(document)
                    for obj in contract.objects[:1]:
                        renamed = obj.model_copy(update={"name": f"{domain}.{name}", "physical_name": None})
                        created = [s.sql(dialect=dialect) for s in statements(renamed, ddl)]
                        tables.append(ReadableTable(summary.id, domain, created))
        return tables

    def spaces(self) -> list[SharedSpace]:
        """The partner spaces of governance.yaml, each with the products shared into it."""
        shared = [g for g in self.access_requests() if g.principal.startswith("space:") and g.active()]
        spaces = []
        for space in self.governance.spec.spaces:
            products = sorted(
                {*space.products, *(g.product_id for g in shared if g.principal == f"space:{space.id}")}
            )
            spaces.append(SharedSpace(space.id, space.kind, products))
        return spaces

    def ci_runs(self, *, lenient: bool = False) -> CiRuns:
        """:meth:`Mesh.ci` with lint problems and breaking-change gates as checks, like the data tests."""
        report = self.ci(lenient=lenient)
        return CiRuns(report.ok, {**_lint_run(report), **_gate_run(report), **_test_runs(report)})


def _lint_run(report: CiReport) -> dict[str, Run]:
    from quanta.contracts.run import Check, Run, Verdict

    lint = Run("lint")
    for p in report.problems:
        verdict: Verdict = "failed" if p.severity == "error" else "warning"
        lint.checks.append(
            Check(f"{p.location}: {p.message}", "lint", verdict, severity=p.severity, message=p.hint)
        )
    return {"lint": lint}


def _gate_run(report: CiReport) -> dict[str, Run]:
    from quanta.contracts.run import Check, Run

    gates = Run("breaking-changes")
    for _source, g in report.gates:
        message = "; ".join(f"{c.path}: {c.reason or c.kind}" for c in g.breaking) or None
        gates.checks.append(
            Check(
                f"{g.contract_id} {g.old_version} ► {g.new_version}",
                "breaking-change",
                "passed" if g.allowed else "failed",
                len(g.breaking),
                "major bump if breaking",
                message=message if not g.allowed else None,
            )
        )
    return {"breaking-changes": gates}


def _test_runs(report: CiReport) -> dict[str, Run]:
    return {f"test {pid}": run for pid, run in report.tests.items()}
