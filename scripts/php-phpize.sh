#!/usr/bin/env bash
# make php-phpize: the PECL / PIE build route, as PIE runs it, in a scratch copy of the tree:
# phpize, ./configure --enable-polymailer, make, make install (into a scratch root), then load
# the installed polymailer.so and print `php --ri polymailer`. Needs cargo, phpize, php-config.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git ls-files -z | grep -zv '^fuzz/corpus/' | xargs -0 tar -cf - | (cd "$work" && tar -xf -)
cd "$work/bindings-php"
phpize >/dev/null
./configure --enable-polymailer --with-php-config="$(command -v php-config)" >/dev/null
# The workspace's target directory, so the build is incremental.
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}" make -s
make -s install INSTALL_ROOT="$work/root"
so=$(find "$work/root" -name polymailer.so)
echo "installed: ${so#"$work/root"}"
php -d extension="$so" --ri polymailer
