"""The SDK's remote mode reads data over Arrow Flight SQL when the server serves it: ``quanta serve
--flight-port`` with tokens required, a user's SDK with an API token, the same governed answers (masks,
denials with the CLI's hint, limits, streaming) as over HTTP, and the audit naming the interface."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import quanta
from quanta.errors import AuthenticationError, PermissionDenied, QuantaError
from quanta.mesh import Mesh
from tests.conftest import mesh_as
from tests.test_pgwire import free_port, listening, serving, token_for

pytest.importorskip("adbc_driver_flightsql.dbapi")

MASKED = "select customer_id, name, phone from customers.customers order by customer_id limit 5"


@pytest.fixture(scope="module")
def ports(granted_demo: Path) -> Iterator[tuple[int, int]]:
    """``quanta serve`` with tokens required: (web port, Flight port)."""
    web, flight = free_port(), free_port()
    options = ("--port", str(web), "--flight-port", str(flight), "--require-token")
    for _ in serving(granted_demo, *options, command=("serve",)):
        listening(web)
        listening(flight)
        yield web, flight


def _last_query(root: Path, actor: str) -> dict[str, object]:
    entries = [e for e in Mesh.open(root).audit_log(limit=50) if e.actor == actor and e.kind == "query"]
    return dict(entries[-1].details)


def test_the_sdk_reads_over_flight_what_http_and_the_service_answer(
    granted_demo: Path, ports: tuple[int, int]
) -> None:
    web, flight = ports
    token = token_for(granted_demo, "ana")
    remote = quanta.connect(f"http://127.0.0.1:{web}", token=token)
    assert remote.backend.flight == f"grpc://127.0.0.1:{flight}"  # type: ignore[attr-defined]
    table = remote.sql(MASKED)
    assert _last_query(granted_demo, "ana")["interface"] == "flight"
    assert table.to_pylist() == mesh_as(granted_demo, "ana").query(MASKED).to_pylist()  # masked alike
    over_http = quanta.connect(f"http://127.0.0.1:{web}", token=token, transport="http").sql(MASKED)
    assert _last_query(granted_demo, "ana")["interface"] == "http"
    assert over_http.to_pylist() == table.to_pylist()
    assert remote.sql("select * from finance.revenue_by_nation", limit=7).num_rows == 7
    streamed = list(remote.iter_batches("select * from finance.revenue_by_nation", limit=3))
    assert sum(batch.num_rows for batch in streamed) == 3


def test_over_flight_refusals_keep_their_kind_message_and_hint(
    granted_demo: Path, ports: tuple[int, int]
) -> None:
    web, _ = ports
    remote = quanta.connect(f"http://127.0.0.1:{web}", token=token_for(granted_demo, "ana"))
    with pytest.raises(PermissionDenied, match=r"access denied to sales\.orders") as denied:
        remote.sql("select * from sales.orders")
    assert denied.value.hint and "quanta access request sales.orders" in denied.value.hint
    with pytest.raises(QuantaError, match=r"unknown product 'nope\.nothing'") as unknown:
        remote.sql("select * from nope.nothing")
    assert unknown.value.hint and "quanta ls" in unknown.value.hint
    with pytest.raises(QuantaError, match="only read-only queries"):
        remote.sql("insert into sales.orders values (1)")
    admin = Mesh.open(granted_demo)
    revoked, record = admin.create_token("sdk-revoked", principal_id="ana")
    stale = quanta.connect(f"http://127.0.0.1:{web}", token=revoked)
    assert stale.backend.flight is not None  # type: ignore[attr-defined]
    admin.revoke_token(record.id)
    with pytest.raises(AuthenticationError, match="was revoked"):
        stale.sql("select 1 as x from finance.revenue_by_nation")


def test_transport_flight_says_why_it_cannot(granted_demo: Path) -> None:
    web = free_port()
    for _ in serving(granted_demo, "--port", str(web), "--require-token", command=("serve",)):
        listening(web)
        token = token_for(granted_demo, "ana")
        auto = quanta.connect(f"http://127.0.0.1:{web}", token=token)
        assert auto.sql("select 1 as x from finance.revenue_by_nation limit 1").num_rows == 1  # over HTTP
        only_flight = quanta.connect(f"http://127.0.0.1:{web}", token=token, transport="flight")
        with pytest.raises(QuantaError, match="does not serve Arrow Flight SQL") as refused:
            only_flight.sql("select 1 as x from finance.revenue_by_nation")
        assert refused.value.hint and "--flight-port" in refused.value.hint
    with pytest.raises(QuantaError, match="unknown transport 'grpc'"):
        quanta.connect(f"http://127.0.0.1:{web}", transport="grpc")
