#!/usr/bin/env bash
# The C unit tests under valgrind memcheck: zero errors and zero leaks
# (definite, indirect and possible).
#
#   bash .ci/valgrind.sh            from the repository root; builds in build-valgrind/
#
# One BLAS thread and one OpenMP thread keep it fast and keep the thread pools
# of OpenBLAS and libgomp (alive at exit by design) out of the leak report.
# tests/valgrind.supp holds the narrow suppressions for third-party code, each
# with the reason it is there.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build-valgrind
start=$SECONDS
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

opts=(-Dbuildtype=debugoptimized -Dpython=disabled)
if [[ -f $dir/build.ninja ]]; then
    CC=gcc CXX=g++ meson setup --reconfigure "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1 ||
        { cat "$dir.setup.log"; exit 1; }
else
    CC=gcc CXX=g++ meson setup "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1 ||
        { cat "$dir.setup.log"; exit 1; }
fi
rm -f "$dir.setup.log"
meson compile -C "$dir"

wrapper="valgrind --quiet --error-exitcode=1 --leak-check=full"
wrapper+=" --errors-for-leak-kinds=definite,indirect,possible"
wrapper+=" --show-leak-kinds=definite,indirect,possible"
if [[ -f tests/valgrind.supp ]]; then
    wrapper+=" --suppressions=$PWD/tests/valgrind.supp"
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
meson test -C "$dir" --no-rebuild --print-errorlogs --suite unit --timeout-multiplier 10 \
    --wrapper "$wrapper" 2>&1 | tee "$log" || rc=1

ok=$(awk '/^Ok:/ {print $2}' "$log")
fail=$(awk '/^Fail:/ {print $2}' "$log")
timeout=$(awk '/^Timeout:/ {print $2}' "$log")
failed=$((${fail:-0} + ${timeout:-0}))
echo "valgrind: ${ok:-0} passed, $failed failed (memcheck, zero errors and leaks required, $((SECONDS - start)) s)"
if ((rc != 0 || failed != 0 || ${ok:-0} == 0)); then
    exit 1
fi
