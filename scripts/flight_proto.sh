#!/usr/bin/env bash
# Generate the Flight SQL protobuf module (flight_sql_pb2.py and its .pyi) from the .proto subset in
# src/quanta/interfaces/flight/, with grpcio-tools from PyPI in a throwaway virtualenv (it is not a
# dependency: the generated code needs only the protobuf runtime, of the same major version as the
# protoc that generated it; pyproject.toml's protobuf range says which).
set -euo pipefail
cd "$(dirname "$0")/.."

here=src/quanta/interfaces/flight
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

.venv/bin/uv venv --quiet "$work/venv" --python 3.11
VIRTUAL_ENV="$work/venv" .venv/bin/uv pip install --quiet "grpcio-tools${GRPCIO_TOOLS:+==$GRPCIO_TOOLS}"
"$work/venv/bin/python" -m grpc_tools.protoc --version
"$work/venv/bin/python" -m grpc_tools.protoc -I "$here" --python_out="$here" --pyi_out="$here" "$here/flight_sql.proto"
