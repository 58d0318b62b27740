#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generate cffi declarations from include/asdnorm/asdnorm.h, and parse the header for the
tests that check the Python package against it.

    gen_cdef.py HEADER OUTPUT

writes OUTPUT (installed as <includedir>/asdnorm/asdnorm.cdef): the header's types, enums,
integer constants and function declarations, without comments, preprocessor lines or
attributes, in the C subset ``cffi.FFI.cdef`` accepts. When cffi is importable the result
is also fed to it, so a declaration cffi refuses fails the build instead of the user.

Preprocessing the header with the compiler instead would drag in glibc's stddef.h
(max_align_t and friends), which cffi does not parse; the header itself needs only
stddef.h's size_t and stdint.h's fixed-width types, which cffi knows.
"""
import re
import sys
from typing import Dict, List, NamedTuple, Tuple

__all__ = ["Function", "Header", "parse", "cdef", "main"]


class Function(NamedTuple):
    """A function declaration: its return type, name and parameters (type, name)."""

    restype: str
    name: str
    params: List[Tuple[str, str]]


class Header(NamedTuple):
    """What the tests need from the header."""

    functions: Dict[str, Function]
    enums: Dict[str, Dict[str, int]]   # C enum name -> {member: value}
    constants: Dict[str, int]          # integer #defines


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def _declarations(text: str) -> Tuple[str, Dict[str, int]]:
    """The header's C declarations (no preprocessor lines, no conditional blocks other
    than the include guard) and its integer #defines."""
    text = _strip_comments(text).replace("\\\n", " ")
    out: List[str] = []
    constants: Dict[str, int] = {}
    depth = 0  # conditional blocks inside the include guard, whose contents are dropped
    guard_seen = False
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#"):
            directive = s[1:].strip()
            if directive.startswith(("if", "ifdef", "ifndef")):
                if not guard_seen and directive.startswith("ifndef"):
                    guard_seen = True  # the include guard: keep its contents
                else:
                    depth += 1
            elif directive.startswith("endif"):
                depth = max(depth - 1, 0)
            elif directive.startswith("define") and depth == 0:
                m = re.fullmatch(r"define\s+(\w+)\s+(-?\d+)[uU]?", directive)
                if m:
                    constants[m.group(1)] = int(m.group(2))
            continue
        if depth == 0:
            out.append(line)
    body = " ".join(out)
    body = re.sub(r"\bASDNORM_API\b", " ", body)
    return re.sub(r"\s+", " ", body).strip(), constants


def _split_params(params: str) -> List[Tuple[str, str]]:
    params = params.strip()
    if params in ("", "void"):
        return []
    out = []
    for p in params.split(","):
        p = re.sub(r"\s*\*\s*", " * ", p.strip())
        m = re.fullmatch(r"(.*?)\s*\b(\w+)", p)
        if not m or not m.group(1):
            raise ValueError(f"cannot parse the parameter {p!r}")
        out.append((normalize_type(m.group(1)), m.group(2)))
    return out


def normalize_type(ctype: str) -> str:
    """A C type with single spaces and its stars attached: "const float *"."""
    ctype = re.sub(r"\s*\*\s*", "*", ctype.strip())
    ctype = re.sub(r"\s+", " ", ctype)
    return re.sub(r"(?<=[\w])\*", " *", ctype)


def parse(text: str) -> Header:
    """Parse the text of asdnorm.h."""
    body, constants = _declarations(text)
    functions: Dict[str, Function] = {}
    enums: Dict[str, Dict[str, int]] = {}
    for m in re.finditer(r"\benum\s+(\w+)\s*\{(.*?)\}", body):
        members: Dict[str, int] = {}
        for item in m.group(2).split(","):
            if item.strip():
                name, value = (s.strip() for s in item.split("="))
                members[name] = int(value)
        enums[m.group(1)] = members
    no_bodies = re.sub(r"\{.*?\}", "{}", body)
    for stmt in no_bodies.split(";"):
        stmt = stmt.strip()
        if not stmt or stmt.startswith(("typedef", "enum", "extern")):
            continue
        m = re.fullmatch(r"(.*?)\b(asdnorm_\w+)\s*\((.*)\)", stmt)
        if not m:
            raise ValueError(f"cannot parse the declaration {stmt!r}")
        functions[m.group(2)] = Function(normalize_type(m.group(1)), m.group(2),
                                         _split_params(m.group(3)))
    return Header(functions, enums, constants)


def cdef(text: str) -> str:
    """The cffi declarations of the header's text."""
    body, constants = _declarations(text)
    lines = [f"#define {name} {value}" for name, value in constants.items()]
    for stmt in re.split(r"(?<=;)", body):
        stmt = stmt.strip()
        if stmt:
            lines.append(stmt)
    return ("/* Generated from asdnorm.h by gen_cdef.py: cffi declarations of libasdnorm.\n"
            " * Use: ffi.cdef(open(path).read()); lib = ffi.dlopen(\"libasdnorm.so.0\") */\n"
            + "\n".join(lines) + "\n")


def main(argv: List[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: gen_cdef.py HEADER OUTPUT", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        text = f.read()
    out = cdef(text)
    header = parse(text)
    if not header.functions:
        print(f"{argv[1]}: no function declarations found", file=sys.stderr)
        return 1
    try:
        import cffi
    except ImportError:
        pass
    else:
        cffi.FFI().cdef(out)  # raises cffi.CDefError for anything it does not accept
    with open(argv[2], "w", encoding="utf-8") as f:
        f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
