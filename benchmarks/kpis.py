"""Platform KPIs and a metrics scrape over a synthetic registry, per size and backend.

The registry is filled directly (bulk inserts, no hash chain: the KPIs do not read it): 1,000 products
in 20 domains each reading another product, one publish each, ``RUNS`` build runs, 5,000 grants,
3,000 ratings, and an audit log of query entries spread over 180 days, by 300 principals choosing
products uniformly: a dense worst case (some 230,000 distinct principal-product pairs at 500k
entries). A third of the principals are domain members (for consumers and reuse). Each measurement
is the best of 3: ``compute()`` over 30 days, for the whole platform and for one domain, and the
collector's uncached read (what a scrape costs every 5 s at most).

Run with ``python -m benchmarks.kpis`` (SQLite); ``--postgres`` adds a throwaway PostgreSQL cluster
(tests/pg.py). Building the registries takes most of the few minutes it runs.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SIZES = ((100_000, 20_000), (500_000, 100_000))
"""(audit entries, build runs)"""
PRODUCTS, DOMAINS, PRINCIPALS = 1_000, 20, 300


class Synthetic:
    """The rows of the synthetic mesh, table by table (fixed seed: every run measures the same data)."""

    def __init__(self) -> None:
        self.rnd, self.now = random.Random(7), datetime.now(UTC)
        self.domains = [f"d{i}" for i in range(DOMAINS)]
        self.ids = [f"{self.domains[i % DOMAINS]}.p{i}" for i in range(PRODUCTS)]
        self.people = [f"u{i}" for i in range(PRINCIPALS)]

    def when(self, days: int) -> datetime:
        return self.now - timedelta(seconds=self.rnd.randint(0, days * 86400))

    def catalog(self) -> dict[str, list[dict[str, Any]]]:
        """Table ► rows: domains, products with one version each reading another product, publishes."""
        old = self.now - timedelta(days=200)
        fixed = {"version": "1.0.0", "fingerprint": "f", "created_by": "o"}
        return {
            "domains": [{"name": d, "created_at": self.now} for d in self.domains],
            "products": [
                {"id": p, "domain": p.partition(".")[0], "name": p, "type": "aggregate", "status": "active",
                 "owner": "o", "latest_version": "1.0.0", "created_at": old, "updated_at": self.now}
                for p in self.ids
            ],
            "product_versions": [
                {**fixed, "id": i + 1, "product_id": p, "descriptor": {}, "created_at": old}
                for i, p in enumerate(self.ids)
            ],
            "ports": [
                {"product_version_id": i + 1, "direction": "input", "name": "in", "spec": {},
                 "upstream_product": self.rnd.choice(self.ids)}
                for i in range(PRODUCTS)
            ],
            "publishes": [
                {**fixed, "product_id": p, "run_id": f"pub{i}", "snapshots": {}, "rows": {}, "inputs": {},
                 "cursors": {}, "checks": {}, "created_at": self.when(150)}
                for i, p in enumerate(self.ids)
            ],
        }  # fmt: skip

    def consumers(self) -> dict[str, list[dict[str, Any]]]:
        """Table ► rows: grants and ratings."""
        rated = {(self.rnd.choice(self.ids), self.rnd.choice(self.people)) for _ in range(3_000)}
        return {
            "grants": [
                {"principal": self.rnd.choice(self.people), "product_id": self.rnd.choice(self.ids),
                 "columns": {}, "purpose": "x", "status": "granted", "requested_at": self.when(100),
                 "requested_days": 90}
                for _ in range(5_000)
            ],
            "feedback": [
                {"product_id": p, "principal": u, "rating": self.rnd.randint(1, 5), "created_at": self.now,
                 "updated_at": self.now}
                for p, u in rated
            ],
        }  # fmt: skip

    def run(self, i: int) -> dict[str, Any]:
        began, took = self.when(140), timedelta(seconds=self.rnd.randint(1, 900))
        return {"id": f"r{i}", "product_id": self.rnd.choice(self.ids), "version": "1.0.0", "trigger": "cron",
                "status": self.rnd.choice(["published"] * 8 + ["failed", "skipped"]), "started_at": began,
                "finished_at": began + took, "details": {}}  # fmt: skip

    def query(self, i: int) -> dict[str, Any]:
        p = self.rnd.choice(self.ids)
        return {"seq": i + 1, "at": self.when(180), "kind": "query", "actor": self.rnd.choice(self.people),
                "domain": p.partition(".")[0], "subject": p, "details": {}, "prev_hash": "0", "hash": "0",
                "decision": self.rnd.choice(["allow"] * 18 + ["deny", "error"])}  # fmt: skip


def fill(url: str, entries: int, runs: int) -> Any:
    """A registry at ``url`` holding the synthetic mesh; returns it."""
    from sqlalchemy import insert

    from quanta.registry import Registry
    from quanta.registry.models import AuditEntry, Base, BuildRun

    registry, rows = Registry.open(url), Synthetic()
    with registry.engine.begin() as c:
        for table, batch in {**rows.catalog(), **rows.consumers()}.items():
            c.execute(insert(Base.metadata.tables[table]), batch)
        for start in range(0, runs, 50_000):
            c.execute(insert(BuildRun), [rows.run(i) for i in range(start, min(runs, start + 50_000))])
        for start in range(0, entries, 100_000):
            c.execute(
                insert(AuditEntry), [rows.query(i) for i in range(start, min(entries, start + 100_000))]
            )
    return registry


def best_of(repeats: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def measure(url: str, entries: int, runs: int) -> dict[str, float]:
    from quanta.observability.collector import read_facts
    from quanta.observability.kpis import compute

    registry = fill(url, entries, runs)
    members = {f"u{i}": frozenset({f"d{i % DOMAINS}"}) for i in range(0, PRINCIPALS, 3)}
    try:
        return {
            "kpis": best_of(3, lambda: compute(registry, days=30, members=members)),
            "kpis, one domain": best_of(
                3, lambda: compute(registry, days=30, domains=["d3"], members=members)
            ),
            "scrape": best_of(3, lambda: read_facts(registry)),
        }
    finally:
        registry.close()


def main() -> int:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    backends: list[tuple[str, Callable[[int], str]]] = []
    folder = Path(tempfile.mkdtemp(prefix="quanta-kpi-bench-"))
    backends.append(("SQLite", lambda n: f"sqlite:///{folder / f'registry-{n}.db'}"))
    cluster = None
    if "--postgres" in sys.argv:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.pg import PostgresCluster

        cluster = PostgresCluster.create()
        cluster.start()
        backends.append(("PostgreSQL", lambda n: _pg_database(cluster, f"kpis{n}")))
    table = Table(title="Platform KPIs and metrics scrape, best of 3", title_justify="left")
    for column in ("backend", "audit entries", "runs", "KPIs 30 d", "KPIs one domain", "scrape"):
        table.add_column(column)
    try:
        for name, url_for in backends:
            for entries, runs in SIZES:
                found = measure(url_for(entries), entries, runs)
                table.add_row(
                    name, f"{entries:,}", f"{runs:,}", *(f"{s * 1000:,.0f} ms" for s in found.values())
                )
    finally:
        if cluster is not None:
            cluster.destroy()
    console.print(table)
    return 0


def _pg_database(cluster: Any, name: str) -> str:
    import psycopg

    with psycopg.connect(cluster.url().replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        c.execute(f"create database {name}")
    return str(cluster.url(name))


if __name__ == "__main__":
    raise SystemExit(main())
