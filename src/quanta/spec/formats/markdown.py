"""Markdown for people: a contract (or a product and its contracts) as a page to read or publish."""

from __future__ import annotations

from typing import Any

from quanta.spec.contract import Contract, QualityRule, SchemaObject, SchemaProperty, Server
from quanta.spec.formats import Exporter, ProductExport
from quanta.spec.product import DataProduct, InputPort

_COMPARATOR_WORDS = {
    "mustBe": "must be",
    "mustNotBe": "must not be",
    "mustBeGreaterThan": "must be greater than",
    "mustBeGreaterOrEqualTo": "must be greater than or equal to",
    "mustBeLessThan": "must be less than",
    "mustBeLessOrEqualTo": "must be less than or equal to",
    "mustBeBetween": "must be between",
    "mustNotBeBetween": "must not be between",
}
_SERVER_WHERE = ("host", "port", "database", "schema_", "location", "path", "format")


class MarkdownExporter(Exporter):
    """A readable page: fundamentals, servers, a column table per object, quality in words, SLAs, team."""

    name = "markdown"

    def export_contract(self, contract: Contract, **options: Any) -> str:
        return "\n".join(contract_lines(contract, level=1)) + "\n"

    def export_product(self, export: ProductExport, **options: Any) -> str:
        lines = product_lines(export)
        for contract in export.contracts.values():
            lines += ["", *contract_lines(contract, level=2)]
        return "\n".join(lines) + "\n"


def cell(value: Any) -> str:
    """A value made safe for one Markdown table cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    return str(value).strip().replace("|", "\\|").replace("\n", "<br>")


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]


def _fields(pairs: list[tuple[str, Any]]) -> list[str]:
    return table(["Field", "Value"], [[name, value] for name, value in pairs if value not in (None, "")])


# --- contract -----------------------------------------------------------------------------------


def contract_lines(contract: Contract, level: int) -> list[str]:
    h = "#" * level
    lines = [f"{h} {contract.name or contract.id}", ""]
    lines += _fields(
        [
            ("Contract id", f"`{contract.id}`"),
            ("Version", contract.version),
            ("Status", contract.status),
            ("Domain", contract.domain),
            ("Data product", contract.data_product),
            ("Tenant", contract.tenant),
            ("Standard", f"ODCS {contract.api_version}"),
            ("Tags", ", ".join(contract.tags or [])),
        ]
    )
    if contract.description:
        lines += ["", f"{h}# Description", ""]
        for label in ("purpose", "limitations", "usage"):
            text = getattr(contract.description, label)
            if text:
                lines += [f"**{label.capitalize()}:** {text.strip()}", ""]
        lines.pop()
    if contract.servers:
        lines += ["", f"{h}# Servers", ""]
        lines += table(
            ["Server", "Type", "Environment", "Where", "Description"],
            [[s.server, s.type, s.environment, _where(s), s.description] for s in contract.servers],
        )
    for obj in contract.objects:
        lines += ["", *object_lines(obj, f"{h}#")]
    lines += _sla_lines(contract, f"{h}#")
    lines += _team_lines(contract, f"{h}#")
    if contract.support:
        lines += ["", f"{h}# Support", ""]
        lines += table(
            ["Channel", "Tool", "Link", "Description"],
            [[s.channel, s.tool, s.url, s.description] for s in contract.support],
        )
    return lines


def _where(server: Server) -> str:
    parts = [
        f"{name.rstrip('_')}: {getattr(server, name)}" for name in _SERVER_WHERE if getattr(server, name)
    ]
    return ", ".join(parts)


def object_lines(obj: SchemaObject, h: str) -> list[str]:
    """A heading, the description and a column table for one schema object, then its quality rules."""
    title = obj.business_name or obj.name
    physical = f" (`{obj.physical_name}`)" if obj.physical_name else ""
    lines = [f"{h} {title}{physical}", ""]
    if obj.description:
        lines += [obj.description.strip(), ""]
    rows = [_column_row(name, prop) for name, prop in _flatten(obj.properties or [])]
    if rows:
        lines += table(["Column", "Type", "Required", "Unique", "PK", "Classification", "Description"], rows)
    else:
        lines.append("_No columns described._")
    rules = [
        (f"`{name}`", rule) for name, prop in _flatten(obj.properties or []) for rule in prop.quality or []
    ]
    rules += [("table", rule) for rule in obj.quality or []]
    if rules:
        lines += ["", "**Quality rules**", ""]
        lines += [f"- {scope}: {rule_in_words(rule)}" for scope, rule in rules]
    links: list[tuple[str | list[str] | None, str | list[str] | None]] = [
        (name, rel.to) for name, prop in _flatten(obj.properties or []) for rel in prop.relationships or []
    ]
    links += [(rel.from_, rel.to) for rel in obj.relationships or []]
    if links:
        lines += ["", "**References**", ""]
        lines += [f"- `{_names(source)}` → `{_names(target)}`" for source, target in links]
    return lines


def _names(value: str | list[str] | None) -> str:
    return ", ".join(value) if isinstance(value, list) else value or ""


def _flatten(props: list[SchemaProperty], prefix: str = "") -> list[tuple[str, SchemaProperty]]:
    """Columns with nested fields as ``parent.child`` and array elements as ``parent[]``."""
    out: list[tuple[str, SchemaProperty]] = []
    for prop in props:
        name = f"{prefix}{prop.name or ''}"
        out.append((name, prop))
        out += _flatten(prop.properties or [], f"{name}.")
        if prop.items is not None:
            out += _flatten(prop.items.properties or [], f"{name}[].")
    return out


def _column_row(name: str, prop: SchemaProperty) -> list[Any]:
    kind: str = prop.logical_type or ""
    if prop.items is not None and prop.items.logical_type:
        kind += f" of {prop.items.logical_type}"
    if prop.physical_type:
        kind = f"{kind} ({prop.physical_type})" if kind else prop.physical_type
    pk = (
        (prop.primary_key_position if (prop.primary_key_position or 0) > 0 else True)
        if prop.primary_key
        else None
    )
    description = prop.description or ""
    if prop.enum:
        allowed = ", ".join(f"`{e.value}`" for e in prop.enum)
        description = f"{description}\nAllowed values: {allowed}".strip()
    column = f"`{name}`" + (f" (`{prop.physical_name}`)" if prop.physical_name else "")
    return [column, kind, prop.required, prop.unique, pk, prop.classification, description]


def rule_in_words(rule: QualityRule) -> str:
    """``nullValues must be 0``, ``SQL `SELECT ...` must be less than 3600``, or the rule's own text."""
    if rule.kind == "text":
        return rule.description or rule.name or "(text rule without description)"
    if rule.kind == "custom":
        subject = f"{rule.engine or 'custom'} check"
    elif rule.kind == "sql":
        subject = f"SQL `{' '.join((rule.query or '').split())}`"
    else:
        subject = rule.metric or rule.rule or "library rule"
        if rule.arguments:
            subject += " (" + ", ".join(f"{k}: {v}" for k, v in rule.arguments.items()) + ")"
    text = subject
    comparator = rule.comparator()
    if comparator is not None:
        name, value = comparator
        threshold = f"{value[0]} and {value[1]}" if isinstance(value, list) and len(value) == 2 else value
        unit = f" {rule.unit}" if rule.unit else ""
        text += f" {_COMPARATOR_WORDS[name]} {_number(threshold)}{unit}"
    if rule.description:
        text += f" — {rule.description.strip()}"
    if rule.severity:
        text += f" (severity: {rule.severity})"
    return text


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _sla_lines(contract: Contract, h: str) -> list[str]:
    if not contract.sla_properties:
        return []
    rows = []
    for sla in contract.sla_properties:
        value = f"{sla.value} {sla.unit}" if sla.unit else sla.value
        schedule = f"{sla.scheduler}: {sla.schedule}" if sla.schedule else None
        rows.append([sla.property, value, sla.element, sla.driver, schedule, sla.description])
    return [
        "",
        f"{h} Service levels",
        "",
        *table(["SLA", "Value", "Element", "Driver", "Schedule", "Description"], rows),
    ]


def _team_lines(contract: Contract, h: str) -> list[str]:
    team = contract.team
    if team is None:
        return []
    members = team if isinstance(team, list) else team.members or []
    lines = ["", f"{h} Team", ""]
    if not isinstance(team, list) and (team.name or team.description):
        about = [f"**{team.name}**" if team.name else "", (team.description or "").strip()]
        lines += [": ".join(part for part in about if part), ""]
    if members:
        lines += table(
            ["Member", "Name", "Role", "Since", "Until"],
            [[m.username, m.name, m.role, m.date_in, m.date_out] for m in members],
        )
    elif lines[-1] == "":
        lines.pop()
    return lines


# --- product ------------------------------------------------------------------------------------


def product_lines(export: ProductExport) -> list[str]:
    """The product section: fundamentals, description, then input and output ports."""
    product: DataProduct = export.product
    lines = [f"# Data product: {product.name or product.id}", ""]
    lines += _fields(
        [
            ("Product id", f"`{product.id}`"),
            ("Version", product.version),
            ("Type", product.type),
            ("Status", product.status),
            ("Domain", product.domain),
            ("Owner", product.owner_name),
            ("Tags", ", ".join(product.tags or [])),
        ]
    )
    if product.description:
        for label in ("purpose", "limitations", "usage"):
            text = getattr(product.description, label)
            if text:
                lines += ["", f"**{label.capitalize()}:** {text.strip()}"]
    if product.input_ports:
        lines += ["", "## Input ports", ""]
        lines += table(
            ["Port", "Reads from", "Description"],
            [[f"`{p.name}`", _reads_from(p), p.description] for p in product.input_ports],
        )
    if product.output_ports:
        lines += ["", "## Output ports", ""]
        rows = []
        for port in product.output_ports:
            contract = export.contracts.get(port.name)
            bound = f"`{contract.id}` {contract.version}" if contract else port.contract_id or port.contract
            rows.append([f"`{port.name}`", port.type, bound, port.object, port.description])
        lines += table(["Port", "Type", "Contract", "Object", "Description"], rows)
    return lines


def _reads_from(port: InputPort) -> str:
    if port.product:
        return f"product `{port.product}`" + (f" port `{port.port}`" if port.port else "")
    source = port.source
    if source is None:
        return port.contract_id or ""
    if source.type == "file":
        return f"file `{source.path}`"
    # Never print the database URL: it may carry a password.
    return f"database table `{source.table}`" if source.table else "database query"
