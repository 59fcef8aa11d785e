"""Test results as JUnit XML (for CI systems) and GitHub annotations."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from quanta.contracts.run import Check, Run


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
                failure = ET.SubElement(case, "failure", message=_message(check), type=check.kind)
                failure.text = _message(check)
            elif check.verdict == "error":
                ET.SubElement(case, "error", message=check.message or "error", type=check.kind)
            elif check.verdict == "warning":
                out = ET.SubElement(case, "system-out")
                out.text = f"warning: {_message(check)}"
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
                lines.append(f"::{level}{where},title={target}: {check.name}::{_message(check)}")
    return "\n".join(lines) + ("\n" if lines else "")


def _message(check: Check) -> str:
    if check.message and check.measured is None:
        return check.message
    text = f"measured {check.measured}, expected {check.threshold}"
    return f"{text} ({check.message})" if check.message else text
