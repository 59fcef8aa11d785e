"""Declared column lineage: the ``lineage`` custom property of a descriptor, checked against the
product's contract and its inputs, every problem positioned in the YAML."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from quanta.observability.lineage.columns import LINEAGE_PROPERTY, TRANSFORMATION, ColumnEdge, UpstreamColumns

if TYPE_CHECKING:
    from quanta.errors import Problem
    from quanta.spec.loader import LoadedProduct
    from quanta.spec.yamlsource import JsonPath

EXAMPLE = "value: {tier: [sales.orders.total_price], region: [geography.region]}"


@dataclass
class _Declaration:
    """One product's declaration being checked: what it may name, and what was found."""

    loaded: LoadedProduct
    outputs: list[str]
    upstream_columns: UpstreamColumns
    edges: list[ColumnEdge] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def problem(self, path: JsonPath, message: str, hint: str) -> None:
        self.problems.append(self.loaded.doc.problem(path, f"{self.loaded.product.id}: {message}", hint))

    @property
    def ports(self) -> dict[str, Any]:
        return {p.name: p for p in self.loaded.product.input_ports or []}

    @property
    def products(self) -> dict[str, str]:
        """Input product id ► the (first) input port reading it."""
        found: dict[str, str] = {}
        for port in self.loaded.product.input_ports or []:
            if port.product:
                found.setdefault(port.product, port.name)
        return found


def declared_edges(
    loaded: LoadedProduct, outputs: list[str], upstream_columns: UpstreamColumns
) -> tuple[list[ColumnEdge], list[Problem]]:
    """The edges the ``lineage`` property declares, and every problem in it."""
    declaration = _Declaration(loaded, outputs, upstream_columns)
    for index, prop in enumerate(loaded.product.custom_properties or []):
        if prop.property != LINEAGE_PROPERTY:
            continue
        base: JsonPath = ("customProperties", index, "value")
        if not isinstance(prop.value, dict) or not prop.value:
            declaration.problem(
                base, "the lineage property must map output columns to upstream columns", EXAMPLE
            )
            continue
        for column, refs in prop.value.items():
            _column(declaration, base, str(column), refs)
    return declaration.edges, declaration.problems


def _column(declaration: _Declaration, base: JsonPath, column: str, refs: Any) -> None:
    path: JsonPath = (*base, column)
    if column not in declaration.outputs:
        declaration.problem(
            path, f"lineage names output column {column!r}, which the contract does not have",
            _did_you_mean(column, declaration.outputs, "output columns"),
        )  # fmt: skip
        return
    if isinstance(refs, str):
        _reference(declaration, path, column, refs)
        return
    if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
        declaration.problem(path, f"the lineage of {column!r} must be a list of upstream columns", EXAMPLE)
        return
    for position, ref in enumerate(refs):
        _reference(declaration, (*path, position), column, ref)


def _reference(declaration: _Declaration, path: JsonPath, column: str, ref: str) -> None:
    """``<input product id>.<column>`` or ``<input port>.<column>``, checked, as an edge."""
    parts = ref.split(".")
    ports, products = declaration.ports, declaration.products
    if len(parts) >= 3 and ".".join(parts[:2]) in products:
        upstream, port, name = ".".join(parts[:2]), products[".".join(parts[:2])], ".".join(parts[2:])
    elif len(parts) >= 2 and parts[0] in ports:
        port, name = parts[0], ".".join(parts[1:])
        upstream = ports[port].product
    elif len(parts) >= 3:
        wanted = ".".join(parts[:2])
        declaration.problem(
            path, f"lineage names {wanted}, which is not an input of this product",
            _did_you_mean(wanted, list(products), "input products") + " (or add an input port reading it)",
        )  # fmt: skip
        return
    else:
        declaration.problem(
            path, f"{ref!r} is neither <input product id>.<column> nor <input port>.<column>",
            f"input ports: {', '.join(sorted(ports)) or 'none'}",
        )  # fmt: skip
        return
    known = declaration.upstream_columns(upstream) if upstream else None
    if known is not None and name not in known:
        declaration.problem(
            path, f"lineage names column {name!r} of {upstream}, which has no such column",
            _did_you_mean(name, known, f"columns of {upstream}"),
        )  # fmt: skip
        return
    declaration.edges.append(ColumnEdge(column, port, upstream, name, "declared", TRANSFORMATION))


def _did_you_mean(wanted: str, choices: list[str], what: str) -> str:
    close = difflib.get_close_matches(wanted, choices, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"{what}: {', '.join(sorted(choices)[:12]) or 'none'}"
