"""A contract's suite of checks: every object's, then the SLA checks, as far as a selection keeps them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quanta.contracts.execute import check_object
from quanta.contracts.run import Check, Run

if TYPE_CHECKING:
    from quanta.contracts.selection import Selection, TestOptions
    from quanta.errors import Problem
    from quanta.spec import Contract


def schema_warning(problem: Problem) -> Check:
    """An official-schema finding that did not stop the test, as a warning check of the run."""
    return Check(
        f"{problem.location}: {problem.message}", "lint", "warning", severity="warning", message=problem.hint
    )


def run_all(
    contract: Contract,
    engine: Any,
    inputs: dict[str, Any],
    stats: dict[str, dict[str, Any]],
    selection: Selection,
    history: list[datetime] | None = None,
    samples: bool = True,
) -> Run:
    """Every object's checks, then the SLA checks, as far as ``selection`` keeps them. ``stats`` holds
    what metadata knows of each object's columns (by object name)."""
    from quanta.contracts.sla import sla_checks

    run = Run(contract.id)
    contract = selection.apply(contract)
    for obj in contract.objects:
        if obj.name in inputs:
            found = check_object(
                contract, obj, engine, inputs[obj.name], stats.get(obj.name), related=inputs, samples=samples
            )
            run.checks += [c for c in found.checks if selection.keeps(c)]
    if selection.wants("sla") and not selection.metadata_only:
        run.checks += [c for c in sla_checks(contract, engine, inputs, history) if selection.keeps(c)]
    return run


def run_file(path: Path, server_name: str | None, options: TestOptions) -> dict[str, Run]:
    """A contract file tested on one of its servers (``None``: the first), as datacontract-cli does:
    relative paths found from the contract's folder, then the working directory."""
    from quanta.contracts.execute import scan_engine_options
    from quanta.contracts.overrides import (
        filtered,
        json_format,
        log,
        only_object,
        row_filters,
        unreadable,
        with_environment,
    )
    from quanta.contracts.server_data import read_server, search_roots
    from quanta.contracts.servers import choose_server
    from quanta.engines import get_engine
    from quanta.spec.formats import importer
    from quanta.spec.loader import detect_kind, load_contract_text
    from quanta.spec.yamlsource import load_file

    doc = load_file(path)
    text = importer("dcs").import_text(doc.text, str(path)) if detect_kind(doc) == "dcs" else doc.text
    # What the official schema refuses but the data checks can still run with (datacontract-cli
    # runs it) becomes a warning of the run, not a refusal.
    loaded = load_contract_text(text, str(path), lenient=True)
    contract = loaded.contract
    server = with_environment(choose_server(contract, server_name))
    contract = only_object(contract, options.schema_name)
    predicates = row_filters(contract, options.filter, options.filters)
    engine = get_engine(**scan_engine_options())
    roots = search_roots(path.parent, Path.cwd())
    found = read_server(contract, server, roots, engine, json_format(server))
    inputs = found.inputs
    for name, data in inputs.items():
        log.info("server %r: object %r reads %s", server.server, name, data)
    for name, predicate in predicates.items():
        inputs[name] = filtered(engine, name, inputs[name], predicate)
        log.info("object %r: only rows where %s", name, predicate)
    # Parquet footers answer null-count and bound rules without a scan, but not of filtered rows.
    stats = {name: known for name, known in found.stats.items() if name not in predicates}
    broken = {name: check for name, data in inputs.items() if (check := unreadable(engine, name, data))}
    inputs = {name: data for name, data in inputs.items() if name not in broken}
    run = run_all(contract, engine, inputs, stats, options.selection, None, options.samples)
    reading = [c for c in found.checks if options.selection.keeps(c)]
    run.checks[:0] = [*(schema_warning(p) for p in loaded.warnings), *broken.values(), *reading]
    run.notes += found.notes
    return {str(path): run}
