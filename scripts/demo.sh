#!/usr/bin/env bash
# make demo: sends the classic example from each language through the embedded capture server
# (STARTTLS + AUTH, generated CA) and prints what arrived. Exits non-zero if any did not.
# make demo-postfix: the same through a real Postfix (submission, Dovecot SASL, Maildir).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# One profile: the bindings are release builds, so the Rust example is too.
cargo build --release -q -p polymailer-example
make -s python node php
# `require('polymailer')` resolves to the freshly built package.
mkdir -p tests/.state/node_path && ln -sfn "$PWD/bindings-node" tests/.state/node_path/polymailer
export NODE_PATH=$PWD/tests/.state/node_path

out=tests/.state/demo
rm -rf "$out"
export SMTP_HOST=localhost SMTP_USER=user@example.com SMTP_PASS=yourpassword
export SMTP_CA_FILE=$PWD/tests/.state/certs/ca.pem
# starttls() verifies certificates; the classic snippets trust the local CA this way.
export SSL_CERT_FILE=$SMTP_CA_FILE
SMTP_PORT=$(scripts/server.sh start "$out" "$SMTP_USER:$SMTP_PASS")
export SMTP_PORT
trap 'scripts/server.sh stop "$out"' EXIT
echo "${POLYMAILER_MTA:-capture} server on localhost:$SMTP_PORT (STARTTLS + AUTH)"

failed=0
run() {
  local name=$1; shift
  printf '%-8s ' "$name"
  if ! "$@"; then echo "$name example FAILED"; failed=1; fi
}
run rust target/release/send
run python .venv/bin/python examples/python/send.py
run node node examples/node/send.js
run php php -d extension=target/release/libpolymailer.so examples/php/send.php

sleep 0.3
echo "What the server received:"
.venv/bin/python tests/tools/show_received.py "$out" 4 || failed=1
exit $failed
