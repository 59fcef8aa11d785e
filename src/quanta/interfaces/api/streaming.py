"""Governed query streams as HTTP responses: the body is written batch by batch as the engine computes
it, and a client that hangs up stops the engine (the stream is closed)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

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
