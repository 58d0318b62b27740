#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check that the exported ABI is exactly the documented API.

Usage: check-symbols.py LIBASDNORM_SO HEADER VERSION_SCRIPT [DEBIAN_SYMBOLS]

Three sets of names must be equal:
  - the functions declared with ASDNORM_API in the public header,
  - the names in the global: lists of the linker version script,
  - the dynamic symbols the shared library defines (symbol version
    definitions such as ASDNORM_0.1 are not functions and are ignored).
Every exported symbol must also carry a version node of the script, and the
soname must be libasdnorm.so.<ABI major> (libasdnorm.so.0). With DEBIAN_SYMBOLS
(packaging/debian/libasdnorm0.symbols), its name@NODE entries must be exactly the
script's, plus one NODE@NODE per node, so that the package build (dpkg-gensymbols -c4)
cannot fail on a symbol added without it.

Standard library only: it runs with /usr/bin/python3 and nm/readelf from binutils.
"""
import re
import subprocess
import sys

EXPECTED_SONAME = "libasdnorm.so.0"


def strip_c_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def header_functions(path):
    with open(path, encoding="utf-8") as f:
        text = strip_c_comments(f.read())
    # Drop the macro that defines ASDNORM_API itself.
    text = re.sub(r"^\s*#[^\n]*(?:\\\n[^\n]*)*", " ", text, flags=re.M)
    names = set()
    # A declaration: ASDNORM_API <return type> name(  — possibly across lines.
    for m in re.finditer(r"\bASDNORM_API\b([^;{]*?)\b([A-Za-z_]\w*)\s*\(", text):
        names.add(m.group(2))
    return names


def version_script(path):
    """Returns ({name: node}, [nodes])."""
    with open(path, encoding="utf-8") as f:
        text = strip_c_comments(f.read())
    text = re.sub(r"#[^\n]*", " ", text)
    names = {}
    nodes = []
    for node in re.finditer(r"([A-Za-z_][\w.]*)\s*\{(.*?)\}\s*([A-Za-z_][\w.]*)?\s*;", text, re.S):
        nodes.append(node.group(1))
        body = node.group(2)
        scope = None
        for token in re.finditer(r"(global|local)\s*:|([^\s;:]+)\s*;", body):
            if token.group(1):
                scope = token.group(1)
            elif scope == "global":
                names[token.group(2)] = node.group(1)
    return names, nodes


def debian_symbols(path):
    """The name@node entries of a Debian symbols file."""
    entries = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith(" "):
                entries.add(line.split()[0])
    return entries


def run(cmd):
    try:
        return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.exit(f"check-symbols: {' '.join(cmd)} failed: {exc}")


def library_symbols(path):
    """Returns {name: version or None} of the defined dynamic symbols."""
    out = run(["nm", "-D", "--defined-only", path])
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        kind, name = parts[-2], parts[-1]
        version = None
        if "@" in name:
            name, _, version = name.partition("@")
            version = version.lstrip("@")
        # A version definition is an absolute symbol named after its node.
        if kind == "A" and (version is None or version == name):
            continue
        syms[name] = version
    return syms


def soname(path):
    out = run(["readelf", "-d", "-W", path])
    m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", out)
    return m.group(1) if m else None


def report(title, names):
    print(f"  {title}:")
    for n in sorted(names):
        print(f"    {n}")


def main(argv):
    if len(argv) not in (4, 5):
        sys.exit(__doc__)
    lib, header, script = argv[1:4]
    declared = header_functions(header)
    scripted, nodes = version_script(script)
    exported = library_symbols(lib)
    ok = True

    if not declared:
        print(f"no ASDNORM_API declarations found in {header}")
        ok = False
    sets = {
        "header": declared,
        "version script": set(scripted),
        "library": set(exported),
    }
    pairs = [("header", "version script"), ("header", "library"), ("version script", "library")]
    for a, b in pairs:
        only_a = sets[a] - sets[b]
        if only_a:
            ok = False
            print(f"in the {a} but not in the {b}:")
            report(f"{len(only_a)} name(s)", only_a)
        only_b = sets[b] - sets[a]
        if only_b:
            ok = False
            print(f"in the {b} but not in the {a}:")
            report(f"{len(only_b)} name(s)", only_b)

    unversioned = sorted(n for n, v in exported.items() if v not in nodes)
    if unversioned:
        ok = False
        print("exported without a version node of the script (" + ", ".join(nodes) + "):")
        report(f"{len(unversioned)} symbol(s)", [f"{n}@{exported[n]}" for n in unversioned])
    wrong_node = sorted(n for n, v in exported.items() if n in scripted and v != scripted[n]
                        and v in nodes)
    if wrong_node:
        ok = False
        print("exported with a version node other than the script's:")
        report(f"{len(wrong_node)} symbol(s)", [f"{n}@{exported[n]} (script: {scripted[n]})"
                                               for n in wrong_node])

    if len(argv) == 5:
        want = {f"{n}@{v}" for n, v in scripted.items()} | {f"{n}@{n}" for n in nodes}
        have = debian_symbols(argv[4])
        for title, names in (("missing from", want - have), ("not in the script but in", have - want)):
            if names:
                ok = False
                print(f"{title} {argv[4]}:")
                report(f"{len(names)} entr(ies)", names)

    so = soname(lib)
    if so != EXPECTED_SONAME:
        ok = False
        print(f"soname is {so!r}, expected {EXPECTED_SONAME!r}")

    if ok:
        print(f"OK: {len(declared)} functions declared = listed in {len(nodes)} version "
              f"node(s) = exported; soname {so}")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
