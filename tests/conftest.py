"""Shared fixtures: paths to the official examples, a fresh workspace, the CLI runner."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from quanta.mesh import Mesh

pytest_plugins = ["tests.pg"]

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
EXAMPLES = SHARED / "examples"


def _find_examples() -> Path:
    # CI clones the project with shared/ beside it; fall back to the package copy of nothing else.
    if EXAMPLES.is_dir():
        return EXAMPLES
    pytest.skip("../shared/examples is not beside the project")
    raise AssertionError  # unreachable


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return _find_examples()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty workspace as the current directory."""
    from quanta.mesh import Mesh

    root = tmp_path / "ws"
    Mesh.init(root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("QUANTA_DATABASE_URL", raising=False)
    return root


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real ``quanta`` entry point in a subprocess, as a user would (``stdin``: what it reads)."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    full_env.pop("QUANTA_DATABASE_URL", None) if env is None or "QUANTA_DATABASE_URL" not in env else None
    return subprocess.run(
        [sys.executable, "-m", "quanta.interfaces.cli.main", *args],
        cwd=cwd,
        env=full_env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _build_demo(root: Path) -> Path:
    from quanta.build.demo_data import generate_demo_data
    from quanta.mesh import Mesh

    Mesh.init(root, demo=True)
    generate_demo_data(root, 0.01)
    assert {r.status for r in Mesh.open(root).build()} == {"published"}
    return root


@pytest.fixture(scope="module")
def built_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo mesh (scale 0.01), every product built and published; one per test module."""
    return _build_demo(tmp_path_factory.mktemp("demo") / "mesh")


@pytest.fixture(scope="module")
def granted_demo(built_demo: Path) -> Path:
    """The built demo mesh where ana holds the red team's column-scoped grant on customers.customers
    (customer_id, name, phone, market_segment: name hashed, phone showing its last 4 digits)."""
    as_ana = mesh_as(built_demo, "ana")
    columns = ["customer_id", "name", "phone", "market_segment"]
    request = as_ana.request_access(
        "customers.customers", "churn analysis", columns=columns, accept_terms=True
    )
    from quanta.mesh import Mesh

    Mesh.open(built_demo).decide_access(request, True, "ok")
    return built_demo


@pytest.fixture
def own_demo(tmp_path: Path) -> Path:
    """A built demo mesh for one test, which may register new versions (they cannot be taken back)."""
    return _build_demo(tmp_path / "mesh")


def mesh_as(root: Path, user: str) -> Mesh:
    """The mesh at ``root`` with ``user`` acting (QUANTA_USER)."""
    from quanta.mesh import Mesh

    base = Mesh.open(root)
    return Mesh.open(root, settings=base.settings.model_copy(update={"user": user}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_app(mesh: Mesh, *, server_mode: bool) -> Iterator[str]:
    """``quanta serve``'s app in a real uvicorn server on a free port in a background thread; yields
    its base URL."""
    import uvicorn

    from quanta.interfaces.api import create_app

    port = free_port()
    app = create_app(mesh, server_mode=server_mode)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium: the browser tests drive it through Playwright (no browser download)."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium for one test module (skipped where Debian's chromium is missing)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


def run_with_peak_rss(
    command: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600, **popen: Any
) -> tuple[int, int]:
    """Run ``command`` and return (exit code, peak RSS in bytes of that command alone); see
    :func:`benchmarks.rss.run_with_peak_rss`. The test fails when it runs past ``timeout`` seconds."""
    from benchmarks.rss import run_with_peak_rss as measured

    try:
        return measured(command, cwd=cwd, env=env, timeout=timeout, **popen)
    except TimeoutError as exc:
        pytest.fail(str(exc))
