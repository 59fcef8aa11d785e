"""What a contract's rules refer to: columns and tables named by quality rules, SQL rules and
relationships must exist, and rule arguments must have the shape the engine reads. Otherwise the
build fails on them with an engine error instead of a measurement."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from quanta.errors import Problem
from quanta.spec.contract import QualityRule, SchemaObject
from quanta.spec.loader import LoadedContract
from quanta.spec.yamlsource import Document, JsonPath, format_path

Tables = dict[str, set[str] | None]
"""Table name ► its column names (lower case), or None where they are not known here (input ports)."""

LIST_ARGUMENTS = {"invalidValues": ("validValues",), "missingValues": ("missingValues",)}
_UNKNOWN_COLUMN = re.compile(r"Unknown column: (\S+)|Column '([^']+)' could not be resolved")


@dataclass(frozen=True)
class Scope:
    """The tables a contract's rules may name: SQL rules read its objects and the product's input
    ports; relationships may also point at other products' schema objects."""

    readable: Tables
    related: Tables
    strict: bool
    """A contract bound to a product: a relationship to a table no one knows is an error (else a
    warning, as a loose contract's other tables may live elsewhere)."""


def columns_of(obj: SchemaObject) -> set[str]:
    """The names a rule may use for the object's properties (name and physical column)."""
    return {n.lower() for p in obj.properties or [] for n in (p.name, p.column) if n}


def reference_problems(loaded: LoadedContract, scope: Scope) -> list[Problem]:
    """Every rule or relationship of the contract that names something that does not exist."""
    contract, doc = loaded.contract, loaded.doc
    own: Tables = {o.name.lower(): columns_of(o) for o in contract.objects}
    readable, related = {**scope.readable, **own}, {**scope.related, **scope.readable, **own}
    problems: list[Problem] = []
    for oi, obj in enumerate(contract.objects):
        base: JsonPath = ("schema", oi)
        for pi, prop in enumerate(obj.properties or []):
            for qi, rule in enumerate(prop.quality or []):
                path = (*base, "properties", pi, "quality", qi)
                problems += _rule_problems(doc, path, rule, obj, prop.column, readable)
        for qi, rule in enumerate(obj.quality or []):
            problems += _rule_problems(doc, (*base, "quality", qi), rule, obj, None, readable)
        problems += _relationship_problems(doc, base, obj, related, scope.strict)
    return problems


def _rule_problems(
    doc: Document, path: JsonPath, rule: QualityRule, obj: SchemaObject, column: str | None, tables: Tables
) -> list[Problem]:
    if rule.kind == "sql" and rule.query:
        return _sql_problems(doc, (*path, "query"), rule.query, obj, column, tables)
    if rule.kind != "library":
        return []
    args = rule.arguments or {}
    metric = rule.metric or rule.rule or ""
    problems = [
        _not_a_list(doc, (*path, "arguments", name), name, args[name])
        for name in LIST_ARGUMENTS.get(metric, ())
        if name in args and not isinstance(args[name], list)
    ]
    if metric == "duplicateValues" and "properties" in args:
        problems += _listed_columns(doc, (*path, "arguments", "properties"), args["properties"], obj)
    return problems


def _not_a_list(doc: Document, path: JsonPath, name: str, value: Any) -> Problem:
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else [str(value)]
    return doc.problem(
        path,
        f"'{name}' must be a list, got a {type(value).__name__} {value!r}",
        f"write a YAML list: {name}: [{', '.join(items)}]",
    )


def _listed_columns(doc: Document, path: JsonPath, names: Any, obj: SchemaObject) -> list[Problem]:
    known = columns_of(obj)
    choices = ", ".join(p.name or "" for p in obj.properties or [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return [doc.problem(path, "'properties' must be a list of property names", f"e.g. [{choices}]")]
    return [
        doc.problem(
            (*path, i),
            f"{name!r} is not a property of {obj.name!r}",
            f"use one of: {choices}" if choices else "declare the property first",
        )
        for i, name in enumerate(names)
        if name.lower() not in known
    ]


def _sql_problems(
    doc: Document, path: JsonPath, query: str, obj: SchemaObject, column: str | None, tables: Tables
) -> list[Problem]:
    """Tables the query reads must be readable, and (where their columns are known) so must its
    columns. Parse errors are reported by the contract checks."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import OptimizeError, SqlglotError
    from sqlglot.optimizer.qualify import qualify

    from quanta.spec.checks import SQL_DIALECT

    sql = query.replace("{object}", _quoted(obj.name)).replace("{property}", _quoted(column or ""))
    try:
        statement = sqlglot.parse_one(sql, read=SQL_DIALECT)
    except SqlglotError:  # an unclosed quote is a TokenError, not a ParseError
        return []
    ctes = {c.alias_or_name.lower() for c in statement.find_all(exp.CTE)}
    read = [t for t in statement.find_all(exp.Table) if t.name.lower() not in ctes]
    unknown = [t for t in read if t.name.lower() not in tables]
    if unknown:
        names = ", ".join(sorted(tables))
        return [
            _in_query(doc, path, t.this, f"the SQL rule reads {t.name!r}, which is not a table here",
                      f"read one of: {names} (the contract's schema objects and the product's input ports)")
            for t in unknown
        ]  # fmt: skip
    schema = {t.name.lower(): tables[t.name.lower()] for t in read}
    if any(cols is None for cols in schema.values()):
        return []  # an input port's columns are only known when the build reads it
    try:
        qualify(
            statement,
            schema={name: dict.fromkeys(cols or (), "text") for name, cols in schema.items()},
            dialect=SQL_DIALECT,
            validate_qualify_columns=True,
        )
    except OptimizeError as exc:
        found = _UNKNOWN_COLUMN.search(str(exc))
        if found is None:
            return []
        name = found.group(1) or found.group(2)
        node = next((c for c in statement.find_all(exp.Column) if c.name.lower() == name.lower()), None)
        known = ", ".join(sorted(set().union(*(c or set() for c in schema.values()))))
        message = f"the SQL rule uses column {name!r}, which {', '.join(schema)} does not have"
        return [_in_query(doc, path, node.this if node else None, message, f"use one of: {known}")]
    return []


def _in_query(doc: Document, path: JsonPath, node: Any, message: str, hint: str) -> Problem:
    """A problem positioned at ``node``'s token inside the query string when it is known."""
    meta = getattr(node, "meta", None) or {}
    if "line" not in meta:
        return doc.problem(path, message, hint)
    start = max(1, int(meta["col"]) - len(str(node.name)) + 1)
    line, col = doc.text_position(path, int(meta["line"]), start)
    return Problem(message, source=doc.source, line=line, column=col, path=format_path(path), hint=hint)


def _relationship_problems(
    doc: Document, base: JsonPath, obj: SchemaObject, tables: Tables, strict: bool
) -> list[Problem]:
    refs: list[tuple[JsonPath, str]] = []
    for ri, rel in enumerate(obj.relationships or []):
        for end in ("from_", "to"):
            value = getattr(rel, end)
            for item in value if isinstance(value, list) else [value] if value else []:
                refs.append(((*base, "relationships", ri, end.rstrip("_")), item))
    for pi, prop in enumerate(obj.properties or []):
        for ri, rel in enumerate(prop.relationships or []):
            targets = rel.to if isinstance(rel.to, list) else [rel.to] if rel.to else []
            refs += [((*base, "properties", pi, "relationships", ri, "to"), t) for t in targets]
    problems = []
    for path, ref in refs:
        if "/" in ref or "." not in ref:
            continue  # fully qualified id references are resolved by the contracts engine
        table, _, column = ref.rpartition(".")
        if table.lower() not in tables:
            problems.append(
                doc.problem(
                    path,
                    f"relationship points to {ref!r} but no table {table!r} is known here",
                    f"name one of: {', '.join(sorted(tables))}"
                    " (schema objects of this or another product's contract, or an input port)",
                    severity="error" if strict else "warning",
                )
            )
            continue
        known = tables[table.lower()]
        if known is not None and column.lower() not in known:
            problems.append(
                doc.problem(
                    path,
                    f"relationship points to {ref!r} but {table!r} has no property {column!r}",
                    f"use one of: {', '.join(sorted(known))}",
                )
            )
    return problems


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
