#!/usr/bin/env bash
# ABI guard: the ABI of libasdnorm.so compared with the committed baseline
# tests/abi/libasdnorm.abi (abigail-tools). Any difference abidiff reports,
# other than added functions, fails.
#
#   bash .ci/abi.sh            compare (from the repository root; builds in build-abi/)
#   bash .ci/abi.sh --update   rewrite the baseline from this tree, on purpose
#
# The representation keeps only what users see: types defined in the public
# header (the opaque structs' internal layout is dropped), no source locations
# or build paths, and type ids hashed so that the file diffs well in review.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build-abi
baseline=tests/abi/libasdnorm.abi
start=$SECONDS
update=0
case "${1:-}" in
    --update) update=1 ;;
    "") ;;
    *) echo "usage: bash .ci/abi.sh [--update]" >&2; exit 2 ;;
esac

# Debug information at -Og, the library only.
opts=(-Dbuildtype=debug -Doptimization=g -Dtests=disabled -Dpython=disabled)
if [[ -f $dir/build.ninja ]]; then
    CC=gcc CXX=g++ meson setup --reconfigure "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1 ||
        { cat "$dir.setup.log"; exit 1; }
else
    CC=gcc CXX=g++ meson setup "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1 ||
        { cat "$dir.setup.log"; exit 1; }
fi
rm -f "$dir.setup.log"
meson compile -C "$dir" asdnorm:shared_library

# The real file behind the soname link.
so=$(readlink -f "$dir/lib/libasdnorm.so.0")
new=$dir/libasdnorm.abi
abidw --headers-dir include/asdnorm --drop-private-types --no-show-locs --no-corpus-path \
    --no-comp-dir-path --no-elf-needed --type-id-style hash --exported-interfaces-only --out-file "$new" "$so"

if ((update)); then
    mkdir -p "$(dirname "$baseline")"
    cp "$new" "$baseline"
    echo "abi: baseline $baseline rewritten from $(basename "$so") ($(grep -c '<elf-symbol ' "$baseline") symbols); commit it with the change that made it necessary"
    exit 0
fi

if [[ ! -f $baseline ]]; then
    echo "abi: no baseline $baseline; create it with: bash .ci/abi.sh --update" >&2
    exit 1
fi

rc=0
abidiff --no-added-syms "$baseline" "$new" || rc=$?
if ((rc != 0)); then
    # abidiff's status is a bit field: 1 error, 2 usage, 4 ABI change, 8 incompatible change.
    why=()
    ((rc & 1)) && why+=("abidiff error")
    ((rc & 2)) && why+=("usage error")
    ((rc & 4)) && why+=("ABI change")
    ((rc & 8)) && why+=("incompatible ABI change")
    echo
    echo "abi: 0 passed, 1 failed: libasdnorm's ABI differs from $baseline (abidiff status $rc: ${why[*]})."
    echo "If the change is intended, update the baseline in the same change, and bump the"
    echo "soname in meson.build (abi_major) if it is incompatible:"
    echo "    bash .ci/abi.sh --update && git add $baseline"
    exit 1
fi
echo "abi: 1 passed, 0 failed ($(grep -c '<elf-symbol ' "$baseline") symbols, ABI equal to $baseline, $((SECONDS - start)) s)"
