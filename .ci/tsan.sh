#!/usr/bin/env bash
# The concurrency test (tests/test_threads.c: 8 threads share one index) under
# ThreadSanitizer (clang).
#
#   bash .ci/tsan.sh            from the repository root; builds in build-tsan/
#
# - OpenMP is disabled in this build: libgomp is not instrumented, and its
#   barriers are invisible to TSan, which would report races that are not.
# - OpenBLAS is not instrumented either; with OPENBLAS_NUM_THREADS=1 it starts
#   no threads of its own, so every access TSan sees is ours.
# - The library is built static here. Its shared build links with
#   -Wl,--no-undefined, but clang puts the TSan runtime in the executable only
#   (its shared runtime, -shared-libsan, crashes at start-up on this system), so
#   an instrumented libasdnorm.so cannot link; a static one is the same code.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build-tsan
start=$SECONDS
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4"
export OPENBLAS_NUM_THREADS=1

opts=(-Db_sanitize=thread -Db_lundef=false -Dbuildtype=debugoptimized -Dopenmp=disabled
      -Ddefault_library=static -Dpython=disabled)
if [[ -f $dir/build.ninja ]]; then
    CC=clang CXX=clang++ meson setup --reconfigure "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1 ||
        { cat "$dir.setup.log"; exit 1; }
else
    CC=clang CXX=clang++ meson setup "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1 ||
        { cat "$dir.setup.log"; exit 1; }
fi
rm -f "$dir.setup.log"
meson compile -C "$dir" tests/test_threads

log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
meson test -C "$dir" --no-rebuild --print-errorlogs --timeout-multiplier 4 threads 2>&1 |
    tee "$log" || rc=1
# The test's own summary: "threads: 8 threads x N samples compared …".
figures=$(sed -n 's/.*\(threads: [0-9]* threads x [0-9]* samples compared\).*/\1/p' \
    "$dir/meson-logs/testlog.txt" | tail -1)
if grep -q "ThreadSanitizer" "$dir/meson-logs/testlog.txt"; then
    rc=1
fi
if ((rc == 0)); then
    echo "tsan: 1 passed, 0 failed (${figures:-no figures}; ThreadSanitizer, clang, $((SECONDS - start)) s)"
else
    echo "tsan: 0 passed, 1 failed (ThreadSanitizer, clang, $((SECONDS - start)) s)"
    exit 1
fi
