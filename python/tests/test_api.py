# SPDX-License-Identifier: MIT
"""The package as users see it: doctests, __all__, help(), numpydoc sections, type hints
(mypy --strict when mypy is installed)."""
import doctest
import importlib
import importlib.util
import inspect
import os
import pkgutil
import pydoc
import shutil
import subprocess
import sys

import pytest

import asdnorm

PACKAGE_DIR = os.path.dirname(asdnorm.__file__)
# The package's Python modules (an installed wheel also holds libasdnorm.so, which
# pkgutil lists as an extension module).
MODULES = ["asdnorm"] + [f"asdnorm.{m.name}" for m in pkgutil.iter_modules([PACKAGE_DIR])
                         if os.path.isfile(os.path.join(PACKAGE_DIR, m.name + ".py"))]
PUBLIC_MODULES = ["asdnorm", "asdnorm.metrics", "asdnorm.baselines"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctests failed in {name}"


def test_doctests_exist():
    attempted = sum(doctest.testmod(importlib.import_module(m)).attempted for m in MODULES)
    assert attempted >= 60, attempted


@pytest.mark.parametrize("name", MODULES)
def test_all_is_declared_and_complete(name):
    module = importlib.import_module(name)
    assert isinstance(module.__all__, list), name
    for attr in module.__all__:
        assert hasattr(module, attr), (name, attr)
    # No module leaks its imports into its public names.
    for attr in module.__all__:
        assert not inspect.ismodule(getattr(module, attr)) or \
            getattr(module, attr).__name__.startswith("asdnorm"), (name, attr)


def _public_members():
    """(qualified name, object) of every public function, class, method and property."""
    seen = set()
    for modname in PUBLIC_MODULES:
        module = importlib.import_module(modname)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if attr.startswith("__") or inspect.ismodule(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            if inspect.isfunction(obj):
                yield f"{modname}.{attr}", obj
            elif inspect.isclass(obj) and obj.__module__.startswith("asdnorm"):
                yield f"{modname}.{attr}", obj
                for mname, member in vars(obj).items():
                    if mname.startswith("_") and mname not in ("__init__", "__len__"):
                        continue
                    if isinstance(member, (staticmethod, classmethod)):
                        member = member.__func__
                    if inspect.isfunction(member) or isinstance(member, property):
                        yield f"{modname}.{attr}.{mname}", member


def test_every_public_member_has_a_docstring():
    # Without one, help() shows the source comment above the definition instead.
    missing = [name for name, obj in _public_members()
               if not name.endswith("__init__") and not inspect.getdoc(obj)]
    assert missing == []


def test_numpydoc_sections():
    """Functions and methods taking arguments document Parameters, Returns (unless they
    return None) and Raises; module-level functions and classes have Examples."""
    problems = []
    for name, obj in _public_members():
        doc = inspect.getdoc(obj) or ""
        if inspect.isclass(obj):
            init = obj.__dict__.get("__init__")
            params = init and len(inspect.signature(init).parameters) > 1
            if obj.__doc__ and params and issubclass(obj, object) and \
                    not issubclass(obj, BaseException) and "Parameters\n---" not in doc:
                problems.append(f"{name}: Parameters")
            if not issubclass(obj, (BaseException, int, dict)) and \
                    "Examples\n---" not in doc:
                problems.append(f"{name}: Examples")
            continue
        if isinstance(obj, property) or name.endswith(("__init__", "__len__")):
            continue
        sig = inspect.signature(obj)
        args = [p for p in sig.parameters if p not in ("self", "cls")]
        if args:
            for section in ("Parameters", "Raises"):
                if f"{section}\n---" not in doc:
                    problems.append(f"{name}: {section}")
        if sig.return_annotation not in (None, "None") and "Returns\n---" not in doc:
            problems.append(f"{name}: Returns")
        if name.count(".") == 2 and name.split(".")[1] in ("metrics", "baselines") or \
                name.count(".") == 1:
            if "Examples\n---" not in doc:
                problems.append(f"{name}: Examples")
    assert problems == []


def test_help_shows_no_stray_names():
    for modname in PUBLIC_MODULES:
        text = pydoc.render_doc(importlib.import_module(modname), renderer=pydoc.plaintext)
        for stray in ("POINTER", "byref", "c_void_p", "np =", "lib =", "ctypes"):
            assert stray not in text, (modname, stray)
    assert "#" not in pydoc.render_doc(asdnorm.Index.__len__, renderer=pydoc.plaintext)
    # Module-level functions help() lists (dunders included) explain themselves.
    for modname in PUBLIC_MODULES:
        module = importlib.import_module(modname)
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == modname and pydoc.visiblename(name, module.__all__, fn):
                assert inspect.getdoc(fn), f"{modname}.{name}"


def test_py_typed_is_shipped():
    assert os.path.isfile(os.path.join(PACKAGE_DIR, "py.typed"))
    build = os.path.join(os.path.dirname(PACKAGE_DIR), "meson.build")
    if os.path.isfile(build):  # the source tree: py.typed is in the installed list
        with open(build, encoding="utf-8") as f:
            assert "asdnorm/py.typed" in f.read()


def _mypy():
    exe = shutil.which("mypy")
    if exe is not None:
        return [exe]
    if importlib.util.find_spec("mypy") is not None:
        return [sys.executable, "-m", "mypy"]
    return None


def test_mypy_strict():
    """mypy --strict on the package (and python/gen_cdef.py) reports nothing; each
    `type: ignore` says why."""
    mypy = _mypy()
    if mypy is None:
        pytest.skip("mypy is not installed (Debian: apt-get install mypy)")
    sources = [PACKAGE_DIR]
    gen_cdef = os.path.join(os.path.dirname(PACKAGE_DIR), "gen_cdef.py")
    if os.path.isfile(gen_cdef):  # the source tree: the cdef generator too
        sources.append(gen_cdef)
    res = subprocess.run(mypy + ["--strict", "--no-incremental", "--cache-dir", os.devnull,
                                 "--python-executable", sys.executable] + sources,
                         capture_output=True, text=True, timeout=600,
                         cwd=os.path.dirname(PACKAGE_DIR))
    assert res.returncode == 0, res.stdout + res.stderr
    # An ignore without a reason is an error here.
    files = [os.path.join(PACKAGE_DIR, p) for p in sorted(os.listdir(PACKAGE_DIR))
             if p.endswith(".py")] + sources[1:]
    for path in files:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if "type: ignore" in line:
                    assert "]  # " in line, f"{path}:{lineno}: an ignore without a reason"
