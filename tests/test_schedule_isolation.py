"""One domain's broken file stops only its own builds and schedules (issue 12, item 14)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import _build_demo, mesh_as, run_cli

BROKEN = "domains/customers/customers/product.yaml"
WHERE = f"{BROKEN}:7:1"  # the line of 'status:'


@pytest.fixture(scope="module")
def broken_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built demo mesh, then customers.customers' descriptor broken (an unknown status)."""
    root = _build_demo(tmp_path_factory.mktemp("broken") / "mesh")
    descriptor = root / BROKEN
    text = descriptor.read_text()
    assert text.splitlines()[6] == "status: active"
    descriptor.write_text(text.replace("status: active", "status: activ", 1))
    return root


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_logs_the_positioned_problem_once_without_a_traceback(broken_demo: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("QUANTA_DATABASE_URL", None)
    args = ["serve", "--port", str(_free_port()), "--scheduler", "0.3"]
    with tempfile.TemporaryFile("w+") as err:
        server = subprocess.Popen(
            [sys.executable, "-m", "quanta.interfaces.cli.main", *args],
            cwd=broken_demo,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                err.seek(0)
                if WHERE in err.read():
                    break
                time.sleep(0.2)
            time.sleep(3)  # ten more scheduler ticks
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
        err.seek(0)
        logged = err.read()
    assert logged.count(WHERE) == 1, logged
    assert "unknown status 'activ'" in logged and "hint:" in logged
    assert "Traceback" not in logged


def test_due_schedules_of_other_domains_still_build(broken_demo: Path) -> None:
    mesh = mesh_as(broken_demo, "local-admin")
    later = datetime.now(UTC) + timedelta(days=8)  # every daily and weekly schedule is due
    due = {s.product_id for s in mesh.schedules(later, healthy_only=True) if s.due}
    assert due == {"sales.orders", "sales.lineitems", "supply.parts", "supply.suppliers"}
    built = {r.product_id: r.status for r in mesh.run_schedule(later)}
    assert set(built) == due and set(built.values()) <= {"published", "skipped"}  # skipped: unchanged


def test_build_of_one_product_ignores_another_domains_broken_file(broken_demo: Path) -> None:
    result = run_cli("build", "sales.orders", "--force", cwd=broken_demo)
    assert result.returncode == 0, result.stderr
    assert "sales.orders 1.0.0 published" in result.stdout
    refused = run_cli("build", "marketing.customer_segments", cwd=broken_demo)  # needs customers
    assert refused.returncode != 0 and WHERE in refused.stderr


def test_a_producer_builds_while_another_domain_has_an_unregistered_change(broken_demo: Path) -> None:
    descriptor = broken_demo / "domains/supply/parts/product.yaml"
    descriptor.write_text(descriptor.read_text().replace("version: 1.0.0", "version: 1.1.0", 1))
    result = run_cli(
        "build", "sales.orders", "--force", cwd=broken_demo, env={"QUANTA_USER": "sam"}
    )  # sales producer
    assert result.returncode == 0, result.stderr
    versions = [v.version for v in mesh_as(broken_demo, "local-admin").registry.versions("supply.parts")]
    assert "1.1.0" not in versions  # supply's change waits for supply's producers
