#!/usr/bin/env bash
# Runs the PHPUnit suite against the freshly built extension. If `make php-install` enabled an
# installed copy, PHP would load that one first: scan a copy of conf.d without it.
set -euo pipefail
cd "$(dirname "$0")/.."
ext=$PWD/target/release/libpolymailer.so
scan=$(php -r 'echo PHP_CONFIG_FILE_SCAN_DIR;')
if [ -n "$scan" ] && grep -qsl "polymailer" "$scan"/*.ini; then
  conf=tests/.state/php-conf.d
  rm -rf "$conf" && mkdir -p "$conf"
  for ini in "$scan"/*.ini; do grep -qs polymailer "$ini" || cp "$ini" "$conf/"; done
  export PHP_INI_SCAN_DIR=$PWD/$conf
fi
POLYMAILER_EXT=$ext exec php -d extension="$ext" /usr/bin/phpunit -c bindings-php/phpunit.xml
