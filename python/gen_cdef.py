#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generate cffi declarations from include/asdnorm/asdnorm.h, and give the Python tests the
header's functions, enums and constants.

    gen_cdef.py HEADER OUTPUT

writes OUTPUT (installed as <includedir>/asdnorm/asdnorm.cdef): the header's integer
constants, enums, opaque types and function declarations, in the C subset that
``cffi.FFI.cdef`` accepts. When cffi is importable the result is also fed to it, so that a
declaration cffi refuses fails the build rather than the user.

The header is read by docs/gen-api.py's parser (the one that generates docs/api.md), not
by the C preprocessor: preprocessing would drag in glibc's stddef.h (max_align_t and
friends), which cffi does not parse, while the header needs only size_t and the stdint.h
types, which cffi knows.
"""
import importlib.util
import os
import re
import sys
from typing import Any, Dict, List, NamedTuple, Tuple

__all__ = ["Function", "Header", "parse", "cdef", "main"]

_GEN_API = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "docs",
                        "gen-api.py")


def _parse_header(text: str) -> Any:
    """docs/gen-api.py's parse of the header, refusing one it found problems in."""
    spec = importlib.util.spec_from_file_location("asdnorm_gen_api", _GEN_API)
    assert spec is not None and spec.loader is not None, _GEN_API
    gen_api = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_api)
    h = gen_api.parse_header(text)
    if h.problems:
        raise ValueError("; ".join(f"line {line}: {msg}" for line, msg in h.problems))
    return h


class Function(NamedTuple):
    """A function declaration: its return type, name and parameters (type, name)."""

    restype: str
    name: str
    params: List[Tuple[str, str]]


class Header(NamedTuple):
    """What the tests need from the header."""

    functions: Dict[str, Function]
    enums: Dict[str, Dict[str, int]]   # C enum tag -> {member: value}
    constants: Dict[str, int]          # the integer #defines


_INT = re.compile(r"\s*(-?\d+)[uU]?\s*")


def _is_int(value: str) -> bool:
    return _INT.fullmatch(value) is not None


def _int(value: str) -> int:
    m = _INT.fullmatch(value)
    if m is None:
        raise ValueError(f"not an integer constant: {value!r}")
    return int(m.group(1))


def parse(text: str) -> Header:
    """The functions, enums and integer constants of the header's text."""
    h = _parse_header(text)
    functions = {f.name: Function(f.ret, f.name, [(p["type"], p["name"]) for p in f.params])
                 for f in h.functions()}
    enums = {e.tag: {m["name"]: _int(m["value"]) for m in e.members} for e in h.enums()}
    constants = {i.name: _int(i.value) for i in h.all_items()
                 if i.kind == "macro" and _is_int(i.value)}
    return Header(functions, enums, constants)


def cdef(text: str) -> str:
    """The cffi declarations of the header's text, in the header's order."""
    h = _parse_header(text)
    lines = ["/* Generated from asdnorm.h by python/gen_cdef.py: the cffi declarations of",
             " * libasdnorm. ffi.cdef(open(path).read()); lib = ffi.dlopen(\"libasdnorm.so.0\")",
             " * The documentation is in the header. */"]
    for item in sorted(h.all_items(), key=lambda i: int(i.line)):
        if item.kind == "macro":
            if _is_int(item.value):  # cffi takes integer constants only
                lines.append(f"#define {item.name} {_int(item.value)}")
        elif item.kind == "enum":
            members = ", ".join(f"{m['name']} = {_int(m['value'])}" for m in item.members)
            if item.typedef:
                lines.append(f"typedef enum {item.tag} {{ {members} }} {item.name};")
            else:
                lines.append(f"enum {item.tag} {{ {members} }};")
        elif item.kind == "struct":
            lines.append(f"typedef struct {item.tag} {item.name};")
        elif item.kind == "fntype":
            lines.append(item.decl)
        elif item.kind == "function":
            params = ", ".join(f"{p['type']} {p['name']}".replace("* ", "*")
                               for p in item.params) or "void"
            ret = item.ret if item.ret.endswith("*") else item.ret + " "
            lines.append(f"{ret}{item.name}({params});")
    return "\n".join(lines) + "\n"


def main(argv: List[str]) -> int:
    if len(argv) != 3:
        print("usage: gen_cdef.py HEADER OUTPUT", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        text = f.read()
    try:
        out = cdef(text)
    except ValueError as exc:
        print(f"{argv[1]}: {exc}", file=sys.stderr)
        return 1
    try:
        import cffi  # type: ignore[import]  # cffi ships no type hints
    except ImportError:
        pass
    else:
        cffi.FFI().cdef(out)  # raises cffi.CDefError for anything it does not accept
    with open(argv[2], "w", encoding="utf-8") as f:
        f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
