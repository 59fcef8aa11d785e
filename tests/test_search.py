"""Marketplace search over the demo mesh, one test body on every backend (SQLite FTS5 and PostgreSQL full
text): ranking, column hits, facets, typos, hostile input, updates, estimates past the counting window."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from quanta.discovery.search import counts as search_counts
from quanta.discovery.search import index as search_index
from quanta.discovery.search.documents import ColumnText, ProductDocument
from quanta.discovery.search.index import Hit, SearchError, SearchIndex, SearchResult, document_for
from quanta.discovery.search.postgres import PostgresSearchIndex, PostgresSnapshot
from quanta.discovery.search.sqlite import SqliteSearchIndex, SqliteSnapshot
from quanta.errors import NotFoundError
from quanta.mesh import Mesh
from quanta.registry import Registry
from quanta.settings import Settings
from tests.test_search_backends import NewIndex, index_maker, search_backends

DEMO_IDS = {
    "customers.customers",
    "sales.orders",
    "sales.lineitems",
    "supply.parts",
    "supply.suppliers",
    "finance.revenue_by_nation",
    "marketing.customer_segments",
}


@dataclass(frozen=True)
class Demo:
    root: Path
    registry: Registry
    index: SearchIndex
    new: NewIndex  # another empty index of the same backend


def open_demo(root: Path) -> Mesh:
    """The demo mesh at ``root``, applied to its own SQLite registry."""
    Mesh.init(root, demo=True)
    mesh = Mesh.open(root, settings=Settings(database_url=None, workspace=root))
    mesh.apply()
    return mesh


@pytest.fixture(scope="module", params=search_backends())
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("search") / "mesh"
    mesh = open_demo(root)
    # Not the workspace's own index: these tests drive every index update themselves.
    maker = index_maker(request.param, request, tmp_path_factory.mktemp("index"))
    new = next(maker)
    index = new()
    assert index.rebuild(mesh.registry) == 7
    yield Demo(root, mesh.registry, index, new)
    next(maker, None)


@pytest.fixture(params=search_backends())
def new_index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NewIndex]:
    """Empty indexes of one backend, for one test."""
    yield from index_maker(request.param, request, tmp_path)


def ids(result: SearchResult) -> list[str]:
    return [h.product_id for h in result.hits]


def hit(result: SearchResult, product_id: str) -> Hit:
    return next(h for h in result.hits if h.product_id == product_id)


# --- ranking and where a product matched -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("orders", "sales.orders"),  # the part after the domain
        ("Orders", "sales.orders"),
        ("sales.orders", "sales.orders"),  # the id
        ("revenue by nation", "finance.revenue_by_nation"),  # the name
        ("customers", "customers.customers"),
    ],
)
def test_an_exact_name_ranks_first(demo: Demo, query: str, first: str) -> None:
    result = demo.index.search(query)
    assert ids(result)[0] == first
    assert result.hits[0].score == 2.0
    assert all(h.score < 2.0 for h in result.hits[1:])


def test_orders_also_finds_products_that_only_mention_orders(demo: Demo) -> None:
    result = demo.index.search("orders")
    assert {"sales.orders", "sales.lineitems", "marketing.customer_segments"} <= set(ids(result))
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    assert result.total == len(result.hits)


def test_a_word_only_in_a_description(demo: Demo) -> None:
    result = demo.index.search("campaign")  # the purpose of marketing.customer_segments
    assert ids(result) == ["marketing.customer_segments"]
    assert result.hits[0].matched == ["description"]
    assert result.hits[0].summary.startswith("Lifetime value, order count")


def test_a_column_hit_names_the_column(demo: Demo) -> None:
    result = demo.index.search("lifetime_value")
    assert ids(result) == ["marketing.customer_segments"]
    assert "column lifetime_value" in result.hits[0].matched
    parts = demo.index.search("nation key")  # the words of a column name, not its spelling
    assert set(ids(parts)) == {"customers.customers", "supply.suppliers"}
    assert "column nation_key" in hit(parts, "supply.suppliers").matched


def test_tags_owners_and_column_tags_are_searched(demo: Demo) -> None:
    pii = demo.index.search("pii")
    assert ids(pii)[0] == "customers.customers"
    assert {"tag pii", "column name", "column phone"} <= set(pii.hits[0].matched)
    carol = demo.index.search("carol")
    assert ids(carol) == ["customers.customers"]
    assert carol.hits[0].matched == ["owner"]
    assert carol.hits[0].owner == "carol"


@pytest.mark.parametrize(
    ("typo", "first", "fixed"),
    [("revnue", "finance.revenue_by_nation", "revenue"), ("custmer", "customers.customers", "customer")],
)
def test_misspelt_words_are_corrected(demo: Demo, typo: str, first: str, fixed: str) -> None:
    result = demo.index.search(typo)
    assert ids(result)[0] == first
    assert result.corrected_query == fixed
    assert demo.index.search(fixed).total == result.total
    assert demo.index.search(fixed).corrected_query is None


def test_a_word_nothing_resembles_finds_nothing(demo: Demo) -> None:
    result = demo.index.search("xylophone")
    assert (result.total, result.hits, result.corrected_query) == (0, [], None)


def test_when_no_product_has_every_word_any_word_will_do(demo: Demo) -> None:
    every = demo.index.search("customer segments")
    assert (every.relaxed, ids(every)[0]) == (False, "marketing.customer_segments")
    some = demo.index.search("customer zebrafish")  # no product has zebrafish, nothing is close to it
    assert some.relaxed
    assert some.corrected_query is None
    assert some.total == demo.index.search("customer").total
    assert ids(some)[0] == "customers.customers"


def test_a_prefix_finds_the_word(demo: Demo) -> None:
    assert ids(demo.index.search("lifet")) == ["marketing.customer_segments"]
    assert "marketing.customer_segments" in ids(demo.index.search("segm"))


HOSTILE = [
    '"',
    "*",
    "a AND",
    "(",
    ")",
    "NEAR(",
    "NEAR(a b, 2)",
    "sales OR",
    "NOT pii",
    "-pii",
    "name:orders",
    "{name}: orders",
]
HOSTILE += ["'", "\\", "AND AND", "***", "customer +", "ßüé", "%", "_", "a" * 256]
AROUND_ORDERS = [
    'orders"',
    '"orders',
    "orders*",
    "^orders",
    "(orders",
    "orders)",
    "orders NEAR",
]


@pytest.mark.parametrize("query", HOSTILE + AROUND_ORDERS)
def test_hostile_input_never_raises(demo: Demo, query: str) -> None:
    result = demo.index.search(query)
    assert result.total >= len(result.hits)
    if query in AROUND_ORDERS:
        assert "sales.orders" in ids(result)


# --- facets, filters, pages ----------------------------------------------------------------------------


def registry_facets(registry: Registry) -> dict[str, Counter[str]]:
    """Facet counts computed straight from the registry, to compare the index with."""
    facets: dict[str, Counter[str]] = {"domain": Counter(), "type": Counter(), "status": Counter()}
    facets["classification"] = Counter()
    for product in registry.products():
        facets["domain"][product.domain] += 1
        facets["type"][product.type or ""] += 1
        facets["status"][product.status] += 1
        contracts = registry.port_contracts(product.id).values()
        columns = [p for c in contracts for obj in c.get("schema", []) for p in obj.get("properties", [])]
        facets["classification"].update({p["classification"] for p in columns if p.get("classification")})
    return facets


def test_an_empty_query_lists_every_product_with_facets(demo: Demo) -> None:
    result = demo.index.search("")
    assert set(ids(result)) == DEMO_IDS
    assert result.total == 7
    assert result.facets_exact
    assert result.total_exact
    expected = registry_facets(demo.registry)
    for facet in ("domain", "type", "status", "classification"):
        assert result.facets[facet] == dict(expected[facet]), facet
    assert result.facets["classification"] == {"confidential": 2, "internal": 2}
    assert result.facets["maturity"] == {}


def test_facets_count_every_match_not_just_the_page(demo: Demo) -> None:
    result = demo.index.search("customer", limit=1)
    assert len(result.hits) == 1
    assert result.total > 1
    assert sum(result.facets["domain"].values()) == result.total


def test_filters_narrow_results_and_facets(demo: Demo) -> None:
    sales = demo.index.search("", filters={"domain": "sales"})
    assert set(ids(sales)) == {"sales.orders", "sales.lineitems"}
    assert sales.facets["domain"] == {"sales": 2}
    confidential = demo.index.search("", filters={"classification": "confidential"})
    assert set(ids(confidential)) == {"customers.customers", "supply.suppliers"}
    both = demo.index.search("nation", filters={"classification": "confidential", "type": "source-aligned"})
    assert set(ids(both)) == {"customers.customers", "supply.suppliers"}
    assert demo.index.search("orders", filters={"domain": "finance"}).hits[0].domain == "finance"
    assert demo.index.search("", filters={"maturity": "gold"}).total == 0
    assert demo.index.search("", filters={"domain": ""}).total == 7  # an empty value filters nothing


def test_pages_cover_every_match_once(demo: Demo) -> None:
    pages = [demo.index.search("", limit=3, offset=offset) for offset in (0, 3, 6, 9)]
    assert [len(p.hits) for p in pages] == [3, 3, 1, 0]
    assert {p.total for p in pages} == {7}
    seen = [i for p in pages for i in ids(p)]
    assert sorted(seen) == sorted(DEMO_IDS)
    everything = demo.index.search("customer", limit=200)
    paged = [
        h.product_id
        for n in range(everything.total)
        for h in demo.index.search("customer", limit=1, offset=n).hits
    ]
    assert paged == ids(everything)


@pytest.mark.parametrize(
    "arguments",
    [
        {"limit": 0},
        {"limit": 201},
        {"offset": -1},
        {"filters": {"owner": "carol"}},
        {"query": "x" * 300},
    ],
)
def test_bad_arguments_are_search_errors(demo: Demo, arguments: dict[str, Any]) -> None:
    arguments = dict(arguments)  # the same dict is the parameter of every backend
    query = arguments.pop("query", "orders")
    with pytest.raises(SearchError) as raised:
        demo.index.search(query, **arguments)
    assert raised.value.hint


def test_searching_without_an_index_says_how_to_build_one(new_index: NewIndex) -> None:
    with pytest.raises(SearchError, match="no search index") as raised:
        new_index().search("orders")
    assert "rebuild" in (raised.value.hint or "")


# --- keeping the index current ---------------------------------------------------------------------------


def test_update_indexes_a_changed_product(new_index: NewIndex, tmp_path: Path) -> None:
    mesh = open_demo(tmp_path / "mesh")
    index = new_index()
    index.rebuild(mesh.registry)
    assert index.search("zebrafish").total == 0
    descriptor = tmp_path / "mesh/domains/marketing/customer_segments/product.yaml"
    text = descriptor.read_text(encoding="utf-8").replace("version: 1.0.0", "version: 1.1.0", 1)
    text = text.replace("tags: [marketing, segmentation, customers]", "tags: [marketing, zebrafish]")
    descriptor.write_text(
        text + "customProperties:\n  - property: maturity\n    value: gold\n", encoding="utf-8"
    )
    mesh.apply()
    assert index.search("zebrafish").total == 0  # derived data: stale until updated
    index.update(mesh.registry, ["marketing.customer_segments"])
    result = index.search("zebrafish")
    assert ids(result) == ["marketing.customer_segments"]
    assert "tag zebrafish" in result.hits[0].matched
    assert index.search("segmentation").total == 0
    assert index.search("").facets["maturity"] == {"gold": 1}
    assert ids(index.search("", filters={"maturity": "gold"})) == ["marketing.customer_segments"]
    assert index.search("").total == 7


class OneProductRegistry:
    """Just enough of a registry for ``document_for``: one product, or none."""

    def __init__(self, descriptor: dict[str, Any] | None, contracts: dict[str, Any] | None = None) -> None:
        self._descriptor, self._contracts = descriptor, contracts or {}

    def descriptor(self, product_id: str, version: str | None = None) -> dict[str, Any]:
        if self._descriptor is None:
            raise NotFoundError(f"no product {product_id!r}")
        return self._descriptor

    def port_contracts(self, product_id: str, version: str | None = None) -> dict[str, Any]:
        return self._contracts

    def maturity_levels(self) -> dict[str, str]:
        return {}  # not scored yet

    def served_versions(self, product_ids: list[str] | None = None) -> dict[str, str]:
        return {}  # never published: search shows the latest registered version


GLOSSARY_PRODUCT = {
    "id": "finance.ledger",
    "version": "1.0.0",
    "status": "active",
    "description": {"purpose": "General ledger entries."},
    "team": {"name": "finance-core", "members": [{"username": "gina", "name": "Gina Ito", "role": "owner"}]},
    "tags": ["ledger_entries"],
    "customProperties": [
        {"property": "maturity", "value": "silver"},
        {"property": "glossary", "value": ["Net Revenue"]},
    ],
}
GLOSSARY_CONTRACT = {
    "schema": [
        {
            "name": "entries",
            "properties": [
                {
                    "name": "customer_ref",
                    "classification": "restricted",
                    "authoritativeDefinitions": [
                        {"type": "businessDefinition", "url": "https://glossary.example.com/terms/Customer"}
                    ],
                },
                {"name": "address", "properties": [{"name": "postCode", "description": "Postal code"}]},
            ],
        }
    ]
}


def test_documents_carry_glossary_terms_nested_columns_and_maturity() -> None:
    doc = document_for(OneProductRegistry(GLOSSARY_PRODUCT, {"entries": GLOSSARY_CONTRACT}), "finance.ledger")  # type: ignore[arg-type]
    assert (doc.name, doc.domain, doc.owner, doc.maturity) == ("ledger", "finance", "gina", "silver")
    assert doc.glossary == ("Net Revenue", "Customer")
    assert [c.name for c in doc.columns] == ["customer_ref", "address", "address.postCode"]
    assert doc.people == ("finance-core", "gina", "Gina Ito")


def test_glossary_and_camel_case_hits(new_index: NewIndex) -> None:
    index = new_index()
    index.add_documents(
        [document_for(OneProductRegistry(GLOSSARY_PRODUCT, {"e": GLOSSARY_CONTRACT}), "finance.ledger")]  # type: ignore[arg-type]
    )
    revenue = index.search("net revenue")
    assert revenue.hits[0].matched == ["glossary Net Revenue"]
    customer = index.search("customer")
    assert {"glossary Customer", "column customer_ref"} <= set(customer.hits[0].matched)
    assert index.search("post code").hits[0].matched == ["column address.postCode"]
    assert index.search("").facets["classification"] == {"restricted": 1}
    assert index.search("gina ito").hits[0].matched == ["owner"]
    assert index.search("entries").hits[0].matched == ["tag ledger_entries", "description"]


def test_update_drops_a_product_gone_from_the_registry(new_index: NewIndex) -> None:
    index = new_index()
    index.add_documents(
        [ProductDocument("a.one", "One", "a", "active"), ProductDocument("a.two", "Two", "a", "active")]
    )
    index.update(OneProductRegistry(None), ["a.one"])  # type: ignore[arg-type]
    result = index.search("")
    assert ids(result) == ["a.two"]
    assert result.facets["domain"] == {"a": 1}


def test_accents_and_case_are_folded_alike(new_index: NewIndex) -> None:
    index = new_index()
    index.add_documents(
        [ProductDocument("hr.payroll", "Payroll", "hr", "active", description="Gehälter, café")]
    )
    assert ids(index.search("CAFE")) == ids(index.search("gehalter")) == ["hr.payroll"]
    assert index.search("Café").hits[0].matched == ["description"]


def test_searches_from_many_threads_agree(demo: Demo) -> None:
    queries = ["orders", "customer", "revnue", "", "pii", "nation key"] * 10
    expected = {q: ids(demo.index.search(q)) for q in set(queries)}
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda q: (q, ids(demo.index.search(q))), queries))
    assert all(found == expected[q] for q, found in results)


# --- bounded work: past the counting window, estimates; ranking in tiers ----------------------------------


def widgets(index: SearchIndex) -> None:
    """40 products matching 'widget', 30 in domain north; the name of every fourth says widget too."""
    domains = ["north"] * 30 + ["south"] * 10
    columns = (ColumnText("widget_id", "Widget identifier"),)
    index.add_documents(
        ProductDocument(f"{d}.p{i}", f"Widget {i}" if i % 4 == 0 else f"P{i}", d, "active", columns=columns)
        for i, d in enumerate(domains)
    )


def test_facets_over_many_matches_are_estimated_and_flagged(
    new_index: NewIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = new_index()
    widgets(index)
    exact = index.search("widget")
    assert (exact.total, exact.total_exact, exact.facets_exact) == (40, True, True)
    assert exact.facets["domain"] == {"north": 30, "south": 10}
    monkeypatch.setattr(search_counts, "WINDOW", 12)
    monkeypatch.setattr(search_counts, "SAMPLED", 8)  # 8 samples of one product each, among the 28 older ones
    scaled = index.search("widget", limit=19)  # another page: not the answer remembered above
    assert (scaled.total_exact, scaled.facets_exact) == (False, False)
    assert scaled.total == 40  # 12 counted, and 8 sampled standing for 3.5 each
    assert sum(scaled.facets["domain"].values()) == pytest.approx(scaled.total, abs=1)
    south = index.search("widget", filters={"domain": "south"})
    assert (south.total, south.total_exact) == (10, True)  # under the window: counted


def test_a_remembered_answer_gives_way_to_the_next_generation(new_index: NewIndex) -> None:
    """Answers are remembered per index generation: a write makes a new one, so the same query sees it."""
    index = new_index()
    widgets(index)
    assert index.search("widget").total == 40
    assert index.search("widget").total == 40  # remembered
    index.add_documents([ProductDocument("east.widgets", "Widget Extra", "east", "active")])
    again = index.search("widget")
    assert again.total == 41
    assert again.hits[0].product_id == "east.widgets" or "east" in again.facets["domain"]


def test_another_workers_write_shows_within_the_recheck_interval(new_index: NewIndex) -> None:
    """Two server workers, one index: a worker's own write shows at once in its searches, the other
    worker's within its recheck interval (PostgreSQL: 0.2 s without a round trip; SQLite: at once)."""
    index = new_index()
    widgets(index)
    worker: SearchIndex = (
        PostgresSearchIndex(index.engine)
        if isinstance(index, PostgresSearchIndex)
        else SqliteSearchIndex(index.path)
    )
    try:
        assert worker.search("widget").total == 40  # remembered by the other worker
        if isinstance(worker, PostgresSearchIndex):  # and given again without a round trip
            from sqlalchemy import event

            sent: list[str] = []
            event.listen(worker.engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
            assert worker.search("widget").total == 40 and sent == []
        index.add_documents([ProductDocument("east.widgets", "Widget Extra", "east", "active")])
        assert index.search("widget").total == 41
        if worker.RECHECK_SECONDS == 0:
            assert worker.search("widget").total == 41
        time.sleep(worker.RECHECK_SECONDS)
        assert worker.search("widget").total == 41
    finally:
        worker.close()


def test_a_lapsed_answer_is_asked_again_by_one_thread(new_index: NewIndex) -> None:
    """Request threads finding a remembered answer's interval lapsed at once: one asks the index (a
    database connection each, on PostgreSQL), the others give the answer they had meanwhile."""
    index = new_index()
    if index.RECHECK_SECONDS <= 0:
        pytest.skip("SQLite's index is a file: its generation is checked on every search")
    widgets(index)
    assert index.search("widget").total == 40
    time.sleep(index.RECHECK_SECONDS)
    snapshots: list[int] = []
    release = threading.Event()
    snapshot = index.snapshot

    @contextlib.contextmanager
    def counted() -> Iterator[Any]:
        snapshots.append(1)
        release.wait(10)  # the first thread is still waiting for the database
        with snapshot() as snap:
            yield snap

    index.snapshot = counted  # type: ignore[method-assign]
    with ThreadPoolExecutor(8) as pool:
        answers = [pool.submit(index.search, "widget") for _ in range(8)]
        time.sleep(0.3)
        release.set()
        assert [a.result().total for a in answers] == [40] * 8
    assert len(snapshots) == 1


@pytest.mark.parametrize(("every", "newest", "matching"), [(3, 2000, 667), (1, 300, 300), (1, 1200, 1200)])
def test_estimates_hold_wherever_the_matches_cluster(
    new_index: NewIndex, monkeypatch: pytest.MonkeyPatch, every: int, newest: int, matching: int
) -> None:
    """'rare' in every ``every``-th of the ``newest`` products of 2,000: spread evenly, or only recent."""
    index = new_index()
    old = 2000 - newest
    index.add_documents(
        ProductDocument(
            f"d.p{i}", f"P{i}", "d", "active", description="rare" if i >= old and i % every == 0 else "x"
        )
        for i in range(2000)
    )
    monkeypatch.setattr(search_counts, "WINDOW", 50)
    result = index.search("rare")
    assert not result.total_exact
    assert result.total == pytest.approx(matching, rel=0.25)
    assert sum(result.facets["domain"].values()) == pytest.approx(matching, rel=0.25)


def test_pages_past_the_window_and_the_tiers_still_reach_every_match_once(
    new_index: NewIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = new_index()
    widgets(index)
    monkeypatch.setattr(search_counts, "WINDOW", 8)
    monkeypatch.setattr(search_index, "TIER", {"name": 3, "all": 4})
    pages = [index.search("widget", limit=7, offset=n) for n in range(0, 42, 7)]
    seen = [h for page in pages for h in page.hits]
    assert sorted(h.product_id for h in seen) == sorted(
        f"{d}.p{i}" for i, d in enumerate(["north"] * 30 + ["south"] * 10)
    )
    named = [h for h in seen if h.name.startswith("Widget")]
    assert seen[: len(named)] == named  # matches in the name first, on every page they need
    assert all(1.0 <= h.score < 2.0 for h in named)
    assert all(0.0 <= h.score < 1.0 for h in seen[len(named) :])


def test_a_word_all_old_products_use_is_estimated_from_a_few_of_them(
    new_index: NewIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dense among the 1,800 oldest of 2,000 products, rare among the newest: the samples, sized for
    the newest, would hold hundreds of matches each; they are cut short and stand for what they read."""
    index = new_index()
    index.add_documents(
        ProductDocument(
            f"d.p{i}", f"P{i}", "d", "active", description="legacy" if i < 1800 or i % 20 == 0 else ""
        )
        for i in range(2000)
    )
    for name, value in {"WINDOW": 50, "GLANCE": 10, "SAMPLED": 20}.items():
        monkeypatch.setattr(search_counts, name, value)
    snapshot = SqliteSnapshot if isinstance(index, SqliteSearchIndex) else PostgresSnapshot
    real, read = snapshot.sample, list[int]()

    def sample(self: Any, *args: Any) -> Any:  # the real one, counting what it reads
        found = real(self, *args)
        read.append(sum(len(rows) for rows in found))
        return found

    monkeypatch.setattr(snapshot, "sample", sample)
    result = index.search("legacy")
    assert not result.total_exact
    assert result.total == pytest.approx(1810, rel=0.2)
    assert sum(read) <= 4 * 20 + 10  # a few dozen matches read, not 1,800


def test_a_glance_at_the_newest_matches_decides_whether_counting_on_can_be_exact(
    new_index: NewIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = new_index()
    words = {"many": 2, "some": 25}  # in every 2nd product of 2,000, in every 25th
    index.add_documents(
        ProductDocument(
            f"d.p{i}", f"P{i}", "d", "active", description=" ".join(w for w, n in words.items() if i % n == 0)
        )
        for i in range(2000)
    )
    for name, value in {"WINDOW": 100, "GLANCE": 10, "SAMPLED": 20}.items():
        monkeypatch.setattr(search_counts, name, value)
    some = index.search("some")  # a glance puts it near the window: counting on makes it exact
    assert (some.total, some.total_exact, some.facets["domain"]) == (80, True, {"d": 80})
    many = index.search("many")  # far past the window: the glance and its samples are the estimate
    assert not many.total_exact
    assert many.total == pytest.approx(1000, rel=0.2)


def test_an_estimate_is_rounded_and_never_below_the_window() -> None:
    assert search_counts.estimate(87_408.3) == 87_000
    assert search_counts.estimate(2049.0) == 2000
    assert search_counts.estimate(987.5) == search_counts.WINDOW
