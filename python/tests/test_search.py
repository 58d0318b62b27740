# SPDX-License-Identifier: MIT
"""Index.search and Index.set_density against a float64 brute force (conftest.bf_distance):
the k nearest references of each query, ascending, equal distances in order of position;
given density constants score as finalize's do."""
import numpy as np
import pytest

import asdnorm
from conftest import bf_distance


@pytest.mark.parametrize("distance", ["cosine", "euclidean", "mse"])
@pytest.mark.parametrize("k", [1, 4, 60])
def test_search_matches_brute_force(distance, k):
    rng = np.random.default_rng(k)
    refs = rng.normal(size=(60, 12)).astype(np.float32)
    refs[40:50] = refs[0]                      # ten exact copies of reference 0
    tests = rng.normal(size=(25, 12)).astype(np.float32)
    tests[::5] = refs[::12][:5]                # queries equal to references
    ix = asdnorm.Index(12, distance).add(refs)
    dist, ids = ix.search(tests, k)
    assert dist.dtype == np.float32 and ids.dtype == np.int64
    assert dist.shape == ids.shape == (25, k)
    want = bf_distance(distance, tests, refs)          # (n, m) float64
    order = np.argsort(want, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(ids, order)
    np.testing.assert_allclose(dist, np.take_along_axis(want, order, 1).astype(np.float32),
                               rtol=2e-7, atol=1e-12)  # the gemm-form cosine of bf: ~1e-16 at 0


def test_search_errors_and_empty():
    ix = asdnorm.Index(3, "cosine").add(np.eye(3))
    d, j = ix.search(np.zeros((0, 3)), 2)
    assert d.shape == j.shape == (0, 2)
    with pytest.raises(ValueError, match="k = 4"):
        ix.search(np.eye(3), 4)
    with pytest.raises(ValueError):
        ix.search(np.eye(3), 0)
    with pytest.raises(TypeError):
        ix.search(np.eye(3), 1.5)
    with pytest.raises(ValueError, match="row 1"):
        ix.search([[1.0, 0, 0], [0, 0, 0]], 1)    # a zero vector under cosine
    with pytest.raises(ValueError):
        asdnorm.Index(3).search(np.eye(3), 1)     # no references

from conftest import bf_distance


@pytest.mark.parametrize("distance", ["cosine", "euclidean", "mse"])
def test_search_double_matches_brute_force(distance):
    rng = np.random.default_rng(2)
    refs = rng.normal(size=(120, 6)).astype(np.float32)
    refs[7] = refs[3]  # a tie: the lower position first
    q = rng.normal(size=(15, 6)).astype(np.float32)
    q[0] = refs[3]
    ix = asdnorm.Index(6, distance).add(refs)
    d32, i32 = ix.search(q, 5)
    d64, i64 = ix.search(q, 5, dtype=np.float64)
    assert d32.dtype == np.float32 and d64.dtype == np.float64 and i32.dtype == np.int64
    assert d32.shape == i32.shape == (15, 5)
    np.testing.assert_array_equal(i32, i64)
    assert d32.tobytes() == d64.astype(np.float32).tobytes()
    want = bf_distance(distance, q, refs)
    order = np.lexsort((np.broadcast_to(np.arange(120), want.shape), want), axis=1)[:, :5]
    np.testing.assert_array_equal(i64, order)
    np.testing.assert_allclose(d64, np.take_along_axis(want, order, 1), rtol=1e-12, atol=1e-15)
    assert list(i64[0, :2]) == [3, 7]
    with pytest.raises(asdnorm.Error) as err:
        ix.search(q, 121)
    assert err.value.status == asdnorm.Status.E_ARG
    with pytest.raises(asdnorm.Error):
        ix.search(q, 2, dtype=np.int32)


def test_set_density_is_finalize():
    rng = np.random.default_rng(4)
    refs = rng.normal(size=(80, 5)).astype(np.float32)
    x = rng.normal(size=(30, 5)).astype(np.float32)
    fin = asdnorm.Index(5, "euclidean").add(refs).finalize("gwrp", r=0.6)
    given = asdnorm.Index(5, "euclidean").add(refs).set_density(fin.density, "gwrp", r=0.6)
    # The same file up to the end of DENS (docs/file-format.md §1: euclidean, M = 80, D = 5),
    # but the file size: given densities keep no neighbour lists.
    a, b = given.to_bytes(), fin.to_bytes()
    dens_end = 64 + (16 + 4 * 80 * 5) + (16 + 4 * 80) + 16 + (16 + 80) + (16 + 8 * 80)
    assert a[dens_end:dens_end + 4] == b"INCR"
    assert given.estimator == fin.estimator
    assert a[:16] == b[:16] and a[24:dens_end] == b[24:dens_end]
    for norm in ("ratio", "difference"):
        a = asdnorm.Scorer(fin, norm).score(x, return_nearest=True)
        b = asdnorm.Scorer(given, norm).score(x, return_nearest=True)
        assert a[0].tobytes() == b[0].tobytes() and np.array_equal(a[1], b[1])
    for values, status in ((fin.density[:-1], asdnorm.Status.E_DIM),
                           (-fin.density - 1, asdnorm.Status.E_ARG),
                           (np.full(80, np.nan), asdnorm.Status.E_NONFINITE)):
        with pytest.raises(asdnorm.Error) as err:
            given.set_density(values, "knn", k=2)
        assert err.value.status == status
    assert given.estimator == ("gwrp", 0.6)  # refusals change nothing


@pytest.mark.parametrize("distance", ["cosine", "euclidean", "mse"])
def test_neighbours_match_brute_force(distance):
    """Index.neighbours: each reference's k nearest others (split 0) or those of the
    other part, by (distance, position) of the float64 brute force."""
    rng = np.random.default_rng(9)
    refs = rng.normal(size=(90, 5)).astype(np.float32)
    refs[60:70] = refs[2]                      # copies: ties at distance 0
    ix = asdnorm.Index(5, distance).add(refs)
    want = bf_distance(distance, refs, refs)
    for split, k in ((0, 1), (0, 12), (40, 7), (1, 1), (89, 1)):
        dist, ids = ix.neighbours(k, split=split)
        assert dist.dtype == np.float64 and ids.dtype == np.int64 and dist.shape == (90, k)
        for i in range(90):
            cols = np.arange(90)
            allowed = cols != i if split == 0 else (cols >= split if i < split else cols < split)
            order = cols[allowed][np.argsort(want[i][allowed], kind="stable")][:k]
            np.testing.assert_array_equal(ids[i], order)
            np.testing.assert_allclose(dist[i], want[i][order], rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError):
        ix.neighbours(8, split=85)             # the second part has 5 references
    with pytest.raises(ValueError):
        ix.neighbours(1, split=90)
