# SPDX-License-Identifier: MIT
"""Scorer.self_scores and Scorer.threshold against a float64 brute force: reference i
scored against the index without it, finalized from scratch with the same estimator
(densities of the others without i), with the full index's ratio floor (docs/math.md
§2.5); the threshold is numpy's inverted-CDF quantile of the self scores."""
import numpy as np
import pytest

import asdnorm
from conftest import bf_density, bf_distance, bf_ratio_floor


def bf_self_scores(kind, y, density, norm, k=1, r=0.9):
    """(scores, per-i term rows) of the leave-one-out definition, from scratch."""
    m = len(y)
    d = bf_distance(kind, y, y)
    phi = bf_ratio_floor(kind, y)
    scores, terms = np.empty(m), np.full((m, m), np.inf)
    for i in range(m):
        keep = np.delete(np.arange(m), i)
        s = d[i, keep]
        if density != "none" and norm != "none":
            n = bf_density(kind, y[keep], density, k=k, r=r)
            s = s / np.maximum(n, phi) if norm == "ratio" else s - n
        terms[i, keep] = s
        scores[i] = s.min()
    return scores, terms


def references(seed, m=30, dim=6):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(m, dim)).astype(np.float32)
    y[m - 8:] = 3.0 + 0.2 * y[m - 8:]   # a sparse second cluster
    y[5] = y[0]                         # copies: a pair and a triple
    y[11] = y[12] = y[3]
    return y


@pytest.mark.parametrize("kind", ["cosine", "euclidean", "mse"])
@pytest.mark.parametrize("density,k,r", [("knn", 1, 0.9), ("knn", 3, 0.9), ("knn", 100, 0.9),
                                         ("gwrp", 1, 0.5), ("none", 1, 0.9)])
@pytest.mark.parametrize("norm", ["ratio", "difference", "none"])
def test_self_scores_match_brute_force(kind, density, k, r, norm):
    y = references(7)
    ix = asdnorm.Index(y.shape[1], kind).add(y).finalize(density, k=k, r=r)
    sc = asdnorm.Scorer(ix, norm=norm)
    got, nearest = sc.self_scores(return_nearest=True)
    assert got.dtype == np.float32 and got.shape == (len(y),) and nearest.dtype == np.int64
    np.testing.assert_array_equal(sc.self_scores(), got)
    want, terms = bf_self_scores(kind, y, density, norm, k=k, r=r)
    scale = np.abs(terms[np.isfinite(terms)]).max()
    np.testing.assert_allclose(got, want.astype(np.float32), rtol=4e-7, atol=1e-11 * scale)
    # The reported reference attains the minimum, and is never the reference itself.
    assert (nearest != np.arange(len(y))).all()
    at = terms[np.arange(len(y)), nearest]
    np.testing.assert_allclose(at, want, rtol=4e-7, atol=1e-11 * scale)


@pytest.mark.parametrize("fpr", [0.01, 0.05, 0.1, 0.2, 0.33, 0.5, 0.9])
def test_threshold_is_the_inverted_cdf_quantile(fpr):
    y = references(3, m=47)
    sc = asdnorm.Scorer(asdnorm.Index(6, "cosine").add(y).finalize("knn", k=2))
    s = sc.self_scores()
    t = sc.threshold(fpr)
    assert isinstance(t, float) and np.float32(t) == t
    assert t == np.quantile(s, 1 - fpr, method="inverted_cdf")
    # At most floor(fpr * M) self scores above it, and t is the smallest such score.
    assert (s > t).sum() <= np.floor(fpr * len(s)) < (s >= t).sum()


def test_threshold_on_held_out_normals():
    """The threshold keeps about fpr of new normal samples above it (one domain)."""
    rng = np.random.default_rng(11)
    y = rng.normal(size=(400, 8)).astype(np.float32)
    held = rng.normal(size=(4000, 8)).astype(np.float32)
    sc = asdnorm.Scorer(asdnorm.Index(8, "euclidean").add(y).finalize("knn", k=1))
    for fpr in (0.05, 0.2):
        rate = (sc.score(held) > sc.threshold(fpr)).mean()
        assert abs(rate - fpr) < 0.05, (fpr, rate)


def test_errors():
    ix = asdnorm.Index(2, "euclidean").add([[0, 0], [1, 0]])
    sc = asdnorm.Scorer(ix)
    with pytest.raises(asdnorm.InvalidValueError, match="finalized"):
        sc.self_scores()
    ix.finalize("knn", k=1)
    with pytest.raises(asdnorm.InvalidValueError, match="at least 3"):
        sc.self_scores()
    with pytest.raises(asdnorm.InvalidValueError):
        sc.threshold(0.1)
    ix.finalize("none")
    assert sc.self_scores().tolist() == [1.0, 1.0]
    for bad in (0, 1, -0.5, 2.0, float("nan")):
        with pytest.raises(asdnorm.InvalidValueError, match=r"\(0, 1\)"):
            sc.threshold(bad)
    with pytest.raises(asdnorm.InvalidTypeError):
        sc.threshold("0.1")
    assert sc.threshold(0.5) == 1.0
