"""Verifiable answers: every governed read carries a receipt signed with the mesh's receipt key, naming
the audit entries that hold it; a receipt that was altered, or whose log was edited or truncated since,
fails verification with the reason. In process, over REST, from the CLI and the SDK."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

import quanta
from quanta.interfaces.api import create_app
from quanta.mesh import Mesh
from tests.conftest import mesh_as, run_cli

MASKED_READ = "select customer_id, name, phone from customers.customers order by customer_id limit 5"


def test_a_governed_result_carries_a_receipt_that_verifies(granted_demo: Path) -> None:
    ana = mesh_as(granted_demo, "ana")
    result = ana.governed_query(MASKED_READ)
    receipt = result.receipt
    assert receipt is not None and receipt["id"].startswith(f"r{result.audit_ids[0]}-")
    assert receipt["principal"] == "ana" and receipt["statement"] == MASKED_READ
    assert receipt["products"] == {"customers.customers": "1.0.0"} and receipt["rows"] == 5
    assert receipt["masks"]["customers.customers"] == {"name": "hash", "phone": "last4"}
    assert "grant #" in receipt["policies"]["customers.customers"] and receipt["complete"] is True
    assert [link["seq"] for link in receipt["audit"]] == result.audit_ids
    check = ana.verify_receipt(receipt)
    assert check.valid and check.problems == [] and check.audit_ids == result.audit_ids
    huge = ana.verify_receipt({**receipt, "audit": [{"seq": 10**30, "hash": "x"}]})
    assert huge.problems == ["each 'audit' link is an object {seq: <entry number>, hash: <hex>}"]
    # the audit entry of a read under a grant shows the grant and its purpose
    [entry] = [e for e in Mesh.open(granted_demo).audit_log() if e.seq == result.audit_ids[0]]
    assert entry.details["purpose"] == "churn analysis" and entry.details["version"] == "1.0.0"


@pytest.mark.parametrize(
    ("field", "value"),
    [("rows", 4), ("statement", "select 1"), ("principal", "gina"), ("masks", {}), ("complete", False)],
)
def test_an_altered_receipt_fails(granted_demo: Path, field: str, value: object) -> None:
    ana = mesh_as(granted_demo, "ana")
    receipt = ana.governed_query(MASKED_READ).receipt
    assert receipt is not None
    check = ana.verify_receipt({**receipt, field: value})
    assert not check.valid and "receipt was altered" in check.problems[0]


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([1, 2], "a receipt is a JSON object"),
        ({"format": "quanta.receipt/v1"}, "has no 'audit' field"),
    ],
)
def test_what_is_not_a_receipt_is_named(built_demo: Path, document: object, reason: str) -> None:
    check = Mesh.open(built_demo).verify_receipt(document)  # type: ignore[arg-type]
    assert not check.valid and any(reason in p for p in check.problems)


def test_a_stream_has_its_receipt_once_read(built_demo: Path) -> None:
    admin = Mesh.open(built_demo)
    stream = admin.governed_stream("select * from sales.lineitems")
    assert stream.receipt is None  # rows may still come: no row count yet
    rows = sum(batch.num_rows for batch in stream)
    receipt = stream.receipt
    assert receipt is not None and receipt["rows"] == rows > 8192 and receipt["complete"]
    assert admin.verify_receipt(receipt).valid
    early = admin.governed_stream("select * from sales.lineitems")
    first = next(iter(early))
    early.close()
    assert early.receipt is not None and early.receipt["rows"] == first.num_rows
    assert early.receipt["complete"] is False and admin.verify_receipt(early.receipt).valid


def test_a_receipt_from_a_tampered_or_truncated_log_fails(own_demo: Path) -> None:
    admin = Mesh.open(own_demo)
    receipt = admin.governed_query("select count(*) from sales.orders").receipt
    assert receipt is not None
    seq = receipt["audit"][0]["seq"]
    later = admin.governed_query("select count(*) from sales.orders").receipt
    assert later is not None
    with admin.registry.engine.begin() as connection:  # an earlier entry edited
        connection.execute(text("update audit_log set actor = 'nobody' where seq = 2"))
    check = admin.verify_receipt(receipt)
    assert not check.valid and any("entry 2 was edited" in p for p in check.problems)
    with admin.registry.engine.begin() as connection:
        connection.execute(text("update audit_log set actor = 'local-admin' where seq = 2"))
        connection.execute(text("update audit_log set details = '{}' where seq = :s"), {"s": seq})
    check = admin.verify_receipt(receipt)
    assert not check.valid and any(f"entry {seq} was edited" in p for p in check.problems)
    assert any("disagrees with the receipt on the statement" in p for p in check.problems)
    with admin.registry.engine.begin() as connection:  # the log cut back to before the later read
        connection.execute(text("delete from audit_log where seq >= :s"), {"s": later["audit"][0]["seq"]})
    check = admin.verify_receipt(later)
    assert not check.valid
    cut = f"audit entry {later['audit'][0]['seq']} is not in the log: the log was truncated"
    assert any(p.startswith(cut) for p in check.problems)
    # a receipt of another mesh (another receipt key) is named as such
    other = admin.governed_query("select 1 as one from sales.orders limit 1").receipt
    assert other is not None
    (own_demo / ".quanta" / "keys" / "receipt.key").write_text("f" * 64)
    check = Mesh.open(own_demo).verify_receipt(other)
    assert not check.valid and "not this mesh's receipt key" in check.problems[0]


def test_rest_returns_and_verifies_receipts(granted_demo: Path) -> None:
    client = TestClient(create_app(Mesh.open(granted_demo)), raise_server_exceptions=False)
    answer = client.post("/api/v1/query", json={"sql": "select * from sales.orders", "limit": 3})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    receipt = body["receipt"]
    assert receipt["rows"] == body["row_count"] == 3
    assert [link["seq"] for link in receipt["audit"]] == [int(answer.headers["X-Quanta-Audit-Ids"])]
    verified = client.post("/api/v1/audit/verify-receipt", json=receipt).json()
    assert verified == {
        "valid": True, "problems": [], "receipt_id": receipt["id"], "audit_ids": [receipt["audit"][0]["seq"]]
    }  # fmt: skip
    forged = client.post("/api/v1/audit/verify-receipt", json={**receipt, "rows": 10**6}).json()
    assert forged["valid"] is False and "altered" in forged["problems"][0]
    bad = client.post(
        "/api/v1/audit/verify-receipt", content=b"[1]", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 422


def test_the_sdk_exposes_receipts(granted_demo: Path) -> None:
    client = quanta.connect(workspace=granted_demo)
    answer = client.query("select nation_key from customers.customers limit 2")
    assert answer["row_count"] == 2
    assert client.verify_receipt(answer["receipt"])["valid"] is True


def test_cli_writes_and_verifies_a_receipt(granted_demo: Path, tmp_path: Path) -> None:
    saved = tmp_path / "receipt.json"
    done = run_cli(
        "query", "select count(*) as n from sales.orders", "--receipt", str(saved), cwd=granted_demo
    )
    assert done.returncode == 0, done.stderr
    assert f"written to {saved}" in done.stderr
    checked = run_cli("audit", "verify-receipt", str(saved), cwd=granted_demo)
    assert checked.returncode == 0 and "verified" in checked.stdout, checked.stderr
    receipt = json.loads(saved.read_text())
    forged = json.dumps({**receipt, "statement": "select 42"})
    refused = run_cli("audit", "verify-receipt", "-", cwd=granted_demo, stdin=forged)
    assert refused.returncode == 1 and "altered" in refused.stderr
    garbled = run_cli("audit", "verify-receipt", "-", cwd=granted_demo, stdin="{nope")
    assert garbled.returncode != 0 and "stdin:1:2: not JSON" in garbled.stderr
    assert "Traceback" not in garbled.stderr
