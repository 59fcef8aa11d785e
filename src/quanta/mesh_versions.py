"""Version numbers as the registry sees them: a product's versions only go up, even when the newest
registered version never published its data (its build failed), so the next one must be above it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quanta.errors import Problem

if TYPE_CHECKING:
    from quanta.registry import Registry
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
