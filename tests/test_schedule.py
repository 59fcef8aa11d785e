"""The scheduler: due and missed fire times, one build per fire, one worker per job."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from quanta.build.scheduler import claim, fire_times
from quanta.mesh import Mesh

PRODUCT = """\
apiVersion: v1.0.0
kind: DataProduct
id: ops.events
name: Events
version: 1.0.0
domain: ops
status: active
type: source-aligned
owner: olga
inputPorts:
  - name: raw
    source: {type: file, path: data/events.csv}
outputPorts:
  - name: events
    contract: events.odcs.yaml
build:
  schedule: "*/5 * * * *"
"""

CONTRACT = """\
apiVersion: v3.2.0
kind: DataContract
id: ops.events
version: 1.0.0
status: active
schema:
  - name: events
    properties:
      - {name: id, logicalType: integer, required: true, unique: true}
      - {name: kind, logicalType: string}
"""


@pytest.fixture
def mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Mesh:
    root = tmp_path / "ws"
    Mesh.init(root)
    folder = root / "domains" / "ops" / "events"
    folder.mkdir(parents=True)
    (folder / "product.yaml").write_text(PRODUCT)
    (folder / "events.odcs.yaml").write_text(CONTRACT)
    (root / "data").mkdir()
    (root / "data" / "events.csv").write_text("id,kind\n1,login\n2,logout\n")
    monkeypatch.chdir(root)
    monkeypatch.delenv("QUANTA_DATABASE_URL", raising=False)
    mesh = Mesh.open(root)
    mesh.apply()
    return mesh


def test_fire_times_are_the_cron_ticks_in_the_window() -> None:
    from datetime import UTC, datetime

    start = datetime(2026, 1, 1, 10, 2, tzinfo=UTC)
    ticks = fire_times("*/5 * * * *", start, start + timedelta(minutes=14))
    assert [t.minute for t in ticks] == [5, 10, 15]


def test_missed_runs_are_reported_and_built_once(mesh: Mesh) -> None:
    registered = mesh.registry.versions("ops.events")[0].created_at
    now = registered + timedelta(minutes=17)
    (schedule,) = mesh.schedules(now)
    assert len(schedule.due) >= 3 and len(schedule.missed) == len(schedule.due) - 1
    results = mesh.run_schedule(now)
    assert [(r.product_id, r.status) for r in results] == [("ops.events", "published")]
    assert mesh.runs("ops.events")[0].trigger == "schedule"
    (missed,) = mesh.registry.events(subject="ops.events", kind="schedule.missed")
    assert missed.payload["count"] == len(schedule.missed)
    # Nothing is due again until the next tick.
    assert mesh.run_schedule(now) == []
    (later,) = mesh.schedules(now + timedelta(minutes=5))
    assert len(later.due) == 1 and later.missed == []


def test_only_one_worker_fires_a_job(mesh: Mesh) -> None:
    now = mesh.registry.versions("ops.events")[0].created_at + timedelta(minutes=6)
    (schedule,) = mesh.schedules(now)
    assert claim(mesh.registry, schedule, "worker-a") is True
    assert claim(mesh.registry, schedule, "worker-b") is False
