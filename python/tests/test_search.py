# SPDX-License-Identifier: MIT
"""Index.search and Index.set_density: the wrappers of asdnorm_index_search(_double)
and asdnorm_index_set_density, against the brute force of conftest.py."""
import numpy as np
import pytest

import asdnorm
from conftest import bf_distance


@pytest.mark.parametrize("distance", ["cosine", "euclidean", "mse"])
def test_search_matches_brute_force(distance):
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
    assert given.estimator == fin.estimator and given.to_bytes() == fin.to_bytes()
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
