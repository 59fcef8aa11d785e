"""Cron schedules from descriptors: what is due, what was missed, and firing each job exactly once.

The last fire time of each product is an event in the registry (``schedule.fired``), so any number of
scheduler processes can run: a lease per (product, fire time) lets only one of them build. When the
scheduler was down across several fire times, the product is built once and the missed fire times
are reported (``schedule.missed``), never silently dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from quanta.registry import Registry

MAX_MISSED_LISTED = 20


@dataclass(frozen=True)
class Schedule:
    """One product's schedule and where it stands."""

    product_id: str
    cron: str
    last_fired: datetime | None
    next_fire: datetime
    due: list[datetime]

    @property
    def missed(self) -> list[datetime]:
        return self.due[:-1]


def fire_times(cron: str, after: datetime, until: datetime) -> list[datetime]:
    """Fire times of ``cron`` in (after, until], in UTC."""
    from croniter import croniter

    times: list[datetime] = []
    it = croniter(cron, after)
    while True:
        nxt: datetime = it.get_next(datetime)
        if nxt > until:
            return times
        times.append(nxt)
        if len(times) > 10_000:  # a per-minute cron after a long outage: enough to report
            return times


def next_fire(cron: str, after: datetime) -> datetime:
    from croniter import croniter

    result: datetime = croniter(cron, after).get_next(datetime)
    return result


def schedules(registry: Registry, crons: dict[str, str], now: datetime) -> list[Schedule]:
    """Where every scheduled product stands at ``now``."""
    out = []
    for product_id, cron in sorted(crons.items()):
        fired = registry.events(subject=product_id, kind="schedule.fired", limit=1)
        last = datetime.fromisoformat(fired[0].payload["scheduled_for"]) if fired else None
        # A product never fired starts counting from when it was registered.
        start = last or _registered_at(registry, product_id) or now
        out.append(
            Schedule(product_id, cron, last, next_fire(cron, max(start, now)), fire_times(cron, start, now))
        )
    return out


def _registered_at(registry: Registry, product_id: str) -> datetime | None:
    versions = registry.versions(product_id) if product_id in registry.product_ids() else []
    return versions[0].created_at if versions else None


def claim(registry: Registry, schedule: Schedule, owner: str) -> bool:
    """Take the job for the latest due fire time; record missed ones. False if another worker has it."""
    if not schedule.due:
        return False
    scheduled_for = schedule.due[-1]
    lease = f"schedule:{schedule.product_id}@{scheduled_for.isoformat()}"
    if not registry.acquire(lease, owner, timedelta(hours=1)):
        return False
    fired = registry.events(subject=schedule.product_id, kind="schedule.fired", limit=1)
    if fired and fired[0].payload["scheduled_for"] >= scheduled_for.isoformat():
        return False  # another worker fired it and released its lease already
    payload: dict[str, Any] = {
        "scheduled_for": scheduled_for.isoformat(),
        "fired_at": datetime.now(UTC).isoformat(),
    }
    if schedule.missed:
        missed = [t.isoformat() for t in schedule.missed]
        registry.append_event(
            "schedule.missed",
            schedule.product_id,
            owner,
            {
                "count": len(missed),
                "times": missed[-MAX_MISSED_LISTED:],
                "built_once_for": payload["scheduled_for"],
            },
        )
        payload["missed"] = len(missed)
    registry.append_event("schedule.fired", schedule.product_id, owner, payload)
    return True


class ProblemLog:
    """Logs what holds schedules back once, and again only when it changes (a scheduler checks every
    few seconds; the same problem every time is noise that hides the next one)."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._last: list[str] = []

    def report(self, problems: list[str]) -> None:
        shown = list(problems)
        if shown == self._last:
            return
        if shown:
            self._log.warning(
                "schedules of products with these errors (in their files or their inputs') are paused; "
                "the others run:\n%s",
                "\n".join(shown),
            )
        else:
            self._log.warning("the descriptors are valid again: every schedule runs")
        self._last = shown
