#!/usr/bin/env bash
# make bench: every sender against one Postfix smtp-sink on loopback, in one run, as ratios to
# the peers measured in the same run. COUNT (default 2000) sets the messages per sender;
# QUICK=1 runs small counts (about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${QUICK:-0}" = 1 ]; then count=${COUNT:-500}; lat=40; build=1000; else count=${COUNT:-2000}; lat=200; build=10000; fi
cargo build -q --release -p polymailer-bench
make -s python node php
(cd bench/node && npm install --no-audit --no-fund --loglevel=error)

py() { .venv/bin/python "$@"; }
calc() { py -c "print($1)"; }
field() { echo "$1" | awk -v k="$2" '$1==k{print $2}'; }
port=$(py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
proxy_port=$(py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/sbin/smtp-sink -u nobody "127.0.0.1:$port" 256 &
pids=$!
py bench/latency_proxy.py "$proxy_port" "$port" 5 > /dev/null &
pids="$pids $!"
trap 'kill $pids 2>/dev/null || true' EXIT
sleep 0.5

rate() { # COMMAND... -> msg/s from wall time
  local start end
  start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N)
  calc "$count / ($end - $start)"
}
row() { if [ -n "$2" ]; then printf '%-44s %10.0f %8s\n' "$1" "$2" "$3"; else printf '%-44s %10s %8s\n' "$1" "" "$3"; fi; }
ratio() { printf '%.2f' "$(calc "$1 / $2")"; }
ext=target/release/libpolymailer.so

echo "== one connection, $count ~1 KB messages =="
src1=$(rate /usr/sbin/smtp-source -d -s 1 -m "$count" -l 900 -f sender@example.com -t rcpt@example.com "127.0.0.1:$port")
pm1=$(target/release/polymailer-bench "$port" "$count" 1 | awk '{print $1}')
pyr=$(py bench/python/one_connection.py "$port" "$count")
n1=$(node bench/node/throughput.js "$port" "$count" 1)
nseq=$(node bench/node/sequential.js "$port" "$count")
php_pm=$(php -d extension=$ext bench/php/throughput.php "$port" "$count" polymailer | awk '{print $2}')
php_nd=$(php bench/php/throughput.php "$port" "$count" phpmailer-nodelay | awk '{print $2}')
# PHPMailer and Symfony Mailer stall ~40 ms per message by default: fewer messages keep it short.
slow=$(( count / 20 > 20 ? count / 20 : 20 ))
php_def=$(php bench/php/throughput.php "$port" "$slow" phpmailer | awk '{print $2}')
php_sf=$(php bench/php/throughput.php "$port" "$slow" symfony | awk '{print $2}')
std=$(field "$pyr" stdlib-smtplib); nm1=$(field "$n1" nodemailer)
printf '%-44s %10s %8s\n' "sender" "msg/s" "ratio"
row "Postfix smtp-source -d -s 1 (C)" "$src1" "ref"
row "polymailer Rust" "$pm1" "$(ratio "$pm1" "$src1")"
row "Python stdlib smtplib (EmailMessage)" "$std" "ref"
row "polymailer.smtplib (EmailMessage)" "$(field "$pyr" polymailer-smtplib)" "$(ratio "$(field "$pyr" polymailer-smtplib)" "$std")"
row "polymailer Python native Message" "$(field "$pyr" polymailer-native)" "$(ratio "$(field "$pyr" polymailer-native)" "$std")"
stdp=$(field "$pyr" stdlib-smtplib-prebuilt)
row "  smtplib, EmailMessage built beforehand" "$stdp" "ref"
row "  polymailer.smtplib, built beforehand" "$(field "$pyr" polymailer-smtplib-prebuilt)" "$(ratio "$(field "$pyr" polymailer-smtplib-prebuilt)" "$stdp")"
printf '%-44s %10s\n' "  (building one EmailMessage costs, µs)" "$(field "$pyr" emailmessage-build-us)"
py1=$(py bench/python/pool.py "$port" "$count" 1 | awk '{print $2}')
row "polymailer Python send_many (pipelined batches)" "$py1" "$(ratio "$py1" "$std")"
row "  ... vs smtp-source -d -s 1" "" "$(ratio "$py1" "$src1")"
row "Nodemailer 10 (pool of 1)" "$nm1" "ref"
row "polymailer Node (pool of 1)" "$(field "$n1" polymailer)" "$(ratio "$(field "$n1" polymailer)" "$nm1")"
row "Nodemailer 10, for (...) await sendMail" "$(field "$nseq" nodemailer)" "ref"
row "polymailer Node, for (...) await sendMail" "$(field "$nseq" polymailer)" "$(ratio "$(field "$nseq" polymailer)" "$(field "$nseq" nodemailer)")"
row "  ... vs Python native Message (one by one)" "" "$(ratio "$(field "$nseq" polymailer)" "$(field "$pyr" polymailer-native)")"
row "PHPMailer 6 SMTPKeepAlive, default" "$php_def" "ref"
row "Symfony Mailer, default" "$php_sf" "-"
row "PHPMailer 6 + tcp_nodelay" "$php_nd" "-"
row "polymailer PHP SMTPKeepAlive" "$php_pm" "$(ratio "$php_pm" "$php_def")"
row "  ... vs Symfony Mailer" "" "$(ratio "$php_pm" "$php_sf")"
row "  ... vs PHPMailer + tcp_nodelay" "" "$(ratio "$php_pm" "$php_nd")"

echo; echo "== 8 connections =="
src8=$(rate /usr/sbin/smtp-source -d -s 8 -m "$count" -l 900 -f sender@example.com -t rcpt@example.com "127.0.0.1:$port")
pm8=$(target/release/polymailer-bench "$port" "$count" 8 | awk '{print $1}')
n8=$(node bench/node/throughput.js "$port" "$count" 8)
py8=$(py bench/python/pool.py "$port" "$count" 8 | awk '{print $2}')
row "Postfix smtp-source -d -s 8 (C)" "$src8" "ref"
row "polymailer Rust, pool of 8" "$pm8" "$(ratio "$pm8" "$src8")"
row "polymailer Python send_many, pool of 8" "$py8" "$(ratio "$py8" "$src8")"
row "Nodemailer 10, pool of 8" "$(field "$n8" nodemailer)" "ref"
row "polymailer Node, pool of 8" "$(field "$n8" polymailer)" "$(ratio "$(field "$n8" polymailer)" "$(field "$n8" nodemailer)")"

echo; echo "== one connection through a 10 ms RTT proxy, $lat messages =="
count_saved=$count; count=$lat
pyl=$(py bench/python/one_connection.py "$proxy_port" "$lat")
pyl1=$(py bench/python/pool.py "$proxy_port" "$lat" 1 | awk '{print $2}')
nl=$(node bench/node/throughput.js "$proxy_port" "$lat" 1)
count=$count_saved
row "Python stdlib smtplib" "$(field "$pyl" stdlib-smtplib)" "ref"
row "Nodemailer 10" "$(field "$nl" nodemailer)" "ref"
row "polymailer Python native" "$(field "$pyl" polymailer-native)" "$(ratio "$(field "$pyl" polymailer-native)" "$(field "$pyl" stdlib-smtplib)")"
row "polymailer Node" "$(field "$nl" polymailer)" "$(ratio "$(field "$nl" polymailer)" "$(field "$nl" nodemailer)")"
row "polymailer Python send_many (batches)" "$pyl1" "$(ratio "$pyl1" "$(field "$nl" nodemailer)")"

echo; echo "== one 25 MB file attachment: seconds, peak RSS above the bare interpreter =="
big=tests/.state/bench-25mb.bin
[ -f "$big" ] || head -c 26214400 /dev/urandom > "$big"
large() { # LABEL BASELINE_LINE RESULT_LINE
  printf '%-44s %8.2f s %8.1f MB\n' "$1" "$(echo "$3" | awk '{print $2}')" "$(calc "$(echo "$3" | awk '{print $3}') - $(echo "$2" | awk '{print $3}')")"
}
b=$(py bench/python/large.py "$port" "$big" baseline)
large "Python stdlib smtplib" "$b" "$(py bench/python/large.py "$port" "$big" stdlib)"
large "polymailer Python native" "$b" "$(py bench/python/large.py "$port" "$big" polymailer)"
b=$(cd bench/node && node large.js "$port" "../../$big" baseline)
large "Nodemailer 10" "$b" "$(cd bench/node && node large.js "$port" "../../$big" nodemailer)"
large "polymailer Node" "$b" "$(cd bench/node && node large.js "$port" "../../$big" polymailer)"
b=$(php bench/php/large.php "$port" "$big" baseline)
large "PHPMailer 6" "$b" "$(php bench/php/large.php "$port" "$big" phpmailer)"
large "polymailer PHP" "$b" "$(php -d extension=$ext bench/php/large.php "$port" "$big" polymailer)"

echo; echo "== building $build messages (html + text + 20 KB attachment) to bytes =="
bs=$(py bench/python/build_speed.py "$build")
mc=$(node bench/node/build_speed.js "$build")
row "Python stdlib email" "$(field "$bs" stdlib-email)" "ref"
row "Nodemailer MailComposer" "$(field "$mc" mailcomposer)" "-"
row "polymailer Python native Message" "$(field "$bs" polymailer-native)" "$(ratio "$(field "$bs" polymailer-native)" "$(field "$bs" stdlib-email)")"
row "  ... vs MailComposer" "" "$(ratio "$(field "$bs" polymailer-native)" "$(field "$mc" mailcomposer)")"

echo; echo "== asyncio and Django, one connection, ~1 KB messages (median of 3 alternating runs) =="
ad=$(py bench/python/async_django.py "$port" "$count" 3)
printf '%-44s %10s %8s\n' "sender" "msg/s" "ratio"
row "aiosmtplib 5, sequential awaits" "$(field "$ad" aiosmtplib-c1)" "ref"
row "polymailer.aiosmtplib, sequential awaits" "$(field "$ad" polymailer-aiosmtplib-c1)" "$(ratio "$(field "$ad" polymailer-aiosmtplib-c1)" "$(field "$ad" aiosmtplib-c1)")"
row "aiosmtplib 5, 100 in flight" "$(field "$ad" aiosmtplib-c100)" "ref"
row "polymailer.aiosmtplib, 100 in flight" "$(field "$ad" polymailer-aiosmtplib-c100)" "$(ratio "$(field "$ad" polymailer-aiosmtplib-c100)" "$(field "$ad" aiosmtplib-c100)")"
row "polymailer Mailer.send_async, 100 in flight" "$(field "$ad" polymailer-send_async-c100)" "$(ratio "$(field "$ad" polymailer-send_async-c100)" "$(field "$ad" aiosmtplib-c100)")"
row "Django 5.2 SMTP backend, send_mass_mail 1000" "$(field "$ad" django-smtp-mass)" "ref"
row "polymailer.django backend, send_mass_mail" "$(field "$ad" polymailer-django-mass)" "$(ratio "$(field "$ad" polymailer-django-mass)" "$(field "$ad" django-smtp-mass)")"
