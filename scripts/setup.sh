#!/usr/bin/env bash
# Installs what the demo, tests and benchmarks need on a fresh machine; quick when all is there.
#   Debian packages: postfix (smtp-sink, smtp-source), openssl
#   .venv: tests/requirements.txt (aiosmtpd, dkimpy, pytest, maturin, ruff)
#   bindings-node/node_modules comes from `make node` (npm ci)
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -x /usr/sbin/smtp-sink ] || need_apt+=(postfix)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v cc >/dev/null || need_apt+=(gcc)
command -v node >/dev/null || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

stamp=.venv/.requirements.sha
want=$(sha256sum tests/requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
  echo "$want" > "$stamp"
fi

tests/servers/make-certs.sh tests/.state/certs
