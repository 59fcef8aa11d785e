"""Governed query streams as HTTP responses: the body is written batch by batch as the engine computes
it, and a client that hangs up stops the engine (the stream is closed)."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from fastapi.responses import StreamingResponse

if TYPE_CHECKING:
    from quanta.mesh import GovernedStream

ARROW_STREAM = "application/vnd.apache.arrow.stream"


def streaming_response(
    stream: GovernedStream, chunks: Iterator[bytes], media_type: str, headers: dict[str, str] | None = None
) -> StreamingResponse:
    """``chunks`` of ``stream`` as the response body. Call :meth:`GovernedStream.started` first, so
    that an engine failure is still a problem response; a failure after the first batch can only end
    the body early (the client sees a truncated document)."""
    import anyio

    async def body() -> AsyncIterator[bytes]:
        try:
            while True:
                chunk = await anyio.to_thread.run_sync(next, chunks, None)
                if chunk is None:
                    return
                if chunk:
                    yield chunk
        finally:
            stream.close()  # also when the client went away: the engine stops, the cursor is released

    audit = ",".join(str(i) for i in stream.audit_ids)
    return StreamingResponse(
        body(), media_type=media_type, headers={"X-Quanta-Audit-Ids": audit, **(headers or {})}
    )


def json_chunks(stream: GovernedStream) -> Iterator[bytes]:
    """The JSON document of ``POST /query`` (columns, masked, rows, row_count, receipt), a chunk per
    batch; the receipt comes last, once the last row has been read."""
    head = {"columns": stream.schema.names, "masked": stream.masked}
    yield (json.dumps(head, ensure_ascii=False)[:-1] + ',"rows":[').encode()
    rows = 0
    for batch in stream:
        lines = [
            json.dumps({k: plain_json(v) for k, v in row.items()}, ensure_ascii=False, allow_nan=False)
            for row in batch.to_pylist()
        ]
        if lines:
            yield (("," if rows else "") + ",".join(lines)).encode()
        rows += len(lines)
    receipt = json.dumps(stream.receipt, ensure_ascii=False)
    yield f'],"row_count":{rows},"receipt":{receipt}}}'.encode()


def plain_json(value: Any) -> Any:
    """A value as JSON has it: numbers, text, lists, objects; anything else as text (dates, decimals);
    NaN and infinities (which JSON lacks) as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    return str(value)
