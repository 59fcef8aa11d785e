"""OpenLineage run events of real builds, through openlineage-python's file and HTTP transports (to a
real HTTP server on localhost), every one validated against the official OpenLineage JSON Schemas
saved in tests/standards/openlineage/ (see its README: source, commits, and how versions are mapped).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from quanta.mesh import Mesh
from quanta.observability.openlineage import flush_all, sender_for
from quanta.settings import Settings
from tests.test_lineage import ops_workspace

SPEC = Path(__file__).parent / "standards" / "openlineage"
REVENUE = "finance.revenue_by_nation"
VERSIONED = re.compile(r"^https://openlineage\.io/spec/(?:facets/)?(\d+)-(\d+)-(\d+)/(\w+)\.json$")


# --- the official schemas, resolved offline -------------------------------------------------------


def _schemas() -> dict[str, dict[str, Any]]:
    return {doc["$id"]: doc for doc in (json.loads(p.read_text()) for p in SPEC.rglob("*.json"))}


def _registry() -> Any:
    """A referencing registry of the saved schemas by their ``$id``. A version with no saved copy
    resolves to the saved copy of the same document with the nearest version (README: why)."""
    from referencing import Registry, Resource
    from referencing.exceptions import NoSuchResource

    schemas = _schemas()

    def nearest(uri: str) -> Resource[Any]:
        wanted = VERSIONED.match(uri)
        if wanted is None:
            raise NoSuchResource(ref=uri)
        major, name = int(wanted[1]), wanted[4]
        same = [(_version(u), u) for u in schemas if (m := VERSIONED.match(u)) and m[4] == name]
        if not same:
            raise NoSuchResource(ref=uri)
        closest = min(same, key=lambda vu: (vu[0][0] != major, abs(vu[0][2] - int(wanted[3])), vu[0]))
        return Resource.from_contents(schemas[closest[1]])

    registry: Registry[Any] = Registry(retrieve=nearest)  # type: ignore[call-arg]
    return registry.with_resources((uri, Resource.from_contents(doc)) for uri, doc in schemas.items())


def _version(uri: str) -> tuple[int, int, int]:
    found = VERSIONED.match(uri)
    assert found is not None
    return int(found[1]), int(found[2]), int(found[3])


REGISTRY = _registry()


def problems_of(event: dict[str, Any]) -> list[str]:
    """Every violation of the event against the core schema and of each facet against its own."""
    from jsonschema import Draft202012Validator

    found = []
    targets = [(event["schemaURL"], event)] + [(f["_schemaURL"], f) for f in _facets(event)]
    for url, instance in targets:
        validator = Draft202012Validator(
            {"$ref": url}, registry=REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        found += [f"{url}: {e.json_path}: {e.message}" for e in validator.iter_errors(instance)]
    return found


def _facets(event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from (event["run"].get("facets") or {}).values()
    yield from (event["job"].get("facets") or {}).values()
    for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
        for key in ("facets", "inputFacets", "outputFacets"):
            yield from (dataset.get(key) or {}).values()


def file_events(root: Path) -> list[dict[str, Any]]:
    assert flush_all(30)
    return [
        json.loads(line) for path in sorted(root.glob(".quanta/openlineage/*.jsonl")) for line in path.open()
    ]


# --- a real HTTP server receiving events ----------------------------------------------------------


class Collector(ThreadingHTTPServer):
    """Receives OpenLineage POSTs; answers ``status`` after ``delay`` seconds."""

    def __init__(self, status: int = 201, delay: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status, self.delay = status, delay
        self.received: list[tuple[str, dict[str, str], dict[str, Any]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, dict(self.headers), json.loads(body)))
        time.sleep(self.server.delay)
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def collector(status: int = 201, delay: float = 0.0) -> Iterator[Collector]:
    server = Collector(status, delay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def http_mesh(root: Path, url: str, **settings: Any) -> Mesh:
    base = Mesh.open(root).settings
    update = {"openlineage_transport": "http", "openlineage_url": url, **settings}
    return Mesh.open(root, settings=base.model_copy(update=update))


# --- tests ------------------------------------------------------------------------------------------


def test_every_build_event_of_the_demo_validates_against_the_openlineage_schemas(built_demo: Path) -> None:
    # the default transport: JSON lines in .quanta/openlineage/; the fixture's build came first
    events = file_events(built_demo)[: 2 * len(_demo_products(built_demo))]

    assert sorted((e["job"]["name"], e["eventType"]) for e in events) == sorted(
        (p, state) for p in _demo_products(built_demo) for state in ("START", "COMPLETE")
    )
    for event in events:
        assert problems_of(event) == [], event["job"]["name"]
    runs = {}
    for event in events:
        runs.setdefault(event["run"]["runId"], []).append(event["eventType"])
    assert all(states == ["START", "COMPLETE"] for states in runs.values())  # one run id from start to end

    [complete] = [e for e in events if e["job"]["name"] == REVENUE and e["eventType"] == "COMPLETE"]
    namespace = "quanta://mesh"
    assert complete["job"]["namespace"] == namespace and "select" in complete["job"]["facets"]["sql"]["query"]
    assert complete["job"]["facets"]["jobType"]["processingType"] == "BATCH"
    assert {(i["namespace"], i["name"]) for i in complete["inputs"]} >= {
        (namespace, "sales.orders.orders"), (namespace, "sales.lineitems.lineitems"),
    }  # fmt: skip
    assert all(
        i["facets"]["version"]["datasetVersion"].isdigit()
        for i in complete["inputs"]
        if i["namespace"] == namespace
    )
    [output] = complete["outputs"]
    facets = output["facets"]
    assert output["name"] == f"{REVENUE}.revenue_by_nation"
    assert [f["name"] for f in facets["schema"]["fields"]] == [
        "nation",
        "region",
        "order_year",
        "revenue",
        "order_count",
    ]
    assert facets["columnLineage"]["fields"]["order_year"]["inputFields"] == [
        {"namespace": namespace, "name": "sales.orders.orders", "field": "order_date",
         "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION", "masking": False}]},
    ]  # fmt: skip
    assert {f["field"] for f in facets["columnLineage"]["dataset"]} >= {"customer_id", "supplier_id"}  # joins
    assertions = facets["dataQualityAssertions"]["assertions"]
    assert assertions and all(a["success"] for a in assertions)
    assert {"assertion": "rowCount"}.items() <= next(
        a for a in assertions if a["assertion"] == "rowCount"
    ).items()
    publish = Mesh.open(built_demo).registry.current_publish(REVENUE)
    assert publish is not None
    assert facets["version"]["datasetVersion"] == str(next(iter(publish.snapshots.values())))
    assert facets["dataQualityMetrics"]["rowCount"] == publish.rows["revenue_by_nation"]
    assert facets["dataQualityMetrics"]["columnMetrics"]["nation"]["nullCount"] == 0
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == publish.rows["revenue_by_nation"]
    assert facets["ownership"]["owners"][0]["name"] == "user:erin"
    assert facets["documentation"]["description"].startswith("Yearly revenue per nation")
    assert complete["run"]["facets"]["processing_engine"]["name"] == "quanta"


def _demo_products(root: Path) -> list[str]:
    return [p.id for p in Mesh.open(root).products()]


def test_a_skipped_build_aborts_its_run(built_demo: Path) -> None:
    before = len(file_events(built_demo))
    [result] = Mesh.open(built_demo).build(["sales.lineitems"])  # its files did not change
    assert result.status == "skipped"

    new = file_events(built_demo)[before:]
    assert [(e["job"]["name"], e["eventType"]) for e in new] == [
        ("sales.lineitems", "START"),
        ("sales.lineitems", "ABORT"),
    ]
    assert new[1]["outputs"] == [] and all(problems_of(e) == [] for e in new)


def test_events_reach_an_http_endpoint_with_the_api_key(built_demo: Path) -> None:
    with collector() as server:
        mesh = http_mesh(built_demo, server.url, openlineage_api_key=SecretStr("s3cret"))
        [result] = mesh.build([REVENUE], force=True)
        assert result.status == "published"
        assert flush_all(30)

    assert [(path, body["eventType"]) for path, _, body in server.received] == [
        ("/api/v1/lineage", "START"), ("/api/v1/lineage", "COMPLETE"),
    ]  # fmt: skip
    assert all(headers["Authorization"] == "Bearer s3cret" for _, headers, _ in server.received)
    for _, _, body in server.received:
        assert body["job"]["name"] == REVENUE and problems_of(body) == []


def test_a_slow_or_failing_endpoint_never_blocks_or_fails_a_build(built_demo: Path) -> None:
    with collector(status=500, delay=1.5) as server:
        mesh = http_mesh(built_demo, server.url, openlineage_timeout=0.5)
        assert mesh.workspace is not None
        sender = sender_for(mesh.settings, mesh.workspace.state_dir)
        assert sender is not None

        [result] = mesh.build(["supply.parts"], force=True)

        assert result.status == "published"
        # the build returned while its events were still being tried (each: 4 tries of 0.5 s, backoff)
        assert sender.pending > 0
        assert sender.flush(60)
    assert sender.failed >= 2 and sender.sent == 0
    assert len(server.received) >= 4  # retried


def test_a_failing_contract_ends_the_run_with_fail_and_the_failed_checks(tmp_path: Path) -> None:
    quality = "    quality:\n      - metric: rowCount\n        mustBeGreaterThan: 100\n"
    root = ops_workspace(tmp_path / "ws", events_quality=quality)
    mesh = Mesh.open(root, settings=Settings(workspace=root, database_url=None))

    [result] = mesh.build(["ops.events"])

    assert result.status == "failed" and "contract checks failed" in (result.error or "")
    events = file_events(root)
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    fail = events[1]
    assert problems_of(fail) == []
    assert fail["run"]["facets"]["errorMessage"]["message"] == result.error
    assert fail["run"]["facets"]["errorMessage"]["programmingLanguage"] == "python"
    [output] = fail["outputs"]
    failed = [a for a in output["facets"]["dataQualityAssertions"]["assertions"] if not a["success"]]
    assert [(a["assertion"], a["actual"], a["expected"]) for a in failed] == [("rowCount", "3", "> 100")]
    quarantined = mesh.quarantine("ops.events")
    assert output["facets"]["version"]["datasetVersion"] == str(quarantined[0].snapshot_id)
    assert "outputStatistics" not in output.get("outputFacets", {})  # nothing was published


def test_the_validator_rejects_what_the_schemas_forbid(built_demo: Path) -> None:
    event = next(e for e in file_events(built_demo) if e["eventType"] == "COMPLETE")
    broken = json.loads(json.dumps(event))
    del broken["run"]["runId"]
    broken["eventType"] = "DONE"
    broken["outputs"][0]["facets"]["schema"]["fields"][0] = {"type": "VARCHAR"}  # no name
    del broken["job"]["facets"]["sql"]["query"]
    found = " ".join(problems_of(broken))
    assert "'runId' is a required property" in found
    assert "'DONE' is not one of" in found
    assert "'name' is a required property" in found
    assert "'query' is a required property" in found


def test_emission_can_be_turned_off_or_misconfigured_without_failing(
    built_demo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base = Mesh.open(built_demo).settings
    off = Mesh.open(built_demo, settings=base.model_copy(update={"openlineage_transport": "none"}))
    assert off.openlineage_observer() is None
    broken = Mesh.open(built_demo, settings=base.model_copy(update={"openlineage_transport": "http"}))
    assert broken.openlineage_observer() is None
    assert "QUANTA_OPENLINEAGE_TRANSPORT is http but no URL is set" in caplog.text
    [result] = broken.build(["supply.parts"], force=True)
    assert result.status == "published"  # the build itself goes on
