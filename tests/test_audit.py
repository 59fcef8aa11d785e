"""The audit log is a hash chain: editing, deleting or reordering rows in the database is detected."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from quanta.registry import Registry
from tests.conftest import run_cli


def filled(url: str, entries: int = 6) -> Registry:
    registry = Registry.open(url)
    for i in range(entries):
        registry.audit(
            "query", f"user{i % 2}", f"sales.orders{i}", "allow", domain="sales" if i % 2 else "finance",
            details={"sql": f"select {i}", "masked": {"phone": "last4"}},
        )  # fmt: skip
    return registry


def tamper(registry: Registry, *statements: str) -> None:
    with registry.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


CASES: dict[str, tuple[list[str], list[str]]] = {
    "edit a decision": (["update audit_log set decision = 'deny' where seq = 3"], ["entry 3 was edited"]),
    "edit the details": (
        ['update audit_log set details = \'{"sql": "select 0"}\' where seq = 2'],
        ["entry 2 was edited"],
    ),
    "edit who acted": (["update audit_log set actor = 'nobody' where seq = 5"], ["entry 5 was edited"]),
    "delete a row": (
        ["delete from audit_log where seq = 4"],
        ["entry 4 is missing", "entry 5 does not follow"],
    ),
    "delete two rows": (["delete from audit_log where seq in (2, 3)"], ["entry 2-3 is missing"]),
    "delete the first row": (["delete from audit_log where seq = 1"], ["entry 1 is missing"]),
    "reorder two rows": (
        [
            "update audit_log set seq = 100 where seq = 2",
            "update audit_log set seq = 2 where seq = 3",
            "update audit_log set seq = 3 where seq = 100",
        ],
        ["entry 2 does not follow", "entry 2 was edited", "entry 3 was edited"],
    ),
    "recompute one hash": (
        [
            (
                "update audit_log set subject = 'x', "
                "hash = case when hash like 'f%' then 'e' else 'f' end || substr(hash, 2) where seq = 3"
            )
        ],
        ["entry 3 was edited", "entry 4 does not follow"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_verify_reports_every_kind_of_tampering(
    case: str, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'r.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_database_url")
    )
    registry = filled(url)
    assert registry.verify_audit() == (6, [])
    statements, expected = CASES[case]
    tamper(registry, *statements)
    _, problems = registry.verify_audit()
    for fragment in expected:
        assert any(fragment in p for p in problems), (fragment, problems)


def test_appends_continue_the_chain_and_domains_see_their_own(tmp_path: Path) -> None:
    registry = filled(f"sqlite:///{tmp_path / 'r.db'}")
    assert {e.domain for e in registry.audit_entries(domain="sales")} == {"sales"}
    assert len(registry.audit_entries(domain="finance")) == 3
    entries = registry.audit_entries()
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]


def test_the_cli_verifies_and_exits_1_on_tampering(workspace: Path) -> None:
    refused = run_cli("query", "select * from read_csv('/etc/passwd')", cwd=workspace)
    assert refused.returncode == 1  # refused queries are audited too
    ok = run_cli("audit", "verify", cwd=workspace)
    assert ok.returncode == 0 and "intact: 1 entries" in ok.stdout
    registry = Registry.open(f"sqlite:///{workspace / '.quanta' / 'registry.db'}")
    tamper(registry, "update audit_log set actor = 'someone-else' where seq = 1")
    broken = run_cli("audit", "verify", "--json", cwd=workspace)
    assert (
        broken.returncode == 1
        and '"intact": false' in broken.stdout
        and "entry 1 was edited" in broken.stdout
    )


APPENDER = """
import sys, threading
from quanta.registry import Registry
registry, errors = Registry.open(sys.argv[1]), []
def append(thread):
    try:
        for i in range(int(sys.argv[3])):
            registry.audit("query", f"p{sys.argv[2]}t{thread}", f"sales.orders{i}", "allow", domain="sales")
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=append, args=(t,)) for t in range(16)]
for t in threads: t.start()
for t in threads: t.join()
sys.exit(errors[0] if errors else 0)
"""


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_concurrent_appenders_all_land_on_one_unbroken_chain(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Two processes of 16 threads each append at once (a server's query threads, and a second worker
    or the CLI beside it): every entry lands, none is refused, the chain verifies."""
    import subprocess
    import sys

    url = (
        f"sqlite:///{tmp_path / 'r.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_database_url")
    )
    Registry.open(url)  # created before the appenders race to create it
    each = 25
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, url, str(p), str(each)], stderr=subprocess.PIPE, text=True
        )
        for p in range(2)
    ]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    assert Registry.open(url).verify_audit() == (2 * 16 * each, [])
