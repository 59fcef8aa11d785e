"""The product page's Connect box, used as a person would: copy each string into its tool and read
the product. ``quanta serve`` with every port, psql, ADBC (Flight SQL) and the SDK, as printed."""

from __future__ import annotations

import html
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


@pytest.fixture(scope="module")
def served(built_demo: Path) -> Iterator[str]:
    ports = [_free_port() for _ in range(3)]
    env = {k: v for k, v in os.environ.items() if k != "QUANTA_DATABASE_URL"}
    command = [sys.executable, "-m", "quanta.interfaces.cli.main", "serve", "--port", str(ports[0])]
    command += ["--pg-port", str(ports[1]), "--flight-port", str(ports[2])]
    server = subprocess.Popen(command, cwd=built_demo, env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{ports[0]}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/api/v1/products", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        time.sleep(1)  # the wire and Flight servers start beside the HTTP one
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def boxes(base: str, product_id: str) -> dict[str, str]:
    page = httpx.get(f"{base}/products/{product_id}", timeout=30).text
    section = page[page.index('id="connect-h"') :]
    section = section[: section.index("</section>")]
    found = re.findall(r'<h3 class="small-heading">(.*?)</h3>\s*<pre><code>(.*?)</code></pre>', section, re.S)
    return {html.unescape(tool): html.unescape(text) for tool, text in found}


def test_psql_as_printed_reads_the_product(served: str) -> None:
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed (apt-get install postgresql-client)")
    command, query = boxes(served, "sales.orders")["psql"].splitlines()
    assert command.startswith("psql -h 127.0.0.1 -p ")
    done = subprocess.run(
        [*command.split(), "-X", "-w", "-A", "-t", "-c", query],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.strip().splitlines()) == 10


def test_jdbc_and_odbc_name_the_same_server(served: str) -> None:
    found = boxes(served, "sales.orders")
    port = re.search(r"-p (\d+)", found["psql"])
    assert port
    assert found["JDBC (DBeaver, Metabase, Superset)"] == (
        f"jdbc:postgresql://127.0.0.1:{port[1]}/quanta?user=local-admin"
    )
    assert f"Server=127.0.0.1;Port={port[1]};Database=quanta;Uid=local-admin;" in found["ODBC (psqlODBC)"]
    assert "More ports" not in found  # every port is served


def test_adbc_and_sdk_snippets_run_as_printed(served: str) -> None:
    found = boxes(served, "sales.orders")
    scope: dict[str, object] = {}
    exec(found["ADBC / Arrow Flight SQL (Python)"], scope)  # the snippet a user pastes into Python
    assert scope["table"].num_rows > 0  # type: ignore[attr-defined]
    scope = {}
    exec(found["Python SDK"].replace(".to_pandas()", ".to_arrow(limit=5)"), scope)
    assert found["Python SDK"].startswith('import quanta\nquanta.connect("http://127.0.0.1:')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
