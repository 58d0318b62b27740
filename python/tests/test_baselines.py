# SPDX-License-Identifier: MIT
"""asdnorm.baselines against the reference implementations: scikit-learn's
LocalOutlierFactor(novelty=True) and KMeans, imbalanced-learn's SMOTE, and a float64
numpy brute force (conftest.py) for the domain-wise standardization."""
import glob
import os
import zlib

import contextlib

import numpy as np
import pytest

import asdnorm
from asdnorm import baselines
from asdnorm.core import Status

from conftest import bf_density, bf_scores

sklearn_neighbors = pytest.importorskip("sklearn.neighbors")
sklearn_cluster = pytest.importorskip("sklearn.cluster")

try:  # scikit-learn's own thread pools thrash on a small, shared machine
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    def threadpool_limits(limits=None):
        return contextlib.nullcontext()

# Real features, part of the repository (tests/data/README.md says what they are).
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "tests",
                    "data", "office-caltech10")
OFFICE = sorted(glob.glob(os.path.join(DATA, "*_x.npy")))
assert OFFICE, f"the test data are missing from {DATA}"


def rel_err(got, want):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    return np.abs(got - want) / np.maximum(np.abs(want), 1e-300)


def sk_lof(refs, tests, k, metric="euclidean"):
    """scikit-learn's novelty LOF on the float64 values of the same float32 data."""
    model = sklearn_neighbors.LocalOutlierFactor(n_neighbors=k, novelty=True, metric=metric,
                                                 algorithm="brute" if metric == "cosine"
                                                 else "auto")
    with threadpool_limits(limits=1):
        model.fit(np.asarray(refs, dtype=np.float64))
        return -model.score_samples(np.asarray(tests, dtype=np.float64))


def lof_case(rng, kind):
    m = int(rng.integers(8, 150))
    dim = int(rng.integers(1, 40))
    n = int(rng.integers(1, 40))
    k = int(rng.choice([1, 2, 5, 10, 16, 20, 35, 200]))
    if kind == "gauss":
        refs = rng.normal(0, 1, (m, dim))
        tests = rng.normal(0, 1.5, (n, dim))
    elif kind == "mixture":
        centres = rng.normal(0, 6, (3, dim))
        refs = centres[rng.integers(0, 3, m)] + rng.normal(0, rng.uniform(0.2, 2), (m, dim))
        tests = centres[rng.integers(0, 3, n)] + rng.normal(0, 2, (n, dim))
    else:  # uniform, offset: tests the exact refinement of large-norm data
        refs = 100.0 + rng.uniform(0, 1, (m, dim))
        tests = 100.0 + rng.uniform(-0.5, 1.5, (n, dim))
    return refs.astype(np.float32), tests.astype(np.float32), k


# ---- LOF ------------------------------------------------------------------------------

def test_lof_matches_sklearn_euclidean():
    """Many random inputs (sizes, dims, k including k ≥ m), relative 1e-5."""
    rng = np.random.default_rng(2024)
    worst, cases = 0.0, 0
    for case in range(90):
        refs, tests, k = lof_case(rng, ("gauss", "mixture", "uniform")[case % 3])
        got = baselines.lof(refs, tests, k=k)
        want = sk_lof(refs, tests, min(k, len(refs) - 1))
        assert got.shape == (len(tests),) and got.dtype == np.float32
        err = rel_err(got, want).max()
        worst = max(worst, err)
        cases += 1
        assert err < 1e-5, (case, err)
    print(f"LOF vs scikit-learn (euclidean): max relative difference {worst:.3g} "
          f"over {cases} cases")


def test_lof_matches_sklearn_cosine():
    """sklearn's cosine distance is 1 − cos, twice ours; LOF is invariant to the scale
    (up to the 1e-10 guard)."""
    rng = np.random.default_rng(7)
    for case in range(30):
        refs, tests, k = lof_case(rng, ("gauss", "mixture")[case % 2])
        if refs.shape[1] < 2:
            continue
        got = baselines.lof(refs, tests, k=k, distance="cosine")
        want = sk_lof(refs, tests, min(k, len(refs) - 1), metric="cosine")
        assert rel_err(got, want).max() < 1e-5, case


def test_lof_on_real_embeddings():
    """DeCAF features of one domain as references, another domain as tests."""
    refs = np.load(os.path.join(DATA, "decaf_dslr_x.npy"))
    tests = np.load(os.path.join(DATA, "decaf_webcam_x.npy"))[:60]
    for k in (5, 16):
        got = baselines.lof(refs, tests, k=k)
        assert rel_err(got, sk_lof(refs, tests, k)).max() < 1e-5


def test_lof_errors():
    refs = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
    with pytest.raises(asdnorm.Error) as e:
        baselines.lof(refs, refs, k=0)
    assert e.value.status == Status.E_ARG
    with pytest.raises(asdnorm.Error) as e:
        baselines.lof(refs[:1], refs, k=3)
    assert e.value.status == Status.E_TOO_FEW
    bad = refs.copy()
    bad[4, 1] = np.nan
    with pytest.raises(asdnorm.Error) as e:
        baselines.lof(refs, bad, k=3)
    assert e.value.status == Status.E_NONFINITE and "row 4" in str(e.value)
    with pytest.raises(asdnorm.Error) as e:
        baselines.lof(bad, refs, k=3)
    assert e.value.status == Status.E_NONFINITE and "row 4" in str(e.value)
    with pytest.raises(asdnorm.Error) as e:
        baselines.lof(refs, refs[:, :2], k=3)
    assert e.value.status == Status.E_DIM
    with pytest.raises(asdnorm.Error) as e:
        baselines.lof(refs, refs, k=3, distance="manhattan")
    assert e.value.status == Status.E_ENUM
    assert baselines.lof(refs, np.empty((0, 3)), k=3).shape == (0,)


# ---- k-means ---------------------------------------------------------------------------

def inertia64(x, c):
    """Σ min ‖x − c‖² in float64 with exact differences, in chunks."""
    x = np.asarray(x, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    total = 0.0
    for i in range(0, len(x), 64):
        d = ((x[i:i + 64, None, :] - c[None, :, :]) ** 2).sum(axis=2)
        total += d.min(axis=1).sum()
    return total


def sk_inertia(x, k, seed=0):
    with threadpool_limits(limits=1):
        km = sklearn_cluster.KMeans(n_clusters=k, n_init=10, random_state=seed).fit(x)
    return inertia64(x, km.cluster_centers_)


def blobs(rng, n, dim, k, spread):
    centres = rng.normal(0, spread, (k, dim))
    return (centres[rng.integers(0, k, n)] + rng.normal(0, 1, (n, dim))).astype(np.float32)


SYNTHETIC = {
    "blobs-separated": lambda rng: blobs(rng, 400, 8, 6, 10.0),
    "blobs-overlapping": lambda rng: blobs(rng, 400, 8, 6, 1.5),
    "uniform": lambda rng: rng.uniform(0, 1, (300, 5)).astype(np.float32),
    "anisotropic": lambda rng: (rng.normal(0, 1, (300, 6)) * [20, 5, 1, 1, .1, .1]
                                ).astype(np.float32),
}


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_kmeans_inertia_vs_sklearn_synthetic(name):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    x = SYNTHETIC[name](rng)
    for k in (2, 6, 12):
        cent, inertia = baselines.kmeans(x, k, seed=1)
        assert cent.shape == (k, x.shape[1]) and cent.dtype == np.float32
        assert inertia == pytest.approx(inertia64(x, cent), rel=1e-9)
        ratio = inertia / sk_inertia(x, k)
        print(f"k-means {name} k={k}: ours / sklearn inertia = {ratio:.4f}")
        assert ratio < 1.01


@pytest.mark.parametrize("path", OFFICE, ids=[os.path.basename(p) for p in OFFICE])
def test_kmeans_inertia_vs_sklearn_office(path):
    """Real features (counts with duplicates, sparse CNN features), k = 10 classes."""
    x = np.load(path)
    cent, inertia = baselines.kmeans(x, 10, seed=0)
    assert inertia == pytest.approx(inertia64(x, cent), rel=1e-9)
    ratio = inertia / sk_inertia(x, 10)
    print(f"k-means {os.path.basename(path)} k=10: ours / sklearn inertia = {ratio:.4f}")
    assert ratio < 1.01


def test_kmeans_known_blobs_and_determinism():
    pts = np.array([[0, 0], [0, 2], [2, 0], [2, 2],
                    [99, 100], [101, 100], [100, 99], [100, 101]], dtype=np.float32)
    cent, inertia = baselines.kmeans(pts, 2)
    assert inertia == 8.0 + 4.0
    assert sorted(map(tuple, cent.tolist())) == [(1.0, 1.0), (100.0, 100.0)]
    x = np.random.default_rng(3).uniform(size=(200, 4)).astype(np.float32)
    a = baselines.kmeans(x, 7, seed=5, n_init=2)
    b = baselines.kmeans(x, 7, seed=5, n_init=2)
    c = baselines.kmeans(x, 7, seed=6, n_init=2)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]
    assert not np.array_equal(a[0], c[0])
    # Restart 0 is shared, and the best restart is kept.
    assert baselines.kmeans(x, 7, seed=5, n_init=6)[1] <= baselines.kmeans(x, 7, seed=5,
                                                                            n_init=1)[1]


def test_kmeans_errors():
    x = np.random.default_rng(0).normal(size=(5, 2))
    for kwargs, status in [({"k": 6}, Status.E_DEGENERATE), ({"k": 0}, Status.E_ARG),
                           ({"k": 2, "n_init": 0}, Status.E_ARG),
                           ({"k": 2, "max_iter": 0}, Status.E_ARG),
                           ({"k": 2.5}, Status.E_ARG)]:
        with pytest.raises(asdnorm.Error) as e:
            baselines.kmeans(x, **kwargs)
        assert e.value.status == status, kwargs
    bad = x.copy()
    bad[3, 0] = np.inf
    with pytest.raises(asdnorm.Error) as e:
        baselines.kmeans(bad, 2)
    assert e.value.status == Status.E_NONFINITE and "row 3" in str(e.value)


def test_source_means():
    rng = np.random.default_rng(11)
    refs = np.vstack([blobs(rng, 60, 5, 3, 8.0), rng.normal(0, 1, (7, 5))]).astype(np.float32)
    domains = np.r_[np.ones(60), np.full(5, 2), np.zeros(2)].astype(np.uint8)
    order = rng.permutation(len(refs))
    refs, domains = refs[order], domains[order]
    refs2, domains2 = baselines.source_means(refs, domains, 3, seed=4)
    assert refs2.shape == (3 + 7, 5)
    assert list(domains2) == [1, 1, 1] + list(domains[domains != 1])
    assert np.array_equal(refs2[3:], refs[domains != 1])
    want, inertia = baselines.kmeans(refs[domains == 1], 3, seed=4)
    assert np.array_equal(refs2[:3], want)
    assert inertia / sk_inertia(refs[domains == 1], 3) < 1.01
    # k clipped to the number of source rows.
    refs3, domains3 = baselines.source_means(refs, domains, 500)
    assert len(refs3) == len(refs) and (domains3 == 1).sum() == 60
    # Cosine: centroids are means of unit vectors, the other rows come back unit.
    refs4, _ = baselines.source_means(refs, domains, 1, distance="cosine")
    unit = refs / np.linalg.norm(refs, axis=1, keepdims=True)
    np.testing.assert_allclose(refs4[0], unit[domains == 1].mean(axis=0), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(refs4[1:], unit[domains != 1], rtol=1e-6, atol=1e-7)
    with pytest.raises(asdnorm.Error) as e:
        baselines.source_means(refs, np.full(len(refs), 2), 3)
    assert e.value.status == Status.E_TOO_FEW
    with pytest.raises(asdnorm.Error) as e:
        baselines.source_means(refs, np.full(len(refs), 3), 3)
    assert e.value.status == Status.E_LABEL


# ---- SMOTE -----------------------------------------------------------------------------

def knn_sets(x, k):
    """For each row, the set of its k nearest other rows (float64 brute force)."""
    d = np.sqrt(((x[:, None, :].astype(np.float64) - x[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(d, np.inf)
    return np.argsort(d, axis=1, kind="stable")[:, :k]


def segment_fit(x, k, samples):
    """For each sample: the (i, j, u) with j among i's k nearest and
    sample = x_i + u (x_j − x_i), u in [0, 1], best residual; and that residual."""
    x = x.astype(np.float64)
    s = samples.astype(np.float64)
    nn = knn_sets(x, k)
    i = np.repeat(np.arange(len(x)), k)
    j = nn.reshape(-1)
    a, d = x[i], x[j] - x[i]                                    # (P, dim)
    dd = np.maximum((d * d).sum(axis=1), 1e-300)
    u = ((s[:, None, :] - a[None]) * d[None]).sum(axis=2) / dd  # (S, P)
    u = np.clip(u, 0.0, 1.0)
    resid = np.sqrt(((s[:, None, :] - a[None] - u[..., None] * d[None]) ** 2).sum(axis=2))
    best = resid.argmin(axis=1)
    rows = np.arange(len(s))
    return i[best], j[best], u[rows, best], resid[rows, best]


def imblearn_smote(x, n_new, k, seed):
    """imbalanced-learn's synthetic rows for minority x, n_new of them."""
    imblearn = pytest.importorskip("imblearn.over_sampling")
    n = len(x)
    maj = np.full((n + n_new, x.shape[1]), 1e3, dtype=np.float64)
    X = np.vstack([x.astype(np.float64), maj])
    y = np.r_[np.ones(n, dtype=int), np.zeros(n + n_new, dtype=int)]
    with threadpool_limits(limits=1):
        res, _ = imblearn.SMOTE(k_neighbors=k, random_state=seed).fit_resample(X, y)
    return res[len(X):]


@pytest.mark.parametrize("case", range(8))
def test_smote_construction(case):
    """Every sample lies on a segment from a row to one of its k nearest rows, as
    imbalanced-learn's do (checked with the same code, to validate the checker)."""
    rng = np.random.default_rng(100 + case)
    n, dim, k = int(rng.integers(5, 40)), int(rng.integers(1, 12)), int(rng.integers(1, 7))
    x = rng.normal(0, 3, (n, dim)).astype(np.float32)
    ours = baselines.smote(x, 150, k_neighbors=k, seed=case)
    assert ours.shape == (150, dim) and ours.dtype == np.float32
    scale = np.abs(x).max() + 1
    kk = min(k, n - 1)
    assert segment_fit(x, kk, ours)[3].max() < 1e-5 * scale
    theirs = imblearn_smote(x, 150, kk, case)
    assert segment_fit(x, kk, theirs)[3].max() < 1e-5 * scale


def test_smote_distribution_vs_imblearn():
    """In general position every sample's segment {a, b} and its position t along it
    (from the lower-numbered end) are recoverable. A segment is drawn with probability
    (1 + [a, b mutual neighbours]) / (n k), t is uniform on [0, 1] (u or 1 − u), and every
    coordinate has the same distribution as imbalanced-learn's samples."""
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(5)
    n, dim, k, n_new = 12, 3, 3, 6000
    x = rng.normal(0, 1, (n, dim)).astype(np.float32)
    nn = knn_sets(x, k)
    ways = {}
    for a in range(n):
        for b in nn[a]:
            key = (min(a, b), max(a, b))
            ways[key] = ways.get(key, 0) + 1
    keys = sorted(ways)
    expected = np.array([ways[q] for q in keys]) * n_new / (n * k)
    ours = baselines.smote(x, n_new, k_neighbors=k, seed=9)
    theirs = imblearn_smote(x, n_new, k, 9)
    for sample in (ours, theirs):
        i, j, u, resid = segment_fit(x, k, sample)
        assert resid.max() < 1e-5
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        counts = np.array([((lo == a) & (hi == b)).sum() for a, b in keys])
        assert counts.sum() == n_new
        assert stats.chisquare(counts, expected).pvalue > 1e-4
        t = np.where(i < j, u, 1.0 - u)
        assert stats.kstest(t, "uniform").pvalue > 1e-4
    for c in range(dim):
        assert stats.ks_2samp(ours[:, c], theirs[:, c]).pvalue > 1e-4


def test_smote_determinism_and_errors():
    x = np.random.default_rng(1).normal(size=(20, 4)).astype(np.float32)
    a = baselines.smote(x, 30, seed=7)
    assert np.array_equal(a, baselines.smote(x, 30, seed=7))
    assert not np.array_equal(a, baselines.smote(x, 30, seed=8))
    assert baselines.smote(x, 0).shape == (0, 4)
    with pytest.raises(asdnorm.Error) as e:
        baselines.smote(x[:1], 5)
    assert e.value.status == Status.E_TOO_FEW
    with pytest.raises(asdnorm.Error) as e:
        baselines.smote(x, 5, k_neighbors=0)
    assert e.value.status == Status.E_ARG
    with pytest.raises(asdnorm.Error) as e:
        baselines.smote(x, -1)
    assert e.value.status == Status.E_ARG
    bad = x.copy()
    bad[2, 2] = np.nan
    with pytest.raises(asdnorm.Error) as e:
        baselines.smote(bad, 5)
    assert e.value.status == Status.E_NONFINITE and "row 2" in str(e.value)


# ---- domain-wise standardization ---------------------------------------------------------

def bf_standardized(kind, refs, domains, density, k, r, norm, tests):
    out = np.full(len(tests), np.inf)
    for d in (0, 1, 2):
        y = refs[domains == d]
        if len(y) == 0:
            continue
        dens = bf_density(kind, y, density, k=k, r=r)
        s = bf_scores(kind, y, dens, density, norm, tests)[0]
        out = np.minimum(out, (s - s.mean()) / s.std(ddof=1))
    return out


@pytest.mark.parametrize("kind", ["cosine", "euclidean", "mse"])
@pytest.mark.parametrize("norm", ["ratio", "difference", "none"])
def test_standardized_scores_vs_bruteforce(kind, norm):
    rng = np.random.default_rng(zlib.crc32(f"{kind}/{norm}".encode()))
    dim = 10
    src = rng.normal(0, 1, (40, dim)) + 3 * np.eye(dim)[0]
    tgt = rng.normal(0, 2, (6, dim)) + 3 * np.eye(dim)[1]
    refs = np.vstack([src, tgt]).astype(np.float32)
    domains = np.r_[np.ones(40), np.full(6, 2)].astype(np.uint8)
    tests = rng.normal(0, 2, (30, dim)).astype(np.float32)
    for density, k, r in [("none", 1, 0), ("knn", 1, 0), ("knn", 3, 0), ("gwrp", 1, 0.7)]:
        ix = asdnorm.Index(dim, distance=kind)
        ix.add(refs, domains=domains)
        ix.finalize(density=density, k=k, r=r)
        got = baselines.standardized_scores(ix, tests, norm=norm)
        want = bf_standardized(kind, refs.astype(np.float64), domains, density, k, r, norm,
                               tests)
        assert got.shape == (30,) and got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_standardized_scores_errors():
    rng = np.random.default_rng(0)
    refs = rng.normal(size=(10, 4)).astype(np.float32)
    ix = asdnorm.Index(4, distance="euclidean")
    ix.add(refs, domains=np.r_[np.ones(9), 2].astype(np.uint8))
    with pytest.raises(asdnorm.Error) as e:
        baselines.standardized_scores(ix, refs)
    assert e.value.status == Status.E_STATE
    ix.finalize(density="knn", k=1)
    with pytest.raises(asdnorm.Error) as e:  # the target domain has one reference
        baselines.standardized_scores(ix, refs)
    assert e.value.status == Status.E_TOO_FEW
    ix.finalize(density="none")
    with pytest.raises(asdnorm.Error) as e:
        baselines.standardized_scores(ix, refs[:1])
    assert e.value.status == Status.E_TOO_FEW
    with pytest.raises(asdnorm.Error) as e:
        baselines.standardized_scores(ix, np.repeat(refs[:1], 5, axis=0))
    assert e.value.status == Status.E_DEGENERATE
    with pytest.raises(asdnorm.Error) as e:
        baselines.standardized_scores(ix, refs, norm="zscore")
    assert e.value.status == Status.E_ENUM
    with pytest.raises(asdnorm.Error) as e:
        baselines.standardized_scores(ix, refs[:, :3])
    assert e.value.status == Status.E_DIM
    with pytest.raises(asdnorm.Error) as e:
        baselines.standardized_scores(object(), refs)
    assert e.value.status == Status.E_ARG and isinstance(e.value, TypeError)
    assert baselines.standardized_scores(ix, refs).shape == (10,)


# ---- the wrappers on an asdnorm.Index ----------------------------------------------------
def test_source_means_index_keeps_raw_centroids_under_cosine():
    """Under cosine the centroids stay as k-means left them (means of unit vectors, not
    re-normalized), and scoring against one is the mean cosine distance to its members."""
    rng = np.random.default_rng(21)
    src = np.vstack([blobs(rng, 40, 6, 2, 5.0)]).astype(np.float32) + 3
    tgt = rng.normal(2, 1, (4, 6)).astype(np.float32)
    ix = asdnorm.Index(6, "cosine").add(np.vstack([src, tgt]), np.r_[np.ones(40), [2] * 4])
    sm = baselines.source_means_index(ix, 2, seed=7)
    assert isinstance(sm, asdnorm.Index) and not sm.finalized and sm.distance == "cosine"
    assert list(sm.domains) == [1, 1, 2, 2, 2, 2]
    unit = src / np.linalg.norm(src, axis=1, keepdims=True)
    cent = sm.vectors[:2]
    assert (np.linalg.norm(cent, axis=1) < 0.999).all()           # not unit vectors
    want, _ = baselines.kmeans(ix.vectors[:40], 2, seed=7)  # k-means of the stored rows
    np.testing.assert_array_equal(cent, want)
    # Converged Lloyd: each centroid is the mean of the unit rows nearest to it.
    near = np.linalg.norm(unit[:, None] - cent[None], axis=2).argmin(axis=1)
    for c in range(2):
        np.testing.assert_allclose(cent[c], unit[near == c].mean(axis=0), rtol=1e-5, atol=1e-6)
    # Scores (density "none", norm "none"): min over the rows of 0.5 (1 - <x/|x|, v>), the
    # centroid rows giving the mean cosine distance to their members, in float64.
    tests = rng.normal(3, 1, (9, 6))
    sm.finalize("none")
    got = asdnorm.Scorer(sm, "none").score(tests)
    xt = tests / np.linalg.norm(tests, axis=1, keepdims=True)
    mean_d = np.stack([(0.5 * (1 - xt @ unit[near == c].T)).mean(axis=1) for c in range(2)], 1)
    tgt_d = 0.5 * (1 - xt @ (tgt / np.linalg.norm(tgt, axis=1, keepdims=True)).T)
    np.testing.assert_allclose(got, np.hstack([mean_d, tgt_d]).min(axis=1), rtol=1e-4,
                               atol=1e-6)
    with pytest.raises(TypeError):
        baselines.source_means_index(src, 2)
    with pytest.raises(ValueError) as e:
        baselines.source_means_index(asdnorm.Index(6).add(tgt, [2] * 4), 2)
    assert e.value.status == Status.E_TOO_FEW


def test_smote_index():
    rng = np.random.default_rng(22)
    src = rng.normal(0, 1, (30, 4)).astype(np.float32)
    tgt = rng.normal(5, 1, (6, 4)).astype(np.float32)
    ix = asdnorm.Index(4, "euclidean").add(np.vstack([src, tgt]), np.r_[[1] * 30, [2] * 6])
    big = baselines.smote_index(ix, 0, k_neighbors=3, seed=9)       # up to 30 target rows
    assert isinstance(big, asdnorm.Index) and not big.finalized and len(big) == 30 + 6 + 24
    np.testing.assert_array_equal(big.vectors[:36], ix.vectors)
    assert (big.domains[36:] == 2).all()
    i, j, u, resid = segment_fit(tgt, 3, big.vectors[36:])        # on a target segment
    assert resid.max() < 1e-4 and ((u >= 0) & (u <= 1)).all()
    assert len(baselines.smote_index(ix, 5)) == 41
    same = baselines.smote_index(ix, 0, k_neighbors=3, seed=9)
    np.testing.assert_array_equal(same.vectors, big.vectors)        # seeded
    cos = asdnorm.Index(4, "cosine").add(np.vstack([src, tgt]), np.r_[[1] * 30, [2] * 6])
    np.testing.assert_allclose(np.linalg.norm(baselines.smote_index(cos, 7).vectors, axis=1),
                               1.0, rtol=1e-6)                      # re-normalized
    with pytest.raises(ValueError) as e:
        baselines.smote_index(asdnorm.Index(4).add(src, [1] * 30), 3)
    assert e.value.status == Status.E_TOO_FEW


def test_lof_model_on_an_index():
    rng = np.random.default_rng(23)
    refs, tests = rng.normal(size=(50, 3)).astype(np.float32), rng.normal(size=(9, 3))
    ix = asdnorm.Index(3, "euclidean").add(refs)
    model = baselines.LOF(ix, k=7)
    np.testing.assert_allclose(model.score(tests), sk_lof(refs, tests, 7), rtol=1e-4)
    ix.add(refs[:2])                                    # the index changed size
    with pytest.raises(ValueError) as e:
        model.score(tests)
    assert e.value.status == Status.E_STATE
    bad = tests.copy()
    bad[4, 0] = np.nan
    with pytest.raises(ValueError, match="row 4"):
        baselines.LOF(ix, 3).score(bad)
    with pytest.raises(TypeError):
        baselines.LOF(refs, 3)


def test_count_sections():
    rng = np.random.default_rng(24)
    ids = rng.integers(-5, 1000, 300)
    assert asdnorm.metrics.count_sections(ids) == len(np.unique(ids))
    with pytest.raises(ValueError):
        asdnorm.metrics.count_sections([])
    with pytest.raises(ValueError):
        asdnorm.metrics.count_sections([0.5])
