# The single entry point. Each target calls a script or a command you can also run by hand.
.PHONY: demo test check setup lint test-rust python test-python node test-node php test-php php-install php-phpize bench bench-dns soak peer-node peer-php fuzz dist clean

export PYO3_PYTHON := $(CURDIR)/.venv/bin/python
export VIRTUAL_ENV := $(CURDIR)/.venv

demo:            ## send the examples through the embedded local server, show what arrived
	scripts/demo.sh

demo-postfix:    ## the same examples through a real Postfix (STARTTLS, Dovecot SASL) on 127.0.0.1
	POLYMAILER_MTA=postfix scripts/demo.sh

test-postfix:    ## the scenario corpus from all four languages through a real Postfix
	$(MAKE) test-mta MTA=postfix

test-exim:       ## the scenario corpus from all four languages through a real Exim
	$(MAKE) test-mta MTA=exim

test-mta: setup python node php
	POLYMAILER_MTA=$(MTA) cargo test -p polymailer --test scenarios
	POLYMAILER_MTA=$(MTA) .venv/bin/python -m pytest -q bindings-python/tests/test_scenarios.py
	cd bindings-node && POLYMAILER_MTA=$(MTA) node --test test/scenarios.test.js
	POLYMAILER_MTA=$(MTA) POLYMAILER_EXT=$(PHP_EXT) php -d extension=$(PHP_EXT) /usr/bin/phpunit -c bindings-php/phpunit.xml bindings-php/tests/ScenariosTest.php

test: setup lint test-rust test-python test-node test-php   ## install what is missing, then run every suite

check:           ## fmt, clippy and the core's unit + scripted-server protocol tests: no servers, no root
	cargo fmt --all -- --check
	cargo clippy -p polymailer --all-targets -- -D warnings
	cargo test -p polymailer --lib --test protocol --test memory

setup:           ## Debian packages, .venv, test CA (idempotent)
	scripts/setup.sh

lint: setup
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	.venv/bin/ruff format --check .
	.venv/bin/ruff check .

test-rust: setup
	cargo test --workspace

python: setup    ## build the Python extension into .venv (editable)
	.venv/bin/maturin develop --release -q -m bindings-python/Cargo.toml

test-python: python
	.venv/bin/python -m pytest -q bindings-python/tests

node: setup      ## build the Node addon (napi-rs) in bindings-node/
	cd bindings-node && npm ci --no-audit --no-fund --loglevel=error
	cd bindings-node && npx napi build --platform --release --js native.js --dts native.d.ts

test-node: node
	@# The generated loader and types are committed: a rebuild must not change them.
	git diff --exit-code -- bindings-node/native.js bindings-node/native.d.ts
	cd bindings-node && npx tsc -p test/types
	cd bindings-node && node --test test/

PHP_EXT := $(CURDIR)/target/release/libpolymailer.so

php: setup       ## build the PHP extension (ext-php-rs)
	cargo build --release -p polymailer-php

test-php: php
	scripts/php-test.sh

php-install: php ## copy the extension into PHP's extension dir and enable it for plain `php`
	install -m 0755 $(PHP_EXT) "$$(php-config --extension-dir)/polymailer.so"
	echo "extension=polymailer.so" > "$$(php -r 'echo PHP_CONFIG_FILE_SCAN_DIR;')/30-polymailer.ini"
	php -r 'echo class_exists("Polymailer\PHPMailer\PHPMailer") ? "polymailer loaded\n" : exit(1);'

php-phpize:      ## the PECL / PIE build route (phpize, configure, make, make install) in a scratch copy
	scripts/php-phpize.sh

bench: setup     ## msg/s against the peers and Postfix smtp-source on the same smtp-sink
	scripts/bench.sh

bench-dns: python  ## round trips of a full deliverability check (3 DNSBL zones) behind a 100 ms RTT DNS proxy
	.venv/bin/python bench/dns_rounds.py 100 7
	.venv/bin/python bench/dns_rounds.py 1 7

soak: setup     ## 200,000 messages per language (RSS start/peak/end); 2,500 concurrent file sends
	scripts/soak.sh

peer-node: node  ## Nodemailer's own transport tests against polymailer (NODEMAILER_SRC=checkout)
	scripts/peer-nodemailer.sh polymailer

peer-php: php    ## PHPMailer 6.6.3's own test suite against polymailer (PHPMAILER_SRC=clone)
	scripts/peer-phpmailer.sh polymailer

fuzz:            ## cargo-fuzz each parser/encoder for FUZZ_SECONDS (default 60); not part of make test
	scripts/fuzz.sh

dist: setup node php ## wheel (manylinux2014) + sdist, the npm main and platform packages, polymailer.so; each checked
	scripts/dist.sh

clean:
	rm -rf target tests/.state dist
