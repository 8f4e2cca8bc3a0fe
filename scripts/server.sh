#!/usr/bin/env bash
# Starts the capture server (STARTTLS + AUTH, test CA) in the background for the demo; with
# POLYMAILER_MTA=postfix a real Postfix + Dovecot (tests/servers/postfix_server.py) instead.
#   scripts/server.sh start OUTDIR USER:PASS   -> prints the port; PID in OUTDIR/server.pid
#   scripts/server.sh stop OUTDIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
case "$1" in
start)
  out=$2
  mkdir -p "$out"
  server=capture_server.py
  [ "${POLYMAILER_MTA:-}" = postfix ] && server=postfix_server.py
  "$root/.venv/bin/python" "$root/tests/servers/$server" --detached --outdir "$out" \
    --certs "$root/tests/.state/certs" --starttls --user "$3" < /dev/null > "$out/server.out" 2> "$out/server.err" &
  echo $! > "$out/server.pid"
  for _ in $(seq 100); do
    if read -r word port < "$out/server.out" 2>/dev/null && [ "$word" = READY ]; then
      echo "$port"
      exit 0
    fi
    sleep 0.1
  done
  echo "capture server did not start:" >&2
  cat "$out/server.err" >&2
  exit 1
  ;;
stop)
  pid=$(cat "$2/server.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  ;;
esac
