#!/usr/bin/env bash
# Nodemailer's own transport-level tests against polymailer (the yardstick of issue #18).
#
#   NODEMAILER_SRC=/path/to/nodemailer-checkout scripts/peer-nodemailer.sh [polymailer|nodemailer]
#
# Nothing of Nodemailer is copied into this repository: its test/ directory is read from the
# checkout into a scratch directory (PEER_DIR, default /tmp/peer-nodemailer), smtp-server is
# installed there from npm, and the four modules the tests require are replaced by one-line
# re-exports of polymailer (`lib/nodemailer`, `lib/smtp-transport`, `lib/smtp-pool`,
# `lib/well-known`). With `nodemailer` as argument the checkout's own lib/ is used instead, for
# the same-run comparison. Prints passed/total per test file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-polymailer}
src=${NODEMAILER_SRC:?set NODEMAILER_SRC to a checkout of nodemailer/nodemailer}
work=${PEER_DIR:-/tmp/peer-nodemailer}/$mode
files=(
  test/nodemailer/list-headers-test.js
  test/nodemailer/get-test-message-url-test.js
  test/nodemailer/ethereal-tls-test.js
  test/smtp-transport/oauth2-provision-test.js
  test/smtp-transport/oauth2-listener-leak-test.js
  test/smtp-transport/smtp-tranport-test.js
  test/smtp-pool/smtp-pool-test.js
  test/well-known/well-known-test.js
  test/json-transport/json-transport-test.js
)
rm -rf "$work" && mkdir -p "$work"
cp -r "$src/test" "$work/test"
if [ "$mode" = nodemailer ]; then
  cp -r "$src/lib" "$work/lib"
else
  mkdir -p "$work/lib/smtp-transport" "$work/lib/smtp-pool" "$work/lib/well-known"
  pm="$root/bindings-node"
  echo "module.exports = require('$pm');" > "$work/lib/nodemailer.js"
  echo "module.exports = require('$pm').SMTPTransport;" > "$work/lib/smtp-transport/index.js"
  echo "module.exports = require('$pm').SMTPPool;" > "$work/lib/smtp-pool/index.js"
  echo "module.exports = require('$pm').wellKnown;" > "$work/lib/well-known/index.js"
fi
(cd "$work" && echo '{"private":true}' > package.json && npm install --silent --no-audit --no-fund smtp-server@3.19.2 >/dev/null)
# The spec reporter (it keeps going after a test's uncaught exception); leaves are the result
# lines whose name is not a describe() block ("▶ name").
for f in "${files[@]}"; do
  out="$work/$(basename "$f" .js).spec"
  (cd "$work" && timeout 300 node --test --test-concurrency=1 --test-force-exit --test-reporter=spec "$f" >"$out" 2>&1 || true)
  printf '%-50s %s\n' "$f" "$(awk '
    /^ℹ|failing tests:/ { done = 1 }
    done { next }
    { sub(/^[ \t]+/, "") }
    /^▶ / { sub(/^▶ /, ""); suite[$0] = 1; next }
    /^(✔|✖) / { mark = substr($0, 1, 1); name = $0; sub(/^(✔|✖) /, "", name); sub(/ \([0-9.]+m?s\).*$/, "", name)
                 if (!(name in suite)) { total++; if ($0 ~ /^✔/) pass++; else failed = failed " | " name } }
    END { printf "%d/%d%s\n", pass, total, (failed ? "  not passed:" substr(failed, 3) : "") }' "$out")"
done | tee "$work/summary.txt"
awk '{split($2, a, "/"); p += a[1]; t += a[2]} END {print "total: " p "/" t}' "$work/summary.txt"
