"""Build runs, published data versions and leases, as part of the registry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update

from quanta.errors import NotFoundError
from quanta.registry.models import BuildRun, Event, Lock, Publish, utcnow

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class PublishRecord:
    product_id: str
    version: str
    run_id: str
    snapshots: dict[str, int]
    rows: dict[str, int]
    inputs: dict[str, Any]
    cursors: dict[str, Any]
    checks: dict[str, Any]
    fingerprint: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class RunRecord:
    id: str
    product_id: str
    version: str
    status: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    error: str | None
    details: dict[str, Any]


def publish_record(row: Publish | Any) -> PublishRecord:
    return PublishRecord(
        row.product_id,
        row.version,
        row.run_id,
        {k: int(v) for k, v in row.snapshots.items()},
        {k: int(v) for k, v in row.rows.items()},
        dict(row.inputs),
        dict(row.cursors),
        dict(row.checks),
        row.fingerprint,
        row.created_at,
        row.created_by,
    )


def _run(row: BuildRun) -> RunRecord:
    return RunRecord(
        row.id,
        row.product_id,
        row.version,
        row.status,
        row.trigger,
        row.started_at,
        row.finished_at,
        row.error,
        dict(row.details),
    )


class PublishingStore:
    """Mixin of :class:`Registry`: what was built, what was published, who holds which lease."""

    # Provided by Registry: one transaction, driver errors translated.
    session: Callable[[], AbstractContextManager[Session]]

    def start_run(self, run_id: str, product_id: str, version: str, trigger: str, **details: Any) -> None:
        with self.session() as s:
            s.add(
                BuildRun(
                    id=run_id,
                    product_id=product_id,
                    version=version,
                    status="running",
                    trigger=trigger,
                    details=details,
                )
            )

    def finish_run(self, run_id: str, status: str, error: str | None = None, **details: Any) -> None:
        with self.session() as s:
            row = s.get(BuildRun, run_id)
            if row is None:
                raise NotFoundError(f"no run {run_id}")
            row.status, row.error, row.finished_at = status, error, utcnow()
            row.details = {**row.details, **details}

    def runs(self, product_id: str | None = None, limit: int = 50) -> list[RunRecord]:
        query = select(BuildRun).order_by(BuildRun.started_at.desc()).limit(limit)
        if product_id:
            query = query.where(BuildRun.product_id == product_id)
        with self.session() as s:
            return [_run(r) for r in s.scalars(query)]

    def mark_crashed_runs(self, product_id: str) -> list[str]:
        """Runs left 'running' by a process that died (its lease expired): recorded as crashed."""
        with self.session() as s:
            held = s.get(Lock, f"build:{product_id}")
            alive = held.owner if held and held.expires_at > utcnow() else None
            holder = s.get(BuildRun, alive) if alive else None
            if held is not None and holder is not None and _dead_here(holder.details):
                # The holder ran on this machine and its process is gone: no need to wait for the lease.
                s.delete(held)
                alive = None
            rows = list(
                s.scalars(
                    select(BuildRun).where(BuildRun.product_id == product_id, BuildRun.status == "running")
                )
            )
            crashed = [r for r in rows if r.id != alive]
            for row in crashed:
                row.status, row.finished_at, row.error = (
                    "crashed",
                    utcnow(),
                    "the build process stopped unexpectedly",
                )
            return [r.id for r in crashed]

    def record_publish(self, record: PublishRecord, event: str = "product.published") -> None:
        """Record a publish and its event in one transaction: both exist or neither does."""
        with self.session() as s:
            s.add(
                Event(
                    kind=event,
                    subject=record.product_id,
                    actor=record.created_by,
                    payload={
                        "run": record.run_id,
                        "version": record.version,
                        "snapshots": record.snapshots,
                        "rows": record.rows,
                        "inputs": record.inputs,
                    },
                )
            )
            s.add(
                Publish(
                    product_id=record.product_id,
                    version=record.version,
                    run_id=record.run_id,
                    snapshots=record.snapshots,
                    rows=record.rows,
                    inputs=record.inputs,
                    cursors=record.cursors,
                    checks=record.checks,
                    fingerprint=record.fingerprint,
                    created_by=record.created_by,
                )
            )
            run = s.get(BuildRun, record.run_id)
            if run is not None:
                run.status, run.finished_at = "published", utcnow()

    def publishes(self, product_id: str) -> list[PublishRecord]:
        with self.session() as s:
            rows = s.scalars(select(Publish).where(Publish.product_id == product_id).order_by(Publish.id))
            return [publish_record(r) for r in rows]

    def current_publish(self, product_id: str) -> PublishRecord | None:
        """What consumers read now: the latest publish, unless a rollback chose an older one."""
        with self.session() as s:
            row = s.scalar(
                select(Publish).where(Publish.product_id == product_id).order_by(Publish.id.desc())
            )
            return publish_record(row) if row else None

    # --- leases ---------------------------------------------------------------------------------

    def acquire(self, name: str, owner: str, ttl: timedelta) -> bool:
        """Take the lease ``name`` unless someone else holds an unexpired one."""
        now = utcnow()
        with self.session() as s:
            s.execute(delete(Lock).where(Lock.name == name, Lock.expires_at < now))
            held = s.get(Lock, name)
            if held is not None:
                return held.owner == owner
            s.add(Lock(name=name, owner=owner, expires_at=now + ttl))
        return True

    def renew(self, name: str, owner: str, ttl: timedelta) -> None:
        with self.session() as s:
            s.execute(
                update(Lock).where(Lock.name == name, Lock.owner == owner).values(expires_at=utcnow() + ttl)
            )

    def release(self, name: str, owner: str) -> None:
        with self.session() as s:
            s.execute(delete(Lock).where(Lock.name == name, Lock.owner == owner))


def _dead_here(details: dict[str, Any]) -> bool:
    """True when a run's process was on this host and no longer exists."""
    import os
    import socket

    pid, host = details.get("pid"), details.get("host")
    if not isinstance(pid, int) or host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
