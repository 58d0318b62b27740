#!/usr/bin/env bash
# Every way a user gets libasdnorm, tried as that user would, from this tree:
#   1. embedders: a library-only build, -Ddefault_library=both with a static
#      link through pkg-config --static, and a meson subproject;
#   2. meson install into a non-system prefix: the CLI, the C example through
#      pkg-config and the Python package, with no environment variable;
#   3. meson install --prefix=/usr: the Python package where Debian looks;
#   4. pip install . into a venv (Debian's meson-python, offline), the package's
#      tests against the installed copy;
#   5. the Debian packages: built, lintian-clean, installed with apt, used, purged.
#
#   bash .ci/install.sh          all of them (root for step 5; needs the apt
#                                packages .ci/run installs)
#   bash .ci/install.sh 2 4      only these steps
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
version=$(sed -n "s/^  version: '\(.*\)',$/\1/p" meson.build | head -n 1)
work=$(mktemp -d /tmp/asdnorm-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
py=/usr/bin/python3
steps=("$@")
[[ ${#steps[@]} -gt 0 ]] || steps=(1 2 3 4 5)

say() { printf -- '--- %s\n' "$*"; }
fail() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
# A shell with none of the variables that would point at a build tree.
clean_env() { env -u ASDNORM_LIBRARY -u PYTHONPATH -u LD_LIBRARY_PATH -u PKG_CONFIG_PATH "$@"; }
# The relative paths of the files under $1, sorted.
tree() { (cd "$1" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort); }

step_embedders() {
    say "library only: -Dtools=disabled -Dpython=disabled -Ddocs=disabled -Dtests=disabled"
    meson setup "$work/lib-only" -Dtools=disabled -Dpython=disabled -Ddocs=disabled \
        -Dtests=disabled --prefix=/opt/asdnorm >/dev/null
    meson compile -C "$work/lib-only" >/dev/null
    DESTDIR="$work/lib-only-root" meson install -C "$work/lib-only" --quiet >/dev/null
    local got want
    got=$(tree "$work/lib-only-root/opt/asdnorm")
    want=$(printf '%s\n' include/asdnorm/asdnorm.h \
        "$(meson introspect --buildoptions "$work/lib-only" |
            $py -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"))')"/{libasdnorm.so,libasdnorm.so.0,libasdnorm.so.$version,pkgconfig/asdnorm.pc} |
        sort)
    [[ $got == "$want" ]] || fail "library-only install: got
$got
want
$want"
    if ls "$work/lib-only/lib" | grep -q testing; then
        fail "library-only build built the test library"
    fi
    [[ ! -e $work/lib-only/tools/asdnorm ]] || fail "library-only build built the CLI"
    echo "installed exactly: $(echo "$got" | tr '\n' ' ')"

    say "-Ddefault_library=both: static link through pkg-config --static"
    meson setup "$work/both" -Ddefault_library=both -Dtests=disabled -Dtools=disabled \
        -Dpython=disabled -Ddocs=disabled --prefix=/usr/local >/dev/null
    meson compile -C "$work/both" >/dev/null
    DESTDIR="$work/both-root" meson install -C "$work/both" --quiet >/dev/null
    local pc_dir
    pc_dir=$(dirname "$(find "$work/both-root" -name asdnorm.pc)")
    local cflags libs
    cflags=$(PKG_CONFIG_SYSROOT_DIR="$work/both-root" PKG_CONFIG_PATH="$pc_dir" \
        pkg-config --cflags asdnorm)
    libs=$(PKG_CONFIG_SYSROOT_DIR="$work/both-root" PKG_CONFIG_PATH="$pc_dir" \
        pkg-config --static --libs asdnorm)
    case "$cflags" in *x86_64-linux-gnu*) fail "pkg-config --cflags names a BLAS directory: $cflags" ;; esac
    echo "cflags: $cflags"
    echo "static libs: $libs"
    # -Wl,-Bstatic for libasdnorm alone: the rest (BLAS, libm, libgomp) stays shared.
    # shellcheck disable=SC2086
    cc examples/score.c $cflags -o "$work/score-static" \
        $(sed 's/-lasdnorm/-Wl,-Bstatic -lasdnorm -Wl,-Bdynamic/' <<<"$libs")
    if readelf -d "$work/score-static" | grep -q 'libasdnorm'; then
        fail "the static link still needs libasdnorm.so"
    fi
    clean_env "$work/score-static" >/dev/null
    echo "static example ran"

    say "meson subproject: dependency('asdnorm') builds the library alone"
    mkdir -p "$work/host/subprojects"
    ln -s "$src" "$work/host/subprojects/asdnorm"
    cat >"$work/host/meson.build" <<'EOF'
project('host', 'c', meson_version: '>= 1.0.0')
executable('score', 'score.c', dependencies: dependency('asdnorm'))
EOF
    cp examples/score.c "$work/host/"
    meson setup "$work/host/build" "$work/host" >"$work/host.log" 2>&1 || { cat "$work/host.log"; fail "subproject setup"; }
    meson compile -C "$work/host/build" >/dev/null
    "$work/host/build/score" >/dev/null
    local extra
    extra=$(meson introspect --targets "$work/host/build" |
        $py -c 'import json,sys; print(" ".join(sorted(t["name"] for t in json.load(sys.stdin))))')
    [[ $extra == "asdnorm score" ]] || fail "the subproject built more than the library: $extra"
    echo "subproject targets: $extra"
}

step_prefix() {
    local pfx="$work/prefix"
    say "meson install --prefix $pfx (a non-system prefix)"
    meson setup "$work/b-prefix" --prefix="$pfx" -Dtests=disabled >/dev/null
    meson install -C "$work/b-prefix" --quiet >/dev/null
    clean_env "$pfx/bin/asdnorm" --version
    (cd "$work" && clean_env "$pfx/bin/asdnorm" demo >/dev/null) || fail "installed CLI: demo failed"
    echo "installed CLI runs (RUNPATH: $(readelf -d "$pfx/bin/asdnorm" | sed -n 's/.*runpath: \[\(.*\)\]/\1/p'))"
    local pc_dir site
    pc_dir=$(dirname "$(find "$pfx" -name asdnorm.pc)")
    # shellcheck disable=SC2046
    cc examples/score.c -o "$work/score" $(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs asdnorm) \
        -Wl,-rpath,"$(PKG_CONFIG_PATH="$pc_dir" pkg-config --variable=libdir asdnorm)"
    clean_env "$work/score" >/dev/null
    echo "C example built through pkg-config and ran"
    site=$(dirname "$(find "$pfx" -path '*/asdnorm/__init__.py')")
    site=$(dirname "$site")
    (cd "$work" && clean_env PYTHONPATH="$site" $py "$src/examples/quickstart.py" >/dev/null)
    (cd "$work" && clean_env PYTHONPATH="$site" $py -c \
        'import asdnorm; print("python package:", asdnorm.__file__, "loads", asdnorm._lib.library_path)')
}

step_usr() {
    say "meson install --prefix=/usr (DESTDIR): the Python package in lib/python3/dist-packages"
    meson setup "$work/b-usr" --prefix=/usr -Dtests=disabled >/dev/null
    DESTDIR="$work/usr-root" meson install -C "$work/b-usr" --quiet >/dev/null
    [[ -f $work/usr-root/usr/lib/python3/dist-packages/asdnorm/__init__.py ]] ||
        fail "--prefix=/usr: the package is not in /usr/lib/python3/dist-packages: $(tree "$work/usr-root" | grep __init__)"
    grep -q '^LIBRARY = "libasdnorm.so.0"$' "$work/usr-root/usr/lib/python3/dist-packages/asdnorm/_config.py" ||
        fail "--prefix=/usr: _config.py should name the soname"
    if readelf -d "$work/usr-root/usr/bin/asdnorm" | grep -qi 'rpath\|runpath'; then
        fail "--prefix=/usr: the CLI must have no RPATH"
    fi
    echo "usr/lib/python3/dist-packages/asdnorm, soname lookup, no RPATH"
}

step_pip() {
    say "pip install . into a venv (--system-site-packages, offline)"
    $py -m venv --system-site-packages "$work/venv"
    # pip builds from a copy of the tree; the build directories are not part of it.
    (cd "$work" && clean_env "$work/venv/bin/pip" install --no-build-isolation --no-index \
        --quiet "$src") || fail "pip install failed"
    local where
    where=$(cd "$work" && clean_env "$work/venv/bin/python" -c \
        'import asdnorm; print(asdnorm._lib.library_path)')
    case "$where" in "$work/venv/"*) ;; *) fail "the venv's package loads $where" ;; esac
    echo "the venv's package loads $where"
    (cd "$work" && clean_env "$work/venv/bin/python" "$src/examples/quickstart.py" >/dev/null)
    # The package's own tests, run against the installed copy.
    (cd "$work" && clean_env OMP_NUM_THREADS=2 "$work/venv/bin/python" -m pytest -q \
        -p no:cacheprovider "$src/python/tests") || fail "pytest against the pip-installed package"
}

step_debian() {
    say "Debian packages: dpkg-buildpackage, lintian, apt install, use, purge"
    local d="$work/deb/asdnorm-$version"
    mkdir -p "$d"
    git ls-files -z | tar --null -cf - -T - | tar -xf - -C "$d"
    cp -r packaging/debian "$d/debian"
    (cd "$d" && dpkg-buildpackage -us -uc -b >"$work/deb/build.log" 2>&1) ||
        { tail -60 "$work/deb/build.log"; fail "dpkg-buildpackage failed"; }
    grep -E '^(Ok|Fail|Skipped):' "$work/deb/build.log" | tr -s ' ' | tr '\n' ' '; echo
    lintian --fail-on error,warning "$work"/deb/asdnorm_*.changes ||
        fail "lintian reports errors or warnings"
    echo "lintian: no error, no warning"
    local debs=("$work"/deb/*.deb)
    apt-get install -y -q "${debs[@]}" >"$work/deb/apt.log" 2>&1 ||
        { cat "$work/deb/apt.log"; fail "apt-get install of the packages failed"; }
    local rc=0
    (
        set -e
        cd "$work"
        # shellcheck disable=SC2046
        cc "$src/examples/score.c" -o score-deb $(clean_env pkg-config --cflags --libs asdnorm)
        clean_env ./score-deb >/dev/null
        echo "C example through pkg-config against libasdnorm-dev: ok"
        clean_env /usr/bin/python3 "$src/examples/quickstart.py" >/dev/null
        clean_env /usr/bin/python3 -c 'import asdnorm; print("python3-asdnorm:", asdnorm.__file__, "loads", asdnorm._lib.library_path)'
        clean_env asdnorm demo >/dev/null
        echo "asdnorm demo from asdnorm-tools: ok"
    ) || rc=$?
    apt-get purge -y -q libasdnorm0 libasdnorm-dev python3-asdnorm asdnorm-tools \
        libasdnorm0-dbgsym asdnorm-tools-dbgsym >/dev/null 2>&1 || true
    [[ $rc -eq 0 ]] || fail "the installed Debian packages do not work"
}

for s in "${steps[@]}"; do
    case $s in
        1) step_embedders ;;
        2) step_prefix ;;
        3) step_usr ;;
        4) step_pip ;;
        5) step_debian ;;
        *) fail "unknown step $s (1-5)" ;;
    esac
done
say "install routes: all passed"
