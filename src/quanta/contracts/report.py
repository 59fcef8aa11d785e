"""Test results as JUnit XML (for CI systems) and GitHub annotations."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from quanta.contracts.run import Run


def junit(runs: dict[str, Run]) -> str:
    """One ``testsuite`` per tested target, one ``testcase`` per check; failed checks are failures."""
    suites = ET.Element("testsuites", name="quanta test")
    for target, run in runs.items():
        summary = run.summary()
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=target,
            tests=str(len(run.checks)),
            failures=str(summary["failed"]),
            errors=str(summary["error"]),
            skipped="0",
        )
        for check in run.checks:
            case = ET.SubElement(
                suite, "testcase", classname=f"{target}.{check.object or ''}", name=check.name
            )
            if check.verdict == "failed":
                failure = ET.SubElement(case, "failure", message=check.outcome(), type=check.kind)
                failure.text = check.outcome()
            elif check.verdict == "error":
                ET.SubElement(case, "error", message=check.message or "error", type=check.kind)
            elif check.verdict == "warning":
                out = ET.SubElement(case, "system-out")
                out.text = f"warning: {check.outcome()}"
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def github_annotations(runs: dict[str, Run], source: dict[str, str]) -> str:
    """``::error`` / ``::warning`` lines GitHub Actions turns into annotations on the contract file."""
    lines = []
    for target, run in runs.items():
        for check in run.checks:
            if check.verdict in ("failed", "error", "warning"):
                level = "warning" if check.verdict == "warning" else "error"
                where = f" file={source[target]}" if target in source else ""
                lines.append(f"::{level}{where},title={target}: {check.name}::{check.outcome()}")
    return "\n".join(lines) + ("\n" if lines else "")
