#!/usr/bin/env bash
# Installs what the demo, tests and benchmarks need on a fresh machine; quick when all is there.
#   Debian packages: postfix (smtp-sink, smtp-source, and the real master for make test-postfix),
#   dovecot-core (its SASL), Exim's libraries (exim4-daemon-light is unpacked, not installed), openssl, php8.2-dev + clang + libclang-dev
#   (ext-php-rs), phpunit, and the PHP peers for make bench (libphp-phpmailer, php-symfony-mailer)
#   .venv: tests/requirements.txt (aiosmtpd, dkimpy, pytest, maturin, ruff)
#   bindings-node/node_modules comes from `make node` (npm ci)
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -x /usr/sbin/smtp-sink ] || need_apt+=(postfix)
command -v dovecot >/dev/null || need_apt+=(dovecot-core) # SASL for the real Postfix (make test-postfix)
[ -x /usr/sbin/dnsmasq ] || need_apt+=(dnsmasq-base) # the DNS server of the deliverability tests (tests/dns/zone.conf)
# Exim's runtime libraries (the daemon itself is unpacked below: the exim4 package would remove postfix).
for lib in libidn12 libgnutls-dane0 libnsl2 libdb5.3 libpcre2-8-0; do
  dpkg -s "$lib" >/dev/null 2>&1 || need_apt+=("$lib")
done
command -v openssl >/dev/null || need_apt+=(openssl)
command -v cc >/dev/null || need_apt+=(gcc)
command -v node >/dev/null || need_apt+=(nodejs npm)
command -v php-config >/dev/null || need_apt+=(php8.2-dev php8.2-cli)
command -v clang >/dev/null || need_apt+=(clang)
[ -e /usr/lib/llvm-14/lib/libclang.so ] || ls /usr/lib/llvm-*/lib/libclang*.so >/dev/null 2>&1 || need_apt+=(libclang-dev)
[ -x /usr/bin/phpunit ] || need_apt+=(phpunit)
[ -d /usr/share/php/libphp-phpmailer ] || need_apt+=(libphp-phpmailer)
[ -d /usr/share/php/Symfony/Component/Mailer ] || need_apt+=(php-symfony-mailer)
php -m 2>/dev/null | grep -qx posix || need_apt+=(php8.2-common)
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

# Exim (exim4-daemon-light) for make test-exim, unpacked into tests/.state/exim, not installed:
# Debian's exim4 and postfix packages exclude each other. Its binary runs as Debian-exim.
exim=tests/.state/exim
if [ ! -x "$exim/root/usr/sbin/exim4" ]; then
  echo "setup: unpacking exim4-daemon-light into $exim"
  mkdir -p "$exim/debs"
  (cd "$exim/debs" && apt-get download -qq exim4-daemon-light 2>/dev/null)
  dpkg -x "$exim"/debs/exim4-daemon-light_*.deb "$exim/root"
fi
id Debian-exim >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin Debian-exim
