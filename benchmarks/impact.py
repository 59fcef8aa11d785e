"""Impact analysis latency on a synthetic mesh of 10,000 products and 100,000 columns.

The mesh is generated straight into the registry tables (products, versions, input ports, column lineage,
grants and audit-log queries), shaped like a real one: a fifth of the products are source-aligned and read
files; every other product reads 1 to 4 earlier products, half of the time one of the few hubs that
everybody reads (fan-out in the thousands), otherwise a recent one (chains dozens of products deep); each
output column comes from 1 or 2 input columns (identity, transformation or aggregation), and each extra
input adds a join key (an indirect edge). ~150,000 column edges in all.

Two ways to answer the same questions, timed on the same targets, alternating:

- Quanta: ``Mesh.impact(ref)`` as the CLI and API call it, end to end: the registry's lineage state
  (one query), the cached in-memory graph, a breadth-first walk over columns (or products), the
  viewer's visibility, and consumers (grants, queries from the audit log);
- the baseline: one recursive CTE in SQL over the same tables (``WITH RECURSIVE`` over column_lineage,
  or over input ports for a product), returning the touched products and columns only.

Targets are half columns, half products; a third of them are hubs (the heavy cases). One warm-up round,
then ``ROUNDS`` timed rounds. Target: p95 at most 100 ms for a column and for a product.
Run with ``python -m benchmarks impact``.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".bench-cache"
PRODUCTS, COLUMNS = 10_000, 100_000
TARGETS, ROUNDS = 60, 3
TARGET_P95_MS = 100.0
KINDS = ["IDENTITY"] * 6 + ["TRANSFORMATION"] * 3 + ["AGGREGATION"]


@dataclass(frozen=True)
class Touched:
    """What the baseline finds: downstream products and (product, column) pairs."""

    products: set[str]
    columns: set[tuple[str, str]]


def generate(
    registry: Any, products: int = PRODUCTS, columns: int = COLUMNS, seed: int = 11
) -> dict[str, int]:
    """Write a synthetic mesh into ``registry``'s tables; returns row counts."""
    rng = random.Random(seed)
    ids = [f"d{i % 40:02d}.p{i:05d}" for i in range(products)]
    widths = {pid: max(3, round(rng.gauss(columns / products, 4))) for pid in ids}
    hubs = ids[: max(5, products // 50)]
    ports: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    for i, pid in enumerate(ids):
        own = [f"c{j}" for j in range(widths[pid])]
        if i < len(hubs) or rng.random() < 0.2:  # source-aligned: reads files
            ports.append(_port(i, "raw", None, {"source": {"type": "file", "path": f"{pid}/*.csv"}}))
            edges += [_edge(i, pid, c, "raw", None, c, "IDENTITY") for c in own]
            continue
        inputs = sorted({_upstream(rng, ids, hubs, i) for _ in range(rng.randint(1, 4))})
        ports += [_port(i, port, port, {"product": port}) for port in inputs]
        for column in own:
            for port in rng.sample(inputs, k=min(len(inputs), rng.randint(1, 2))):
                up = f"c{rng.randrange(widths[port])}"
                edges.append(_edge(i, pid, column, port, port, up, rng.choice(KINDS)))
        edges += [_edge(i, pid, "*", port, port, "c0", "INDIRECT") for port in inputs[1:]]
    _insert(registry, rng, ids, ports, edges)
    return {
        "products": products,
        "columns": sum(widths.values()),
        "column edges": len(edges),
        "ports": len(ports),
    }


def _insert(registry: Any, rng: random.Random, ids: list[str], ports: list[Any], edges: list[Any]) -> None:
    from quanta.registry.models import AuditEntry, Domain, Grant, Port, Product, ProductVersion
    from quanta.registry.stores.audit_grants import GENESIS
    from quanta.registry.stores.column_lineage import ColumnLineage, LineageVersion

    now = datetime.now(UTC)
    product = {"type": "aggregate", "status": "active", "owner": "bench", "latest_version": "1.0.0",
               "created_at": now, "updated_at": now}  # fmt: skip
    version = {"version": "1.0.0", "fingerprint": "0" * 64, "created_at": now, "created_by": "bench"}
    grant = {
        "columns": {},
        "purpose": "bench",
        "status": "granted",
        "requested_at": now,
        "requested_days": 90,
    }
    query = {
        "at": now,
        "kind": "query",
        "decision": "allow",
        "details": {},
        "prev_hash": GENESIS,
        "hash": GENESIS,
    }
    with registry.engine.begin() as c:
        c.execute(Domain.__table__.insert(), [{"name": f"d{d:02d}", "created_at": now} for d in range(40)])
        c.execute(Product.__table__.insert(), [{"id": p, "domain": p[:3], "name": p, **product} for p in ids])
        c.execute(
            ProductVersion.__table__.insert(),
            [{"id": i + 1, "product_id": p, "descriptor": {"id": p}, **version} for i, p in enumerate(ids)],
        )
        c.execute(Port.__table__.insert(), ports)
        c.execute(
            LineageVersion.__table__.insert(),
            [{"product_version_id": i + 1, "product_id": p, "method": "sql", "computed_at": now}
             for i, p in enumerate(ids)],
        )  # fmt: skip
        c.execute(ColumnLineage.__table__.insert(), edges)
        users = [f"user{n}" for n in range(500)]
        c.execute(
            Grant.__table__.insert(),
            [{"principal": rng.choice(users), "product_id": rng.choice(ids), **grant} for _ in ids[::2]],
        )
        c.execute(
            AuditEntry.__table__.insert(),
            [{"seq": n + 1, "actor": rng.choice(users), "domain": None, "subject": rng.choice(ids), **query}
             for n in range(len(ids) * 2)],
        )  # fmt: skip


def _port(i: int, name: str, upstream: str | None, spec: dict[str, Any]) -> dict[str, Any]:
    return {"product_version_id": i + 1, "direction": "input", "name": name, "upstream_product": upstream,
            "spec": spec}  # fmt: skip


def _edge(
    i: int, pid: str, column: str, port: str, upstream: str | None, up: str, kind: str
) -> dict[str, Any]:
    return {"product_version_id": i + 1, "product_id": pid, "column": column, "port": port,
            "upstream_product": upstream, "upstream_column": up, "origin": "sql", "transformation": kind,
            "masked": False}  # fmt: skip


def _upstream(rng: random.Random, ids: list[str], hubs: list[str], i: int) -> str:
    """Half the time a hub everybody reads; otherwise a recent product (which makes chains deep)."""
    if rng.random() < 0.5:
        return rng.choice(hubs)
    return ids[rng.randrange(max(0, i - 300), i)]


def targets(registry: Any, count: int, seed: int = 5) -> list[str]:
    """Half columns, half products; a third of each among the most read products (the heavy cases)."""
    from sqlalchemy import func, select

    from quanta.registry.stores.column_lineage import ColumnLineage

    with registry.engine.connect() as c:
        read = c.execute(
            select(ColumnLineage.upstream_product, func.count())
            .where(ColumnLineage.upstream_product.is_not(None))
            .group_by(ColumnLineage.upstream_product)
            .order_by(func.count().desc())
        ).all()
    rng = random.Random(seed)
    ranked = [r[0] for r in read]
    heavy, rest = ranked[: max(3, len(ranked) // 50)], ranked
    picked = [rng.choice(heavy if n % 3 == 0 else rest) for n in range(count)]
    return [f"{pid}.c0" if n % 2 == 0 else pid for n, pid in enumerate(picked)]


BASELINE_COLUMNS = """
with recursive latest(id) as (
    select pv.id from product_versions pv
    join products p on p.id = pv.product_id and p.latest_version = pv.version
), edges(product_id, col, up_product, up_col) as (
    select product_id, "column", upstream_product, upstream_column from column_lineage
    where upstream_product is not null and product_version_id in (select id from latest)
), walk(product_id, col) as (
    select cast(:product as varchar(200)), cast(:column as varchar(200))
    union
    select e.product_id, e.col from edges e join walk w on e.up_product = w.product_id and e.up_col = w.col
)
select product_id, col from walk
"""
BASELINE_PRODUCTS = """
with recursive down(product_id) as (
    select cast(:product as varchar(200))
    union
    select pv.product_id from ports po
    join product_versions pv on pv.id = po.product_version_id
    join products p on p.id = pv.product_id and p.latest_version = pv.version
    join down d on po.upstream_product = d.product_id
    where po.direction = 'input'
)
select product_id from down
"""


def baseline_impact(registry: Any, ref: str) -> Touched:
    """The same question as ``Mesh.impact`` (without consumers or visibility), as recursive SQL."""
    from sqlalchemy import text

    parts = ref.split(".")
    product, column = ".".join(parts[:2]), ".".join(parts[2:]) or None
    with registry.engine.connect() as c:
        if column:
            walked = c.execute(text(BASELINE_COLUMNS), {"product": product, "column": column}).all()
            found = {(p, col) for p, col in walked} - {(product, column)}
            return Touched({p for p, _ in found}, {(p, col) for p, col in found if col != "*"})
        reached = {r[0] for r in c.execute(text(BASELINE_PRODUCTS), {"product": product})} - {product}
        seeds = c.execute(
            text("select distinct upstream_column from column_lineage where upstream_product = :p"),
            {"p": product},
        ).all()
        columns: set[tuple[str, str]] = set()
        for (seed,) in seeds:
            walked = c.execute(text(BASELINE_COLUMNS), {"product": product, "column": seed}).all()
            columns |= {(p, col) for p, col in walked if p != product and col != "*"}
        return Touched(reached, columns)


def measure(mesh: Any, registry: Any, refs: list[str]) -> dict[str, dict[str, list[float]]]:
    """Milliseconds per call, by target kind (column, product) and side: Quanta end to end, its walk
    over the cached graph alone (no consumers, no visibility), and the baseline."""
    from quanta.observability.impact import analyse

    times: dict[str, dict[str, list[float]]] = {
        kind: {"quanta": [], "walk": [], "baseline": []} for kind in ("column", "product")
    }
    graph = mesh.lineage_graph()
    for _ in range(ROUNDS):
        for ref in refs:
            parts = ref.split(".")
            product, column = ".".join(parts[:2]), ".".join(parts[2:]) or None
            kind = "column" if column else "product"
            for side in ("quanta", "walk", "baseline"):
                started = time.perf_counter()
                if side == "quanta":
                    mesh.impact(ref)
                elif side == "walk":
                    analyse(graph, product, column, lambda _product: True)
                else:
                    baseline_impact(registry, ref)
                times[kind][side].append((time.perf_counter() - started) * 1000)
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def main() -> int:
    from rich.console import Console

    from quanta.mesh import Mesh
    from quanta.registry import Registry
    from quanta.settings import Settings

    console = Console() if sys.stdout.isatty() else Console(width=120)
    CACHE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="impact-", dir=CACHE) as scratch:
        url = f"sqlite:///{Path(scratch) / 'registry.db'}"
        registry = Registry.open(url)
        started = time.perf_counter()
        counts = generate(registry)
        console.print(f"generated {counts} in {time.perf_counter() - started:.1f} s into SQLite")
        mesh = Mesh(None, Settings(database_url=url, user="local-admin", openlineage_transport="none"))
        started = time.perf_counter()
        mesh.lineage_graph()
        cold = time.perf_counter() - started
        refs = targets(registry, TARGETS)
        sizes = [len(mesh.impact(ref).products) for ref in refs]  # also the warm-up round
        for ref in refs:
            baseline_impact(registry, ref)
        times = measure(mesh, registry, refs)
        registry.close()
    report(console, counts, times)
    console.print(
        f"graph built once in {cold * 1000:,.0f} ms (then cached until the registry changes); "
        f"touched products per target: median {statistics.median(sizes):,.0f}, max {max(sizes):,}"
    )
    for kind, sides in times.items():
        value = p95(sides["quanta"])
        verdict = "[green]within[/green]" if value <= TARGET_P95_MS else "[red]over[/red]"
        console.print(
            f"{kind} impact p95 = [bold]{value:.1f} ms[/bold], {verdict} the {TARGET_P95_MS:.0f} ms target"
        )
    return 0


def report(console: Any, counts: dict[str, int], times: dict[str, dict[str, list[float]]]) -> None:
    from rich.table import Table

    title = (
        f"impact analysis, {counts['products']:,} products, {counts['columns']:,} columns, "
        f"{counts['column edges']:,} column edges; {ROUNDS} rounds of {TARGETS} targets, SQLite"
    )
    table = Table(title=title, title_justify="left")
    for column in ("target", "side", "p50 (ms)", "p95 (ms)", "baseline/quanta (p95)"):
        table.add_column(column, justify="left" if column in ("target", "side") else "right")
    names = {
        "quanta": "Quanta: Mesh.impact",
        "walk": "  its graph walk alone",
        "baseline": "baseline: recursive CTE",
    }
    for kind, sides in times.items():
        for side, label in names.items():
            ratio = f"{p95(sides['baseline']) / p95(sides[side]):.1f}x" if side != "baseline" else ""
            median, slow = f"{statistics.median(sides[side]):.1f}", f"{p95(sides[side]):.1f}"
            table.add_row(kind if side == "quanta" else "", label, median, slow, ratio)
    console.print(table)
