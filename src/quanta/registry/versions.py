"""Version numbers as the registry sees them: a product's versions only go up, even when the newest
registered version never published its data (its build failed), so the next one must be above it; a
reference's ``@version`` or ``@time`` picks a publish; a major version retires after its grace days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from quanta.errors import NotFoundError, Problem

if TYPE_CHECKING:
    import semver

    from quanta.registry import Registry
    from quanta.registry.stores.publishing import PublishRecord
    from quanta.spec import LoadedProduct


def older_version_problems(registry: Registry, products: list[LoadedProduct]) -> list[Problem]:
    """Products whose version is below the latest registered one and not itself registered: ``apply``
    would refuse them, so say it where the version is written, naming the version to go above."""
    import semver

    from quanta.spec.checks import is_semver

    latest = {p.id: p.latest_version for p in registry.products(ids=[p.product.id for p in products])}
    problems = []
    for loaded in products:
        version, newest = loaded.product.version, latest.get(loaded.product.id)
        if not version or not newest or not is_semver(version) or not is_semver(newest):
            continue
        if semver.Version.parse(version) >= semver.Version.parse(newest):
            continue
        registered = {v.version: v for v in registry.versions(loaded.product.id)}
        if version in registered:
            continue  # an earlier version as it was registered: apply leaves it unchanged
        state = "" if registered[newest].published else f" (not published: {registered[newest].outcome})"
        problems.append(
            loaded.doc.problem(
                ("version",),
                f"{loaded.product.id} {version} is older than the latest registered version {newest}{state}",
                f"versions only go up, also past failed builds: use {_next(newest)} or later",
            )
        )
    return problems


def _next(version: str) -> str:
    import semver

    return str(semver.Version.parse(version).bump_patch())


def major(version: str) -> int:
    return int(version.lstrip("v").split(".")[0])


def retired_on(publishes: list[PublishRecord], chosen: PublishRecord, grace_days: int) -> datetime | None:
    """When ``chosen`` stops being readable: ``grace_days`` after the first publish of a later major
    version (None while it is the current major)."""
    later = [p for p in publishes if major(p.version) > major(chosen.version)]
    return later[0].created_at + timedelta(days=grace_days) if later else None


def pick_publish(publishes: list[PublishRecord], at: str, product_id: str) -> PublishRecord:
    """The publish a version or a point in time refers to."""
    from quanta.spec.checks import is_semver

    if is_semver(at.lstrip("v")):
        matching = [p for p in publishes if p.version == at.lstrip("v")]
        if not matching:
            known = ", ".join(sorted({p.version for p in publishes}))
            raise NotFoundError(f"{product_id} has no published version {at}", hint=f"published: {known}")
        return matching[-1]
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        raise NotFoundError(
            f"{at!r} is neither a version nor a time", hint="use @1.2.0 or @2026-11-21T10:00:00"
        ) from None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    before = [p for p in publishes if p.created_at <= when]
    if not before:
        raise NotFoundError(f"{product_id} had no published data at {at}", hint="pick a later time")
    return before[-1]


def matching(publishes: list[PublishRecord], pin: str) -> list[PublishRecord]:
    """The publishes whose version an input port's pin admits: ``1.2.0``, ``^1.2``, ``~1.2``,
    ``>=1.1,<2`` (comma: all of them)."""
    import semver

    return [p for p in publishes if _admits(semver.Version.parse(p.version), pin)]


def _admits(version: semver.Version, pin: str) -> bool:
    for part in (p.strip() for p in pin.split(",")):
        if part.startswith("^"):
            base = part[1:].lstrip("v").split(".")
            if version.major != int(base[0]) or (len(base) > 1 and version.minor < int(base[1])):
                return False
        elif part.startswith("~"):
            base = part[1:].lstrip("v").split(".")
            if version.major != int(base[0]) or (len(base) > 1 and version.minor != int(base[1])):
                return False
        elif part[:1] in "<>=":
            operator = part[:2] if part[1:2] == "=" else part[:1]
            wanted = part[len(operator) :].strip().lstrip("v").split(".")
            padded = ".".join([*wanted, "0", "0"][:3])  # >=1.1 means >=1.1.0
            if not version.match(("==" if operator == "=" else operator) + padded):
                return False
        elif str(version) != part.lstrip("v"):
            return False
    return True
