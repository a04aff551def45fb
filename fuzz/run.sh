#!/usr/bin/env bash
# Builds every fuzz target (cargo-fuzz: release, debug assertions on), then
# fuzzes each in turn for a bounded time and prints a summary table.
# A manual or scheduled job, never part of CI. See fuzz/README.md.
#
#   fuzz/run.sh                      # every target, 60 s each
#   FUZZ_SECONDS=300 fuzz/run.sh jwt authorize
#
# Environment:
#   FUZZ_SECONDS        seconds per target (default 60)
#   CARGO_TARGET_DIR    build directory (default fuzz/target)
#   FUZZ_SANITIZER      address (default), none, ...: cargo fuzz build -s
#   FUZZ_CODEGEN_UNITS  codegen units of the build (default 16: a faster build)
#   FUZZ_RSS_LIMIT_MB   libFuzzer's memory limit per target (default 2048)
#
# Each target's corpus is fuzz/corpus/<target>/ (new inputs land there; not
# committed), seeded read-only from fuzz/seeds/<target>/ and
# fuzz/regressions/<target>/. Crashing inputs land in fuzz/artifacts/<target>/
# with the log of the last run (artifacts/<target>/run.log). Exit status: 0
# when nothing crashed, 1 when something did, 2 when the build failed.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
fuzz_dir=$(pwd)
seconds=${FUZZ_SECONDS:-60}
target_dir=${CARGO_TARGET_DIR:-$fuzz_dir/target}
sanitizer=${FUZZ_SANITIZER:-address}
codegen_units=${FUZZ_CODEGEN_UNITS:-16}
rss_limit=${FUZZ_RSS_LIMIT_MB:-2048}

if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
    echo "FUZZ_SECONDS must be a positive number of seconds, not '$seconds'" >&2
    exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "needs cargo-fuzz and a nightly toolchain:" >&2
    echo "  rustup toolchain install nightly && cargo install cargo-fuzz --locked" >&2
    exit 2
fi

# Everything this script starts is one child at a time, remembered here, and
# stopped (by its id) if the script is interrupted. Temporary files of the
# targets (the server targets' SQLite store) go to a scratch directory that
# is removed at the end, since libFuzzer exits without running destructors.
child=""
scratch=$(mktemp -d "${TMPDIR:-/tmp}/tessera-fuzz.XXXXXX")
cleanup() {
    if [[ -n $child ]] && kill -0 "$child" 2>/dev/null; then
        kill -TERM "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin_dir=$target_dir/$triple/release

echo "== building ${#targets[@]} target(s) (sanitizer: $sanitizer) into $target_dir"
build=(cargo +nightly fuzz build -O -a -s "$sanitizer" --codegen-units "$codegen_units"
    --target-dir "$target_dir")
if [[ $# -eq 0 ]]; then
    "${build[@]}" &
    child=$!
    wait "$child" || { echo "the build failed" >&2; exit 2; }
else
    for target in "${targets[@]}"; do
        "${build[@]}" "$target" &
        child=$!
        wait "$child" || { echo "the build of $target failed" >&2; exit 2; }
    done
fi
child=""

count_artifacts() {
    find "$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
        -o -name 'oom-*' \) | wc -l
}

# A `stat::<name>: <value>` line of libFuzzer's final statistics.
final_stat() {
    sed -n "s/^stat::$1: *\([0-9]*\).*/\1/p" "$2" | tail -n 1
}

rows=()
failed=0
for target in "${targets[@]}"; do
    corpus=corpus/$target
    artifacts=artifacts/$target
    log=$artifacts/run.log
    mkdir -p "$corpus" "$artifacts" "$scratch/$target"
    inputs=("$corpus")
    for dir in "seeds/$target" "regressions/$target"; do
        [[ -d $dir ]] && inputs+=("$dir")
    done
    options=()
    case $target in
        # The in-process server keeps caches, pools and a store: nearly every input
        # would look like a leak and trigger a full LeakSanitizer scan (37 exec/s).
        dialect_yourmembership | server_forms) options+=(-detect_leaks=0) ;;
    esac
    before=$(count_artifacts "$artifacts")
    echo "== fuzzing $target for ${seconds}s"
    started=$(date +%s)
    status=0
    TMPDIR=$scratch/$target "$bin_dir/$target" \
        -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb="$rss_limit" \
        -artifact_prefix="$artifacts/" "${options[@]}" "${inputs[@]}" >"$log" 2>&1 &
    child=$!
    wait "$child" || status=$?
    child=""
    rm -rf "${scratch:?}/$target"
    elapsed=$(($(date +%s) - started))

    execs=$(final_stat number_of_executed_units "$log")
    per_second=$(final_stat average_exec_per_sec "$log")
    last=$(grep -E '^#[0-9]+.*cov: [0-9]+' "$log" | tail -n 1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$last")
    crashes=$(($(count_artifacts "$artifacts") - before))
    if [[ $status -ne 0 || $crashes -gt 0 ]]; then
        failed=1
        outcome="FAILED (exit $status, see $log)"
    else
        outcome=ok
    fi
    rows+=("$(printf '%-24s %6s %12s %8s %7s %8s %12s %8s  %s' "$target" "$elapsed" "${execs:--}" \
        "${per_second:--}" "${cov:--}" "${ft:--}" "${corp:--}" "$crashes" "$outcome")")
done

echo
printf '%-24s %6s %12s %8s %7s %8s %12s %8s  %s\n' target seconds execs exec/s cov ft corpus crashes result
for row in "${rows[@]}"; do
    echo "$row"
done
exit "$failed"
