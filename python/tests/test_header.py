# SPDX-License-Identifier: MIT
"""One source of truth: the package's prototypes, status codes and enums against
include/asdnorm/asdnorm.h, parsed here (python/gen_cdef.py), and every C entry point
reached from the Python API."""
import ctypes
import os
import re
import sys
import tempfile
from ctypes import (POINTER, c_char_p, c_double, c_float, c_int, c_int32, c_size_t, c_uint,
                    c_uint8, c_uint64, c_void_p)

import numpy as np
import pytest

import asdnorm
from asdnorm import _lib, baselines, metrics

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
import gen_cdef  # noqa: E402  (python/gen_cdef.py)

with open(os.path.join(ROOT, "include", "asdnorm", "asdnorm.h"), encoding="utf-8") as _f:
    HEADER_TEXT = _f.read()
HEADER = gen_cdef.parse(HEADER_TEXT)

OPAQUE = {"asdnorm_index", "asdnorm_scorer", "asdnorm_lof"}
STRUCTS = {"asdnorm_allocator": _lib.Allocator}
FNTYPES = {"asdnorm_progress_fn": _lib.ProgressFn}
ENUMS = {"asdnorm_status", "asdnorm_distance", "asdnorm_density", "asdnorm_norm"}
SCALARS = {"size_t": c_size_t, "double": c_double, "float": c_float, "int": c_int,
           "unsigned": c_uint, "uint8_t": c_uint8, "int32_t": c_int32, "uint64_t": c_uint64}


def ctype_of(ctype):
    """The ctypes type a C parameter or return type must be declared with."""
    if ctype == "void":
        return None
    if ctype in ("const char *",):
        return c_char_p
    base = ctype.replace("const ", "")
    stars = base.count("*")
    base = base.replace("*", "").strip()
    if base in FNTYPES and stars == 0:
        return FNTYPES[base]
    if base in STRUCTS and stars == 1:
        return POINTER(STRUCTS[base])
    if base in OPAQUE:
        return {1: c_void_p, 2: POINTER(c_void_p)}[stars]
    if base == "void" and stars == 1:
        return c_void_p
    scalar = c_int if base in ENUMS else SCALARS[base]
    return {0: scalar, 1: POINTER(scalar)}[stars]


def test_parser_sees_the_whole_header():
    # Independent count: every "ASDNORM_API" in the text declares one function.
    declared = re.findall(r"^ASDNORM_API [^;]*?\b(asdnorm_\w+)\(", HEADER_TEXT, re.M)
    assert len(declared) > 30
    assert sorted(HEADER.functions) == sorted(declared)
    assert HEADER.functions["asdnorm_index_save"].params == [
        ("const asdnorm_index *", "ix"), ("const char *", "path")]


def test_every_function_has_a_matching_prototype():
    assert set(_lib.PROTOTYPES) == set(HEADER.functions)
    for name, fn in HEADER.functions.items():
        restype, argtypes = _lib.PROTOTYPES[name]
        assert restype is ctype_of(fn.restype), (name, fn.restype, restype)
        want = [ctype_of(t) for t, _ in fn.params]
        assert argtypes == want, (name, fn.params, argtypes)
        assert getattr(_lib.lib, name).argtypes == want, name


def test_enums_are_ints():
    # ctypes declares every enum as c_int: true for this compiler's enums (cffi knows).
    cffi = pytest.importorskip("cffi")
    ffi = cffi.FFI()
    ffi.cdef(gen_cdef.cdef(HEADER_TEXT))
    for name in ENUMS:
        assert ffi.sizeof(name) == ctypes.sizeof(c_int), name


@pytest.mark.parametrize("cls, c_enum, prefix", [
    (asdnorm.Status, "asdnorm_status", "ASDNORM_"),
    (asdnorm.Distance, "asdnorm_distance", "ASDNORM_DISTANCE_"),
    (asdnorm.Density, "asdnorm_density", "ASDNORM_DENSITY_"),
    (asdnorm.Norm, "asdnorm_norm", "ASDNORM_NORM_"),
    (asdnorm.Domain, "asdnorm_domain", "ASDNORM_DOMAIN_"),
])
def test_enum_tables_match_the_header(cls, c_enum, prefix):
    assert {prefix + m.name: int(m) for m in cls} == HEADER.enums[c_enum]


def test_status_messages_come_from_the_library():
    texts = {s.message for s in asdnorm.Status}
    assert len(texts) == len(asdnorm.Status)  # one message each, none empty
    assert all(texts)
    for s in asdnorm.Status:
        assert s.message == _lib.lib.asdnorm_strerror(int(s)).decode()


def test_version_constants():
    c = HEADER.constants
    assert asdnorm.library_version_number() == (c["ASDNORM_VERSION_MAJOR"] * 10000
                                                 + c["ASDNORM_VERSION_MINOR"] * 100
                                                 + c["ASDNORM_VERSION_PATCH"])
    assert asdnorm.__version__ == "{}.{}.{}".format(
        c["ASDNORM_VERSION_MAJOR"], c["ASDNORM_VERSION_MINOR"], c["ASDNORM_VERSION_PATCH"])


def test_every_c_function_is_reached_from_the_python_api(monkeypatch):
    """Trace the C calls made by the public API: every function of the header is one."""
    called = set()
    frees = {name: getattr(_lib.lib, name) for name in
             ("asdnorm_index_free", "asdnorm_scorer_free", "asdnorm_lof_free")}
    for name in HEADER.functions:
        real = getattr(_lib.lib, name)

        def traced(*args, _real=real, _name=name):
            called.add(_name)
            return _real(*args)
        monkeypatch.setattr(_lib.lib, name, traced)

    rng = np.random.default_rng(0)
    refs = rng.normal(size=(12, 3)).astype(np.float32) + 2
    dom = np.repeat([1, 2], 6)
    asdnorm.library_version(), asdnorm.library_version_number(), asdnorm.strerror(3)
    asdnorm.check_rows(refs)
    ix = asdnorm.Index(3, "cosine").add(refs, dom).finalize("knn", k=2, progress=[].append)
    len(ix), ix.estimator, ix.density, ix.domains, ix.vectors
    asdnorm.Scorer(ix).score(refs, return_nearest=True, progress=[].append)
    with tempfile.TemporaryDirectory() as d:
        ix.save(os.path.join(d, "i.asdx"))
        asdnorm.Index.load(os.path.join(d, "i.asdx"))
    asdnorm.Index.from_bytes(ix.to_bytes())
    labels, scores = [0, 1, 0, 1], [0.1, 0.8, 0.3, 0.2]
    metrics.auc(labels, scores), metrics.pauc(labels, scores), metrics.hmean([1, 2])
    metrics.count_sections([1, 1])
    metrics.dcase(scores, labels, [1, 1, 2, 2], [0, 0, 0, 0])
    metrics.dcase(scores, labels, None, [0, 0, 0, 0], edition=2020)
    baselines.kmeans(refs, 2), baselines.smote(refs, 2)
    baselines.source_means_index(ix, 2), baselines.smote_index(ix, 3)
    baselines.standardized_scores(ix, refs)
    baselines.LOF(ix, 3).score(refs)
    ix.set_threads(1)
    ix.search(refs, 2)
    ix.search(refs, 2, dtype=np.float64)
    asdnorm.Index(3, "cosine").add(refs, dom).set_density(ix.density, "knn", k=2)
    asdnorm.Index(3, "cosine").add(refs, dom).remove([0])
    ix.neighbours(2), ix.set_floor(ix.floor)
    asdnorm.Scorer(ix).set_threads(1)
    ix.clone()
    asdnorm.Scorer(ix).self_scores(), asdnorm.Scorer(ix).threshold(0.1)
    asdnorm.set_blas_control(False)
    with pytest.raises(asdnorm.InvalidValueError):  # objects are alive: E_STATE
        asdnorm.set_allocator(None)
    # The frees are bound to the classes at definition (for interpreter shutdown).
    for cls, free in ((asdnorm.Index, "asdnorm_index_free"),
                      (asdnorm.Scorer, "asdnorm_scorer_free"),
                      (baselines.LOF, "asdnorm_lof_free")):
        if cls._free is frees[free]:
            called.add(free)
    assert set(HEADER.functions) - called == set()
