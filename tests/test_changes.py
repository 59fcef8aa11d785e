"""Change feeds: the rows inserted, deleted and updated between two versions of a product, read through
the governed query service on every interface (in process, CLI, REST, SDK local and remote, pgwire).

On the granted demo (ana holds a column-scoped grant on customers.customers: customer_id, name hashed,
phone showing its last 4 digits, market_segment), customers.customers 1.1.0 is published with customer
1 renamed, customer 2 gone, customer 3's account balance changed and customer 999999 new.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from quanta.mesh import Mesh
from quanta.query.changes import appended_files, version_range
from quanta.query.products import AccessDenied, QueryError
from quanta.storage.scan import Column, TableScan
from tests.conftest import mesh_as, run_cli, serve_app
from tests.test_pgwire import serving

PRODUCT = "customers.customers"
CHANGED_TRANSFORM = """\
select
    c_custkey    as customer_id,
    case when c_custkey = 1 then c_name || ' Jr' else c_name end as name,
    c_address    as address,
    c_nationkey  as nation_key,
    c_phone      as phone,
    case when c_custkey = 3 then c_acctbal + 1 else c_acctbal end as account_balance,
    c_mktsegment as market_segment,
    c_comment    as comment
from crm_customers
where c_custkey <> 2
union all
select 999999, 'Customer#999999', 'Somewhere 1', 7, '17-555-123-4567', 10.00, 'BUILDING', 'new'
"""


def publish_changed_customers(
    root: Path, version: str = "1.1.0", *, restricted_balance: bool = False
) -> None:
    """Publish customers.customers ``version``: customer 1 renamed, 2 removed, 3's balance changed,
    999999 added (``restricted_balance``: account_balance classified restricted, which no export may
    carry; a breaking change, so a new major version)."""
    change_customers(root, version, restricted_balance=restricted_balance)
    [result] = Mesh.open(root).build([PRODUCT])
    assert (result.status, result.version) == ("published", version), result


def change_customers(root: Path, version: str, *, restricted_balance: bool = False) -> None:
    """The workspace files of :func:`publish_changed_customers`, not built yet."""
    folder = root / "domains/customers/customers"
    product, contract = folder / "product.yaml", folder / "customers.odcs.yaml"
    product.write_text(product.read_text().replace("version: 1.0.0", f"version: {version}"))
    text = contract.read_text().replace("version: 1.0.0", f"version: {version}", 1)
    if restricted_balance:
        text = text.replace(
            "(negative when the customer owes money).\n        classification: confidential",
            "(negative when the customer owes money).\n        classification: restricted",
        )
    contract.write_text(text)
    (folder / "transform.sql").write_text(CHANGED_TRANSFORM)


@pytest.fixture(scope="module")
def root(granted_demo: Path) -> Path:
    publish_changed_customers(granted_demo)
    return granted_demo


def _rows(table: pa.Table) -> list[tuple[str, str, int]]:
    return [(r["_change"], r["_version"], r["customer_id"]) for r in table.to_pylist()]


EXPECTED = [
    ("update_before", "1.0.0", 1),
    ("update_after", "1.1.0", 1),
    ("delete", "1.0.0", 2),
    ("update_before", "1.0.0", 3),
    ("update_after", "1.1.0", 3),
    ("insert", "1.1.0", 999999),
]


def test_changes_by_primary_key(root: Path) -> None:
    admin = Mesh.open(root)
    table = admin.changes(PRODUCT, "1.0.0", "1.1.0").read_all()
    assert table.column_names[:3] == ["_change", "_version", "customer_id"]
    assert _rows(table) == EXPECTED
    after = {r["_change"]: r for r in table.to_pylist() if r["customer_id"] == 1}
    assert after["update_before"]["name"] == "Customer#000000001"
    assert after["update_after"]["name"] == "Customer#000000001 Jr"
    # until defaults to the current version; the SQL form is the same feed
    assert _rows(admin.changes(PRODUCT, "1.0.0").read_all()) == EXPECTED
    sql = f"select _change, customer_id from \"{PRODUCT}@1.0.0..1.1.0\" where _change = 'insert'"
    assert admin.query(sql).to_pylist() == [{"_change": "insert", "customer_id": 999999}]
    assert admin.changes(PRODUCT, "1.1.0", "1.1.0").read_all().num_rows == 0


def test_masks_and_column_grants_hold_in_the_feed(root: Path) -> None:
    ana = mesh_as(root, "ana")
    stream = ana.changes(PRODUCT, "1.0.0")
    table = stream.read_all()
    assert table.column_names == ["_change", "_version", "customer_id", "name", "phone", "market_segment"]
    assert stream.masked[PRODUCT] == {"name": "hash", "phone": "last4"}
    # customer 3 changed only in account_balance, which ana's grant leaves out: no update for her
    assert _rows(table) == [row for row in EXPECTED if row[2] != 3]
    text = str(table.to_pylist())
    assert "Customer#000000001" not in text and "25-989-741-2988" not in text
    assert all(phone.startswith("****") for phone in table.column("phone").to_pylist())
    # the hash is deterministic: a renamed customer's name hash changes, an unchanged one's does not
    names = {r["_change"]: r["name"] for r in table.to_pylist() if r["customer_id"] == 1}
    assert names["update_before"] != names["update_after"]
    [entry] = [e for e in Mesh.open(root).audit_log() if e.seq in stream.audit_ids]
    assert entry.details["version"] == "1.0.0..1.1.0" and entry.details["as"] == "ana"
    assert entry.details["masked"] == {"name": "hash", "phone": "last4"}


def test_a_principal_without_access_is_refused(root: Path) -> None:
    with pytest.raises(AccessDenied, match=r"access denied to customers\.customers"):
        mesh_as(root, "carl").changes(PRODUCT, "1.0.0").read_all()
    with pytest.raises(QueryError, match=r"no published version 0\.9\.0"):
        Mesh.open(root).changes(PRODUCT, "0.9.0").read_all()
    with pytest.raises(QueryError, match="is not a version"):
        Mesh.open(root).changes(PRODUCT, '1.0.0" union select 1 --').read_all()
    with pytest.raises(QueryError, match="bad change-feed range"):
        Mesh.open(root).query(f'select * from "{PRODUCT}@..1.1.0"')


def test_cli_changes_and_output_file(root: Path, tmp_path: Path) -> None:
    shown = run_cli("changes", PRODUCT, "--since", "1.0.0", "--until", "1.1.0", "-f", "csv", cwd=root,
                    env={"QUANTA_USER": "ana"})  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert (
        shown.stdout.splitlines()[0] == '"_change","_version","customer_id","name","phone","market_segment"'
    )
    assert "Customer#000000001" not in shown.stdout
    out = tmp_path / "changes.parquet"
    written = run_cli(
        "changes", PRODUCT, "--since", "1.0.0", "-o", str(out), cwd=root, env={"QUANTA_USER": "ana"}
    )
    assert written.returncode == 0, written.stderr
    import pyarrow.parquet as pq

    assert _rows(pq.read_table(out)) == [row for row in EXPECTED if row[2] != 3]
    refused = run_cli("changes", PRODUCT, "--since", "1.0.0", cwd=root, env={"QUANTA_USER": "carl"})
    assert refused.returncode != 0 and "access denied" in refused.stderr and "Traceback" not in refused.stderr


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[str]:
    yield from serve_app(Mesh.open(root), server_mode=True)


def test_rest_and_sdk_remote(root: Path, server: str) -> None:
    import httpx

    import quanta

    token, _ = Mesh.open(root).create_token("changes-ana", scopes=["read"], principal_id="ana")
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{server}/api/v1/products/{PRODUCT}/changes"
    answer = httpx.get(url, params={"since": "1.0.0", "until": "1.1.0"}, headers=headers, timeout=60)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["rows"][0]["_change"], body["rows"][0]["customer_id"]) == ("update_before", 1)
    assert body["masked"] == {PRODUCT: {"name": "hash", "phone": "last4"}} and body["row_count"] == 4
    arrow = httpx.get(url, params={"since": "1.0.0", "format": "arrow"}, headers=headers, timeout=60)
    assert _rows(pa.ipc.open_stream(arrow.content).read_all()) == [row for row in EXPECTED if row[2] != 3]
    carl, _ = Mesh.open(root).create_token("changes-carl", scopes=["read"], principal_id="carl")
    denied = httpx.get(url, params={"since": "1.0.0"}, headers={"Authorization": f"Bearer {carl}"})
    assert denied.status_code == 403 and "access denied" in denied.text
    remote = quanta.connect(server, token=token).product(PRODUCT).changes(since="1.0.0")
    assert _rows(remote) == [row for row in EXPECTED if row[2] != 3]


def test_sdk_local(root: Path) -> None:
    import quanta

    local = quanta.connect(workspace=root).product(PRODUCT).changes(since="1.0.0", until="1.1.0")
    assert _rows(local) == EXPECTED


@pytest.fixture(scope="module")
def pg_port(root: Path) -> Iterator[int]:
    """``quanta pgwire`` in local mode: loopback clients are trusted as the user they name."""
    yield from serving(root)


def test_pgwire_with_psycopg(pg_port: int) -> None:
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=pg_port, user="ana", dbname="quanta") as conn:
        rows = conn.execute(f'select _change, customer_id, phone from "{PRODUCT}@1.0.0..1.1.0"').fetchall()
        assert [(c, k) for c, k, _ in rows] == [(c, k) for c, _, k in EXPECTED if k != 3]
        assert all(phone.startswith("****") for _, _, phone in rows)
    with (
        psycopg.connect(host="127.0.0.1", port=pg_port, user="carl", dbname="quanta") as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute(f'select * from "{PRODUCT}@1.0.0.."')


def test_version_ranges_and_appended_files() -> None:
    assert version_range("1.0.0..1.1.0") == ("1.0.0", "1.1.0")
    assert version_range("1.0.0..") == ("1.0.0", None)
    assert version_range("1.0.0") is None and version_range(None) is None
    with pytest.raises(QueryError):
        version_range("..1.0.0")
    columns = [Column(1, "id", "BIGINT")]
    old, new = TableScan(["a", "b"], columns), TableScan(["a", "b", "c"], columns)
    assert appended_files(old, new) == TableScan(["c"], columns)  # the append is read, nothing else
    assert appended_files(TableScan(["x"], columns), new) is None  # a rebuild: diffed by key
