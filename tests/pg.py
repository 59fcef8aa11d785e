"""A throwaway PostgreSQL cluster for tests: ``initdb`` + ``pg_ctl`` in a temp folder, one per xdist worker.

Fixtures: ``postgres_url`` (session; the ``postgres`` database of a running cluster) and
``pg_database_url`` (a fresh database per test, dropped afterwards). Tests skip with a clear reason
when the server binaries are not installed.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shlex
import shutil
import socket
import stat
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

START_TIMEOUT = 60  # seconds pg_ctl waits for the server to accept connections
INSTALL_HINT = "install the Debian package 'postgresql' (PostgreSQL 15 server binaries initdb and pg_ctl)"
# Fast and disposable: nothing survives a crash of a test cluster, so skip every durability cost.
SERVER_OPTIONS = "-F -c synchronous_commit=off -c full_page_writes=off -c listen_addresses=127.0.0.1"
MAX_SOCKET_PATH = 100  # unix socket paths are limited to ~107 bytes, including ``.s.PGSQL.<port>``


def find_binaries() -> tuple[Path, Path] | None:
    """``initdb`` and ``pg_ctl``: from PATH, else from Debian's ``/usr/lib/postgresql/<major>/bin``."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(initdb), Path(pg_ctl)
    majors = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_major, reverse=True)
    for bindir in majors:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir / "initdb", bindir / "pg_ctl"
    return None


def _major(bindir: Path) -> int:
    return int(bindir.parent.name) if bindir.parent.name.isdigit() else 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _reachable_by_others(path: Path) -> bool:
    """Whether another user (``postgres``) can traverse every folder down to ``path``."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])


def _temp_root(as_root: bool) -> Path:
    root = Path(tempfile.gettempdir())
    if len(str(root)) > MAX_SOCKET_PATH - 40 or (as_root and not _reachable_by_others(root)):
        return Path("/tmp")  # pytest's or a user's private TMPDIR is not reachable by 'postgres'
    return root


@dataclass
class PostgresCluster:
    """One initdb'ed data folder and the server running on it; ``destroy()`` removes every trace."""

    initdb: Path
    pg_ctl: Path
    base: Path
    as_postgres_user: bool
    port: int = 0
    running: bool = False

    @classmethod
    def create(cls) -> PostgresCluster:
        """Prepare the folders, or skip the test when the machine cannot run a cluster."""
        binaries = find_binaries()
        if binaries is None:
            pytest.skip(f"PostgreSQL server binaries not found: {INSTALL_HINT}")
        as_root = os.geteuid() == 0
        owner = None
        if as_root:  # initdb refuses to run as root: the cluster belongs to the 'postgres' user
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip(f"running as root needs the 'postgres' system user: {INSTALL_HINT}")
        base = Path(tempfile.mkdtemp(prefix="quanta-pg-", dir=_temp_root(as_root)))
        (base / "sock").mkdir()
        if owner is not None:
            for path in (base, base / "sock"):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        return cls(*binaries, base=base, as_postgres_user=as_root)

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def log(self) -> Path:
        return self.base / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._run(
            [
                self.initdb,
                "-D",
                self.data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            timeout=120,
            check=True,
        )
        for _attempt in range(3):  # another worker may grab the free port between probe and bind
            self.port = _free_port()
            self.log.unlink(missing_ok=True)
            options = f"{SERVER_OPTIONS} -p {self.port} -k {shlex.quote(str(self.base / 'sock'))}"
            start = [self.pg_ctl, "start", "-D", self.data, "-l", self.log, "-w"]
            result = self._run([*start, "-t", str(START_TIMEOUT), "-o", options], timeout=START_TIMEOUT + 30)
            if result.returncode == 0:
                self.running = True
                return
            if "already in use" not in self._log_text():
                break
        raise RuntimeError(
            f"PostgreSQL did not start (pg_ctl exit {result.returncode}):\n"
            f"{result.stdout}{result.stderr}\n--- {self.log} ---\n{self._log_text()}"
        )

    def destroy(self) -> None:
        """Stop the server (immediate mode: nothing to keep) and delete the cluster's folder."""
        if self.running:
            with suppress(subprocess.SubprocessError, OSError):
                self._run([self.pg_ctl, "stop", "-D", self.data, "-m", "immediate", "-w"], timeout=60)
            self.running = False
        shutil.rmtree(self.base, ignore_errors=True)

    def _log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def _run(self, args: list[Any], timeout: float, check: bool = False) -> subprocess.CompletedProcess[str]:
        command = [str(a) for a in args]
        if self.as_postgres_user:
            command = (
                ["runuser", "-u", "postgres", "--", *command]
                if shutil.which("runuser")
                else ["su", "-s", "/bin/sh", "postgres", "-c", shlex.join(command)]
            )
        result = subprocess.run(
            command,
            cwd=self.base,  # the 'postgres' user may not be allowed into the caller's folder
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode:
            raise RuntimeError(f"{command} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        return result


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of the ``postgres`` database on a cluster started for this session (or worker)."""
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install -e '.[dev]'")
    cluster = PostgresCluster.create()
    atexit.register(cluster.destroy)  # also when the session dies before fixture teardown
    try:
        cluster.start()
        yield cluster.url()
    finally:
        cluster.destroy()
        atexit.unregister(cluster.destroy)


@pytest.fixture
def pg_database_url(postgres_url: str) -> Iterator[str]:
    """SQLAlchemy URL of a new, empty database, dropped (with its open connections) after the test."""
    from psycopg import sql
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url)
    name = f"test_{uuid.uuid4().hex[:16]}"
    _admin(url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield url.set(database=name).render_as_string(hide_password=False)
    _admin(url, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _admin(url: Any, statement: Any) -> None:
    import psycopg

    connection = psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=True
    )
    with connection:
        connection.execute(statement)
