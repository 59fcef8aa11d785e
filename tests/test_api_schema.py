"""schemathesis over the published OpenAPI document, against a real server on the demo mesh: generated
requests (valid and invalid, every operation, stateful sequences) never get a 5xx, and every answer
matches what the document declares: status codes, content types, bodies, headers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from quanta.mesh import Mesh
from tests.conftest import serve_app as serve

pytestmark = pytest.mark.slow
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
        "unsupported_method",
    ]
)
# Left out on purpose: positive_data_acceptance (a string that is not SQL is schema-valid but rightly
# refused with 400) and the negative-data checks that expect a 4xx for inputs our schema cannot
# express as invalid.


@pytest.fixture(scope="module")
def local_server(built_demo: Path) -> Iterator[str]:
    yield from serve(Mesh.open(built_demo), server_mode=False)


def test_no_server_errors_and_responses_match_the_openapi_document(local_server: str, tmp_path: Path) -> None:
    schemathesis = Path(sys.executable).with_name("schemathesis")
    command = [str(schemathesis), "run", f"{local_server}/openapi.json", "--checks", CHECKS]
    command += ["--max-examples", "40", "--seed", "20261121", "--no-color"]
    # A forced build takes seconds, more on a loaded CI machine: a slow answer is not a network error
    command += ["--request-timeout", "120"]
    # schemathesis keeps its reports in ./.schemathesis: run it in a scratch folder
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-6000:]
