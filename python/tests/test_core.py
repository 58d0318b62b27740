# SPDX-License-Identifier: MIT
"""asdnorm.Index and asdnorm.Scorer against an independent float64 brute force
(conftest.py), plus every error path, the state machine, zero-copy input,
lifetimes, threads and persistence."""
import ctypes
import gc
import os
import pickle
import subprocess
import sys
import threading
import zlib

import numpy as np
import pytest

import asdnorm
from asdnorm import _lib
from asdnorm.core import Status

from conftest import bf_density, bf_scores

DISTANCES = ["cosine", "euclidean", "mse"]
NORMS = ["ratio", "difference", "none"]
M, D, N = 40, 12, 25
# (density, k, r): K = 1, a middle K, K = M - 1, K > M (clipped), r = 0, 0.5, 0.9, 1.
DENSITIES = [("none", 1, 0.0), ("knn", 1, 0.0), ("knn", 4, 0.0), ("knn", M - 1, 0.0),
             ("knn", M + 7, 0.0), ("gwrp", 1, 0.0), ("gwrp", 1, 0.5), ("gwrp", 1, 0.9),
             ("gwrp", 1, 1.0)]
TOL = 1e-4


def shifted_data(seed=0, m=M, d=D, n=N):
    """A dense source cluster, a sparse shifted target cluster, tests from both and beyond."""
    rng = np.random.default_rng(seed)
    e = np.eye(d)
    src = 3.0 * e[0] + rng.normal(0, 1.0, (m - 8, d))
    tgt = 3.0 * e[1] + rng.normal(0, 2.0, (8, d))
    refs = np.vstack([src, tgt])
    domains = np.r_[np.ones(m - 8), np.full(8, 2)].astype(np.uint8)
    tests = np.vstack([3.0 * e[0] + rng.normal(0, 1.0, (n // 3, d)),
                       3.0 * e[1] + rng.normal(0, 2.0, (n // 3, d)),
                       rng.normal(0, 3.0, (n - 2 * (n // 3), d))])
    return refs, domains, tests


def build(refs, distance, density, k, r, domains=None):
    ix = asdnorm.Index(refs.shape[1], distance=distance)
    ix.add(refs, domains=domains)
    ix.finalize(density=density, k=k, r=r)
    return ix


def score_floor(norm, d_all):
    """Relative-error floor: for 'difference' the scale of the operands (the median
    distance), since d - n_j is a cancellation; else only a guard against 0."""
    return np.median(np.abs(d_all)) if norm == "difference" else 1e-30


# ---------------------------------------------------------------------------------------
# The mathematics, every combination
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("density,k,r", DENSITIES)
@pytest.mark.parametrize("distance", DISTANCES)
def test_scores_match_brute_force(distance, density, k, r, norm, error_log):
    # A seed per combination, stable across runs (str hashes are randomized).
    refs, domains, tests = shifted_data(seed=zlib.crc32(repr((distance, density, k, r)).encode()))
    combo = (distance, density, k if density == "knn" else r, norm)
    ix = build(refs, distance, density, k, r, domains)   # float64 input
    assert len(ix) == M and ix.dim == D and ix.distance == distance and ix.finalized
    np.testing.assert_array_equal(ix.domains, domains)

    want_density = bf_density(distance, refs, density, k, r)
    if density != "none":
        got = ix.density
        assert got.shape == (M,) and got.dtype == np.float64
        rel = error_log.record(combo + ("density",), got, want_density, 1e-30)
        assert rel.max() <= TOL, (combo, rel.max())
        want_param = min(k, M - 1) if density == "knn" else r
        assert ix.estimator == (density, pytest.approx(want_param))
    else:
        assert ix.estimator[0] == "none"

    sc = asdnorm.Scorer(ix, norm=norm)
    assert sc.norm == norm and sc.index is ix
    want, want_arg, s_all = bf_scores(distance, refs, want_density, density, norm, tests)
    for x in (tests, tests.astype(np.float32)):          # float64 and float32 inputs
        got = sc.score(x)
        assert got.dtype == np.float32 and got.shape == (N,)
        rel = error_log.record(combo, got, want, score_floor(norm, s_all))
        assert rel.max() <= TOL, (combo, rel.max())

        got2, nearest = sc.score(x, return_nearest=True)
        np.testing.assert_array_equal(got2, got)
        assert nearest.dtype == np.int64 and nearest.shape == (N,)
        assert ((nearest >= 0) & (nearest < M)).all()
        # The reported reference attains the minimum; it is the brute force's argmin
        # unless two references tie within float32 rounding.
        attained = s_all[np.arange(N), nearest]
        floor = score_floor(norm, s_all)
        assert (np.abs(attained - want) / np.maximum(np.abs(want), floor) <= TOL).all()
        near_tie = np.abs(attained - want) <= TOL * np.maximum(np.abs(want), floor)
        assert ((nearest == want_arg) | near_tie).all()


@pytest.mark.parametrize("distance", DISTANCES)
def test_k_at_least_m_is_clipped_and_r0_equals_k1(distance):
    refs, _, tests = shifted_data(seed=3, m=10)
    a = build(refs, distance, "knn", 50, 0.0)
    b = build(refs, distance, "knn", 9, 0.0)
    assert a.estimator == ("knn", 9.0)
    np.testing.assert_array_equal(a.density, b.density)
    k1 = build(refs, distance, "knn", 1, 0.0)
    r0 = build(refs, distance, "gwrp", 1, 0.0)
    np.testing.assert_allclose(r0.density, k1.density, rtol=1e-6)
    r1 = build(refs, distance, "gwrp", 1, 1.0)
    np.testing.assert_allclose(r1.density, b.density, rtol=1e-6)  # r = 1: mean of all others


@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize("density,k,r", [("knn", 1, 0.0), ("gwrp", 1, 0.0), ("knn", 2, 0.0)])
def test_duplicate_references(distance, density, k, r, error_log):
    """Duplicates keep distance 0 to each other (excluded by position, not by value):
    density 0 with K = 1 / r = 0, and ratio divides by epsilon: large, finite."""
    refs, _, tests = shifted_data(seed=5, m=20)
    refs[7] = refs[3]
    refs[12] = refs[3]
    refs[15] = refs[14]
    ix = build(refs, distance, density, k, r)
    dens = ix.density
    want = bf_density(distance, refs, density, k, r)
    if k == 1:
        # 0 up to double rounding (cosine: 1 - c_j <y, y> in double may leave ~1e-16),
        # below epsilon, so the ratio divides by epsilon exactly as for 0.
        assert (np.abs(dens[[3, 7, 12, 14, 15]]) < 1e-15).all(), dens
    np.testing.assert_allclose(dens, want, rtol=TOL, atol=1e-15)
    for norm in NORMS:
        sc = asdnorm.Scorer(ix, norm=norm)
        w, _, s_all = bf_scores(distance, refs, want, density, norm, tests)
        got = sc.score(tests)
        assert np.isfinite(got).all()
        rel = error_log.record((distance, density, k, norm, "duplicates"), got, w,
                               score_floor(norm, s_all))
        assert rel.max() <= TOL
        # A test sample equal to a duplicated reference: finite (0 / epsilon = 0).
        same = sc.score(refs[[3, 14]])
        assert np.isfinite(same).all()


def test_all_duplicates_ratio_uses_epsilon(error_log):
    """Every reference has a duplicate: all densities 0, ratio = d / φ (the scale-free floor
    ε·S of docs/math.md §2.3), finite."""
    rng = np.random.default_rng(11)
    base = rng.normal(size=(3, 6)) + 2.0
    refs = np.repeat(base, 2, axis=0)
    tests = rng.normal(size=(4, 6)) + 2.0
    for distance in DISTANCES:
        ix = build(refs, distance, "knn", 1, 0.0)
        assert (np.abs(ix.density) < 1e-15).all()  # 0 up to double rounding, < epsilon
        got = asdnorm.Scorer(ix, "ratio").score(tests)
        want, _, _ = bf_scores(distance, refs, np.zeros(6), "knn", "ratio", tests)
        assert np.isfinite(got).all() and (got > 1e9).all()
        rel = error_log.record((distance, "knn", 1, "ratio", "all-duplicates"), got, want, 1e-30)
        assert rel.max() <= TOL


def test_cosine_stores_normalized_others_raw():
    refs, domains, _ = shifted_data(seed=1)
    ix = asdnorm.Index(D, "cosine").add(refs, domains)
    v = ix.vectors
    assert v.dtype == np.float32 and v.shape == (M, D)
    np.testing.assert_allclose(v, refs / np.linalg.norm(refs, axis=1, keepdims=True), rtol=1e-6,
                               atol=1e-7)
    v[0] = 0  # a copy
    assert ix.vectors[0].any()
    ix = asdnorm.Index(D, "euclidean").add(refs)
    np.testing.assert_array_equal(ix.vectors, refs.astype(np.float32))
    assert (ix.domains == 0).all()


def test_domains_accepted_types():
    refs, _, _ = shifted_data(seed=2, m=10)
    for dom in ([0, 1, 2, 1, 1, 2, 0, 0, 1, 2], np.array([0, 1, 2, 1, 1, 2, 0, 0, 1, 2]),
                np.array([0, 1, 2, 1, 1, 2, 0, 0, 1, 2], dtype=np.float64),
                np.array([0, 1, 2, 1, 1, 2, 0, 0, 1, 2], dtype=np.uint8)):
        ix = asdnorm.Index(D).add(refs, domains=dom)
        np.testing.assert_array_equal(ix.domains, np.asarray(dom, dtype=np.uint8))


# ---------------------------------------------------------------------------------------
# Input layouts and zero copy
# ---------------------------------------------------------------------------------------
def _record_pointer(monkeypatch, name):
    """Replace lib.<name> by a wrapper that records the address of its float* argument."""
    real = getattr(_lib.lib, name)
    seen = []

    def wrapper(handle, ptr, n, *rest):
        seen.append(ctypes.cast(ptr, ctypes.c_void_p).value)
        return real(handle, ptr, n, *rest)

    monkeypatch.setattr(_lib.lib, name, wrapper)
    return seen


def test_float32_c_contiguous_is_not_copied(monkeypatch):
    refs, _, tests = shifted_data(seed=4)
    refs32 = np.ascontiguousarray(refs, dtype=np.float32)
    tests32 = np.ascontiguousarray(tests, dtype=np.float32)
    added = _record_pointer(monkeypatch, "asdnorm_index_add")
    scored = _record_pointer(monkeypatch, "asdnorm_scorer_score")
    ix = asdnorm.Index(D).add(refs32).finalize()
    sc = asdnorm.Scorer(ix)
    sc.score(tests32)
    assert added == [refs32.ctypes.data]
    assert scored == [tests32.ctypes.data]
    sc.score(tests)  # float64: converted once, so another buffer
    assert scored[1] != tests.ctypes.data


def test_layouts_give_identical_scores():
    refs, _, tests = shifted_data(seed=6)
    ix = build(refs, "cosine", "knn", 1, 0.0)
    sc = asdnorm.Scorer(ix)
    want = sc.score(tests.astype(np.float32))
    wide = np.zeros((N, 2 * D), dtype=np.float32)
    wide[:, ::2] = tests
    for x in (tests, np.asfortranarray(tests), np.asfortranarray(tests, dtype=np.float32),
              wide[:, ::2], tests.tolist(), tests.astype(">f4")):
        np.testing.assert_array_equal(sc.score(x), want)
    ints = np.arange(1, 3 * D + 1).reshape(3, D)
    np.testing.assert_array_equal(sc.score(ints), sc.score(ints.astype(np.float32)))


def test_empty_batches():
    refs, _, _ = shifted_data(seed=7)
    ix = build(refs, "euclidean", "knn", 1, 0.0)
    ix.add(np.empty((0, D)))  # no-op
    assert len(ix) == M
    sc = asdnorm.Scorer(ix)
    s, nearest = sc.score(np.empty((0, D), dtype=np.float32), return_nearest=True)
    assert s.shape == (0,) and s.dtype == np.float32 and nearest.shape == (0,)


# ---------------------------------------------------------------------------------------
# Errors: each raises asdnorm.Error with its status, and changes nothing
# ---------------------------------------------------------------------------------------
def _snapshot(ix):
    return (len(ix), ix.finalized, ix.density.tobytes() if ix.finalized else None,
            ix.domains.tobytes(), ix.vectors.tobytes())


def _raises(status, fn, *args, builtin=ValueError, **kw):
    """The error fn raises: an asdnorm.Error with ``status``, also the built-in exception
    ``builtin`` (and no other of ValueError / TypeError / OSError / MemoryError)."""
    with pytest.raises(asdnorm.Error) as info:
        fn(*args, **kw)
    err = info.value
    assert err.status == status, (str(err), status)
    assert isinstance(err, builtin), (type(err).__mro__, builtin)
    for other in (ValueError, TypeError, OSError, MemoryError):
        assert isinstance(err, other) == issubclass(builtin, other), (type(err), other)
    assert err.message == _lib.lib.asdnorm_strerror(int(status)).decode()
    assert str(err)
    return err


def test_constructor_errors():
    for dim in (0, -1):
        _raises(Status.E_ARG, asdnorm.Index, dim)
    for dim in (2.5, "3", None, True):
        _raises(Status.E_ARG, asdnorm.Index, dim, builtin=TypeError)
    err = _raises(Status.E_ENUM, asdnorm.Index, 4, distance="manhattan")
    assert "manhattan" in str(err) and "cosine" in str(err)
    ix = asdnorm.Index(4)
    _raises(Status.E_ENUM, asdnorm.Scorer, ix, norm="max")
    _raises(Status.E_NULL, asdnorm.Scorer, None, builtin=TypeError)
    _raises(Status.E_ARG, asdnorm.Scorer, "not an index", builtin=TypeError)


@pytest.mark.parametrize("distance", DISTANCES)
def test_add_errors_change_nothing(distance):
    refs, domains, _ = shifted_data(seed=8)
    ix = build(refs, distance, "knn", 2, 0.0, domains)
    before = _snapshot(ix)
    good = np.ones((3, D))
    nan = good.copy(); nan[1, 2] = np.nan
    inf = good.copy(); inf[2, 0] = -np.inf
    huge64 = good.copy(); huge64[1, 0] = 1e300       # beyond float32
    cases = [
        (Status.E_DIM, np.ones(D), None),              # 1-D
        (Status.E_DIM, np.ones((2, 2, D)), None),      # 3-D
        (Status.E_DIM, np.ones((3, D + 1)), None),     # wrong dim
        (Status.E_NONFINITE, nan, None),
        (Status.E_NONFINITE, inf.astype(np.float32), None),
        (Status.E_RANGE, huge64, None),
        (Status.E_DIM, good, [1, 1]),                  # domains of wrong length
        (Status.E_DIM, good, [[1, 1, 1]]),             # domains 2-D
        (Status.E_LABEL, good, [0, 3, 1]),
        (Status.E_LABEL, good, [0, -1, 1]),
        (Status.E_LABEL, good, [0, 257, 1]),           # would wrap to 1 as uint8
        (Status.E_LABEL, good, [0, 1.5, 1]),
        (Status.E_LABEL, good, np.array([0, 3, 1], dtype=np.uint8)),  # checked by C
    ]
    if distance == "cosine":
        zero = good.copy(); zero[2] = 0
        cases.append((Status.E_ZERO_VECTOR, zero, None))
    else:
        big = good.copy(); big[0, 0] = 1e19            # squared norm above 1e36
        cases.append((Status.E_RANGE, big.astype(np.float32), None))
    type_errors = [(Status.E_ARG, np.array([["a"] * D]), None),        # not numbers
                   (Status.E_ARG, np.array([[{}] * D]), None),
                   (Status.E_LABEL, good, ["a", "b", "c"])]
    for status, x, dom in type_errors:
        _raises(status, ix.add, x, domains=dom, builtin=TypeError)
        assert _snapshot(ix) == before
    for status, x, dom in cases:
        err = _raises(status, ix.add, x, domains=dom)
        if status in (Status.E_NONFINITE, Status.E_ZERO_VECTOR, Status.E_RANGE):
            row = int(np.flatnonzero(~np.isfinite(x).all(1) | (np.abs(x) > 1e18).any(1)
                                     | ~np.any(x, axis=1))[0])
            assert f"row {row}" in str(err), str(err)
        assert _snapshot(ix) == before, (status, x, dom)


def test_finalize_errors_change_nothing():
    refs, _, _ = shifted_data(seed=9)
    ix = build(refs, "cosine", "knn", 3, 0.0)
    before = _snapshot(ix)
    est = ix.estimator
    for kw, status in [(dict(density="lof"), Status.E_ENUM), (dict(density=1), Status.E_ENUM),
                       (dict(density="knn", k=0), Status.E_ARG),
                       (dict(density="knn", k=-2), Status.E_ARG),
                       (dict(density="knn", k=1.5), Status.E_ARG),
                       (dict(density="gwrp", r=1.5), Status.E_ARG),
                       (dict(density="gwrp", r=-0.1), Status.E_ARG),
                       (dict(density="gwrp", r=float("nan")), Status.E_ARG)]:
        _raises(status, ix.finalize, **kw)
        assert _snapshot(ix) == before and ix.estimator == est, kw
    for kw in (dict(density="knn", k="two"), dict(density="knn", k=None),
               dict(density="gwrp", r=[0.5])):
        _raises(Status.E_ARG, ix.finalize, builtin=TypeError, **kw)
        assert _snapshot(ix) == before and ix.estimator == est, kw
    # too few references
    one = asdnorm.Index(D).add(refs[:1])
    for density in ("knn", "gwrp"):
        _raises(Status.E_TOO_FEW, one.finalize, density)
        assert not one.finalized and len(one) == 1
    _raises(Status.E_TOO_FEW, asdnorm.Index(D).finalize, "none")
    one.finalize("none")  # one reference is enough without neighbours
    assert one.finalized


def test_state_machine_and_score_errors():
    refs, _, tests = shifted_data(seed=10)
    ix = asdnorm.Index(D, "euclidean").add(refs[:30])
    sc = asdnorm.Scorer(ix)                          # the index need not be finalized yet
    assert ix.estimator is None
    _raises(Status.E_STATE, sc.score, tests)
    _raises(Status.E_STATE, lambda: ix.density)
    ix.finalize("knn", k=1)
    first = sc.score(tests)
    ix.add(refs[30:])                                # un-finalizes
    assert not ix.finalized and len(ix) == M
    _raises(Status.E_STATE, sc.score, tests)
    ix.finalize("gwrp", r=0.5)                       # another estimator recomputes
    assert ix.estimator == ("gwrp", 0.5)
    want, _, _ = bf_scores("euclidean", refs, bf_density("euclidean", refs, "gwrp", r=0.5),
                           "gwrp", "ratio", tests)
    np.testing.assert_allclose(sc.score(tests), want, rtol=TOL)
    assert not np.array_equal(sc.score(tests), first)
    before = _snapshot(ix)
    _raises(Status.E_DIM, sc.score, tests[:, :-1])
    _raises(Status.E_DIM, sc.score, tests[0])
    bad = tests.copy(); bad[4, 1] = np.nan
    err = _raises(Status.E_NONFINITE, sc.score, bad)
    assert "row 4" in str(err)
    cos = build(refs, "cosine", "knn", 1, 0.0)
    zero = tests.copy(); zero[2] = 0
    assert "row 2" in str(_raises(Status.E_ZERO_VECTOR, asdnorm.Scorer(cos).score, zero))
    assert _snapshot(ix) == before


# ---------------------------------------------------------------------------------------
# Lifetimes, threads
# ---------------------------------------------------------------------------------------
def test_scorer_keeps_index_alive():
    refs, _, tests = shifted_data(seed=12)
    want = asdnorm.Scorer(build(refs, "cosine", "knn", 1, 0.0)).score(tests)
    sc = asdnorm.Scorer(build(refs, "cosine", "knn", 1, 0.0))   # no other reference
    gc.collect()
    np.testing.assert_array_equal(sc.score(tests), want)


def test_handles_freed_at_shutdown():
    """Objects alive at exit (in globals, in a reference cycle) are freed without errors."""
    code = ("import numpy as np, asdnorm\n"
            "ix = asdnorm.Index(4, 'euclidean'); ix.add(np.eye(4)); ix.finalize()\n"
            "sc = asdnorm.Scorer(ix)\n"
            "class Holder: pass\n"
            "h = Holder(); h.me = h; h.sc = asdnorm.Scorer(asdnorm.Index(3).add(np.eye(3)))\n"
            "bad = asdnorm.Index.__new__(asdnorm.Index)  # never initialized\n"
            "print(sc.score(np.ones((1, 4)))[0])\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=os.environ, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "Exception" not in res.stderr and "Error" not in res.stderr, res.stderr


def test_threads_share_an_index():
    refs, _, _ = shifted_data(seed=13, m=200, d=32)
    tests = np.random.default_rng(1).normal(size=(400, 32)).astype(np.float32)
    ix = build(refs, "cosine", "knn", 2, 0.0)
    want = asdnorm.Scorer(ix).score(tests)
    shared = asdnorm.Scorer(ix)
    results = {}

    def work(i):
        own = asdnorm.Scorer(ix)
        out = []
        for _ in range(5):
            out.append(own.score(tests))
            out.append(shared.score(tests))          # serialized by the scorer's lock
        results[i] = out

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    for out in results.values():
        for s in out:
            np.testing.assert_array_equal(s, want)


def test_add_waits_for_scoring_threads():
    """add/finalize from one thread while others score: no crash, consistent results."""
    refs, _, tests = shifted_data(seed=14, m=100, d=16)
    ix = build(refs[:50], "euclidean", "knn", 1, 0.0)
    errors = []

    def scorer():
        sc = asdnorm.Scorer(ix)
        for _ in range(50):
            try:
                s = sc.score(tests)
                assert np.isfinite(s).all()
            except asdnorm.Error as e:              # between add and finalize
                if e.status != Status.E_STATE:
                    errors.append(e)

    threads = [threading.Thread(target=scorer) for _ in range(2)]
    for t in threads:
        t.start()
    for i in range(50, 100, 10):
        ix.add(refs[i:i + 10])
        ix.finalize("knn", k=1)
    for t in threads:
        t.join()
    assert not errors and len(ix) == 100


# ---------------------------------------------------------------------------------------
# Persistence (lib/io.c) and pickling
# ---------------------------------------------------------------------------------------
@pytest.mark.io
@pytest.mark.parametrize("distance", DISTANCES)
def test_save_load_bit_identical(tmp_path, distance):
    refs, domains, tests = shifted_data(seed=15)
    ix = build(refs, distance, "gwrp", 1, 0.7, domains)
    sc = asdnorm.Scorer(ix, "difference")
    want, want_nearest = sc.score(tests, return_nearest=True)
    path = tmp_path / "ix.asdn"
    ix.save(path)                                    # os.PathLike
    ix.save(str(path))                               # str, over an existing file
    blob = ix.to_bytes()
    assert path.read_bytes() == blob
    for loaded in (asdnorm.Index.load(path), asdnorm.Index.load(str(path)),
                   asdnorm.Index.from_bytes(blob), asdnorm.Index.from_bytes(bytearray(blob)),
                   asdnorm.Index.from_bytes(memoryview(blob)),
                   pickle.loads(pickle.dumps(ix))):
        assert loaded.finalized and len(loaded) == M and loaded.dim == D
        assert loaded.distance == distance and loaded.estimator == ix.estimator
        np.testing.assert_array_equal(loaded.density, ix.density)
        np.testing.assert_array_equal(loaded.domains, domains)
        np.testing.assert_array_equal(loaded.vectors, ix.vectors)
        got, nearest = asdnorm.Scorer(loaded, "difference").score(tests, return_nearest=True)
        assert got.tobytes() == want.tobytes()
        np.testing.assert_array_equal(nearest, want_nearest)


@pytest.mark.io
def test_persistence_errors(tmp_path):
    refs, _, _ = shifted_data(seed=16)
    ix = asdnorm.Index(D).add(refs)
    _raises(Status.E_STATE, ix.save, tmp_path / "x.asdn")
    _raises(Status.E_STATE, ix.to_bytes)
    assert not (tmp_path / "x.asdn").exists()
    _raises(Status.E_IO, asdnorm.Index.load, tmp_path / "missing.asdn",
            builtin=FileNotFoundError)
    ix.finalize()
    _raises(Status.E_IO, ix.save, tmp_path / "no-such-dir" / "x.asdn",
            builtin=FileNotFoundError)
    blob = ix.to_bytes()
    (tmp_path / "garbage").write_bytes(b"not an index" * 10)
    _raises(Status.E_CORRUPT, asdnorm.Index.load, tmp_path / "garbage")
    _raises(Status.E_CORRUPT, asdnorm.Index.from_bytes, blob[:len(blob) // 2])
    _raises(Status.E_CORRUPT, asdnorm.Index.from_bytes, b"")
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 0x10
    _raises(Status.E_CORRUPT, asdnorm.Index.from_bytes, flipped)


def test_pickle_unfinalized_index_and_scorer():
    refs, domains, tests = shifted_data(seed=17)
    ix = asdnorm.Index(D, "mse").add(refs, domains)
    copy = pickle.loads(pickle.dumps(ix))
    assert not copy.finalized and copy.distance == "mse"
    np.testing.assert_array_equal(copy.vectors, ix.vectors)
    np.testing.assert_array_equal(copy.domains, domains)


# ---------------------------------------------------------------------------------------
# The package
# ---------------------------------------------------------------------------------------
def test_package_surface():
    # The package and the library it loaded are the same release (test_header.py checks
    # both against the header's version macros).
    assert asdnorm.__version__ == _lib.lib.asdnorm_version().decode()
    assert issubclass(asdnorm.Error, Exception) and not issubclass(asdnorm.Error, ValueError)
    for name in ("Index", "Scorer", "Error", "Detector", "metrics", "baselines"):
        assert hasattr(asdnorm, name), name
    ix = asdnorm.Index(3, "mse")
    assert isinstance(ix._handle, ctypes.c_void_p) and ix._handle.value
    assert "mse" in repr(ix) and "not finalized" in repr(ix)


def test_import_does_not_load_sklearn():
    """`import asdnorm` stays light; asdnorm.Detector imports scikit-learn on first use."""
    code = "import sys, asdnorm; assert 'sklearn' not in sys.modules; asdnorm.Detector; print('ok')"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=os.environ, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr


def test_get_vectors_ranges():
    refs, domains, _ = shifted_data(seed=31)
    ix = asdnorm.Index(D, "euclidean").add(refs, domains)
    allv = ix.vectors
    np.testing.assert_array_equal(allv, refs.astype(np.float32))
    for first, count in ((0, 1), (3, 5), (len(refs) - 1, 1), (len(refs), 0), (7, None)):
        want = allv[first:] if count is None else allv[first:first + count]
        np.testing.assert_array_equal(ix.get_vectors(first, count), want)
    for first, count in ((len(refs), 1), (len(refs) + 1, 0), (2, len(refs))):
        _raises(Status.E_ARG, ix.get_vectors, first, count)
    _raises(Status.E_ARG, ix.get_vectors, -1, 2)
    _raises(Status.E_ARG, ix.get_vectors, 1.0, 2, builtin=TypeError)


@pytest.mark.parametrize("distance", ["cosine", "euclidean", "mse"])
def test_clone_is_a_deep_copy(distance):
    import copy
    rng = np.random.default_rng(7)
    x = rng.normal(size=(40, 6)).astype(np.float32)
    ix = asdnorm.Index(6, distance).add(x[:30], domains=[1] * 20 + [2] * 10).finalize("knn", k=2)
    c = ix.clone()
    assert c.finalized and c.estimator == ix.estimator
    np.testing.assert_array_equal(c.density, ix.density)
    np.testing.assert_array_equal(c.domains, ix.domains)
    np.testing.assert_array_equal(c.vectors, ix.vectors)
    q = x[30:]
    s1, n1 = asdnorm.Scorer(ix).score(q, return_nearest=True)
    s2, n2 = asdnorm.Scorer(c).score(q, return_nearest=True)
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(n1, n2)
    # Independent: growing the copy leaves the source as it was.
    c.add(q)
    assert len(c) == 40 and len(ix) == 30 and ix.finalized
    np.testing.assert_array_equal(asdnorm.Scorer(ix).score(q), s1)
    # copy.copy / copy.deepcopy clone too; an un-finalized index clones un-finalized.
    open_ix = asdnorm.Index(6, distance).add(x)
    for dup in (copy.copy(open_ix), copy.deepcopy(open_ix)):
        assert not dup.finalized and len(dup) == 40
        np.testing.assert_array_equal(dup.vectors, open_ix.vectors)
        assert dup._handle.value != open_ix._handle.value
