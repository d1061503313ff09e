#!/usr/bin/env bash
# Install everything the app and its checks need, from the lock files. Idempotent and fast when
# nothing changed: each environment records the hash of the lock it was built from.
# Needs: Python 3.11, Node 20+, npm and the package registries. No AWS credentials, no Docker.
# Flags: --lock recompiles the lock files first; --tests also ensures a Java 17+ runtime (local Spark).
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

# PySpark 4 (the Glue job runs on local Spark in the tests) needs a Java 17+ runtime; it launches
# $JAVA_HOME/bin/java, else the java on PATH.
java_major() {
  local java=java
  [ -n "${JAVA_HOME:-}" ] && java="$JAVA_HOME/bin/java"
  local major=
  command -v "$java" >/dev/null && major=$("$java" -version 2>&1 | sed -n 's/.*version "\(1\.\)\{0,1\}\([0-9]*\).*/\2/p' | head -n1)
  echo "${major:-0}"
}
# Only the tests run Spark: `make synth` needs no Java.
if [ "${1:-}" = "--tests" ] && [ "$(java_major)" -lt 17 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "bootstrap: installing a Java 17+ runtime for PySpark (apt-get)" >&2
  apt-get update -qq
  # default-jre-headless is Java 17+ on Debian 12+ and Ubuntu 24.04+; Ubuntu 22.04's is 11.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends default-jre-headless
  if [ "$(java_major)" -lt 17 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless
  fi
fi
if [ "${1:-}" = "--tests" ] && [ "$(java_major)" -lt 17 ]; then
  found=$(java_major); [ "$found" = 0 ] && found=none
  echo "bootstrap: PySpark 4 needs Java 17 or newer (found: $found). Install it with" >&2
  echo "  sudo apt-get install -y default-jre-headless   # or openjdk-17-jre-headless on Ubuntu 22.04" >&2
  echo "or point JAVA_HOME at a JDK 17+, then run this again." >&2
  exit 1
fi

python_env .venv requirements-dev.lock
python_env .venv-checkov requirements-checkov.lock

if ! stamp_ok node_modules package-lock.json; then
  echo "bootstrap: installing the pinned CDK CLI (package-lock.json)" >&2
  npm ci --no-fund --no-audit --loglevel=error
  stamp node_modules package-lock.json
fi
