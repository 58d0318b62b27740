#!/bin/sh
# Build the libFuzzer targets (tests/fuzz/) with clang and run each for a while.
#   .ci/fuzz.sh [SECONDS]        default 60 seconds per target
# Environment: FUZZ_BUILD_DIR (default build-fuzz in the source tree).
# Each target starts from a copy of its seed corpus in a temporary directory,
# so the repository is never written to. Any crash, sanitizer report, timeout
# or out-of-memory fails the script; the reproducer is kept and its path printed.
set -eu

secs=${1:-60}
case $secs in '' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}

if [ -f "$build/build.ninja" ]; then
    meson configure "$build" -Dfuzz=true >/dev/null
else
    CC=${CC:-clang} meson setup "$build" "$root" -Dfuzz=true >/dev/null
fi
targets="fuzz_load fuzz_npy fuzz_csv"
build_list=""
for t in $targets; do
    [ -f "$root/tests/fuzz/$t.c" ] && build_list="$build_list tests/fuzz/$t"
done
# shellcheck disable=SC2086
ninja -C "$build" $build_list >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/asdnorm-fuzz.XXXXXX")
keep=0
# shellcheck disable=SC2317 # called by the trap
cleanup() { [ "$keep" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT INT TERM

# One thread for the BLAS: the fuzzer runs one input at a time.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=0
summary=""
for t in $targets; do
    exe="$build/tests/fuzz/$t"
    if [ ! -x "$exe" ]; then
        echo "fuzz.sh: $t: not built (its sources are missing), skipped" >&2
        summary="$summary
$t: skipped"
        continue
    fi
    name=${t#fuzz_}
    corpus="$work/$name/corpus"
    mkdir -p "$corpus" "$work/$name/artifacts"
    if [ -d "$root/tests/fuzz/corpus/$name" ]; then
        cp -R "$root/tests/fuzz/corpus/$name/." "$corpus/"
    fi
    dict=""
    [ -f "$root/tests/fuzz/$t.dict" ] && dict="-dict=$root/tests/fuzz/$t.dict"
    log="$work/$name/log"
    echo "fuzz.sh: $t for ${secs}s" >&2
    status=0
    # shellcheck disable=SC2086
    (cd "$work/$name" && "$exe" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/$name/artifacts/" $dict "$corpus") \
        >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    artifacts=$(find "$work/$name/artifacts" -type f | wc -l)
    if [ "$status" -ne 0 ] || [ "$artifacts" -ne 0 ]; then
        failed=1
        keep=1
        echo "fuzz.sh: $t FAILED (exit $status); log and reproducer kept in $work/$name" >&2
        tail -n 40 "$log" >&2
        summary="$summary
$t: FAILED after ${execs:-?} executions"
    else
        summary="$summary
$t: ${execs:-?} executions in ${secs}s (${rate:-?}/s), corpus $(find "$corpus" -type f | wc -l) files, no crash"
    fi
done

echo "fuzz.sh: results:$summary"
exit $failed
