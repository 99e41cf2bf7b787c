#!/usr/bin/env bash
# Runs the real Jaeger v2 (built from the Go module proxy by
# scripts/build-jaeger.sh, cached) on 127.0.0.1 with in-memory storage.
#   scripts/jaeger.sh start   build if needed, start, wait until it answers
#   scripts/jaeger.sh stop    stop it
#   scripts/jaeger.sh status  say whether it runs
# State (pid, log) lives under target/jaeger/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
state="$root/target/jaeger"
pidfile="$state/jaeger.pid"
mkdir -p "$state"

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
# Whether process $1 has exited: gone, or a zombie (whose ports are closed;
# where nothing reaps orphans, it stays one). Waits up to 10 s for it.
exited() { case "$(ps -o stat= -p "$1" 2>/dev/null || true)" in "" | Z*) return 0 ;; esac; return 1; }
wait_exit() { for _ in $(seq 100); do exited "$1" && return 0; sleep 0.1; done; return 1; }

case "${1:-}" in
  start)
    if running; then echo "jaeger: already running (pid $(cat "$pidfile"))"; exit 0; fi
    # Another instance (from another checkout) would answer the readiness
    # probe below while this one fails to bind its ports.
    if curl -s -o /dev/null "http://127.0.0.1:16686/api/services" 2>/dev/null; then
      echo "jaeger: something already listens on 127.0.0.1:16686 (a Jaeger of another checkout?); stop it first" >&2
      exit 1
    fi
    bin="$("$root/scripts/build-jaeger.sh")"
    # The secured collector endpoint's certificate, for 127.0.0.1 and
    # localhost, issued by a private CA (ca.pem, which the tests trust);
    # made once.
    tls="$state/tls"
    if [ ! -s "$tls/cert.pem" ] || [ ! -s "$tls/key.pem" ] || [ ! -s "$tls/ca.pem" ]; then
      mkdir -p "$tls"
      ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
      openssl req -x509 $ec -keyout "$tls/ca-key.pem" -out "$tls/ca.pem" -days 3650 \
        -subj "/CN=jaeger-tracer e2e CA" 2>/dev/null
      openssl req $ec -keyout "$tls/key.pem" -out "$tls/server.csr" -subj "/CN=localhost" 2>/dev/null
      printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
        >"$tls/server.ext"
      openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca-key.pem" \
        -CAcreateserial -days 3650 -extfile "$tls/server.ext" -out "$tls/cert.pem" 2>/dev/null
    fi
    # From the root: the config names e2e/sampling-strategies.json.
    # OTEL_TRACES_SAMPLER=always_off: Jaeger's traces of its own queries
    # would go to an OTLP endpoint this configuration does not have, and
    # at SIGTERM it waited up to ~20 s on exporting them.
    (cd "$root" && OTEL_TRACES_SAMPLER=always_off exec nohup "$bin" --config e2e/jaeger-loopback.yaml >"$state/jaeger.log" 2>&1) &
    echo $! >"$pidfile"
    for _ in $(seq 1 150); do
      if running && curl -sf "http://127.0.0.1:16686/api/services" >/dev/null 2>&1; then
        echo "jaeger: ready (pid $(cat "$pidfile")), query on http://127.0.0.1:16686"
        exit 0
      fi
      if ! running; then echo "jaeger: exited during start; log:" >&2; cat "$state/jaeger.log" >&2; exit 1; fi
      sleep 0.2
    done
    echo "jaeger: did not answer within 30 s; log:" >&2; cat "$state/jaeger.log" >&2; exit 1
    ;;
  stop)
    # Waits for the process to have exited, so that its ports are free for
    # whatever starts next. It exits at once; after 10 s it is killed
    # (in-memory storage: nothing to lose).
    if running; then
      pid="$(cat "$pidfile")"
      kill "$pid"
      if ! wait_exit "$pid"; then
        echo "jaeger: still running 10 s after SIGTERM; killed" >&2
        kill -9 "$pid" 2>/dev/null || true
        wait_exit "$pid" || true
      fi
    fi
    rm -f "$pidfile"
    echo "jaeger: stopped"
    ;;
  status)
    if running; then echo "jaeger: running (pid $(cat "$pidfile"))"; else echo "jaeger: not running"; exit 1; fi
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
