"""The breaking-change gate: a contract version that breaks consumers needs a new major version."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from quanta.contracts.changes import ContractChange, classify, requires_major, suggest_version
from quanta.spec.contract import Contract


@dataclass(frozen=True)
class GateResult:
    """What changed between the registered and the proposed contract, and whether it may pass."""

    contract_id: str
    old_version: str
    new_version: str
    changes: list[ContractChange]

    @property
    def breaking(self) -> list[ContractChange]:
        return [c for c in self.changes if c.severity == "breaking"]

    @property
    def allowed(self) -> bool:
        """Breaking changes need a major bump; anything else passes."""
        return not requires_major(self.changes) or _major(self.new_version) > _major(self.old_version)

    @property
    def suggested(self) -> str:
        return suggest_version(self.old_version, self.changes)


def gate(old: Contract, new: Contract) -> GateResult:
    return GateResult(new.id, old.version, new.version, classify(old, new))


def refusal(results: Sequence[GateResult]) -> str:
    """One message for every contract that may not pass."""
    lines = []
    for result in results:
        reasons = "; ".join(f"{c.path}: {c.reason or c.kind}" for c in result.breaking[:5])
        lines.append(
            f"contract {result.contract_id} {result.old_version} ► {result.new_version} has breaking changes "
            f"({reasons}) but keeps major version {_major(result.new_version)}"
        )
    return "\n".join(lines)


def _major(version: str) -> int:
    import semver

    text = version.lstrip("v")
    return int(semver.Version.parse(text).major) if semver.Version.is_valid(text) else 0
