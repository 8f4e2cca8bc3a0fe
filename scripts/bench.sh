#!/usr/bin/env bash
# make bench: msg/s for COUNT ~1 KB messages against one Postfix smtp-sink on loopback,
# polymailer's Rust API vs Postfix's own C load generator smtp-source, in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-2000}
cargo build -q --release -p polymailer-bench
make -s python node php
(cd bench/node && npm install --no-audit --no-fund --loglevel=error)

port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/sbin/smtp-sink -u nobody "127.0.0.1:$port" 256 &
sink=$!
trap 'kill $sink 2>/dev/null || true' EXIT
sleep 0.3

calc() { .venv/bin/python -c "print($1)"; }
rate() { # COMMAND... -> msg/s from wall time
  local start end
  start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N)
  calc "$count / ($end - $start)"
}
src1=$(rate /usr/sbin/smtp-source -d -s 1 -m "$count" -l 900 -f sender@example.com -t rcpt@example.com "127.0.0.1:$port")
src8=$(rate /usr/sbin/smtp-source -d -s 8 -m "$count" -l 900 -f sender@example.com -t rcpt@example.com "127.0.0.1:$port")
pm1=$(target/release/polymailer-bench "$port" "$count" 1 | awk '{print $1}')
pm8=$(target/release/polymailer-bench "$port" "$count" 8 | awk '{print $1}')
py=$(.venv/bin/python bench/python/one_connection.py "$port" "$count")
py_std=$(echo "$py" | awk '$1=="stdlib-smtplib"{print $2}')
py_drop=$(echo "$py" | awk '$1=="polymailer-smtplib"{print $2}')
py_native=$(echo "$py" | awk '$1=="polymailer-native"{print $2}')
n1=$(node bench/node/throughput.js "$port" "$count" 1)
n8=$(node bench/node/throughput.js "$port" "$count" 8)
field() { echo "$1" | awk -v k="$2" '$1==k{print $2}'; }
ext=target/release/libpolymailer.so
php_pm=$(php -d extension=$ext bench/php/throughput.php "$port" "$count" polymailer | awk '{print $2}')
php_nd=$(php bench/php/throughput.php "$port" "$count" phpmailer-nodelay | awk '{print $2}')
# PHPMailer and Symfony Mailer stall ~40 ms per message by default: fewer messages keep the run short.
slow=$(( count / 20 > 20 ? count / 20 : 20 ))
php_def=$(php bench/php/throughput.php "$port" "$slow" phpmailer | awk '{print $2}')
php_sf=$(php bench/php/throughput.php "$port" "$slow" symfony | awk '{print $2}')

printf '\n%-40s %10s %8s\n' "sender ($count ~1 KB messages, smtp-sink)" "msg/s" "ratio"
printf '%-40s %10.0f %8s\n' "smtp-source -d -s 1 (C, 1 connection)" "$src1" "1.00"
printf '%-40s %10.0f %8.2f\n' "polymailer Rust, 1 connection" "$pm1" "$(calc "$pm1 / $src1")"
printf '%-40s %10.0f %8s\n' "Python stdlib smtplib (EmailMessage)" "$py_std" "1.00"
printf '%-40s %10.0f %8.2f\n' "polymailer.smtplib (EmailMessage)" "$py_drop" "$(calc "$py_drop / $py_std")"
printf '%-40s %10.0f %8.2f\n' "polymailer native Message" "$py_native" "$(calc "$py_native / $py_std")"
printf '%-40s %10.0f %8s\n' "Nodemailer 10, pool of 1" "$(field "$n1" nodemailer)" "1.00"
printf '%-40s %10.0f %8.2f\n' "polymailer Node, pool of 1" "$(field "$n1" polymailer)" "$(calc "$(field "$n1" polymailer) / $(field "$n1" nodemailer)")"
printf '%-40s %10.0f %8s\n' "Nodemailer 10, pool of 8" "$(field "$n8" nodemailer)" "1.00"
printf '%-40s %10.0f %8.2f\n' "polymailer Node, pool of 8" "$(field "$n8" polymailer)" "$(calc "$(field "$n8" polymailer) / $(field "$n8" nodemailer)")"
printf '%-40s %10.0f %8s\n' "PHPMailer 6 SMTPKeepAlive (default)" "$php_def" "1.00"
printf '%-40s %10.0f %8s\n' "Symfony Mailer (default)" "$php_sf" "-"
printf '%-40s %10.0f %8s\n' "PHPMailer 6 + tcp_nodelay" "$php_nd" "-"
printf '%-40s %10.0f %8.2f\n' "polymailer PHP SMTPKeepAlive" "$php_pm" "$(calc "$php_pm / $php_def")"
printf '%-40s %10s %8.2f\n' "  ... vs PHPMailer + tcp_nodelay" "" "$(calc "$php_pm / $php_nd")"
printf '%-40s %10s %8.2f\n' "  ... vs Symfony Mailer" "" "$(calc "$php_pm / $php_sf")"
printf '%-40s %10.0f %8s\n' "smtp-source -d -s 8 (C, 8 connections)" "$src8" "1.00"
printf '%-40s %10.0f %8.2f\n' "polymailer Rust, pool of 8" "$pm8" "$(calc "$pm8 / $src8")"
