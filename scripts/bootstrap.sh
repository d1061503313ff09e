#!/usr/bin/env bash
# Install everything the app and its checks need, from the lock files. Idempotent and fast when
# nothing changed: each environment records the hash of the lock it was built from.
# Needs: Python 3.11, Node 20+, npm and the package registries. No AWS credentials, no Docker.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.8
SYSTEM_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
# Trust the operating system's certificate store (uv otherwise uses its own bundled roots), so
# setup also works behind a TLS-inspecting proxy whose CA is installed system-wide.
export UV_SYSTEM_CERTS=1
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$SYSTEM_CA_BUNDLE" ]; then
  export NODE_EXTRA_CA_CERTS="$SYSTEM_CA_BUNDLE"
fi
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3

stamp_ok() { [ -f "$1/.lock-hash" ] && [ "$(cat "$1/.lock-hash")" = "$(sha256sum "$2" | cut -d' ' -f1)" ]; }
stamp() { sha256sum "$2" | cut -d' ' -f1 >"$1/.lock-hash"; }

uv_bin() {
  if command -v uv >/dev/null && [ "$(uv --version | cut -d' ' -f2)" = "$UV_VERSION" ]; then
    command -v uv
    return
  fi
  if [ ! -x .tools/bin/uv ]; then
    echo "bootstrap: installing uv $UV_VERSION into .tools/" >&2
    "$PYTHON" -m venv .tools
    .tools/bin/pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  fi
  echo .tools/bin/uv
}

python_env() { # <venv dir> <lock file>
  if stamp_ok "$1" "$2"; then return; fi
  local uv
  uv=$(uv_bin)
  echo "bootstrap: installing $2 into $1/" >&2
  "$uv" venv --quiet --allow-existing --python "$PYTHON" "$1"
  VIRTUAL_ENV="$PWD/$1" "$uv" pip sync --quiet --require-hashes "$2"
  stamp "$1" "$2"
}

if [ "${1:-}" = "--lock" ]; then # recompile the locks after editing requirements*.in / .txt
  uv=$(uv_bin)
  for name in dev checkov; do
    "$uv" pip compile --quiet --python-version 3.11 --generate-hashes \
      "requirements-$name.in" -o "requirements-$name.lock"
  done
fi

python_env .venv requirements-dev.lock
python_env .venv-checkov requirements-checkov.lock

if ! stamp_ok node_modules package-lock.json; then
  echo "bootstrap: installing the pinned CDK CLI (package-lock.json)" >&2
  npm ci --no-fund --no-audit --loglevel=error
  stamp node_modules package-lock.json
fi
