"""Failed builds never look like releases (issue 12, item 13): consumers see the served version in
`quanta ls`, `quanta show`, the API, the product page, the maturity panel and search; versions whose
data was never published are marked; an older version number is refused where it is written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import run_cli
from tests.test_validate_rules import CONTRACT, PRODUCT, write_hr


def _release(root: Path, version: str, most: int, purpose: str) -> None:
    """hr.staff at ``version``, described by ``purpose``, whose contract wants fewer than ``most`` rows."""
    product = PRODUCT.replace("version: 1.0.0", f"version: {version}").replace(
        "owner: erin\n", f"owner: erin\ndescription:\n  purpose: {purpose}\n"
    )
    rules = f"    quality:\n      - metric: rowCount\n        mustBeLessThan: {most}\n"
    write_hr(root, product, CONTRACT.replace("version: 1.0.0", f"version: {version}").format(rules=rules))


@pytest.fixture(scope="module")
def failed_twice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hr.staff 1.0.0 published; 1.0.1 and 1.0.2 registered, but their data failed the contract."""
    from quanta.mesh import Mesh

    root = tmp_path_factory.mktemp("served") / "ws"
    Mesh.init(root)
    for version, most, built in [("1.0.0", 100, 0), ("1.0.1", 1, 1), ("1.0.2", 2, 1)]:
        _release(root, version, most, "Everyone who works here." if built == 0 else "Zanzibarian payroll.")
        assert run_cli("apply", cwd=root).returncode == 0
        result = run_cli("build", "hr.staff", cwd=root)
        assert result.returncode == built, result.stdout + result.stderr
    return root


def _flat(text: str) -> str:
    return " ".join(text.replace("│", " ").split())


def test_ls_shows_the_served_version_and_the_unpublished_one(failed_twice: Path) -> None:
    listed = run_cli("ls", cwd=failed_twice, env={"COLUMNS": "200"})
    assert "hr.staff 1.0.0 (1.0.2 not published)" in _flat(listed.stdout)
    [product] = json.loads(run_cli("ls", "--json", cwd=failed_twice).stdout)
    assert product["served_version"] == "1.0.0" and product["latest_version"] == "1.0.2"


def test_show_reads_the_served_version_and_marks_failed_versions(failed_twice: Path) -> None:
    shown = _flat(run_cli("show", "hr.staff", cwd=failed_twice, env={"COLUMNS": "200"}).stdout)
    assert "hr.staff 1.0.0 (1.0.2 not published)" in shown
    assert "Everyone who works here." in shown  # the served version's descriptor, not 1.0.2's
    assert re.search(r"1\.0\.0 \S+ \S+ local-admin published", shown)
    assert re.search(r"1\.0\.2 \S+ \S+ local-admin not published: contract failed", shown)


def test_api_product_resource_and_search_follow_the_served_version(failed_twice: Path) -> None:
    from quanta.interfaces.api import create_app
    from quanta.mesh import Mesh

    client = TestClient(create_app(Mesh.open(failed_twice)), raise_server_exceptions=False)
    detail = client.get("/api/v1/products/hr.staff").json()
    assert detail["product"]["served_version"] == "1.0.0"
    assert detail["descriptor"]["version"] == "1.0.0"
    assert [(v["version"], v["outcome"]) for v in detail["versions"]] == [
        ("1.0.0", "published"),
        ("1.0.1", "contract failed"),
        ("1.0.2", "contract failed"),
    ]
    # Search indexes what consumers read: 1.0.2's new purpose is not found while it is unpublished.
    assert client.get("/api/v1/search", params={"q": "Zanzibarian"}).json()["total"] == 0
    assert client.get("/api/v1/search", params={"q": "works here"}).json()["total"] == 1


def test_product_page_header_and_changelog(failed_twice: Path) -> None:
    from quanta.interfaces.api import create_app
    from quanta.mesh import Mesh

    client = TestClient(create_app(Mesh.open(failed_twice)), raise_server_exceptions=False)
    page = client.get("/products/hr.staff")
    assert page.status_code == 200, page.text
    text = _flat(re.sub(r"<[^>]+>", " ", page.text))
    assert "hr.staff · version 1.0.0 (1.0.2 not published)" in text
    assert "1.0.2 (not published: contract failed)" in text
    assert "1.0.1 (not published: contract failed)" in text
    assert "1.0.0 (not published" not in text
    panel = client.get("/products/hr.staff/panels/maturity")
    assert "DATSIS score of version 1.0.0" in _flat(re.sub(r"<[^>]+>", " ", panel.text))


def test_apply_refuses_an_older_version_where_it_is_written(failed_twice: Path) -> None:
    folder = failed_twice / "domains" / "hr" / "staff"
    before = (folder / "product.yaml").read_text(encoding="utf-8")
    try:
        (folder / "product.yaml").write_text(before.replace("version: 1.0.2", "version: 1.0.1-rc.1"))
        applied = run_cli("apply", cwd=failed_twice)
    finally:
        (folder / "product.yaml").write_text(before)
    assert applied.returncode == 1
    out = applied.stdout + applied.stderr
    assert (
        "domains/hr/staff/product.yaml:5:1: error: hr.staff 1.0.1-rc.1 is older than the latest registered"
        " version 1.0.2 (not published: contract failed)"
    ) in out
    assert "hint: versions only go up, also past failed builds: use 1.0.3 or later" in out
    assert "Traceback" not in out


def test_notebooks_show_the_served_version(failed_twice: Path) -> None:
    import quanta

    staff = quanta.connect(workspace=failed_twice).product("hr.staff")
    assert "<b>hr.staff</b> 1.0.0 · " in staff._repr_html_()
