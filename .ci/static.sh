#!/usr/bin/env bash
# Static analysis of the library and the command-line tool: cppcheck and
# clang-tidy (bugprone + the clang static analyzer), zero findings allowed.
#
#   bash .ci/static.sh            from the repository root; configures build-static/
#                                 (clang, for compile_commands.json; nothing is compiled)
#
# Checks turned off, and why:
#  - bugprone-easily-swappable-parameters: the API is n × dim matrices and sizes;
#    adjacent size_t parameters are its nature, not a bug.
#  - bugprone-narrowing-conversions: the double → float narrowing is deliberate
#    (scores are float32 by contract); -Wconversion covers the integer cases.
#  - clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling: it asks
#    for C11 Annex K (memcpy_s, …), which glibc does not provide.
# Feature-test macros (_POSIX_C_SOURCE, …) are allowed by name in
# bugprone-reserved-identifier: defining them is how POSIX says to use them.
# A finding that is a false positive is suppressed at its line with a comment
# that says why (cppcheck-suppress / NOLINT), never here.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build-static
start=$SECONDS
jobs=2

sources=(lib/*.c tools/*.c tools/io/*.c)

# ---- cppcheck ---------------------------------------------------------------
cppcheck_rc=0
cppcheck --enable=warning,performance,portability --error-exitcode=1 --inline-suppr \
    --std=c11 --quiet -j "$jobs" -I include -I lib -I tools \
    --suppress=missingIncludeSystem \
    --template='{file}:{line}: {severity}: {message} [{id}]' \
    lib tools || cppcheck_rc=$?

# ---- clang-tidy ---------------------------------------------------------------
opts=(-Dpython=disabled)
if [[ -f $dir/build.ninja ]]; then
    CC=clang CXX=clang++ meson setup --reconfigure "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1 ||
        { cat "$dir.setup.log"; exit 1; }
else
    CC=clang CXX=clang++ meson setup "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1 ||
        { cat "$dir.setup.log"; exit 1; }
fi
rm -f "$dir.setup.log"

checks='-*,bugprone-*,clang-analyzer-*'
checks+=',-bugprone-easily-swappable-parameters,-bugprone-narrowing-conversions'
checks+=',-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling'
config="{Checks: '$checks', WarningsAsErrors: '*',
 CheckOptions: [{key: bugprone-reserved-identifier.AllowedIdentifiers,
                 value: '_POSIX_C_SOURCE;_XOPEN_SOURCE;_DEFAULT_SOURCE;_GNU_SOURCE;_FILE_OFFSET_BITS'}]}"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
tidy_rc=0
# Headers of lib/, tools/ and the public header are checked through the files including them.
printf '%s\n' "${sources[@]}" |
    xargs -P "$jobs" -n 1 clang-tidy -p "$dir" --quiet --config="$config" \
        --header-filter='.*/(lib|tools|tools/io|include/asdnorm)/[^/]*\.h$' >"$out" 2>&1 || tidy_rc=$?
# clang-tidy prints "N warnings generated." for suppressed system-header noise; keep findings.
grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter|^Use -system-headers' \
    "$out" || true
tidy_findings=$(grep -cE '(warning|error): ' "$out" || true)

if ((cppcheck_rc != 0 || tidy_rc != 0)); then
    echo "static: 0 passed, 1 failed (cppcheck status $cppcheck_rc, clang-tidy $tidy_findings findings over ${#sources[@]} files, $((SECONDS - start)) s)"
    exit 1
fi
echo "static: 2 passed, 0 failed (cppcheck and clang-tidy: no findings in ${#sources[@]} files, $((SECONDS - start)) s)"
