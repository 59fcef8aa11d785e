"""Results of testing data against a contract: a ``Run`` of ``Check``s. A failed check is data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Verdict = Literal["passed", "failed", "warning", "error"]


def verdict_of(ok: bool, severity: str) -> Verdict:
    """A rule's verdict: a broken rule of severity warning or info warns, any other fails."""
    if ok:
        return "passed"
    return "warning" if severity in ("warning", "info") else "failed"


@dataclass(frozen=True)
class Check:
    """One rule applied to the data: what was measured, against what, and the verdict."""

    name: str
    kind: str
    verdict: Verdict
    measured: Any = None
    threshold: str | None = None
    object: str | None = None
    column: str | None = None
    severity: str = "error"
    dimension: str | None = None
    message: str | None = None
    samples: list[dict[str, Any]] | None = None

    def outcome(self) -> str:
        """The result in words: the engine's message when nothing was measured (the rule could not
        run), else what was measured against what was expected."""
        if self.message and self.measured is None:
            return self.message
        text = f"measured {self.measured}, expected {self.threshold}"
        return f"{text} ({self.message})" if self.message else text

    def to_dict(self) -> dict[str, Any]:
        return {
            k: (str(v) if k == "measured" and v is not None and not isinstance(v, (int, float)) else v)
            for k, v in self.__dict__.items()
        }


@dataclass
class Run:
    """All checks of one test of a contract against one snapshot of data."""

    contract_id: str
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """How the data was found (e.g. which folder a relative path was read against)."""

    @property
    def passed(self) -> bool:
        return not any(c.verdict in ("failed", "error") for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.verdict in ("failed", "error")]

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {"passed": 0, "failed": 0, "warning": 0, "error": 0}
        for check in self.checks:
            counts[check.verdict] += 1
        return counts
