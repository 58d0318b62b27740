#!/usr/bin/env bash
# The concurrency tests under ThreadSanitizer (clang), in two builds:
# - build-tsan: OpenMP disabled, tests/test_threads.c (8 threads of the caller
#   share one index) and tests/test_live.c (scorers keep scoring while a writer
#   clones, extends and publishes the index);
# - build-tsan-omp: OpenMP enabled with clang's own runtime (libomp), whose
#   Archer tool (libarcher, OMP_TOOL_LIBRARIES) tells TSan what its barriers
#   and tasks synchronize; tests/test_team.c (the library's own 1-4 threads:
#   finalize's tasks and their group locks, scoring's groups, LOF) and
#   tests/test_progress.c (progress counted and cancels polled by the team). libgomp
#   has no such tool, and TSan would report its barriers as races.
#
#   bash .ci/tsan.sh            from the repository root
#
# - OpenBLAS is not instrumented; with OPENBLAS_NUM_THREADS=1 it starts no
#   threads of its own, so every access TSan sees is ours
#   (ignore_noninstrumented_modules: nor libomp's own).
# - The library is built static here. Its shared build links with
#   -Wl,--no-undefined, but clang puts the TSan runtime in the executable only
#   (its shared runtime, -shared-libsan, crashes at start-up on this system), so
#   an instrumented libasdnorm.so cannot link; a static one is the same code.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$SECONDS
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4 ignore_noninstrumented_modules=1"
export OPENBLAS_NUM_THREADS=1
archer=/usr/lib/llvm-14/lib/libarcher.so

# setup DIR OPTION… : configure (or reconfigure) an instrumented static build
setup() {
    local dir=$1
    shift
    local opts=(-Db_sanitize=thread -Db_lundef=false -Dbuildtype=debugoptimized
                -Ddefault_library=static -Dpython=disabled "$@")
    local re=()
    [[ -f $dir/build.ninja ]] && re=(--reconfigure)
    CC=clang CXX=clang++ meson setup "${re[@]}" "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1 ||
        { cat "$dir.setup.log"; exit 1; }
    rm -f "$dir.setup.log"
}

# run DIR TEST [NAME] : run one meson test (NAME, default TEST, of tests/test_TEST);
# fails on a failure or any TSan report
run() {
    local dir=$1 name=$2 test=${3:-$2}
    meson compile -C "$dir" "tests/test_$name"
    local rc=0
    meson test -C "$dir" --no-rebuild --print-errorlogs --timeout-multiplier 4 "$test" || rc=1
    if grep -q "ThreadSanitizer" "$dir/meson-logs/testlog.txt"; then
        rc=1
    fi
    return $rc
}

passed=0
failed=0
setup build-tsan -Dopenmp=disabled
if run build-tsan threads; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
# The test's own summary: "threads: 8 threads x N samples compared …".
figures=$(sed -n 's/.*\(threads: [0-9]* threads x [0-9]* samples compared\).*/\1/p' \
    build-tsan/meson-logs/testlog.txt | tail -1)
if run build-tsan live; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
live=$(sed -n 's/.*live: \([0-9]* versions published, [0-9]* scorings by [0-9]* readers\).*/\1/p' \
    build-tsan/meson-logs/testlog.txt | tail -1)

if [[ -f $archer ]]; then
    setup build-tsan-omp -Dopenmp=enabled
    if OMP_TOOL_LIBRARIES=$archer run build-tsan-omp team; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
    # The progress callbacks: the team's threads count blocks and poll the cancel flag.
    if OMP_TOOL_LIBRARIES=$archer run build-tsan-omp progress progress-threads; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
else
    echo "tsan: $archer not found (package libomp-14-dev)"
    failed=$((failed + 1))
fi

summary="${figures:-no figures}; live: ${live:-no figures}; team, progress: 1-4 OpenMP threads (libomp + Archer)"
echo "tsan: $passed passed, $failed failed ($summary; ThreadSanitizer, clang, $((SECONDS - start)) s)"
((failed == 0))
