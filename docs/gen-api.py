#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Generate docs/api.md from the doc comments of include/asdnorm/asdnorm.h, and check it.

    gen-api.py HEADER [-o OUT]          write the Markdown reference (stdout without -o)
    gen-api.py --check HEADER API_MD    fail if API_MD differs from what HEADER generates,
                                        or if the header's documentation is incomplete
    gen-api.py --man-synopsis HEADER    print the roff SYNOPSIS lines of libasdnorm(3)
    gen-api.py --check-man HEADER MAN   fail if MAN's SYNOPSIS does not declare exactly the
                                        header's functions, with the header's prototypes
    gen-api.py --self-test HEADER       fail unless --check catches seeded mistakes

The header is the reference (docs/README.md); this script only re-presents it. What it
understands, and nothing more:
  - /** ... */ blocks immediately before an ASDNORM_API declaration, a typedef, an enum
    or a #define; tags @brief @file @name @{ @} @param[in|out|in,out] @return @since
    @note @warning,
    inline @p NAME, ::NAME and NAME() cross-references;
  - /**< ... */ after an enum member;
  - #define at the level of the include guard (macros inside other #if blocks, such as
    ASDNORM_API, are build machinery and are not documented).

--check fails, naming each problem, when: a function declared ASDNORM_API has no doc
comment or no @since; an @since is not a version or is newer than the minor release after
ASDNORM_VERSION_STRING;
an @return names an ASDNORM_* status that asdnorm_status does not have; an @param names
no parameter of its function; a tag is unknown; a ::NAME or NAME() reference names nothing
declared; an asdnorm_status member has no pinned value or shares one; or the committed
Markdown differs from the generated one (a diff is printed).

Standard library only: it runs in every build environment (meson test --suite docs).
"""

import argparse
import difflib
import re
import subprocess
import shutil
import sys

HEADER_NAME = "include/asdnorm/asdnorm.h"
KNOWN_TAGS = {"brief", "file", "name", "param", "return", "since", "note", "warning", "p", "{", "}"}


class HeaderError(Exception):
    pass


# ---------------------------------------------------------------------------- parsing

class Item:
    """One documented thing of the header: function, enum, struct typedef or macro."""

    def __init__(self, kind, name, doc, line, **extra):
        self.kind = kind            # "function" | "enum" | "struct" | "fntype" | "macro"
        self.name = name
        self.doc = doc              # raw doc comment body (str) or None
        self.line = line
        self.__dict__.update(extra)


class Group:
    def __init__(self, title, doc):
        self.title = title
        self.doc = doc
        self.items = []


class Header:
    def __init__(self):
        self.file_doc = None
        self.groups = []            # Group, in order
        self.loose = []             # items outside any group
        self.problems = []          # (line, message)
        self.text = ""              # the header itself

    def all_items(self):
        for g in self.groups:
            yield from g.items
        yield from self.loose

    def functions(self):
        return [i for i in self.all_items() if i.kind == "function"]

    def enums(self):
        return [i for i in self.all_items() if i.kind == "enum"]

    def macro(self, name):
        for i in self.all_items():
            if i.kind == "macro" and i.name == name:
                return i
        return None


def _line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def _comment_body(raw):
    """The text of a /** ... */ or /**< ... */ comment, without the markers and the
    leading ' * ' of each line; lines are kept."""
    body = raw[3:-2]
    if body.startswith("<"):
        body = body[1:]
    lines = body.split("\n")
    out = []
    for ln in lines:
        out.append(re.sub(r"^\s*\*(?!\*)\s?", "", ln) if re.match(r"^\s*\*(?!/)", ln) else ln.strip())
    # Trim blank first/last lines, and a common indentation.
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(l.rstrip() for l in out)


_TOKEN = re.compile(
    r"(?P<doc>/\*\*(?!<).*?\*/)"
    r"|(?P<comment>/\*.*?\*/|//[^\n]*)"
    r"|(?P<pp>^[ \t]*#(?:[^\n\\]|\\(?!\n))*(?:\\\n(?:[^\n\\]|\\(?!\n))*)*)"
    r"|(?P<enum>(?:typedef\s+)?enum\s+(?P<ename>\w+)\s*\{(?P<ebody>.*?)\}\s*(?P<etd>\w*)\s*;)"
    r"|(?P<struct>typedef\s+struct\s+(?P<sname>\w+)\s+(?P<stype>\w+)\s*;)"
    r"|(?P<fntype>typedef\s+[^;{}]*?\(\s*\*\s*(?P<fname>\w+)\s*\)\s*\([^;{}]*\)\s*;)"
    r"|(?P<api>ASDNORM_API\b[^;]*;)"
    r"|(?P<other>[^\s])",
    re.S | re.M)


_MEMBER = re.compile(
    r"(?P<mdoc>/\*\*<.*?\*/)"
    r"|(?P<mcomment>/\*.*?\*/)"
    r"|(?P<mname>[A-Za-z_]\w*)\s*(?:=\s*(?P<mval>[^,/]+?))?\s*(?:,|(?=/\*)|$)",
    re.S)


def parse_header(text):
    h = Header()
    h.text = text
    pending_doc = None          # (body, line) of a doc comment not yet attached
    group = None
    depth = 0                   # preprocessor conditional depth
    guard = None
    guard_depth = None

    def attach():
        nonlocal pending_doc
        d = pending_doc
        pending_doc = None
        return d

    def add(item):
        (group.items if group else h.loose).append(item)

    for m in _TOKEN.finditer(text):
        line = _line_of(text, m.start())
        kind = m.lastgroup
        if kind == "doc":
            body = _comment_body(m.group("doc"))
            if re.search(r"@file\b", body):
                h.file_doc = body
                continue
            if re.match(r"@\}\s*$", body.strip()):
                group = None
                pending_doc = None
                continue
            nm = re.match(r"@name\s+([^\n]*)\n?(.*)$", body, re.S)
            if nm:
                rest = nm.group(2)
                rest = re.sub(r"\s*@\{\s*$", "", rest.rstrip())
                group = Group(nm.group(1).strip(), rest.strip() or None)
                h.groups.append(group)
                pending_doc = None
                continue
            if pending_doc is not None:
                h.problems.append((pending_doc[1], "doc comment documents nothing"))
            pending_doc = (body, line)
            continue
        if kind == "comment":
            continue
        if kind == "pp":
            d = m.group("pp").strip()
            if re.match(r"#\s*if", d):
                depth += 1
                g = re.match(r"#\s*ifndef\s+(\w+)", d)
                if g and guard is None:
                    guard, guard_depth = g.group(1), depth
            elif re.match(r"#\s*endif", d):
                depth -= 1
            dm = re.match(r"#\s*define\s+(\w+)(\([^)]*\))?\s*(.*)$", d, re.S)
            if dm:
                name = dm.group(1)
                doc = attach()
                if name == guard or depth != guard_depth:
                    continue
                value = re.sub(r"\\\n\s*", " ", dm.group(3)).strip()
                add(Item("macro", name, doc[0] if doc else None, line, value=value))
            continue
        if kind == "enum":
            doc = attach()
            members = []
            ebody = m.group("ebody")
            body_start = m.start("ebody")
            for mm in _MEMBER.finditer(ebody):
                if mm.group("mdoc"):
                    # /**< documents the member before it.
                    if members:
                        members[-1]["doc"] = _comment_body(mm.group("mdoc"))
                    continue
                if mm.group("mname"):
                    members.append({
                        "name": mm.group("mname"),
                        "value": mm.group("mval").strip() if mm.group("mval") else None,
                        "doc": None,
                        "line": _line_of(text, body_start + mm.start()),
                    })
            name = m.group("etd") or m.group("ename")
            add(Item("enum", name, doc[0] if doc else None, line, members=members,
                     typedef=bool(m.group("etd")), tag=m.group("ename")))
            continue
        if kind == "struct":
            doc = attach()
            add(Item("struct", m.group("stype"), doc[0] if doc else None, line,
                     tag=m.group("sname")))
            continue
        if kind == "fntype":
            doc = attach()
            add(Item("fntype", m.group("fname"), doc[0] if doc else None, line,
                     decl=re.sub(r"\s+", " ", m.group("fntype")).strip()))
            continue
        if kind == "api":
            doc = attach()
            decl = re.sub(r"\s+", " ", m.group("api")).strip()
            fm = re.match(r"ASDNORM_API\s+(.*?)\b(\w+)\s*\((.*)\)\s*;$", decl)
            if not fm:
                h.problems.append((line, "cannot parse declaration: " + decl))
                continue
            ret, name, plist = fm.group(1).strip(), fm.group(2), fm.group(3).strip()
            params = []
            if plist and plist != "void":
                for p in plist.split(","):
                    p = p.strip()
                    pm = re.match(r"(.*?)(\w+)$", p)
                    if not pm:
                        h.problems.append((line, f"{name}: cannot parse parameter {p!r}"))
                        continue
                    ptype = re.sub(r"\s*(\*+)\s*", r" \1", pm.group(1)).strip()
                    params.append({"type": ptype, "name": pm.group(2)})
            add(Item("function", name, doc[0] if doc else None, line, ret=ret, params=params))
            continue
        if kind == "other":
            # Anything else (extern "C" braces, stray tokens) ends a pending doc comment.
            if pending_doc is not None:
                h.problems.append((pending_doc[1], "doc comment documents nothing"))
                pending_doc = None
    return h


# ---------------------------------------------------------------------------- doc comments

def split_tags(doc):
    """Split a doc comment body into (description, tags) where tags is a list of
    (tag, arg, text). Continuation lines belong to the tag above them."""
    desc_lines, tags = [], []
    cur = None
    for ln in doc.split("\n"):
        s = ln.strip()
        tm = re.match(r"@(\w+)(\[[^\]]*\])?\s*(.*)$", s)
        if tm and tm.group(1) != "p":
            tag, arg, rest = tm.group(1), tm.group(2), tm.group(3)
            cur = [tag, arg[1:-1] if arg else None, rest]
            tags.append(cur)
        elif cur is not None and s:
            cur[2] += "\n" + s
        elif cur is not None and not s:
            cur = None
            desc_lines.append("")
        else:
            desc_lines.append(ln)
    # An inline "@since X" at the end of a one-line comment.
    desc = "\n".join(desc_lines).strip()
    im = re.search(r"\s*@since\s+(\S+)\s*$", desc)
    if im:
        tags.append(["since", None, im.group(1)])
        desc = desc[:im.start()].rstrip()
    return desc, [tuple(t) for t in tags]


def param_tag(tag):
    """('param', 'in', 'x   n × dim floats') -> (['x'], 'in', 'n × dim floats')."""
    _, direction, text = tag
    m = re.match(r"((?:\w+\s*,\s*)*\w+)\s*(.*)$", text, re.S)
    names = [n.strip() for n in m.group(1).split(",")]
    return names, direction, m.group(2).strip()


# ---------------------------------------------------------------------------- checks

def version_tuple(s):
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", s)
    return tuple(int(x) for x in m.groups()) if m else None


def check_header(h):
    problems = list(h.problems)
    status = next((e for e in h.enums() if e.name == "asdnorm_status"), None)
    if status is None:
        problems.append((1, "no asdnorm_status enum"))
        status_names = set()
    else:
        status_names = {m["name"] for m in status.members}
        seen = {}
        for m in status.members:
            if m["value"] is None or not re.fullmatch(r"\d+", m["value"]):
                problems.append((m["line"], f"status {m['name']} has no pinned numeric value"))
            elif m["value"] in seen:
                problems.append((m["line"], f"status {m['name']} shares value {m['value']} "
                                            f"with {seen[m['value']]}"))
            else:
                seen[m["value"]] = m["name"]
    vs = h.macro("ASDNORM_VERSION_STRING")
    current = version_tuple(vs.value.strip('"')) if vs else None
    names = known_names(h)
    funcs = {f.name for f in h.functions()}
    docs = []                                      # (line, text) to scan for references
    if h.file_doc:
        docs.append((1, h.file_doc))
    for g in h.groups:
        if g.doc:
            docs.append((1, g.doc))
    counts = {}
    for it in h.all_items():
        counts[(it.kind, it.name)] = counts.get((it.kind, it.name), 0) + 1
        if it.doc:
            docs.append((it.line, it.doc))
        if it.kind == "enum":
            for m in it.members:
                if m["doc"]:
                    docs.append((m["line"], m["doc"]))
        if it.kind != "function":
            continue
        where = f"{it.name} (line {it.line})"
        if not it.doc:
            problems.append((it.line, f"{where}: ASDNORM_API function without a doc comment"))
            continue
        desc, tags = split_tags(it.doc)
        since = [t for t in tags if t[0] == "since"]
        if not since:
            problems.append((it.line, f"{where}: no @since"))
        for t in since:
            v = version_tuple(t[2].strip())
            if v is None:
                problems.append((it.line, f"{where}: @since {t[2]!r} is not MAJOR.MINOR.PATCH"))
            # The next minor release may be named before ASDNORM_VERSION_STRING is bumped
            # for it: its functions are in its own version node of lib/asdnorm.map.
            elif current and v > (current[0], current[1] + 1, 0):
                problems.append((it.line, f"{where}: @since {t[2]} is newer than "
                                          f"ASDNORM_VERSION_STRING {vs.value}"))
        declared = {p["name"] for p in it.params}
        for t in tags:
            if t[0] == "param":
                pnames, direction, _ = param_tag(t)
                for pn in pnames:
                    if pn not in declared:
                        problems.append((it.line, f"{where}: @param {pn} is not a parameter "
                                                  f"(declared: {', '.join(sorted(declared))})"))
                if direction not in ("in", "out", "in,out"):
                    problems.append((it.line, f"{where}: @param direction [{direction}] "
                                              "is not [in], [out] or [in,out]"))
            if t[0] == "return":
                for tok in re.findall(r"\bASDNORM_\w+", t[2]):
                    if tok not in status_names:
                        problems.append((it.line, f"{where}: @return lists {tok}, "
                                                  "which is not an asdnorm_status value"))
            if t[0] not in KNOWN_TAGS:
                problems.append((it.line, f"{where}: unknown tag @{t[0]}"))
    for (kind, name), c in counts.items():
        if c > 1:
            problems.append((1, f"{kind} {name} is declared {c} times"))
    for line, text in docs:
        for tag in re.findall(r"@(\w+|\{|\})", text):
            if tag not in KNOWN_TAGS:
                problems.append((line, f"unknown tag @{tag}"))
        for ref in re.findall(r"::(\w+)", text):
            if ref not in names:
                problems.append((line, f"::{ref} refers to nothing declared in the header"))
        for ref in re.findall(r"\b(asdnorm_\w+)\(\)", text):
            if ref not in funcs:
                problems.append((line, f"{ref}() is not a function of the header"))
    return problems


def header_warnings(h):
    """Gaps worth telling the header's authors that do not fail the check."""
    out = []
    for f in h.functions():
        if f.doc and not split_tags(f.doc)[0]:
            out.append((f.line, f"{f.name}: doc comment has no description, only tags"))
    return out


def known_names(h):
    names = {}
    for it in h.all_items():
        names[it.name] = it
        if it.kind == "enum":
            for m in it.members:
                names[m["name"]] = it
    return names


# ---------------------------------------------------------------------------- Markdown

def anchor(name):
    return name.lower()


def md_inline(text, h, code_names=True):
    """Doc-comment text to Markdown: @p x, ::name, name(), identifiers as code,
    '*' escaped outside code spans."""
    names = known_names(h)
    funcs = {f.name for f in h.functions()}
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 1:
            out.append(part)
            continue
        part = part.replace("*", "\\*").replace("|", "\\|")

        def ref(m):
            word, call = m.group(2), m.group(3)
            target = names.get(word)
            label = f"`{word}{'()' if call else ''}`"
            if target is not None and target.name == word and target.kind != "macro":
                return f"[{label}](#{anchor(target.name)})"
            return label
        part = re.sub(r"@p\s+(\w+)", r"`\1`", part)
        part = re.sub(r"\b(math §[\d.]*\d)", r"[\1](math.md)", part)
        part = re.sub(r"\bdocs/([\w-]+\.md)\b", r"[docs/\1](\1)", part)
        part = re.sub(r"(::)?\b((?:asdnorm|ASDNORM)_\w+)(\(\))?", ref, part)
        out.append(part)
    return "".join(out)


def md_paragraphs(text, h):
    """Reflow a description: blank lines separate paragraphs, '- ' starts a list item."""
    blocks, cur = [], None
    for ln in text.split("\n"):
        s = ln.strip()
        if not s:
            cur = None
            continue
        if s.startswith("- "):
            cur = ["item", s[2:]]
            blocks.append(cur)
        elif cur is None:
            cur = ["para", s]
            blocks.append(cur)
        else:
            cur[1] += " " + s
    out, prev = [], None
    for kind, txt in blocks:
        if out and not (kind == "item" and prev == "item"):
            out.append("")
        out.append(("- " if kind == "item" else "") + md_inline(txt, h))
        prev = kind
    return "\n".join(out)


def c_prototype(f, width=92):
    """The declaration as C, wrapped one parameter a line when it is long."""
    def pdecl(p):
        t = p["type"]
        return f"{t}{'' if t.endswith('*') else ' '}{p['name']}"
    ret = f.ret + ("" if f.ret.endswith("*") else " ")
    params = [pdecl(p) for p in f.params] or ["void"]
    one = f"{ret}{f.name}({', '.join(params)});"
    if len(one) <= width:
        return one
    lead = f"{ret}{f.name}("
    pad = " " * len(lead)
    lines, cur = [], lead
    for i, p in enumerate(params):
        piece = p + (", " if i + 1 < len(params) else ");")
        if len(cur) + len(piece.rstrip()) > width and cur.strip() != lead.strip():
            lines.append(cur.rstrip())
            cur = pad
        cur += piece
    lines.append(cur.rstrip())
    return "\n".join(lines)


def first_sentence(text):
    text = " ".join(text.split())
    m = re.match(r"(.+?\.)(?=\s+[A-Z(]|\s*$)", text)
    return m.group(1) if m else text


def render_function(f, h):
    out = [f"### {f.name}", "", "```c", c_prototype(f), "```", ""]
    desc, tags = split_tags(f.doc or "")
    if desc:
        out += [md_paragraphs(desc, h), ""]
    pdoc = {}                                      # name -> (names of its tag, dir, text)
    for t in tags:
        if t[0] == "param":
            names, direction, text = param_tag(t)
            for n in names:
                pdoc[n] = (names, direction, text)
    if f.params and pdoc:
        types = {p["name"]: p["type"] for p in f.params}
        out += ["| Parameter | Type | Direction | Description |", "|---|---|---|---|"]
        done = set()
        for p in f.params:
            if p["name"] in done:
                continue
            names, direction, text = pdoc.get(p["name"], ([p["name"]], "", ""))
            names = [n for n in names if n in types]
            done.update(names)
            text = " ".join(text.split())
            out.append(f"| {', '.join(f'`{n}`' for n in names)} | "
                       f"{', '.join(f'`{types[n]}`' for n in names)} | {direction} | "
                       f"{md_inline(text, h)} |")
        out.append("")
    for t in tags:
        if t[0] == "return":
            out += ["**Returns:** " + md_inline(" ".join(t[2].split()), h), ""]
    for t in tags:
        if t[0] in ("note", "warning"):
            out += [f"**{t[0].capitalize()}:** " + md_inline(" ".join(t[2].split()), h), ""]
    since = [t[2] for t in tags if t[0] == "since"]
    if since:
        out += [f"*Since {since[0]}.*", ""]
    return out


def render_enum(e, h):
    out = [f"### {e.name}", ""]
    decl = f"typedef enum {e.tag} {{ … }} {e.name};" if e.typedef else f"enum {e.name} {{ … }};"
    out += ["```c", decl, "```", ""]
    if e.doc:
        out += [md_paragraphs(e.doc, h), ""]
    out += ["| Name | Value | Meaning |", "|---|---|---|"]
    for m in e.members:
        value = m["value"] if m["value"] is not None else ""
        meaning = md_inline(" ".join(m["doc"].split()), h) if m["doc"] else ""
        out.append(f"| `{m['name']}` | {value} | {meaning} |")
    out.append("")
    return out


def render_struct(s, h):
    out = [f"### {s.name}", "", "```c", f"typedef struct {s.tag} {s.name};", "```", ""]
    if s.doc:
        out += [md_paragraphs(s.doc, h), ""]
    body = re.search(r"^struct\s+%s\s*\{.*?^\};" % re.escape(s.tag), h.text, re.M | re.S)
    if body:
        # A struct the header defines (asdnorm_allocator): its fields are the interface.
        out += ["```c", body.group(0), "```", ""]
    else:
        out += ["An opaque handle: its layout is private and may change between releases.", ""]
    return out


def render_fntype(t, h):
    """A function pointer type (asdnorm_progress_fn): its declaration and doc."""
    out = [f"### {t.name}", "", "```c", t.decl, "```", ""]
    if t.doc:
        desc, tags = split_tags(t.doc)
        if desc:
            out += [md_paragraphs(desc, h), ""]
        since = [tg[2] for tg in tags if tg[0] == "since"]
        if since:
            out += [f"*Since {since[0]}.*", ""]
    return out


def render_macros(macros, h):
    out = ["| Macro | Value | Meaning |", "|---|---|---|"]
    for m in macros:
        value = m.value.replace("|", "\\|")
        doc = md_inline(" ".join(m.doc.split()), h) if m.doc else ""
        out.append(f"| `{m.name}` | `{value}` | {doc} |")
    out.append("")
    return out


def render_items(items, h):
    out = []
    macros = [i for i in items if i.kind == "macro"]
    if macros:
        out += render_macros(macros, h)
    for it in items:
        if it.kind == "function":
            out += render_function(it, h)
        elif it.kind == "enum":
            out += render_enum(it, h)
        elif it.kind == "struct":
            out += render_struct(it, h)
        elif it.kind == "fntype":
            out += render_fntype(it, h)
    return out


def render_markdown(h):
    vs = h.macro("ASDNORM_VERSION_STRING")
    version = vs.value.strip('"') if vs else "?"
    out = [
        "<!-- Generated by docs/gen-api.py from " + HEADER_NAME + ". Do not edit:",
        "     change the header's doc comments and run",
        "     `docs/gen-api.py include/asdnorm/asdnorm.h -o docs/api.md`",
        "     (`meson test --suite docs` fails while the two differ). -->",
        "",
        f"# libasdnorm API reference (version {version})",
        "",
        "This page is generated from the doc comments of `" + HEADER_NAME + "`, the one",
        "public header and the source of truth; a function not listed here does not exist",
        "for users. The mathematics the functions refer to (\"math §2.1\") is in",
        "[math.md](math.md); the user guide is [guide.md](guide.md).",
        "",
    ]
    if h.file_doc:
        desc, tags = split_tags(h.file_doc)
        brief = next((t[2] for t in tags if t[0] == "brief"), None)
        if brief:
            out += ["**" + md_inline(" ".join(brief.split()), h) + "**", ""]
        if desc:
            out += [md_paragraphs(desc, h), ""]
    out += ["## Contents", ""]
    for g in h.groups:
        out.append(f"- [{g.title}](#{slug(g.title)})")
    out += ["", "## Functions at a glance", "",
            "| Function | Summary | Since |", "|---|---|---|"]
    for f in h.functions():
        desc, tags = split_tags(f.doc or "")
        since = next((t[2] for t in tags if t[0] == "since"), "")
        out.append(f"| [`{f.name}`](#{anchor(f.name)}) | "
                   f"{md_inline(first_sentence(desc), h)} | {since} |")
    out.append("")
    for g in h.groups:
        out += [f"## {g.title}", ""]
        if g.doc:
            out += [md_paragraphs(g.doc, h), ""]
        out += render_items(g.items, h)
    if h.loose:
        out += ["## Other declarations", ""] + render_items(h.loose, h)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def slug(title):
    s = title.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


# ---------------------------------------------------------------------------- man page

def man_synopsis(h):
    """SYNOPSIS lines for libasdnorm(3): one prototype per function, in header order,
    function names bold and parameter names italic."""
    out = [".nf", ".B #include <asdnorm/asdnorm.h>", ""]
    for g in h.groups:
        fs = [i for i in g.items if i.kind == "function"]
        if not fs:
            continue
        out.append(f".I \"/* {g.title} */\"")
        for f in fs:
            proto = c_prototype(f, width=70)
            proto = proto.replace("\\", "\\e")
            proto = re.sub(r"\b" + f.name + r"\(", r"\\fB" + f.name + r"\\fP(", proto, count=1)
            for p in f.params:
                proto = re.sub(r"(?<![\w\\])" + p["name"] + r"(?=[,)])",
                               r"\\fI" + p["name"] + r"\\fP", proto)
            for ln in proto.split("\n"):
                out.append(ln if not ln.startswith((".", "'")) else "\\&" + ln)
        out.append("")
    out.append(".fi")
    return "\n".join(out) + "\n"


def roff_to_text(s):
    s = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", s)
    s = s.replace("\\e", "\\").replace("\\-", "-").replace("\\&", "").replace("\\ ", " ")
    lines = []
    for ln in s.split("\n"):
        m = re.match(r"\.(B|I|BI|IB|BR|RB|IR|RI|SM|SB)\s+(.*)$", ln)
        if m:
            args = re.findall(r'"([^"]*)"|(\S+)', m.group(2))
            lines.append("".join(a or b for a, b in args))
        elif ln.startswith((".", "'")):
            lines.append("")
        else:
            lines.append(ln)
    return "\n".join(lines)


def norm_c(s):
    s = re.sub(r"/\*.*?\*/", " ", s, flags=re.S)
    s = re.sub(r"\s+", " ", s)
    s = re.sub(r"\s*([(),;*])\s*", r"\1", s)
    return s.strip()


def check_man(h, man_text):
    problems = []
    m = re.search(r"^\.SH\s+\"?SYNOPSIS\"?\s*$(.*?)^\.SH\b", man_text, re.S | re.M)
    if not m:
        return ["no .SH SYNOPSIS section"]
    syn = roff_to_text(m.group(1))
    flat = norm_c(syn)
    funcs = {f.name for f in h.functions()}
    for f in h.functions():
        want = norm_c(c_prototype(f))
        if want not in flat:
            problems.append(f"SYNOPSIS lacks the prototype of {f.name}, as the header has it:\n"
                            f"    {c_prototype(f, width=200)}")
    for name in set(re.findall(r"\b(asdnorm_\w+)\s*\(", syn)):
        if name not in funcs:
            problems.append(f"SYNOPSIS declares {name}, which the header does not")
    # Every function should also be explained somewhere outside the synopsis.
    rest = roff_to_text(man_text[:m.start()] + man_text[m.end():])
    for f in h.functions():
        if f.name not in rest:
            problems.append(f"{f.name} is in the SYNOPSIS but never mentioned in the text")
    th = re.search(r'^\.TH\s+\S+\s+3\s+"[^"]*"\s+"libasdnorm ([^"]*)"', man_text, re.M)
    vs = h.macro("ASDNORM_VERSION_STRING")
    if vs and (not th or th.group(1) != vs.value.strip('"')):
        problems.append(f".TH must name \"libasdnorm {vs.value.strip(chr(34))}\" "
                        "(ASDNORM_VERSION_STRING)")
    groff = shutil.which("groff")
    if groff:
        r = subprocess.run([groff, "-man", "-ww", "-z", "-Tutf8"], input=man_text.encode(),
                           capture_output=True)
        warnings = r.stderr.decode(errors="replace").strip()
        if r.returncode != 0 or warnings:
            problems.append("groff -man -ww reports:\n" + warnings)
    return problems


# ---------------------------------------------------------------------------- self-test

# Each mutation of the real header must make --check fail (so the check cannot rot into
# a test that passes whatever the header says): (what, old text, new text).
MUTATIONS = [
    ("a function without a doc comment",
     r"/\*\* Free an index and everything it owns\. NULL does nothing\. @since 0\.1\.0 \*/\n", ""),
    ("a function without @since",
     r"(Free an index and everything it owns\. NULL does nothing\.) @since 0\.1\.0", r"\1"),
    ("an @return naming a status the enum lacks",
     r"(@return ASDNORM_OK, ASDNORM_E_NULL, ASDNORM_E_ARG \(dim 0\))",
     r"\1, ASDNORM_E_NO_SUCH_STATUS"),
    ("an @param naming no parameter",
     r"@param\[in\]  dim ", "@param[in]  dims "),
    ("an @since newer than the version", r"(Create an empty index\.(?:.|\n)*?@since) 0\.1\.0",
     r"\1 99.0.0"),
    ("a reference to an undeclared function",
     r"Create an empty index\.", "Create an empty index, see asdnorm_index_create()."),
    ("a changed prototype (api.md stale)",
     r"asdnorm_index_new\(size_t dim,", "asdnorm_index_new(size_t dimension,"),
]


def self_test(header_text):
    base = render_markdown(parse_header(header_text))
    if check_header(parse_header(header_text)):
        return ["the unmodified header does not pass the check"]
    failures = []
    for what, pat, repl in MUTATIONS:
        mutated, count = re.subn(pat, repl, header_text, count=1)
        if count != 1:
            failures.append(f"mutation '{what}' no longer applies to the header; update MUTATIONS")
            continue
        h = parse_header(mutated)
        caught = check_header(h) if "stale" not in what else render_markdown(h) != base
        if not caught:
            failures.append(f"--check does not catch {what}")
    return failures


# ---------------------------------------------------------------------------- main

def read(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true",
                    help="compare the generated reference with API_MD and check the header")
    ap.add_argument("--man-synopsis", action="store_true",
                    help="print the SYNOPSIS of libasdnorm(3) as roff")
    ap.add_argument("--check-man", action="store_true",
                    help="check the SYNOPSIS of the man page against the header")
    ap.add_argument("--self-test", action="store_true",
                    help="check that --check catches seeded mistakes in HEADER")
    ap.add_argument("-o", "--output", help="write the reference here instead of stdout")
    ap.add_argument("header")
    ap.add_argument("other", nargs="?", help="API_MD (--check) or MAN (--check-man)")
    a = ap.parse_args(argv)

    h = parse_header(read(a.header))

    if a.check_man:
        if not a.other:
            ap.error("--check-man needs HEADER and MAN")
        problems = check_man(h, read(a.other))
        for p in problems:
            print(f"{a.other}: {p}", file=sys.stderr)
        if problems:
            print(f"{len(problems)} problem(s); `{sys.argv[0]} --man-synopsis {a.header}` "
                  "prints the synopsis the header implies", file=sys.stderr)
            return 1
        print(f"{a.other}: SYNOPSIS matches the {len(h.functions())} functions of {a.header}")
        return 0

    if a.self_test:
        failures = self_test(read(a.header))
        for f in failures:
            print(f"self-test: {f}", file=sys.stderr)
        if failures:
            return 1
        print(f"self-test: --check catches all {len(MUTATIONS)} seeded mistakes")
        return 0

    if a.man_synopsis:
        sys.stdout.write(man_synopsis(h))
        return 0

    problems = check_header(h)
    text = render_markdown(h)

    if a.check:
        if not a.other:
            ap.error("--check needs HEADER and API_MD")
        for line, msg in sorted(problems):
            print(f"{a.header}:{line}: {msg}", file=sys.stderr)
        for line, msg in header_warnings(h):
            print(f"{a.header}:{line}: warning: {msg}", file=sys.stderr)
        committed = read(a.other)
        stale = committed != text
        if stale:
            diff = list(difflib.unified_diff(committed.splitlines(), text.splitlines(),
                                             a.other + " (committed)",
                                             a.other + " (generated from the header)",
                                             lineterm="", n=2))
            for ln in diff[:200]:
                print(ln, file=sys.stderr)
            if len(diff) > 200:
                print(f"... {len(diff) - 200} more diff lines", file=sys.stderr)
            print(f"{a.other} is out of date: run `docs/gen-api.py include/asdnorm/asdnorm.h "
                  f"-o docs/api.md` and commit the result", file=sys.stderr)
        if problems or stale:
            return 1
        print(f"{a.other} matches {a.header}: {len(h.functions())} functions, "
              f"{len(h.enums())} enums, all documented")
        return 0

    for line, msg in sorted(problems):
        print(f"{a.header}:{line}: warning: {msg}", file=sys.stderr)
    if a.output:
        with open(a.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except HeaderError as e:
        print(f"gen-api.py: {e}", file=sys.stderr)
        sys.exit(1)
