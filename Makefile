# The single entry point. Each target calls a script or a command you can also run by hand.
.PHONY: demo test setup lint test-rust python test-python node test-node bench dist clean

export PYO3_PYTHON := $(CURDIR)/.venv/bin/python
export VIRTUAL_ENV := $(CURDIR)/.venv

demo:            ## send the examples through the embedded local server, show what arrived
	scripts/demo.sh

test: setup lint test-rust test-python test-node   ## install what is missing, then run every suite

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

bench: setup     ## msg/s against the peers and Postfix smtp-source on the same smtp-sink
	scripts/bench.sh

dist: setup node ## the Python wheel and the npm package in dist/
	.venv/bin/maturin build --release -q -m bindings-python/Cargo.toml -o dist
	cd bindings-node && npm pack --pack-destination ../dist

clean:
	rm -rf target tests/.state dist
