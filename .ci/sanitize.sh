#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (gcc).
#
#   bash .ci/sanitize.sh            from the repository root; builds in build-asan/
#
# Any sanitizer report fails: UB is fatal (-fno-sanitize-recover=all), ASan
# halts on the first error and LeakSanitizer runs at every test's exit.
#
# The Python tests and examples load the instrumented libasdnorm.so into an
# uninstrumented python3, which works only with libasan preloaded; they run in
# a second pass with LD_PRELOAD and without leak detection (CPython and numpy
# keep their allocations until exit by design, which LeakSanitizer would list).
# The C tests, which link the library directly, have leak detection on.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build-asan
start=$SECONDS
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

# shellcheck disable=SC2054  # the comma is meson's list separator, inside one word
opts=(-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized
      -Dc_args=-fno-sanitize-recover=all -Dcpp_args=-fno-sanitize-recover=all)
if [[ -f $dir/build.ninja ]]; then
    CC=gcc CXX=g++ meson setup --reconfigure "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1 ||
        { cat "$dir.setup.log"; exit 1; }
else
    CC=gcc CXX=g++ meson setup "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1 ||
        { cat "$dir.setup.log"; exit 1; }
fi
rm -f "$dir.setup.log"
meson compile -C "$dir"

# meson test prints "Ok: N", "Fail: N", … at the end; add them up.
passed=0 failed=0
count() {
    local log=$1 ok xf fail xpass timeout
    ok=$(awk '/^Ok:/ {print $2}' "$log"); xf=$(awk '/^Expected Fail:/ {print $3}' "$log")
    fail=$(awk '/^Fail:/ {print $2}' "$log"); xpass=$(awk '/^Unexpected Pass:/ {print $3}' "$log")
    timeout=$(awk '/^Timeout:/ {print $2}' "$log")
    passed=$((passed + ${ok:-0} + ${xf:-0}))
    failed=$((failed + ${fail:-0} + ${xpass:-0} + ${timeout:-0}))
}

rc=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# 1. Everything but Python, leak detection on.
meson test -C "$dir" --no-rebuild --print-errorlogs --timeout-multiplier 4 \
    --no-suite python --no-suite examples 2>&1 | tee "$log" || rc=1
count "$log"

# 2. Python tests and examples, libasan preloaded into python3 (see above).
libasan=$(gcc -print-file-name=libasan.so)
if [[ ! -e $libasan ]]; then
    echo "sanitize: libasan.so not found ($libasan)" >&2
    exit 1
fi
LD_PRELOAD=$libasan ASAN_OPTIONS=${ASAN_OPTIONS/detect_leaks=1/detect_leaks=0} \
    meson test -C "$dir" --no-rebuild --print-errorlogs --timeout-multiplier 4 \
    --suite python --suite examples 2>&1 | tee "$log" || rc=1
count "$log"

echo "sanitize: $passed passed, $failed failed (ASan + UBSan, gcc, $((SECONDS - start)) s)"
if ((rc != 0 || failed != 0)); then
    exit 1
fi
