#!/usr/bin/env bash
# One command for the demo without Docker: builds (cached) and starts the
# real Jaeger on 127.0.0.1, runs frontend, api and worker in one process
# sending DEMO_REQUESTS (default 10) requests, and leaves Jaeger running so
# the traces can be browsed (query API and UI on http://127.0.0.1:16686).
# `scripts/jaeger.sh stop` stops it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/jaeger.sh" start
cd "$root"
JAEGER_AGENT_HOST=127.0.0.1 cargo run --example demo -- all
echo
echo "traces: http://127.0.0.1:16686/api/traces?service=frontend (UI: http://127.0.0.1:16686)"
