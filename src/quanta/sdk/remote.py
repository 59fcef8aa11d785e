"""The SDK over HTTP: a ``quanta serve`` server, an API token; data as Arrow, over Flight SQL when the
server serves it (``quanta.sdk.flight``), else as an Arrow IPC stream over HTTP."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from quanta.errors import AuthenticationError, NotFoundError, PermissionDenied, QuantaError

if TYPE_CHECKING:
    import httpx
    import pyarrow as pa

    from quanta.sdk.client import Batches

_ERRORS: dict[int, type[QuantaError]] = {401: AuthenticationError, 403: PermissionDenied, 404: NotFoundError}


class RemoteBackend:
    def __init__(self, url: str, token: str | None, transport: str = "auto") -> None:
        import httpx

        from quanta.sdk.flight import TRANSPORTS

        if transport not in TRANSPORTS:
            raise QuantaError(f"unknown transport {transport!r}", hint=f"use {', '.join(TRANSPORTS)}")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=url.rstrip("/") + "/api/v1", headers=headers, timeout=300)
        self._token = token
        self._transport = transport
        self._flight: str | None = None
        self._asked = transport == "http"

    @property
    def flight(self) -> str | None:
        """Where data comes from over Arrow Flight SQL (None: over HTTP): the server's Flight endpoint,
        when it runs one and the ADBC Flight SQL driver is installed (asked once)."""
        from quanta.sdk.flight import driver_installed

        if self._asked:
            return self._flight
        self._asked = True
        if not driver_installed():
            if self._transport == "flight":
                raise QuantaError(
                    "transport='flight' needs the ADBC Flight SQL driver", hint="pip install 'quanta[flight]'"
                )
            return None
        response = self._http.get("/endpoints")
        found = response.json().get("flight") if response.status_code == 200 else None
        if found is None and self._transport == "flight":
            raise QuantaError(
                "this server does not serve Arrow Flight SQL",
                hint="start it with 'quanta serve --flight-port 8815', or connect(..., transport='http')",
            )
        self._flight = found
        return found

    def get(self, path: str, **params: Any) -> Any:
        response = self._http.get(path, params=params)
        raise_problem(response)
        return response.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self._http.post(path, json=body)
        raise_problem(response)
        return response.json()

    def arrow(self, sql: str, limit: int | None) -> pa.Table:
        import pyarrow as pa

        if self.flight is not None:
            found = self.batches(sql, limit)
            try:
                return pa.Table.from_batches(list(found.batches), found.schema)
            finally:
                found.close()
        response = self._http.post("/query", json={"sql": sql, "limit": limit, "format": "arrow"})
        raise_problem(response)
        return pa.ipc.open_stream(response.content).read_all()

    def batches(self, sql: str, limit: int | None) -> Batches:
        """The server's Arrow IPC stream, read as it arrives; closing it early hangs up, which stops
        the query on the server."""
        import pyarrow as pa

        from quanta.sdk.client import Batches

        if (location := self.flight) is not None:
            from quanta.sdk.flight import flight_batches

            return flight_batches(location, self._token, sql, limit)
        body = {"sql": sql, "limit": limit, "format": "arrow"}
        request = self._http.build_request("POST", "/query", json=body)
        response = self._http.send(request, stream=True)
        if response.status_code >= 400:
            response.read()
            response.close()
            raise_problem(response)
        source = pa.ipc.open_stream(
            pa.PythonFile(io.BufferedReader(_ResponseBody(response), 1 << 16), mode="r")
        )
        return Batches(source.schema, iter(source), response.close)


def raise_problem(response: Any) -> None:
    """Turn a problem+json answer back into the error the server raised (same message and hint)."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text[:500]}
    error = _ERRORS.get(response.status_code, QuantaError)
    raise error(str(body.get("detail") or body.get("title") or response.status_code), hint=body.get("hint"))


class _ResponseBody(io.RawIOBase):
    """A streamed HTTP response body as a readable file (what Arrow's stream reader reads)."""

    def __init__(self, response: httpx.Response) -> None:
        self._chunks = response.iter_bytes()
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._left:
            self._left = next(self._chunks, b"")
            if not self._left:
                return 0
        size = min(len(buffer), len(self._left))
        buffer[:size] = self._left[:size]
        self._left = self._left[size:]
        return size
