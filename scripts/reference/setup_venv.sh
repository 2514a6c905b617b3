#!/usr/bin/env bash
# Creates (or refreshes) the reference virtualenv at scripts/reference/.venv from requirements.txt.
# Idempotent: an existing venv is reused and pip only installs what is missing or at another version.
# Usage: bash scripts/reference/setup_venv.sh        (then: scripts/reference/.venv/bin/python ...)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
  echo "creating $venv with $("$python" --version)"
  "$python" -m venv "$venv"
fi

# Skip the network entirely when every pinned requirement is already satisfied.
if "$venv/bin/python" - "$here/requirements.txt" <<'PY'
import sys
from importlib import metadata
ok = True
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, version = line.split("==")
    try:
        ok &= metadata.version(name) == version
    except metadata.PackageNotFoundError:
        ok = False
sys.exit(0 if ok else 1)
PY
then
  echo "reference venv is up to date: $venv"
  exit 0
fi

"$venv/bin/python" -m pip install --upgrade pip
"$venv/bin/python" -m pip install -r "$here/requirements.txt"
echo "reference venv ready: $venv"
