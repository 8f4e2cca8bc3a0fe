#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for FUZZ_SECONDS (default 60) on the nightly toolchain
# and prints executions and crashes per target. Crash inputs land in fuzz/artifacts/<target>/;
# turn each into a regular test in core before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
command -v cargo-fuzz >/dev/null || cargo install -q cargo-fuzz --locked
cd fuzz
status=0
for target in $(cargo +nightly fuzz list); do
  mkdir -p "corpus/$target"
  # The bounce parser starts from the sample reports the tests use. It runs with the release
  # build's assertions: mail-parser has a debug_assert on corrupt MIME that its release build
  # recovers from (core catches it in debug builds; the input is tests/bounces/fuzz/).
  build=()
  if [ "$target" = bounce ]; then
    cp ../tests/bounces/*.eml ../tests/bounces/*.xml* ../tests/bounces/*.zip "corpus/$target/"
    build=(-O)
  fi
  log=$(mktemp)
  if cargo +nightly fuzz run "${build[@]}" "$target" "corpus/$target" -- -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    crashes=0
  else
    crashes=$(ls "artifacts/$target" 2>/dev/null | wc -l)
    status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' \
    || grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9]*' || echo "?")
  echo "fuzz $target: ${execs} executions in ${seconds}s, ${crashes} crashes"
  [ "$crashes" = 0 ] || tail -30 "$log"
  rm -f "$log"
done
exit $status
