# SPDX-License-Identifier: MIT
"""Index.search against a float64 brute force (conftest.bf_distances): the k nearest
references of each query, ascending, equal distances in order of position."""
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
