"""Marketplace search latency with 1,000 and with 100,000 registered products (synthetic), per backend.

The products are generated, not registered: realistic ``ProductDocument`` values (a domain, a name made of
business words, a description, 5 to 40 columns with names and descriptions, tags, an owner, facet values),
their words drawn from a business vocabulary with a Zipf-like skew, so common words match most products
and rare ones few, as in a real catalog. Each size is indexed with ``add_documents`` into a fresh index,
then one fixed mix of queries runs (single words common to rare, two words, typos, column names, exact
product names, facet filters, a second page, an empty browse): one warm-up round, then ``ROUNDS`` timed
rounds in one thread, the sizes taking turns round by round, so a busy moment of the machine falls on
both alike.

Targets: p95 at most 50 ms at 100k, and at most 2x the p95 at 1k. Run with ``python -m benchmarks search``:
the SQLite FTS5 index (the default backend), then PostgreSQL full text on a throwaway cluster (as
tests/pg.py starts one; about two minutes more, most of it indexing 100k products), unless the server
binaries are missing or ``--no-postgres`` is given.
"""

from __future__ import annotations

import itertools
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".bench-cache"
SIZES = (1_000, 100_000)
ROUNDS = 10
TARGET_P95_MS = 50.0
TARGET_RATIO = 2.0


def _split(words: str) -> list[str]:
    return words.split()


DOMAINS = _split(
    "sales finance marketing supply customers logistics hr risk billing catalog support legal procurement "
    "manufacturing analytics security payments fraud pricing inventory"
)
ENTITIES = _split(
    "customer order invoice payment shipment product supplier part employee campaign lead account ledger "
    "revenue inventory warehouse contract claim policy ticket session device subscription refund transaction "
    "store region nation market channel vendor asset budget forecast margin price discount return carrier "
    "route partner segment cohort churn visit click impression audit incident exposure loan deposit card "
    "merchant chargeback dispute settlement payout fee commission quote opportunity pipeline territory quota "
    "plan renewal trial promotion coupon basket cart checkout review rating survey feedback complaint case "
    "agent call chat email delivery parcel pallet container vessel port customs tariff duty tax vat receipt "
    "expense payroll salary benefit absence headcount hire candidate applicant skill training course "
    "certificate badge login user role permission token alert vulnerability patch release build deployment "
    "server cluster job metric event log trace sensor reading meter outage network cell antenna sim roaming "
    "usage bill balance credit debit journal entry period fiscal cost center profit unit project milestone "
    "task timesheet"
)
QUALIFIERS = _split(
    "daily monthly weekly active churned regional global raw curated historical current open closed pending "
    "approved net gross total average quarterly yearly latest enriched cleansed consolidated reconciled "
    "forecasted planned actual realtime streaming derived certified"
)
SHAPES = _split(
    "facts summary by_region by_month by_day by_product by_channel snapshot history details events metrics "
    "master lookup aggregates"
)
COLUMN_SUFFIXES = _split(
    "id key date amount count name code status type value rate flag score total timestamp quantity percent "
    "currency number reason category level tier start_date end_date created_at updated_at"
)
FILLER = _split("the of for each one row per with from and in by is used to all a as on when not or only if")
TERMS = list(
    dict.fromkeys(
        _split(
            "value number identifier unique record reported computed derived latest source system table "
            "refreshed business total amount sum average net gross cost price margin currency usd eur tax "
            "discount date time timestamp created updated closed opened shipped received paid billed due "
            "effective expired start end status state flag code type category class segment tier level "
            "region country nation city postal address phone email name description comment note reason "
            "channel source campaign sku supplier vendor carrier quantity weight volume count rate ratio "
            "percent score rank probability forecast budget actual plan target manager department team "
            "owner analyst steward contact balance credit debit transaction payment invoice refund return "
            "claim premium coverage risk exposure limit threshold alert ticket incident priority severity "
            "resolution session visit click impression conversion churn retention cohort lifetime loyalty "
            "subscription renewal cancellation trial upgrade downgrade usage consumption metered stock "
            "location bin lot serial batch line shift defect yield scrap clause signature approval "
            "compliance regulation gdpr pii confidential internal public restricted masked hashed "
            "encrypted anonymised aggregated joined filtered deduplicated validated reconciled customer "
            "order product employee account ledger warehouse contract policy device store market partner "
            "merchant settlement payout fee commission quote opportunity territory quota promotion coupon "
            "basket checkout review rating survey feedback complaint agent delivery parcel container "
            "customs tariff receipt expense payroll salary benefit headcount candidate skill training "
            "login user role permission token vulnerability release deployment server cluster metric "
            "event sensor reading meter outage network roaming journal period fiscal center profit unit "
            "project milestone task hours minutes seconds days weeks months years first last previous "
            "next current original adjusted estimated expected observed normalized rounded converted "
            "local utc iso standard legacy external primary secondary parent child related linked matched "
            "missing null empty default optional required valid invalid duplicate earliest minimum "
            "maximum median mean variance monthly weekly daily hourly annual quarterly rolling cumulative"
        )
    )
)
TAGS = _split(
    "pii financial gold kpi master-data reference realtime batch certified experimental gdpr sox ml"
)
CLASSIFICATIONS = ["public", "internal", "internal", "confidential", "restricted"]
TYPES = ["source-aligned", "aggregate", "consumer-aligned"]
STATUSES = ["active", "active", "active", "draft", "deprecated"]
MATURITIES = ["bronze", "silver", "gold", None]
PEOPLE = [
    f"{first}.{last}"
    for first in _split("alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy")
    for last in _split("smith jones lee patel garcia")
]
GLOSSARY = ["Customer", "Order", "Revenue", "Net Revenue", "Churn", "Lifetime Value", "Active Customer"]

# (query, filters): the same mix at every size.
QUERIES: list[tuple[str, dict[str, str]]] = [
    ("customer", {}),  # common: in most products
    ("revenue", {}),
    ("invoice", {}),
    ("vulnerability", {}),  # rare
    ("roaming", {}),
    ("gdpr", {}),  # a tag and a description word
    ("shipment carrier", {}),  # two words
    ("churn cohort", {}),
    ("payment settlement", {}),
    ("revnue", {}),  # typos
    ("custmer", {}),
    ("shipmnet", {}),
    ("invoice_amount", {}),  # column names
    ("customer_id", {}),
    ("payment_amount", {}),
    ("monthly revenue summary", {}),  # an exact product name (exists at both sizes)
    ("revenue", {"domain": "finance"}),  # facet filters
    ("customer", {"status": "active", "maturity": "gold"}),
    ("invoice", {"classification": "restricted"}),
    ("", {"domain": "sales"}),
    ("", {}),  # empty browse
    ("order", {}),
]


@dataclass(frozen=True)
class Measured:
    """Latencies of every timed query at one size (by kind, with its match count), and the index build."""

    backend: str
    size: int
    build_seconds: float
    index_mib: float
    by_kind: dict[str, list[float]]
    matches: dict[str, str]

    @property
    def latencies_ms(self) -> list[float]:
        return [ms for series in self.by_kind.values() for ms in series]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.latencies_ms, n=20)[18]


def documents(count: int, seed: int = 7) -> list[Any]:
    """``count`` synthetic products, the same for the same seed."""
    from quanta.discovery.search.documents import ColumnText, ProductDocument

    rng = random.Random(seed)
    term_weights = list(itertools.accumulate(1 / (r + 1) for r in range(len(TERMS))))
    entity_weights = list(itertools.accumulate(1 / (r + 1) ** 0.7 for r in range(len(ENTITIES))))

    def sentence(n: int) -> str:
        picked = rng.choices(TERMS, cum_weights=term_weights, k=n)
        for i in range(1, n, 3):
            picked.insert(i, rng.choice(FILLER))
        return " ".join(picked).capitalize() + "."

    def entity() -> str:
        return rng.choices(ENTITIES, cum_weights=entity_weights)[0]

    seen: set[str] = set()
    docs = []
    for i in range(count):
        domain = rng.choice(DOMAINS)
        name = f"{rng.choice(QUALIFIERS)}_{entity()}_{rng.choice(SHAPES)}"
        name = name if f"{domain}.{name}" not in seen and i else "monthly_revenue_summary"
        name = name if f"{domain}.{name}" not in seen else f"{name}_{i}"
        seen.add(f"{domain}.{name}")
        columns = tuple(
            ColumnText(
                f"{entity()}_{rng.choice(COLUMN_SUFFIXES)}",
                sentence(rng.randint(2, 8)) + (f" {rng.choice(TAGS)}" if rng.random() < 0.1 else ""),
                rng.choice(CLASSIFICATIONS),
            )
            for _ in range(rng.randint(5, 40))
        )
        description = sentence(rng.randint(8, 30))
        owner = rng.choice(PEOPLE)
        docs.append(
            ProductDocument(
                id=f"{domain}.{name}",
                name=name.replace("_", " ").capitalize(),
                domain=domain,
                status=rng.choice(STATUSES),
                type=rng.choice(TYPES),
                owner=owner,
                maturity=rng.choice(MATURITIES),
                summary=description[:200],
                description=description,
                tags=tuple(rng.sample(TAGS, rng.randint(1, 4))),
                glossary=tuple(rng.sample(GLOSSARY, rng.randint(0, 2))),
                people=(owner, f"{domain}-team"),
                columns=columns,
            )
        )
    return docs


def measure(
    backend: str, indexes: dict[int, Callable[[], Any]], size_of: Callable[[Any], float]
) -> list[Measured]:
    """Index each size (``indexes``: size -> a new empty index), then time the query mix, sizes in turn."""
    built, results = {}, []
    for size, new in indexes.items():
        print(f"{backend}: generating and indexing {size:,} synthetic products ...", flush=True)
        docs, index = documents(size), new()
        started = time.perf_counter()
        index.add_documents(docs)
        built[size] = (index, time.perf_counter() - started)
    matches = {
        size: {kind(q, f): shown(index.search(q, filters=f)) for q, f in QUERIES}
        for size, (index, _) in built.items()
    }
    by_kind: dict[int, dict[str, list[float]]] = {
        size: {kind(q, f): [] for q, f in QUERIES} for size in built
    }
    for _ in range(ROUNDS):
        for size, (index, _) in built.items():
            for query, filters in QUERIES:
                started = time.perf_counter()
                index.search(query, filters=filters, offset=20 if query == "order" else 0)
                by_kind[size][kind(query, filters)].append((time.perf_counter() - started) * 1000)
    for size, (index, seconds) in built.items():
        results.append(Measured(backend, size, seconds, size_of(index), by_kind[size], matches[size]))
        index.close()
    return results


def shown(result: Any) -> str:
    """A match count as the marketplace shows it: estimates marked."""
    return f"{result.total:,}" if result.total_exact else f"~{result.total:,}"


def sqlite(folder: Path) -> list[Measured]:
    from quanta.discovery.search.sqlite import SqliteSearchIndex

    def size_of(index: Any) -> float:
        return sum(p.stat().st_size for p in index.path.parent.glob(f"{index.path.name}.*")) / 2**20

    indexes = {size: (lambda size=size: SqliteSearchIndex(folder / f"search-{size}.db")) for size in SIZES}
    return measure("SQLite FTS5", indexes, size_of)


def postgres() -> list[Measured]:
    """The same on PostgreSQL full text, a database per size on a throwaway cluster."""
    import psycopg
    import pytest
    from sqlalchemy import create_engine, text
    from tests.pg import PostgresCluster

    from quanta.discovery.search.postgres import PostgresSearchIndex

    try:
        cluster = PostgresCluster.create()
    except pytest.skip.Exception as reason:  # tests/pg.py skips when the machine cannot run a cluster
        print(f"PostgreSQL: skipped, {reason}")
        return []
    try:
        cluster.start()
        with psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres", autocommit=True) as admin:
            for size in SIZES:
                admin.execute(f"CREATE DATABASE search_{size}")

        def size_of(index: Any) -> float:
            with index.engine.connect() as conn:
                found = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
            index.engine.dispose()
            return float(found or 0) / 2**20

        indexes = {
            size: (lambda size=size: PostgresSearchIndex(create_engine(cluster.url(f"search_{size}"))))
            for size in SIZES
        }
        return measure("PostgreSQL full text", indexes, size_of)
    finally:
        cluster.destroy()


def kind(query: str, filters: dict[str, str]) -> str:
    shown = repr(query) + "".join(f" {k}={v}" for k, v in filters.items())
    return shown + (" (page 2)" if query == "order" else "")


def main() -> int:
    from rich.console import Console

    console = Console() if sys.stdout.isatty() else Console(width=120)
    CACHE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="search-", dir=CACHE) as scratch:
        report(console, sqlite(Path(scratch)))
    if "--no-postgres" not in sys.argv[2:]:
        from tests.pg import find_binaries

        if find_binaries() is None:
            console.print("PostgreSQL: skipped, no server binaries (the Debian package 'postgresql')")
        elif results := postgres():
            report(console, results)
    return 0


def report(console: Any, results: list[Measured]) -> None:
    import os
    import sqlite3

    from rich.table import Table

    small, large = results[0], results[-1]
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    busy = " (above the core count: other processes shared the machine, numbers are noisier)"
    kinds = Table(title=f"{large.backend}: median per query kind ({ROUNDS} runs each)", title_justify="left")
    for column in (
        "query",
        *(f"{m.size:,}: matches" for m in results),
        *(f"{m.size:,}: p50" for m in results),
    ):
        kinds.add_column(column, justify="left" if column == "query" else "right")
    for name in large.by_kind:
        counts = [m.matches[name] for m in results]
        kinds.add_row(name, *counts, *(f"{statistics.median(m.by_kind[name]):.2f} ms" for m in results))
    console.print(kinds)
    engine = f"SQLite {sqlite3.sqlite_version}" if large.backend.startswith("SQLite") else large.backend
    table = Table(
        title=f"marketplace search, {len(QUERIES) * ROUNDS} queries per size ({len(QUERIES)} kinds x "
        f"{ROUNDS}), {engine}, one thread, {cores} cores, load average {load:.1f}"
        f"{busy if load > cores else ''}",
        title_justify="left",
    )
    for column in ("products", "index build", "index size", "p50", "p95", "max"):
        table.add_column(column, justify="right")
    for m in results:
        table.add_row(
            f"{m.size:,}",
            f"{m.build_seconds:.1f} s",
            f"{m.index_mib:,.0f} MiB",
            f"{m.p50:.2f} ms",
            f"{m.p95:.2f} ms",
            f"{max(m.latencies_ms):.2f} ms",
        )
    console.print(table)
    ratio = large.p95 / small.p95
    for label, value, target, ok in (
        (
            f"p95 at {large.size:,}",
            f"{large.p95:.2f} ms",
            f"<= {TARGET_P95_MS:.0f} ms",
            large.p95 <= TARGET_P95_MS,
        ),
        (
            f"p95 at {large.size:,} / p95 at {small.size:,}",
            f"{ratio:.2f}x",
            f"<= {TARGET_RATIO:.0f}x",
            ratio <= TARGET_RATIO,
        ),
    ):
        console.print(f"  {large.backend}: {label}: {value} (target {target}) {'met' if ok else 'missed'}")
