"""Semantic checks the JSON Schemas cannot express: references, ids, versions, cron, SQL."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

from quanta.errors import Problem
from quanta.spec.contract import QualityRule
from quanta.spec.loader import LoadedContract, LoadedProduct
from quanta.spec.product import PRODUCT_ID, DataProduct
from quanta.spec.yamlsource import Document, JsonPath

STATUSES = ("proposed", "draft", "active", "deprecated", "retired")
VISIBILITIES = ("public", "organization", "domain", "private")
"""Who sees a product without a grant (custom property ``visibility``; the default depends on its type)."""
LIBRARY_METRICS = ("nullValues", "missingValues", "invalidValues", "duplicateValues", "rowCount")
SEVERITIES = ("error", "warning", "info")
UNITS = ("rows", "percent")
SQL_DIALECT = "duckdb"


def is_semver(text: str) -> bool:
    import semver

    return bool(semver.Version.is_valid(text))


_RANGE = re.compile(r"^(?P<op>\^|~|>=|<=|>|<|==)?\s*(?P<version>v?\d+(?:\.\d+){0,2})$")


def version_spec_problem(spec: str) -> str | None:
    """Why ``spec`` is not a version pin (``1.2.0``, ``^1``, ``~1.2``, ``>=1.0.0,<2.0.0``, ``latest``)."""
    if spec == "latest":
        return None
    for part in spec.split(","):
        if not _RANGE.match(part.strip()):
            return f"{spec!r} is not a version or version range"
    return None


def cron_problem(expression: str) -> str | None:
    """Why ``expression`` is not a valid cron expression, or None."""
    from croniter import croniter

    if not croniter.is_valid(expression):
        return f"invalid cron expression {expression!r}"
    return None


def sql_problem(
    sql: str, *, read_only: bool = False, tables: Iterable[str] | None = None
) -> tuple[str, int | None, int | None] | None:
    """(message, line, column) when ``sql`` does not parse, is not a read-only query, or (with
    ``tables``) reads anything but those tables: no table functions, so no files."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        statements = [s for s in sqlglot.parse(sql, read=SQL_DIALECT) if s is not None]
    except SqlglotError as exc:  # an unclosed quote is a TokenError, not a ParseError
        errors = getattr(exc, "errors", None)
        first = errors[0] if errors else {}
        return (
            f"SQL does not parse: {first.get('description') or exc}",
            first.get("line"),
            first.get("col"),
        )
    if not statements:
        return "SQL is empty", None, None
    if read_only:
        if len(statements) > 1:
            return "a SQL rule must be a single SELECT statement", None, None
        if not isinstance(statements[0], exp.Query):
            return f"a SQL rule must be a read-only SELECT, not {statements[0].key.upper()}", None, None
    if tables is not None:
        allowed = {t.lower() for t in tables} | {
            c.alias_or_name.lower() for c in statements[0].find_all(exp.CTE)
        }
        for table in statements[0].find_all(exp.Table):
            if not isinstance(table.this, exp.Identifier):
                return f"a SQL rule may only read the contract's tables, not {table.this.sql()}", None, None
            if table.name.lower() not in allowed:
                return (
                    f"a SQL rule may only read the contract's tables; {table.name!r} is not one",
                    None,
                    None,
                )
    return None


def check_product(loaded: LoadedProduct, known_products: Iterable[str] = ()) -> list[Problem]:
    """Every semantic problem of one product descriptor (its contracts are checked separately)."""
    product, doc = loaded.product, loaded.doc
    problems: list[Problem] = []
    match = PRODUCT_ID.match(product.id)
    if not match:
        problems.append(
            doc.problem(("id",), f"product id {product.id!r} is not '<domain>.<name>'", "e.g. 'sales.orders'")
        )
    elif product.domain and product.domain != match["domain"]:
        problems.append(
            doc.problem(
                ("domain",),
                f"domain {product.domain!r} does not match the id's domain {match['domain']!r}",
                f"set domain: {match['domain']}",
            )
        )
    if product.version is None:
        problems.append(doc.problem(("id",), "missing required field 'version'", "add 'version: 1.0.0'"))
    elif not is_semver(product.version):
        problems.append(
            doc.problem(
                ("version",),
                f"version {product.version!r} is not a semantic version",
                "use MAJOR.MINOR.PATCH",
            )
        )
    if product.status not in STATUSES:
        problems.append(
            doc.problem(
                ("status",), f"unknown status {product.status!r}", f"use one of: {', '.join(STATUSES)}"
            )
        )
    if product.type is None:
        problems.append(
            doc.problem(
                ("id",), "missing required field 'type'", "source-aligned, aggregate or consumer-aligned"
            )
        )
    if product.owner_name is None:
        problems.append(
            doc.problem(
                ("id",), "no owner", "set 'owner:' or a team member with role 'owner'", severity="warning"
            )
        )
    for index, prop in enumerate(product.custom_properties or []):
        if prop.property == "visibility" and str(prop.value) not in VISIBILITIES:
            problems.append(
                doc.problem(
                    ("customProperties", index, "value"),
                    f"unknown visibility {prop.value!r}",
                    f"use one of: {', '.join(VISIBILITIES)}",
                )
            )
    problems += _check_ports(loaded, set(known_products))
    problems += _check_build(loaded)
    return problems


def _duplicates(doc: Document, base: JsonPath, names: list[str], what: str) -> list[Problem]:
    seen: set[str] = set()
    out = []
    for index, name in enumerate(names):
        if name in seen:
            out.append(
                doc.problem((*base, index, "name"), f"duplicate {what} name {name!r}", "names must be unique")
            )
        seen.add(name)
    return out


def _check_ports(loaded: LoadedProduct, known: set[str]) -> list[Problem]:
    product, doc = loaded.product, loaded.doc
    problems: list[Problem] = []
    outputs = product.output_ports or []
    if not outputs:
        problems.append(
            doc.problem(("id",), "a data product needs at least one output port", "add outputPorts:")
        )
    problems += _duplicates(doc, ("outputPorts",), [p.name for p in outputs], "output port")
    problems += _duplicates(doc, ("inputPorts",), [p.name for p in product.input_ports or []], "input port")
    for index, port in enumerate(outputs):
        path: JsonPath = ("outputPorts", index)
        if port.contract is None:
            problems.append(
                doc.problem(
                    path, f"output port {port.name!r} has no contract", "add 'contract: <file>.odcs.yaml'"
                )
            )
            continue
        loaded_contract = loaded.contracts.get(port.name)
        if loaded_contract and port.object and not loaded_contract.contract.object(port.object):
            names = [o.name for o in loaded_contract.contract.objects]
            problems.append(
                doc.problem(
                    (*path, "object"),
                    f"contract has no schema object {port.object!r}",
                    f"use one of: {', '.join(names)}",
                )
            )
        if port.version and not is_semver(port.version):
            problems.append(doc.problem((*path, "version"), f"port version {port.version!r} is not semver"))
    for index, inport in enumerate(product.input_ports or []):
        path = ("inputPorts", index)
        if (inport.product is None) == (inport.source is None):
            problems.append(
                doc.problem(path, f"input port {inport.name!r} needs exactly one of 'product' or 'source'")
            )
        elif inport.product is not None:
            if not PRODUCT_ID.match(inport.product):
                problems.append(
                    doc.problem((*path, "product"), f"{inport.product!r} is not '<domain>.<name>'")
                )
            elif inport.product == product.id:
                problems.append(doc.problem((*path, "product"), "a product cannot read its own output"))
            elif inport.version and (reason := version_spec_problem(inport.version)):
                problems.append(
                    doc.problem((*path, "version"), reason, "use 1.2.0, ^1, ~1.2, >=1.0.0,<2.0.0 or latest")
                )
            elif inport.product not in known:
                problems.append(
                    doc.problem(
                        (*path, "product"),
                        f"input product {inport.product!r} does not exist in the mesh",
                        "check the id, or apply that product first",
                    )
                )
    return problems


def _check_build(loaded: LoadedProduct) -> list[Problem]:
    product, doc = loaded.product, loaded.doc
    build = product.build
    if build is None:
        return []
    problems: list[Problem] = []
    if build.schedule is not None and (reason := cron_problem(build.schedule)):
        problems.append(
            doc.problem(("build", "schedule"), reason, "five fields: minute hour day month weekday")
        )
    transform = build.transform
    if transform is None:
        return problems
    if transform.sql and transform.python:
        problems.append(doc.problem(("build", "transform"), "set either 'sql' or 'python', not both"))
    if transform.sql:
        problems += _check_sql_transform(loaded, transform.sql)
    if transform.python:
        problems += _check_python_transform(loaded, transform.python)
    return problems


def _check_sql_transform(loaded: LoadedProduct, sql: str) -> list[Problem]:
    doc = loaded.doc
    path: JsonPath = ("build", "transform", "sql")
    if sql.strip().endswith(".sql") and "\n" not in sql.strip():
        file = loaded.folder / sql.strip()
        if not file.is_file():
            return [doc.problem(path, f"SQL file {sql!r} not found next to the descriptor", f"create {file}")]
        problem = sql_problem(file.read_text(encoding="utf-8"))
        if problem:
            message, line, col = problem
            return [
                Problem(message, source=str(file), line=line, column=col, hint="fix the SQL in this file")
            ]
        return []
    problem = sql_problem(sql)
    if problem:
        message, inner_line, inner_col = problem
        line, col = doc.text_position(path, inner_line or 1, inner_col or 1)
        return [Problem(message, source=doc.source, line=line, column=col, path="build.transform.sql")]
    return []


def _check_python_transform(loaded: LoadedProduct, spec: str) -> list[Problem]:
    doc = loaded.doc
    path: JsonPath = ("build", "transform", "python")
    file_name, _, function = spec.partition(":")
    if not function:
        return [doc.problem(path, f"{spec!r} is not 'file.py:function'", "e.g. 'transform.py:build'")]
    file = loaded.folder / file_name
    if not file.is_file():
        return [doc.problem(path, f"Python file {file_name!r} not found next to the descriptor")]
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    except SyntaxError as exc:
        return [
            Problem(f"Python syntax error: {exc.msg}", source=str(file), line=exc.lineno, column=exc.offset)
        ]
    if not any(isinstance(n, ast.FunctionDef) and n.name == function for n in tree.body):
        return [doc.problem(path, f"{file_name} defines no function {function!r}")]
    return []


def check_contract(loaded: LoadedContract) -> list[Problem]:
    """Semantic problems of a contract that already passed the official schema."""
    contract, doc = loaded.contract, loaded.doc
    problems: list[Problem] = []
    if not is_semver(contract.version.removeprefix("v")):
        problems.append(
            doc.problem(
                ("version",), f"contract version {contract.version!r} is not semver", severity="warning"
            )
        )
    problems += _duplicates(doc, ("schema",), [o.name for o in contract.objects], "schema object")
    for oi, obj in enumerate(contract.objects):
        names = [p.name or "" for p in obj.properties or []]
        problems += _duplicates(doc, ("schema", oi, "properties"), names, "property")
        for pi, prop in enumerate(obj.properties or []):
            for qi, rule in enumerate(prop.quality or []):
                problems += _check_rule(doc, ("schema", oi, "properties", pi, "quality", qi), rule)
        for qi, rule in enumerate(obj.quality or []):
            problems += _check_rule(doc, ("schema", oi, "quality", qi), rule)
    return problems


def _check_rule(doc: Document, path: JsonPath, rule: QualityRule) -> list[Problem]:
    problems: list[Problem] = []
    if rule.kind == "library" and rule.metric is None and rule.rule is None:
        problems.append(
            doc.problem(path, "a library rule needs a 'metric'", f"use one of: {', '.join(LIBRARY_METRICS)}")
        )
    if rule.kind == "sql" and rule.query:
        # {object} and {property} are ODCS placeholders, filled in when the rule runs.
        problem = sql_problem(rule.query.replace("{object}", "t").replace("{property}", "c"), read_only=True)
        if problem:
            problems.append(doc.problem((*path, "query"), problem[0], "write one read-only SELECT"))
    if rule.kind in ("library", "sql") and rule.comparator() is None and rule.metric is not None:
        problems.append(doc.problem(path, "a quality rule needs a comparator", "e.g. 'mustBe: 0'"))
    if rule.unit is not None and rule.unit not in UNITS:
        problems.append(
            doc.problem((*path, "unit"), f"unknown unit {rule.unit!r}", f"use one of: {', '.join(UNITS)}")
        )
    if rule.severity is not None and rule.severity not in SEVERITIES:
        problems.append(
            doc.problem(
                (*path, "severity"),
                f"unknown severity {rule.severity!r}",
                f"use one of: {', '.join(SEVERITIES)}",
            )
        )
    between = rule.must_be_between or rule.must_not_be_between
    if between and len(between) == 2 and between[0] > between[1]:
        problems.append(doc.problem(path, "range is reversed", "put the smaller number first"))
    return problems


def contract_files(product: DataProduct, folder: Path) -> dict[str, Path]:
    """Output port name ► contract file path, for ports bound to a file."""
    return {p.name: folder / p.contract for p in product.output_ports or [] if p.contract}
