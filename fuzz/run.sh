#!/usr/bin/env bash
# The fuzz targets (fuzz/fuzz_targets/*.rs), built with libFuzzer on the stable toolchain.
#
#   bash fuzz/run.sh build              build every target (target/debug/fuzz-<name>)
#   bash fuzz/run.sh smoke [SECONDS]    run each target for SECONDS (default 20) from its seeds
#   bash fuzz/run.sh runs NAME RUNS     run one target for RUNS executions, print its stats
#
# New inputs go to target/fuzz-corpus/<name>, never into the committed seeds (fuzz/seeds/<name>).
# Crashes, timeouts and out-of-memory inputs are written to target/fuzz-artifacts/<name>/ and
# fail the run. Limits: inputs up to 1 MiB, 10 s an input, 2 GiB RSS, and no single allocation
# past 64 MiB (the targets' allocator, fuzz/src/lib.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS=(idx csv model weights spec text image)
target_dir=${CARGO_TARGET_DIR:-target}

build() {
  # The workspace's own crates are compiled with coverage instrumentation (fuzz/instrument.sh)
  # and, through a profile setting only this build has, into their own artifacts: the test
  # build's copies are left alone, and dependencies (polars among them) are shared with it.
  # The setting goes to every workspace member, as `cargo metadata` lists them.
  local config=() members
  members=$(cargo metadata --no-deps --format-version 1 |
    python3 -c 'import json, sys; print("\n".join(p["name"] for p in json.load(sys.stdin)["packages"]))')
  for c in $members; do
    config+=(--config "profile.dev.package.$c.codegen-units=16")
  done
  RUSTC_WORKSPACE_WRAPPER="$PWD/fuzz/instrument.sh" cargo build -p sinew-fuzz --bins "${config[@]}"
}

fuzz() { # name, then libFuzzer options
  local name=$1
  shift
  mkdir -p "$target_dir/fuzz-corpus/$name" "$target_dir/fuzz-artifacts/$name"
  "$target_dir/debug/fuzz-$name" "$target_dir/fuzz-corpus/$name" "fuzz/seeds/$name" \
    -max_len=1048576 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$target_dir/fuzz-artifacts/$name/" -print_final_stats=1 "$@"
}

case "${1:-}" in
build) build ;;
smoke)
  secs=${2:-20}
  for t in "${TARGETS[@]}"; do
    log="$target_dir/fuzz-artifacts/$t.log"
    mkdir -p "$target_dir/fuzz-artifacts"
    if ! fuzz "$t" -max_total_time="$secs" >"$log" 2>&1; then
      tail -40 "$log" >&2
      echo "fuzz-$t failed: its input is in $target_dir/fuzz-artifacts/$t/" >&2
      exit 1
    fi
    echo "fuzz-$t: $secs s, $(grep -E 'stat::(number_of_executed_units|peak_rss_mb)' "$log" | tr -s ' \n' ' ')" >&2
  done
  ;;
runs) fuzz "$2" -runs="$3" ;;
*)
  echo "usage: bash fuzz/run.sh build | smoke [SECONDS] | runs NAME RUNS" >&2
  exit 2
  ;;
esac
