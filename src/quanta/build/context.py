"""What a build works with: the platform parts (``BuildContext``), its result (``BuildResult``), and the
records write-audit-publish passes from step to step: the ``Candidate`` version, its ``Staged`` snapshot,
the ``Audited`` verdict."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quanta.build.events import BuildObserver
from quanta.build.transforms import Transform
from quanta.engines import Input
from quanta.registry import Registry
from quanta.registry.stores.publishing import PublishRecord
from quanta.spec.contract import Contract, SchemaObject
from quanta.spec.loader import LoadedProduct
from quanta.storage import Warehouse

if TYPE_CHECKING:
    from quanta.governance.policies import PolicySet

FAULT_ENV = "QUANTA_FAULT_INJECT"
"""Crash-safety tests set this to a stage name; the build process then kills itself there (SIGKILL)."""
Progress = Callable[[str, str], None]


@dataclass(frozen=True)
class BuildResult:
    """What happened to one product: ``published``, ``skipped`` or ``failed``."""

    product_id: str
    status: str
    run_id: str
    version: str
    rows: dict[str, int] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    hint: str | None = None
    seconds: float = 0.0


@dataclass
class BuildContext:
    """The platform parts a build needs."""

    registry: Registry
    warehouse: Warehouse
    root: Path
    actor: str
    engine_options: dict[str, Any] = field(default_factory=dict)
    force: bool = False
    trigger: str = "manual"
    progress: Progress | None = None
    policies: PolicySet | None = None
    """Publish-time policies (classification, ownership ...); None: none are checked."""
    observers: list[BuildObserver] = field(default_factory=list)
    """Told when each build starts and ends (OpenLineage, incidents, alerts); never block a build."""
    maturity: Callable[[LoadedProduct, list[dict[str, Any]]], dict[str, Any]] | None = None
    """The DATSIS maturity of the version being built, given what landed (``input.maturity`` of the
    publish policies); None: not computed."""

    def say(self, product_id: str, stage: str) -> None:
        if self.progress:
            self.progress(product_id, stage)


@dataclass(frozen=True)
class Candidate:
    """The version one run builds, on its way through stage > audit > publish: what it is built into
    (port, schema object, contract) and from (inputs, their fingerprints and source cursors)."""

    loaded: LoadedProduct
    transform: Transform
    contract: Contract
    obj: SchemaObject
    port: str
    run_id: str
    version: str
    inputs: dict[str, Input]
    meta: dict[str, Any]
    cursors: dict[str, Any]
    fingerprint: str
    last: PublishRecord | None
    """The publish it builds on: None when it replaces every row."""

    @property
    def product_id(self) -> str:
        return self.loaded.product.id


@dataclass(frozen=True)
class Staged:
    """A snapshot committed to the run's ``wap-`` branch, invisible to consumers until published."""

    snapshot: int
    inputs: dict[str, Input]
    """The transform's inputs, with a Python transform's result as ``__result``."""
    cursors: dict[str, Any]
    """The source cursors past the staged rows."""
    rows: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Audited:
    """The verdict on a staged snapshot: contract checks and governance (classification, policies)."""

    checks: dict[str, Any]
    detections: list[str]


def fault(stage: str) -> None:
    import os
    import signal

    if os.environ.get(FAULT_ENV) == stage:
        os.kill(os.getpid(), signal.SIGKILL)
