# SPDX-License-Identifier: MIT
"""The generated cffi declarations: accepted by cffi, and the same library scored through
cffi and through the ctypes package gives bit-identical results (and the right ones)."""
import os
import sys

import numpy as np
import pytest

import asdnorm
from conftest import bf_density, bf_scores

cffi = pytest.importorskip("cffi")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import gen_cdef  # noqa: E402  (python/gen_cdef.py)


def _declarations():
    """The cdef the build generated (meson sets ASDNORM_CDEF), else generated here."""
    path = os.environ.get("ASDNORM_CDEF")
    if path:
        with open(path, encoding="utf-8") as f:
            return f.read()
    with open(os.path.join(os.path.dirname(os.path.dirname(HERE)), "include", "asdnorm",
                           "asdnorm.h"), encoding="utf-8") as f:
        return gen_cdef.cdef(f.read())


@pytest.fixture(scope="module")
def capi():
    ffi = cffi.FFI()
    ffi.cdef(_declarations())
    return ffi, ffi.dlopen(asdnorm.library_path)


def test_declarations_cover_the_header(capi):
    ffi, lib = capi
    for name in asdnorm._lib.PROTOTYPES:
        assert callable(getattr(lib, name)), name
    assert lib.ASDNORM_E_BUFFER == asdnorm.Status.E_BUFFER
    assert lib.ASDNORM_DISTANCE_MSE == asdnorm.Distance.MSE
    assert ffi.string(lib.asdnorm_strerror(lib.ASDNORM_E_DIM)).decode() == \
        asdnorm.Status.E_DIM.message


@pytest.mark.parametrize("distance, density, norm", [
    ("cosine", "knn", "ratio"), ("euclidean", "gwrp", "difference"), ("mse", "knn", "none")])
def test_cffi_and_ctypes_score_the_same(capi, distance, density, norm):
    ffi, lib = capi
    rng = np.random.default_rng(5)
    refs = (rng.normal(size=(80, 6)) + 1.0).astype(np.float32)
    tests = (rng.normal(size=(30, 6)) + 1.0).astype(np.float32)
    k, r = 3, 0.5

    # ctypes: the package
    ix = asdnorm.Index(6, distance).add(refs).finalize(density, k=k, r=r)
    want, want_nn = asdnorm.Scorer(ix, norm).score(tests, return_nearest=True)

    # cffi: the C API as declared in the generated cdef
    def check(status):
        assert status == lib.ASDNORM_OK, ffi.string(lib.asdnorm_strerror(status))

    pix = ffi.new("asdnorm_index **")
    check(lib.asdnorm_index_new(6, getattr(lib, f"ASDNORM_DISTANCE_{distance.upper()}"), pix))
    cix = ffi.gc(pix[0], lib.asdnorm_index_free)
    check(lib.asdnorm_index_add(cix, ffi.cast("float *", ffi.from_buffer(refs)), len(refs),
                                ffi.NULL))
    check(lib.asdnorm_index_finalize(cix, getattr(lib, f"ASDNORM_DENSITY_{density.upper()}"),
                                     k if density == "knn" else r))
    psc = ffi.new("asdnorm_scorer **")
    check(lib.asdnorm_scorer_new(cix, getattr(lib, f"ASDNORM_NORM_{norm.upper()}"), psc))
    csc = ffi.gc(psc[0], lib.asdnorm_scorer_free)
    got = np.empty(len(tests), dtype=np.float32)
    got_nn = ffi.new("size_t[]", len(tests))
    check(lib.asdnorm_scorer_score(csc, ffi.cast("float *", ffi.from_buffer(tests)),
                                   len(tests), ffi.cast("float *", ffi.from_buffer(got)),
                                   got_nn))
    del csc  # the scorer before its index

    np.testing.assert_array_equal(got, want)                 # bit-identical
    np.testing.assert_array_equal(list(got_nn), want_nn)
    # ... and right: float64 brute force of docs/math.md §2
    dens = bf_density(distance, refs, density, k=k, r=r)
    bf, _, _ = bf_scores(distance, refs, dens, density, norm, tests)
    np.testing.assert_allclose(got, bf, rtol=2e-4, atol=1e-6)
