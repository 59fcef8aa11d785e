"""Plan builds: a DAG of products from their input ports, selected dbt-style, in dependency layers."""

from __future__ import annotations

from collections.abc import Iterable

from quanta.errors import NotFoundError
from quanta.spec.loader import LoadedProduct


def upstream(product: LoadedProduct) -> set[str]:
    return {p.product for p in product.product.input_ports or [] if p.product}


def select(products: list[LoadedProduct], selectors: Iterable[str] = ()) -> set[str]:
    """Ids chosen by selectors: ``sales.orders``, ``sales`` / ``sales.*`` (a domain), ``+id`` (with
    everything upstream), ``id+`` (with everything downstream). No selector: everything."""
    by_id = {p.product.id: p for p in products}
    chosen: set[str] = set()
    wanted = list(selectors)
    if not wanted:
        return set(by_id)
    for selector in wanted:
        with_up, with_down = selector.startswith("+"), selector.endswith("+")
        core = selector.strip("+")
        if core in by_id:
            base = {core}
        else:
            domain = core.removesuffix(".*")
            base = {pid for pid in by_id if pid.split(".")[0] == domain}
        if not base:
            raise NotFoundError(
                f"selector {selector!r} matches no product in the workspace",
                hint="an id (sales.orders), a domain (sales), +id (with upstream) or id+ (with downstream)",
            )
        chosen |= base
        if with_up:
            chosen |= _closure(base, lambda pid: upstream(by_id[pid]) & set(by_id))
        if with_down:
            chosen |= _closure(base, lambda pid: {q for q, p in by_id.items() if pid in upstream(p)})
    return chosen


def _closure(start: set[str], step: object) -> set[str]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        current = todo.pop()
        for nxt in step(current):  # type: ignore[operator]
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def layers(products: list[LoadedProduct], chosen: set[str]) -> list[list[LoadedProduct]]:
    """Chosen products in dependency order, grouped so each layer only needs earlier layers."""
    by_id = {p.product.id: p for p in products if p.product.id in chosen}
    done: set[str] = set()
    out: list[list[LoadedProduct]] = []
    while len(done) < len(by_id):
        ready = [
            p for pid, p in sorted(by_id.items()) if pid not in done and upstream(p) & set(by_id) <= done
        ]
        if not ready:  # validation rejects cycles; this guards direct callers
            raise NotFoundError("input ports form a cycle", hint="run quanta validate")
        out.append(ready)
        done |= {p.product.id for p in ready}
    return out
