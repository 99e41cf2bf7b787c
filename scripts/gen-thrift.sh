#!/usr/bin/env bash
# Regenerates src/thrift/{jaeger,agent}.rs from thrift-idl/ with the Thrift
# compiler (Debian's thrift-compiler 0.17). The generated files refer to each
# other as `crate::jaeger`; they live in `crate::thrift`, so those paths are
# rewritten. With --check, generates into a temporary folder and fails when
# the committed files differ.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/src/thrift"
mode="${1:-write}"
command -v thrift >/dev/null || { echo "gen-thrift: the 'thrift' compiler is not installed (apt-get install thrift-compiler)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for idl in jaeger agent; do
  thrift -out "$tmp" --gen rs "$root/thrift-idl/$idl.thrift"
  sed -i -e 's/^use crate::jaeger::jaeger;/use crate::thrift::jaeger;/' "$tmp/$idl.rs"
done
if [ "$mode" = "--check" ]; then
  for idl in jaeger agent; do
    if ! diff -u "$out/$idl.rs" "$tmp/$idl.rs"; then
      echo "gen-thrift: src/thrift/$idl.rs differs from a fresh generation; run scripts/gen-thrift.sh" >&2
      exit 1
    fi
  done
  echo "gen-thrift: generated code is up to date"
else
  cp "$tmp/jaeger.rs" "$tmp/agent.rs" "$out/"
  echo "gen-thrift: wrote src/thrift/jaeger.rs and src/thrift/agent.rs"
fi
