#!/bin/sh
# The command-line program's sources follow .clang-format (clang-format 14,
# Debian 12's). Prints the differences and fails when a file does not.
#   .ci/format.sh          check
#   .ci/format.sh --fix    reformat in place
set -eu
cd "$(dirname "$0")/.."
fmt=${CLANG_FORMAT:-clang-format}
command -v "$fmt" >/dev/null || { echo "format.sh: $fmt not found (apt install clang-format)" >&2; exit 1; }
files=$(ls tools/*.c tools/*.h tools/io/*.c tools/io/*.h)
if [ "${1:-}" = "--fix" ]; then
    # shellcheck disable=SC2086 # one word per file name (none has a space)
    "$fmt" -i $files
    exit 0
fi
status=0
for f in $files; do
    if ! "$fmt" "$f" | diff -u "$f" - >&2; then
        echo "format.sh: $f is not formatted (.ci/format.sh --fix)" >&2
        status=1
    fi
done
[ $status -eq 0 ] && echo "format.sh: $(echo "$files" | wc -w) files formatted as .clang-format says"
exit $status
