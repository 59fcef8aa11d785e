"""Rendering of ``quanta show``: a product page for the terminal."""

from __future__ import annotations

from typing import Any

from rich.panel import Panel

from quanta.interfaces.cli import render
from quanta.mesh import ProductView


def show_product(view: ProductView) -> None:
    d, s = view.descriptor, view.summary
    description = d.get("description") or {}
    lines = [
        f"[bold]{render.escape(s.name)}[/bold]  {render.escape(s.id)} {render.escape(s.version_label)}",
        f"type: {s.type}   status: {s.status}   owner: {s.owner or '—'}   domain: {s.domain}",
    ]
    for key in ("purpose", "limitations", "usage"):
        if description.get(key):
            lines.append(f"[dim]{key}:[/dim] {render.escape(str(description[key]).strip())}")
    render.out.print(Panel("\n".join(lines), expand=False))
    inputs = d.get("inputPorts") or []
    if inputs:
        render.table("Input ports", ["name", "reads"], [(p["name"], _reads(p)) for p in inputs])
    outputs = d.get("outputPorts") or []
    render.table(
        "Output ports",
        ["name", "type", "contract", "version"],
        [
            (
                p["name"],
                p.get("type", "table"),
                _contract_label(view.contracts.get(p["name"])),
                p.get("version"),
            )
            for p in outputs
        ],
    )
    for port, contract in view.contracts.items():
        for obj in contract.get("schema") or []:
            render.table(
                f"Schema of {port} ► {obj['name']}",
                ["column", "type", "required", "classification", "description"],
                [
                    (
                        p.get("name"),
                        p.get("logicalType") or p.get("physicalType"),
                        "yes" if p.get("required") else "",
                        p.get("classification"),
                        p.get("description"),
                    )
                    for p in obj.get("properties") or []
                ],
            )
    render.table(
        "Versions",
        ["version", "registered", "by", "data"],
        [
            (
                v.version,
                v.created_at,
                v.created_by,
                v.outcome if v.published else f"not published: {v.outcome}",
            )
            for v in view.versions
        ],
    )
    if view.consumers:
        render.out.print(f"consumed by: {', '.join(view.consumers)}")


def _reads(port: dict[str, Any]) -> str:
    if port.get("product"):
        pin = f"@{port['version']}" if port.get("version") else ""
        return f"product {port['product']}{'.' + port['port'] if port.get('port') else ''}{pin}"
    source = port.get("source") or {}
    return f"{source.get('type')} {source.get('path') or source.get('table') or source.get('url')}"


def _contract_label(contract: dict[str, Any] | None) -> str:
    return f"{contract['id']} {contract['version']}" if contract else "—"
