#!/usr/bin/env bash
# Installs what the demo, tests and benchmarks need on a fresh machine; quick when all is there.
#   Debian packages: postfix (smtp-sink, smtp-source, and the real master for make test-postfix),
#   dovecot-core (its SASL), openssl, php8.2-dev + clang + libclang-dev
#   (ext-php-rs), phpunit, and the PHP peers for make bench (libphp-phpmailer, php-symfony-mailer)
#   .venv: tests/requirements.txt (aiosmtpd, dkimpy, pytest, maturin, ruff)
#   bindings-node/node_modules comes from `make node` (npm ci)
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -x /usr/sbin/smtp-sink ] || need_apt+=(postfix)
command -v dovecot >/dev/null || need_apt+=(dovecot-core) # SASL for the real Postfix (make test-postfix)
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
