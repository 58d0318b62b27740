#!/usr/bin/env bash
# The Python package's checks that need optional Debian packages run, not skip:
# check_estimator (python3-sklearn), the cffi declarations and example (python3-cffi),
# mypy --strict (mypy), the header consistency and the doctests.
#
#   bash .ci/python.sh        from the repository root, after README's build (build/)
set -euo pipefail
cd "$(dirname "$0")/.."

py=/usr/bin/python3
missing=()
$py -c 'import cffi' 2>/dev/null || missing+=(python3-cffi)
$py -c 'import sklearn' 2>/dev/null || missing+=(python3-sklearn)
command -v mypy >/dev/null || missing+=(mypy)
if ((${#missing[@]})); then
    echo "python.sh: missing Debian packages: ${missing[*]}" >&2
    exit 1
fi

meson compile -C build >/dev/null   # the library and build/python/asdnorm.cdef
log=$(mktemp)
trap 'rm -f "$log"' EXIT
ASDNORM_LIBRARY=$PWD/build/lib/libasdnorm.so.0 ASDNORM_CDEF=$PWD/build/python/asdnorm.cdef \
PYTHONPATH=$PWD/python PYTHONDONTWRITEBYTECODE=1 \
    $py -m pytest -q -p no:cacheprovider -rs python/tests/test_cffi.py \
        python/tests/test_api.py python/tests/test_header.py python/tests/test_detector.py \
        2>&1 | tee "$log"
if grep -q SKIPPED "$log"; then
    echo "python.sh: a check was skipped (see above)" >&2
    exit 1
fi
meson test -C build --print-errorlogs --suite examples cffi_score.py
echo "python.sh: OK"
