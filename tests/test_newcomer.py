"""Failures a newcomer met in the CLI, the API and the browser (issue 12, items 11 and 15)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from quanta.interfaces.api.app import create_app
from quanta.mesh import Mesh
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def server(built_demo: Path) -> TestClient:
    return TestClient(create_app(Mesh.open(built_demo), server_mode=True), raise_server_exceptions=False)


def _token(built_demo: Path, *args: str) -> dict[str, str]:
    created = run_cli("token", "create", *args, cwd=built_demo)
    assert created.returncode == 0, created.stderr
    return {"Authorization": f"Bearer {created.stdout.strip()}"}


def test_the_readme_consumer_token_reads_and_requests_access(built_demo: Path, server: TestClient) -> None:
    ana = _token(built_demo, "ana-token", "--for", "ana")  # the README's line, word for word
    asked = server.post(
        "/api/v1/access-requests", json={"product_id": "supply.parts", "purpose": "pricing"}, headers=ana
    )
    assert asked.status_code == 201, asked.text
    assert server.get("/api/v1/products", headers=ana).status_code == 200


def test_a_scope_hint_names_the_whole_set_to_use(built_demo: Path, server: TestClient) -> None:
    read_only = _token(built_demo, "ana-read", "--for", "ana", "--scopes", "read")
    refused = server.post(
        "/api/v1/access-requests",
        json={"product_id": "supply.parts", "purpose": "pricing"},
        headers=read_only,
    )
    assert refused.status_code == 403
    assert "--scopes read,request " in refused.json()["hint"]


def test_a_scope_beyond_the_principal_names_what_it_may_hold(built_demo: Path) -> None:
    refused = run_cli(
        "token", "create", "ana-admin", "--for", "ana", "--scopes", "read,admin", cwd=built_demo
    )
    assert refused.returncode != 0
    assert "--scopes read " in refused.stderr and "ana may hold read, request" in refused.stderr


# A process that exits right after a build: its last event is still being made, and making it uses a
# thread pool (pyiceberg's, to plan the snapshot's files), as the demo's last builds do.
EXITING = """
import sys, time, uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.transport.file import FileConfig, FileTransport
from quanta.observability.openlineage import Sender

def event():
    time.sleep(0.5)  # still making it when the main thread ends
    with ThreadPoolExecutor(1) as pool:
        name = pool.submit(lambda: "demo.product").result()
    return RunEvent(eventType=RunState.COMPLETE, eventTime=datetime.now(UTC).isoformat(),
                    run=Run(runId=str(uuid.uuid4())), job=Job(namespace="quanta", name=name),
                    producer="https://example.org/quanta")

sender = Sender(lambda: FileTransport(FileConfig(log_file_path=sys.argv[1], append=True)))
sender.submit(event)
"""


def test_an_event_made_at_exit_is_still_sent(tmp_path: Path) -> None:
    import subprocess
    import sys

    events = tmp_path / "events.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", EXITING, str(events)], capture_output=True, text=True, timeout=60, check=False
    )
    assert "not sent" not in done.stderr, done.stderr
    assert done.returncode == 0 and '"demo.product"' in events.read_text()
