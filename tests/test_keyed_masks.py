"""Keyed masks: the ``hash`` mask is HMAC-SHA-256 under the mesh's mask key (kept out of the registry,
from QUANTA_MASK_KEY or a 0600 key file in the workspace), computed by DuckDB itself: equal values still
hash equal everywhere, but hashing guesses of a low-entropy value no longer finds it."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
from pathlib import Path

import duckdb

from quanta.governance.keys import mesh_key
from quanta.governance.masks import hmac_sql, keyed_hash
from quanta.mesh import Mesh
from tests.conftest import mesh_as, run_cli

NAMES = "select customer_id, name from customers.customers order by customer_id limit 3"


def test_duckdb_computes_the_same_hmac_as_python() -> None:
    phones = ["25-989-741-2988", "+1 555 0100", "", "é-ß"]
    key = b"a mesh key of some length"
    connection = duckdb.connect()
    for value in phones:
        [(masked,)] = connection.execute(f"select {hmac_sql('cast(? as varchar)', key)}", [value]).fetchall()
        assert masked == hmac.new(key, value.encode(), hashlib.sha256).hexdigest() == keyed_hash(value, key)
        assert masked != hashlib.sha256(value.encode()).hexdigest()  # guesses hashed in the clear miss
    long_key = b"k" * 100  # longer than a SHA-256 block: hashed first, as RFC 2104 says
    [(masked,)] = connection.execute(f"select {hmac_sql('cast(? as varchar)', long_key)}", ["x"]).fetchall()
    assert masked == hmac.new(long_key, b"x", hashlib.sha256).hexdigest()
    [(nothing,)] = connection.execute(f"select {hmac_sql('cast(null as varchar)', key)}").fetchall()
    assert nothing is None


def test_the_hash_mask_is_keyed_stable_and_kept_out_of_the_registry(granted_demo: Path) -> None:
    clear = {r["customer_id"]: r["name"] for r in Mesh.open(granted_demo).query(NAMES).to_pylist()}
    ana = mesh_as(granted_demo, "ana")
    masked = {r["customer_id"]: r["name"] for r in ana.query(NAMES).to_pylist()}
    key = mesh_key("mask", granted_demo / ".quanta")
    key_file = granted_demo / ".quanta" / "keys" / "mask.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (key_file.parent / ".gitignore").read_text().splitlines()[-1] == "*"
    assert key.secret not in (granted_demo / ".quanta" / "registry.db").read_bytes()
    for customer, name in clear.items():
        assert masked[customer] == keyed_hash(name, key.secret)
        assert masked[customer] != hashlib.sha256(name.encode()).hexdigest()
    # the same in another query, and in another process
    again = ana.query("select name from customers.customers where customer_id = 1").column(0)[0].as_py()
    assert again == masked[1]
    done = run_cli("query", NAMES, "--json", cwd=granted_demo, env={"QUANTA_USER": "ana"})
    assert done.returncode == 0, done.stderr
    assert {r["customer_id"]: r["name"] for r in json.loads(done.stdout)} == masked
    # equal values still join: the masked name matches itself across two reads of the product
    joined = ana.query(
        "select count(*) from customers.customers a join "
        "(select name from customers.customers) b on a.name = b.name where a.customer_id <= 3"
    )
    assert joined.column(0)[0].as_py() >= 3


def test_a_key_from_the_environment_changes_every_hash(granted_demo: Path) -> None:
    rotated = "a-rotated-mask-key-0123456789"
    done = run_cli(
        "query", NAMES, "--json", cwd=granted_demo, env={"QUANTA_USER": "ana", "QUANTA_MASK_KEY": rotated}
    )
    assert done.returncode == 0, done.stderr
    clear = {r["customer_id"]: r["name"] for r in Mesh.open(granted_demo).query(NAMES).to_pylist()}
    for row in json.loads(done.stdout):
        assert row["name"] == keyed_hash(clear[row["customer_id"]], rotated.encode())
    short = run_cli("query", NAMES, cwd=granted_demo, env={"QUANTA_USER": "ana", "QUANTA_MASK_KEY": "short"})
    assert short.returncode != 0 and "QUANTA_MASK_KEY is too short" in short.stderr
    assert "Traceback" not in short.stderr
