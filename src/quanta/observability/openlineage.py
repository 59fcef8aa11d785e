"""OpenLineage emission for builds: a :class:`BuildObserver` that hands each START and end event to a
background sender, through openlineage-python's file, HTTP or console transport.

A build only puts a small job on a bounded queue (dropped, and logged, when the queue is full); the
event is made and sent in the sender's thread, where slow or failing endpoints (timeouts, retries,
5xx) cost nothing to the build. At exit the queue is drained for at most a few seconds.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openlineage.client.transport import Transport

    from quanta.build.context import BuildResult
    from quanta.observability.lineage.events import BuildFacts
    from quanta.settings import Settings
    from quanta.spec.loader import LoadedProduct

log = logging.getLogger(__name__)
CAPACITY = 1000
"""Events waiting to be sent; past this, new ones are dropped (and logged) rather than held."""
EXIT_DRAIN_SECONDS = 5.0


def _file(settings: Settings, state_dir: Path | None) -> Callable[[], Transport]:
    folder = (state_dir or Path(".quanta")) / "openlineage"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"events-{datetime.now(UTC).strftime('%Y-%m-%d')}.jsonl"

    def make() -> Transport:
        from openlineage.client.transport.file import FileConfig, FileTransport

        return FileTransport(FileConfig(log_file_path=str(path), append=True))

    return make


def _http(settings: Settings, state_dir: Path | None) -> Callable[[], Transport]:
    from quanta.errors import WorkspaceError

    if not settings.openlineage_url:
        raise WorkspaceError(
            "QUANTA_OPENLINEAGE_TRANSPORT is http but no URL is set",
            hint="set QUANTA_OPENLINEAGE_URL (e.g. http://localhost:5000) or another transport",
        )
    url = settings.openlineage_url

    def make() -> Transport:
        from openlineage.client.transport.http import (
            ApiKeyTokenProvider,
            HttpConfig,
            HttpTransport,
            TokenProvider,
        )
        from openlineage.client.transport.http_common import DEFAULT_RETRY_CONFIG

        key = settings.openlineage_api_key.get_secret_value() if settings.openlineage_api_key else None
        auth = ApiKeyTokenProvider({"apiKey": key}) if key else TokenProvider({})
        retry = {"total": 3, "backoff_factor": 0.5, "status_forcelist": [500, 502, 503, 504]}
        config = HttpConfig(
            url=url, endpoint=settings.openlineage_endpoint,
            timeout=settings.openlineage_timeout, auth=auth, retry={**DEFAULT_RETRY_CONFIG, **retry},
        )  # fmt: skip
        return HttpTransport(config)

    return make


def _console(settings: Settings, state_dir: Path | None) -> Callable[[], Transport]:
    def make() -> Transport:
        from openlineage.client.transport.console import ConsoleConfig, ConsoleTransport

        return ConsoleTransport(ConsoleConfig())

    return make


TRANSPORTS: dict[str, Callable[[Settings, Path | None], Callable[[], Transport]]] = {
    "file": _file,
    "http": _http,
    "console": _console,
}
"""Transport name (``QUANTA_OPENLINEAGE_TRANSPORT``) ► a check of its settings that returns how to make
it; ``none`` turns emission off. The transport (and openlineage-python, a quarter of a second to
import) is made in the sender's thread, off the build's path."""


def _at_exit(drain: Callable[[], object]) -> None:
    """Run ``drain`` when the interpreter exits, while thread pools still take work: making an event
    reads the snapshot through pyiceberg, whose thread pool refuses new work ("cannot schedule new
    futures after shutdown") once ``concurrent.futures`` has shut pools down, which happens before
    ``atexit`` handlers run. ``threading``'s exit hooks run before that, the latest registered first."""
    import concurrent.futures.thread  # noqa: F401 - its exit hook first, so that ours runs before it

    register = getattr(threading, "_register_atexit", None)
    try:
        (register or atexit.register)(drain)
    except RuntimeError:  # the interpreter is already exiting: the plain hook is all there is
        atexit.register(drain)


class Sender:
    """One background thread emitting events through one OpenLineage client, from a bounded queue."""

    def __init__(self, make_transport: Callable[[], Transport], capacity: int = CAPACITY) -> None:
        self._make_transport = make_transport
        self._queue: queue.Queue[Callable[[], Any]] = queue.Queue(capacity)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.sent = self.failed = self.dropped = 0

    def submit(self, make: Callable[[], Any]) -> None:
        """Queue an event (made later, in the sender's thread); never blocks, never raises."""
        self._start()
        try:
            self._queue.put_nowait(make)
        except queue.Full:
            self.dropped += 1
            log.warning("OpenLineage: %d events waiting, one dropped (is the endpoint down?)", CAPACITY)

    @property
    def pending(self) -> int:
        """Events handed over and not yet sent (or given up on)."""
        return self._queue.unfinished_tasks

    def flush(self, timeout: float) -> bool:
        """Wait until every queued event was sent or failed, at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.pending:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="openlineage", daemon=True)
                self._thread.start()
                _at_exit(lambda: self.flush(EXIT_DRAIN_SECONDS))

    def _run(self) -> None:
        from openlineage.client import OpenLineageClient

        try:
            client: OpenLineageClient | None = OpenLineageClient(transport=self._make_transport())
        except Exception as exc:  # events are then counted as failed, never left waiting
            log.warning("OpenLineage events are off: %s: %s", type(exc).__name__, exc)
            client = None
        while True:
            make = self._queue.get()
            try:
                if client is None:
                    raise RuntimeError("no OpenLineage transport")
                client.emit(make())
                self.sent += 1
            except Exception as exc:  # logged, counted, forgotten: lineage never fails a build
                self.failed += 1
                log.warning("OpenLineage event not sent: %s: %s", type(exc).__name__, exc)
            finally:
                self._queue.task_done()


_SENDERS: dict[tuple[Any, ...], Sender] = {}
_SENDERS_LOCK = threading.Lock()


def sender_for(settings: Settings, state_dir: Path | None) -> Sender | None:
    """The process's sender for these settings (one thread per destination); None: emission is off."""
    kind = settings.openlineage_transport
    if kind not in TRANSPORTS:
        return None
    day = datetime.now(UTC).date() if kind == "file" else None
    key = (kind, str(state_dir), settings.openlineage_url, settings.openlineage_endpoint, day)
    with _SENDERS_LOCK:
        if key not in _SENDERS:
            _SENDERS[key] = Sender(TRANSPORTS[kind](settings, state_dir))
        return _SENDERS[key]


def flush_all(timeout: float = EXIT_DRAIN_SECONDS) -> bool:
    """Wait until every sender of this process has sent (or given up on) what it was handed."""
    deadline = time.monotonic() + timeout
    with _SENDERS_LOCK:
        senders = list(_SENDERS.values())
    return all(s.flush(max(0.0, deadline - time.monotonic())) for s in senders)


class OpenLineageObserver:
    """Tells OpenLineage of every build: START when it begins, COMPLETE, FAIL or ABORT when it ends."""

    def __init__(self, sender: Sender, facts: BuildFacts) -> None:
        self.sender = sender
        self.facts = facts

    def build_started(self, loaded: LoadedProduct, run_id: str, at: datetime) -> None:
        from quanta.observability.lineage.events import start_event

        self.sender.submit(lambda: start_event(self.facts, loaded, run_id, at))

    def build_finished(self, loaded: LoadedProduct, result: BuildResult, started: datetime) -> None:
        from quanta.observability.lineage.events import end_event

        self.sender.submit(lambda: end_event(self.facts, loaded, result, started))
