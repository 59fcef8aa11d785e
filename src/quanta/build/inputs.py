"""A build's inputs: the published snapshots of upstream products (honouring version pins) and source
reads past their cursors, each with the fingerprint that tells whether anything changed."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quanta.build.context import BuildContext
from quanta.build.transforms import BuildError
from quanta.engines import Input
from quanta.registry.stores.publishing import PublishRecord
from quanta.spec.loader import LoadedProduct


def read_inputs(
    ctx: BuildContext, loaded: LoadedProduct, last: PublishRecord | None
) -> tuple[dict[str, Input], dict[str, Any], dict[str, Any]]:
    import pyarrow as pa

    from quanta.build.sources import reader_for
    from quanta.engines.base import ArrowInput

    inputs: dict[str, Input] = {}
    meta: dict[str, Any] = {}
    cursors: dict[str, Any] = {}
    for port in loaded.product.input_ports or []:
        if port.product:
            publish = _upstream_publish(ctx, port.product, port.version)
            upstream_port = port.port or next(iter(publish.snapshots))
            snapshot = publish.snapshots[upstream_port]
            inputs[port.name] = ctx.warehouse.scan(port.product, upstream_port, snapshot)
            meta[port.name] = {"product": port.product, "version": publish.version, "snapshot": snapshot}
        elif port.source:
            since = (last.cursors.get(port.name) if last else None) if port.source.cursor else None
            scan = reader_for(port.source).read(port.source, root=ctx.root, since=since)
            if isinstance(scan, ArrowInput) and not isinstance(scan.data, pa.Table):
                # A database stream can be read once; the build reads inputs more than once.
                scan = ArrowInput(scan.data.read_all())
            inputs[port.name] = scan
            meta[port.name] = _source_fingerprint(scan, since)
            if port.source.cursor:
                cursors[port.name] = since
    return inputs, meta, cursors


def _upstream_publish(ctx: BuildContext, product_id: str, pin: str | None) -> PublishRecord:
    from quanta.registry.versions import matching

    publishes = ctx.registry.publishes(product_id)
    if pin and pin != "latest":
        publishes = matching(publishes, pin)
    if not publishes:
        raise BuildError(
            f"input product {product_id} has no published version" + (f" matching {pin}" if pin else ""),
            hint=f"build it first: quanta build +{product_id}" if not pin else "relax the version pin",
        )
    return publishes[-1]


def _source_fingerprint(scan: Input, since: Any) -> dict[str, Any]:
    from quanta.engines.base import FileScan

    if isinstance(scan, FileScan):
        stats = [(f, Path(f).stat().st_size, Path(f).stat().st_mtime_ns) for f in scan.files]
        return {"files": hashlib.sha256(json.dumps(stats).encode()).hexdigest(), "since": str(since)}
    # A database cannot be fingerprinted without reading it: it always counts as changed.
    return {"read_at": datetime.now(UTC).isoformat(), "since": str(since)}
