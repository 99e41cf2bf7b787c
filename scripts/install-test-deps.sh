#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain; skips what is
# already there. Debian's thrift-compiler regenerates src/thrift/ for the
# freshness check; PyPI's jaeger-client is the second, official decoder.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
if ! command -v thrift >/dev/null; then
  echo "install-test-deps: installing thrift-compiler" >&2
  $SUDO apt-get install -y -q thrift-compiler >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q thrift-compiler >/dev/null
  }
fi
if ! python3 -c "import jaeger_client.thrift_gen.agent, thrift" 2>/dev/null; then
  echo "install-test-deps: installing jaeger-client from PyPI" >&2
  python3 -m pip install -q jaeger-client thrift
fi
echo "install-test-deps: thrift $(thrift --version | awk '{print $3}'), python jaeger-client ready" >&2
