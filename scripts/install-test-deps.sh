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
# openssl makes the certificate of the e2e suite's https collector endpoint
# (scripts/jaeger.sh).
if ! command -v openssl >/dev/null; then
  echo "install-test-deps: installing openssl" >&2
  $SUDO apt-get install -y -q openssl >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q openssl >/dev/null
  }
fi
if ! python3 -c "import jaeger_client.thrift_gen.agent, thrift" 2>/dev/null; then
  echo "install-test-deps: installing jaeger-client from PyPI" >&2
  python3 -m pip install -q jaeger-client thrift
fi
# OpenTelemetry's Python propagators: independent W3C Trace Context, W3C
# baggage, B3 and Jaeger implementations for
# tests/interop_reference_clients.rs.
if ! python3 -c "import opentelemetry.baggage.propagation, opentelemetry.propagators.b3, opentelemetry.propagators.jaeger" 2>/dev/null; then
  echo "install-test-deps: installing opentelemetry-api and its B3 and Jaeger propagators from PyPI" >&2
  python3 -m pip install -q "opentelemetry-api>=1.20,<2" "opentelemetry-propagator-b3>=1.20,<2" \
    "opentelemetry-propagator-jaeger>=1.20,<2"
fi
echo "install-test-deps: thrift $(thrift --version | awk '{print $3}'), python jaeger-client and opentelemetry propagators ready" >&2

# The reference clients used by tests/interop_reference_clients.rs.
root="$(cd "$(dirname "$0")/.." && pwd)"
interop="$root/tests/interop"
if [ ! -d "$interop/node/node_modules/jaeger-client" ]; then
  echo "install-test-deps: npm jaeger-client" >&2
  (cd "$interop/node" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
java_stale() {
  local name
  for name in Peer Trace; do
    if [ ! -f "$interop/java/target/classes/$name.class" ] \
      || [ "$interop/java/$name.java" -nt "$interop/java/target/classes/$name.class" ]; then
      return 0
    fi
  done
  return 1
}
if java_stale; then
  echo "install-test-deps: Maven io.jaegertracing:jaeger-client" >&2
  (cd "$interop/java" && mvn -q -B dependency:copy-dependencies -DoutputDirectory=target/lib >/dev/null \
    && mkdir -p target/classes && javac -d target/classes -cp "target/lib/*" Peer.java Trace.java)
fi
mkdir -p "$root/target/interop"
if [ ! -x "$root/target/interop/go-peer" ] || [ -n "$(find "$interop/go" -name '*.go' -newer "$root/target/interop/go-peer")" ]; then
  echo "install-test-deps: Go github.com/uber/jaeger-client-go" >&2
  (cd "$interop/go" && GOFLAGS=-mod=mod GOTOOLCHAIN=local GOSUMDB=off go build -o "$root/target/interop/go-peer" .)
fi
echo "install-test-deps: interop peers ready (python, node, java, go)" >&2
