#!/usr/bin/env bash
# make soak: SOAK messages (default 200000) through one pooled mailer from each language
# against smtp-sink, with RSS at the start, the peak and the end (flat means no leak); and
# FILES (default 2500) concurrent Node sendMail calls with a 150 KB file attachment each, peak
# RSS above a bare node, polymailer vs Nodemailer.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${SOAK:-200000}
files=${FILES:-2500}
make -s python node php
(cd bench/node && npm install --no-audit --no-fund --loglevel=error)
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/sbin/smtp-sink -u nobody "127.0.0.1:$port" 256 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
sleep 0.5
echo "== $count messages, one pooled mailer: RSS MB at start / peak / end, msg/s =="
.venv/bin/python bench/python/soak.py "$port" "$count"
node bench/node/soak.js "$port" "$count"
php -d extension=target/release/libpolymailer.so bench/php/soak.php "$port" "$count"
echo "== $files concurrent sendMail, 150 KB file attachment each, pool of 4: peak RSS MB above bare node =="
base=$(node bench/node/concurrent_files.js "$port" "$files" baseline | awk '{print $2}')
for lib in polymailer nodemailer; do
  peak=$(node bench/node/concurrent_files.js "$port" "$files" "$lib" | awk '{print $2}')
  printf '%-12s %8.1f MB\n' "$lib" "$(.venv/bin/python -c "print($peak - $base)")"
done
