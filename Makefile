# The single entry point. Each target calls a script you can also run by hand.
.PHONY: demo test setup lint test-rust bench clean

demo:            ## send the examples through the embedded local server, show what arrived
	scripts/demo.sh

test: setup lint test-rust   ## install what is missing, then run every suite

setup:           ## Debian packages, .venv, test CA (idempotent)
	scripts/setup.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

test-rust:
	cargo test --workspace

bench:           ## msg/s against Postfix smtp-source on the same smtp-sink
	scripts/setup.sh
	scripts/bench.sh

clean:
	rm -rf target tests/.state
