"""Policy-decided access requests and keyed masks, measured in one process.

- decisions: 500 access requests decided by the shipped access policies (real rego-cpp evaluation),
  alternating one that is approved at once (internal columns, the mesh's own organisation) and one that
  is routed to the owners (a service asking for personal data); the target is at most 20 ms at p95;
- keyed masks: a 1M-row masked read through DuckDB, the ``hash`` mask as HMAC-SHA-256 (two native
  ``sha256`` passes over constant pads) against the plain ``sha256`` it replaces, best of 3 each.

Run with ``python -m benchmarks access``.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

DECISIONS = 500
TARGET_P95_MS = 20.0
ROWS = 1_000_000
CONTRACT = (
    Path(__file__).parents[1] / "src/quanta/blueprints/demo/domains/customers/customers/customers.odcs.yaml"
)


def main() -> int:
    from rich.console import Console

    console = Console() if sys.stdout.isatty() else Console(width=120)
    p50, p95 = decisions()
    plain, keyed = masked_reads()
    verdict = "met" if p95 <= TARGET_P95_MS else "MISSED"
    console.print(f"policy decision on an access request: p50 {p50:.2f} ms, p95 {p95:.2f} ms "
                  f"(target ≤ {TARGET_P95_MS:.0f} ms p95: {verdict})")  # fmt: skip
    console.print(f"1M-row masked read: hash as sha256 {plain * 1000:.0f} ms, as HMAC-SHA-256 "
                  f"{keyed * 1000:.0f} ms ({keyed / plain:.2f}x)")  # fmt: skip
    return 0 if p95 <= TARGET_P95_MS else 1


def decisions() -> tuple[float, float]:
    """p50 and p95 in milliseconds of deciding a request with the shipped policies."""
    import yaml

    from quanta.governance.access import ProductFacts
    from quanta.governance.model import Principal
    from quanta.governance.policies import PolicySet
    from quanta.governance.requests import RequestInput, decide_request, request_document

    policies = PolicySet.load([])
    contracts: dict[str, Any] = {"customers": yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))}
    facts = ProductFacts("customers.customers", "customers", "source-aligned", None)
    descriptor = {"id": facts.product_id, "domain": "customers", "type": "source-aligned"}
    analyst, service = Principal("ana"), Principal("etl-bot", kind="service")
    approved = RequestInput("segment sizes", ["customer_id", "nation_key"], 90, [], False)
    routed = RequestInput("crm sync", ["customer_id", "phone"], 90, [], False)
    times, outcomes = [], set()
    for i in range(DECISIONS):
        who, what = (analyst, approved) if i % 2 else (service, routed)
        started = time.perf_counter()
        document = request_document(who, facts, descriptor, contracts, what, "northwind")
        outcomes.add(decide_request(policies, document, "customers").outcome)
        times.append((time.perf_counter() - started) * 1000)
    assert outcomes == {"approve", "route"}, outcomes
    return statistics.median(times), statistics.quantiles(times, n=20)[-1]


def masked_reads() -> tuple[float, float]:
    """Best-of-3 seconds of a 1M-row read hashing one text column: plain sha256, then HMAC."""
    import duckdb

    from quanta.governance.masks import hmac_sql

    connection = duckdb.connect()
    connection.execute(
        "create table t as select '+1 555 ' || lpad(cast(range as varchar), 7, '0') as phone "
        f"from range({ROWS})"
    )
    best = []
    for expression in ("sha256(cast(phone as varchar))", hmac_sql("cast(phone as varchar)", b"k" * 32)):
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            connection.sql(f"select {expression} as phone from t").to_arrow_table()
            runs.append(time.perf_counter() - started)
        best.append(min(runs))
    return best[0], best[1]
