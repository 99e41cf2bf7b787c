#!/usr/bin/env bash
# Builds the real Jaeger v2 all-in-one (`cmd/jaeger`) from the Go module
# proxy and caches the binary; does nothing when the binary is already there.
# Prints the binary's path on stdout.
#
# The module github.com/jaegertracing/jaeger at v1.76.0 is the Jaeger v2.13.0
# release. It is built as the main module from a copy of its own source, so
# its go.mod `replace` of github.com/Shopify/sarama applies and its go.sum
# verifies every dependency (the checksum database is not always reachable
# from here; go.sum makes it unnecessary).
set -euo pipefail
version="${JAEGER_MODULE_VERSION:-v1.76.0}"
cache="${JAEGER_CACHE_DIR:-$HOME/.cache/jaeger-tracer}/jaeger-$version"
bin="$cache/jaeger"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "build-jaeger: Go is not installed" >&2; exit 1; }
# go.sum (the module's own, or ours for the peer) verifies every module it
# lists; the checksum database is not reachable from every machine here.
export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOSUMDB=off
echo "build-jaeger: downloading github.com/jaegertracing/jaeger@$version" >&2
src="$(go mod download -json "github.com/jaegertracing/jaeger@$version" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
work="$(mktemp -d)"
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cp -r "$src/." "$work/"
chmod -R u+w "$work"
cd "$work"
echo "build-jaeger: compiling cmd/jaeger (several minutes on 2 cores)" >&2
mkdir -p "$cache"
go build -trimpath -o "$bin.tmp" ./cmd/jaeger >&2
mv "$bin.tmp" "$bin"
echo "$bin"
