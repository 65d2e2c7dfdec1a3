#!/bin/sh
# RUSTC_WORKSPACE_WRAPPER for the fuzz build (fuzz/run.sh): compiles the workspace's own crates
# with libFuzzer's coverage instrumentation (what `cargo fuzz` adds, without a sanitizer, so a
# stable toolchain builds it). Dependencies are not workspace members and build exactly as they
# do for the tests, so their compiled copies are shared; build scripts stay uninstrumented.
rustc="$1"
shift
case " $* " in
*" --crate-name build_script_"*) exec "$rustc" "$@" ;;
*" --crate-name "*)
  exec "$rustc" "$@" -Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares
  ;;
*) exec "$rustc" "$@" ;;
esac
