"""Estimated totals on the interfaces: the API flags them, the marketplace says "about"."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from quanta.discovery.search import counts as search_counts
from quanta.interfaces.api import create_app
from quanta.mesh import Mesh
from tests.test_search import open_demo


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    root = tmp_path_factory.mktemp("search-web") / "mesh"
    open_demo(root)
    return TestClient(create_app(Mesh.open(root)), raise_server_exceptions=False)


@pytest.fixture
def tiny_window(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Count exactly up to 2 matches only, so the demo's 7 products are a large catalog. Answers are
    remembered per index generation: a rebuild before and after starts each side afresh."""
    mesh: Mesh = client.app.state.mesh  # type: ignore[attr-defined]
    mesh.reindex()
    with monkeypatch.context() as patched:
        for name, value in {"WINDOW": 2, "GLANCE": 2, "SAMPLED": 1, "STRATA": 1}.items():
            patched.setattr(search_counts, name, value)
        yield
    mesh.reindex()


def test_the_api_says_when_counts_are_exact(client: TestClient) -> None:
    body = client.get("/api/v1/search", params={"q": "customer"}).json()
    assert (body["total_exact"], body["facets_exact"]) == (True, True)
    assert body["total"] == len(body["hits"]) > 2
    maturity = client.get("/api/v1/search", params={"q": "", "maturity": "gold"}).json()
    assert maturity["total"] == 0  # the maturity filter is taken (no demo product is gold)


@pytest.mark.usefixtures("tiny_window")
def test_the_api_flags_estimates(client: TestClient) -> None:
    body = client.get("/api/v1/search", params={"q": "customer"}).json()
    assert (body["total_exact"], body["facets_exact"]) == (False, False)
    assert body["total"] >= 2
    assert len(body["hits"]) >= 2  # ranking is not limited by the counting window


@pytest.mark.usefixtures("tiny_window")
def test_the_marketplace_says_about_for_estimates(client: TestClient) -> None:
    page = client.get("/", params={"q": "customer"}).text
    assert re.fullmatch(r"about [\d,]+ products? for “customer”", heading(page))
    assert '<span class="visually-hidden">about </span>' in page  # facet counts, for screen readers too


def heading(page: str) -> str:
    found = re.search(r'<h2 id="hits-heading"[^>]*>(.*?)</h2>', page, re.S)
    assert found
    return " ".join(found.group(1).split())


def test_the_marketplace_shows_exact_counts_plainly(client: TestClient) -> None:
    page = client.get("/", params={"q": "customer"}).text
    assert re.fullmatch(r"\d+ products for “customer”", heading(page))
    assert 'visually-hidden">about' not in page
