#!/usr/bin/env bash
# Install the peers Quanta's contract engine is compared with (tests/test_peer_parity.py, `python -m
# benchmarks contracts`), each in its own venv under .peers/ so their dependencies never meet Quanta's:
#
#   .peers/datacontract  datacontract-cli with the duckdb extra (since 0.11.4 DuckDB, which
#                        `datacontract test` needs for local CSV/Parquet/JSON servers, is optional)
#   .peers/soda          soda-duckdb: Soda Core v4 with its DuckDB data source
#   .peers/gx            great_expectations with the arrow extra (pandas reads Parquet through pyarrow);
#                        optional: when it does not install, the reason is kept in .peers/gx.failed and
#                        the other peers are still usable
#
# Idempotent: a venv whose stamp holds the same pin is left alone. Versions are pinned so that parity
# results and benchmark ratios stay comparable between runs; bump them here deliberately.
# Exit status: 0 when datacontract-cli and Soda are installed, 2 when the package index is unreachable,
# 1 on any other failure.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEERS="$ROOT/.peers"
PYTHON="${PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

DATACONTRACT_PIN="datacontract-cli[duckdb]==1.2.8"
SODA_PIN="soda-duckdb==4.28.0"
GX_PIN="great_expectations[arrow]==1.24.1"

started=$(date +%s%N)
mkdir -p "$PEERS"

stamp_matches() { [ -x "$PEERS/$1/bin/python" ] && [ "$(cat "$PEERS/$1/.installed" 2>/dev/null)" = "$2" ]; }

# Whether the package index answers (asked only after an install failed, to tell the two causes apart).
index_reachable() {
  "$PYTHON" - <<'EOF'
import os
import sys
import urllib.request

url = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/") + "/datacontract-cli/"
try:
    urllib.request.urlopen(url, timeout=20).close()
except Exception as exc:
    sys.exit(f"{url}: {exc}")
EOF
}

# fail NAME PIN: exit 2 when the index is unreachable, 1 otherwise.
fail() {
  if ! index_reachable; then
    echo "error: the Python package index is unreachable; cannot install $2" >&2
    exit 2
  fi
  echo "error: $2 did not install (log: $PEERS/$1.log)" >&2
  exit 1
}

# install NAME PIN: a fresh venv in .peers/NAME with PIN; the stamp is written only on success.
install() {
  local name=$1 pin=$2 venv="$PEERS/$1"
  if stamp_matches "$name" "$pin"; then
    echo "  $name: $pin already installed"
    return 0
  fi
  echo "  $name: installing $pin ..."
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv" >"$PEERS/$name.log" 2>&1 || return 1
  "$venv/bin/python" -m pip install --quiet --upgrade pip >>"$PEERS/$name.log" 2>&1 || true
  if ! "$venv/bin/python" -m pip install --quiet "$pin" >>"$PEERS/$name.log" 2>&1; then
    tail -n 20 "$PEERS/$name.log" >&2
    return 1
  fi
  echo "$pin" >"$venv/.installed"
}

echo "installing peers into $PEERS"
install datacontract "$DATACONTRACT_PIN" || fail datacontract "$DATACONTRACT_PIN"
install soda "$SODA_PIN" || fail soda "$SODA_PIN"
# Soda Core sends usage telemetry unless told not to: `python -m benchmarks contracts` sets this itself,
# by hand run `source .peers/soda.env` first.
echo "export SODA_CORE_TELEMETRY_ENABLED=false" >"$PEERS/soda.env"
if install gx "$GX_PIN"; then
  rm -f "$PEERS/gx.failed"
else
  { echo "$GX_PIN did not install:"; tail -n 20 "$PEERS/gx.log"; } >"$PEERS/gx.failed"
  rm -rf "$PEERS/gx"
  echo "  gx: not installed (reason in $PEERS/gx.failed)"
fi

echo "installed:"
for name in datacontract soda gx; do
  [ -x "$PEERS/$name/bin/python" ] || continue
  "$PEERS/$name/bin/python" - "$name" <<'EOF'
import sys
from importlib.metadata import version

packages = {
    "datacontract": ["datacontract-cli", "ibis-framework", "duckdb"],
    "soda": ["soda-duckdb", "soda-core", "duckdb"],
    "gx": ["great_expectations", "pandas", "pyarrow"],
}[sys.argv[1]]
found = []
for package in packages:
    try:
        found.append(f"{package} {version(package)}")
    except Exception:
        pass
print(f"  {sys.argv[1]:<12} " + ", ".join(found))
EOF
done
elapsed=$(( ($(date +%s%N) - started) / 100000000 ))
echo "peers ready in $((elapsed / 10)).$((elapsed % 10)) s"
