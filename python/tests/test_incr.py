# SPDX-License-Identifier: MIT
"""Incremental add and remove on a finalized index (docs/math.md §2.6): the densities and
scores equal a numpy brute force of the new reference set, and the index stays finalized."""
import numpy as np
import pytest

import asdnorm
from conftest import bf_density, bf_scores

D = 6
CASES = [("cosine", "knn", 1, 0.0), ("euclidean", "knn", 4, 0.0), ("mse", "gwrp", 1, 0.5),
         ("euclidean", "gwrp", 1, 0.9), ("cosine", "knn", 100, 0.0), ("mse", "none", 1, 0.0)]


def _data(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, D)).astype(np.float32)
    x[n // 2: n // 2 + 3] = x[:3]  # exact copies
    return x


def _check(ix, kind, density, k, r, refs, tests):
    assert ix.finalized and len(ix) == len(refs)
    want = bf_density(kind, refs, density, k=k, r=r)
    if density == "none":
        assert not ix.density.any()
    else:
        np.testing.assert_allclose(ix.density, want, rtol=1e-9, atol=1e-12)
    scores, nearest, _ = bf_scores(kind, refs, want, density, "ratio", tests)
    got = asdnorm.Scorer(ix, "ratio" if density != "none" else "none").score(tests)
    np.testing.assert_allclose(got, scores, rtol=1e-5)


@pytest.mark.parametrize("kind,density,k,r", CASES)
def test_add_after_finalize(kind, density, k, r):
    refs = _data(1, 60)
    tests = _data(2, 7)
    ix = asdnorm.Index(D, kind).add(refs[:40])
    ix.finalize(density, k=k, r=r) if density != "none" else ix.finalize("none")
    ix.add(refs[40:45]).add(refs[45:])            # two batches, the index stays finalized
    _check(ix, kind, density, k, r, refs, tests)


@pytest.mark.parametrize("kind,density,k,r", CASES)
def test_remove(kind, density, k, r):
    refs = _data(3, 50)
    tests = _data(4, 7)
    ix = asdnorm.Index(D, kind).add(refs)
    ix.finalize(density, k=k, r=r) if density != "none" else ix.finalize("none")
    gone = [49, 0, 25, 26, 7]
    ix.remove(np.array(gone, dtype=np.int32))
    _check(ix, kind, density, k, r, np.delete(refs, gone, axis=0), tests)
    ix.remove((0,))                                 # any integer sequence
    _check(ix, kind, density, k, r, np.delete(refs, gone + [1], axis=0), tests)


def test_remove_refuses_and_changes_nothing():
    refs = _data(5, 10)
    ix = asdnorm.Index(D, "euclidean").add(refs).finalize("knn", k=2)
    before = ix.density.copy()
    for bad in ([-1], [10], [3, 3], [0.5], np.arange(9)):
        with pytest.raises((asdnorm.InvalidValueError, asdnorm.InvalidTypeError)):
            ix.remove(bad)
    assert len(ix) == 10 and ix.finalized
    np.testing.assert_array_equal(ix.density, before)
    ix.remove([])
    assert len(ix) == 10


def test_given_densities_unfinalize():
    refs = _data(6, 12)
    ix = asdnorm.Index(D, "cosine").add(refs[:10])
    ix.set_density(np.ones(10), "knn", k=1)
    ix.add(refs[10:])
    assert not ix.finalized
