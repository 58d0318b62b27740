# SPDX-License-Identifier: MIT
"""The baselines the paper compares against (docs/math.md §3), computed by
the C library: LOF in novelty mode, k-means and source means, SMOTE, and domain-wise
standardization.

>>> from asdnorm import baselines
>>> scores = baselines.lof(refs, tests, k=16)              # higher = more anomalous
>>> centroids, inertia = baselines.kmeans(x, 8, seed=0)
>>> refs2, domains2 = baselines.source_means(refs, domains, 8)
>>> extra = baselines.smote(target_refs, 90, k_neighbors=4)
>>> z = baselines.standardized_scores(index, tests, norm="ratio")

Seeded functions give the same result for the same seed on every run, thread count
and platform. Arrays are converted once to C-contiguous float32.
"""
from ctypes import POINTER, byref, c_double, c_float, c_size_t, c_uint8, c_void_p

import numpy as np

from ._lib import check, lib

__all__ = ["lof", "kmeans", "source_means", "smote", "standardized_scores"]

_DISTANCES = {"cosine": 0, "euclidean": 1, "mse": 2}
_NORMS = {"none": 0, "ratio": 1, "difference": 2}
_E_ARG, _E_ENUM, _E_DIM, _E_LABEL = 2, 3, 10, 7
_ROW_STATUSES = (5, 6, 15)  # non-finite, zero vector, out of range

_F32P = POINTER(c_float)
_U8P = POINTER(c_uint8)


def _fail(status, context):
    check(status, context)


def _enum(value, table, what):
    if isinstance(value, str) and value.lower() in table:
        return table[value.lower()]
    _fail(_E_ENUM, f"unknown {what} {value!r}; expected one of "
                   + ", ".join(repr(k) for k in table))


def _rows(x, name, dim=None):
    """x as an (n, dim) C-contiguous float32 array."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        _fail(_E_ARG, f"{name} must hold real numbers, not dtype {arr.dtype}")
    if arr.ndim != 2:
        _fail(_E_DIM, f"{name} must be a 2-D array (n, dim); got shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        _fail(_E_DIM, f"{name} has {arr.shape[1]} columns; expected {dim}")
    with np.errstate(over="ignore", invalid="ignore"):
        return np.require(arr, dtype=np.float32, requirements=["C", "A"])


def _domains(domains, n):
    d = np.asarray(domains)
    if d.ndim != 1 or d.shape[0] != n:
        _fail(_E_DIM, f"domains must be 1-D with {n} labels; got shape {d.shape}")
    if d.dtype.kind not in "iuf" or not np.isin(d, (0, 1, 2)).all():
        _fail(_E_LABEL, "domains must be 0 (unknown), 1 (source) or 2 (target)")
    return np.ascontiguousarray(d, dtype=np.uint8)


def _count(value, name, minimum):
    """A non-negative integer argument (a numpy integer is fine, a float is not)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        _fail(_E_ARG, f"{name} must be an integer, not {type(value).__name__}")
    if value < minimum:
        _fail(_E_ARG, f"{name} must be ≥ {minimum}; got {value}")
    return int(value)


def _seed(seed):
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        _fail(_E_ARG, f"seed must be an integer, not {type(seed).__name__}")
    return int(seed) & 0xFFFFFFFFFFFFFFFF


def _check_rows(status, arr, distance, name):
    """Raise for a failed call, naming the first offending row of arr when that is the cause."""
    if status in _ROW_STATUSES and arr.shape[0] and arr.shape[1]:
        bad = c_size_t(arr.shape[0])
        lib.asdnorm_check_rows(arr.ctypes.data_as(_F32P), arr.shape[0], arr.shape[1],
                               distance, byref(bad))
        if bad.value < arr.shape[0]:
            check(status, f"{name}: row {bad.value}")
    check(status, name)


class _Handle:
    """A C object freed when the block ends, also on an exception."""

    def __init__(self, free):
        self.ptr = c_void_p()
        self._free = free

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.ptr:
            self._free(self.ptr)
            self.ptr = c_void_p()


def _index(refs, distance, domains=None, name="refs"):
    """A C index holding refs (not finalized); the caller frees it."""
    code = _enum(distance, _DISTANCES, "distance")
    arr = _rows(refs, name)
    h = _Handle(lib.asdnorm_index_free)
    try:
        check(lib.asdnorm_index_new(arr.shape[1], code, byref(h.ptr)), name)
        dom = None if domains is None else _domains(domains, arr.shape[0])
        status = lib.asdnorm_index_add(h.ptr, arr.ctypes.data_as(_F32P), arr.shape[0],
                                       None if dom is None else dom.ctypes.data_as(_U8P))
        if status:
            _check_rows(status, arr, code, name)
    except BaseException:
        h.__exit__()
        raise
    return h


def lof(refs, tests, k=16, distance="euclidean"):
    """Local Outlier Factor in novelty mode, fitted on ``refs`` (m, dim): the (n,)
    float32 scores of ``tests`` (n, dim), equal to scikit-learn's
    ``-LocalOutlierFactor(n_neighbors=k, novelty=True).fit(refs).score_samples(tests)``
    for the Euclidean distance (higher = more anomalous). k is clipped to m − 1.
    ``distance`` is one of "euclidean", "cosine" (0.5 · (1 − cos)) or "mse"."""
    k = _count(k, "k", 1)
    with _index(refs, distance) as ix:
        dim = lib.asdnorm_index_dim(ix.ptr)
        arr = _rows(tests, "tests", dim)
        with _Handle(lib.asdnorm_lof_free) as model:
            check(lib.asdnorm_lof_new(ix.ptr, k, byref(model.ptr)), "lof")
            out = np.empty(arr.shape[0], dtype=np.float32)
            status = lib.asdnorm_lof_score(model.ptr, arr.ctypes.data_as(_F32P), arr.shape[0],
                                           out.ctypes.data_as(_F32P))
            if status:
                _check_rows(status, arr, lib.asdnorm_index_distance(ix.ptr), "lof: tests")
    return out


def kmeans(x, k, seed=0, n_init=10, max_iter=300):
    """k-means of the rows of ``x`` (n, dim): k-means++ seeding, ``n_init`` restarts and
    Lloyd iterations as scikit-learn's KMeans; the restart with the lowest inertia is
    kept. Returns (centroids (k, dim) float32, inertia) where the inertia is the sum of
    squared Euclidean distances to the nearest centroid, computed in float64."""
    arr = _rows(x, "x")
    k = _count(k, "k", 1)
    n_init = _count(n_init, "n_init", 1)
    max_iter = _count(max_iter, "max_iter", 1)
    cent = np.empty((k, arr.shape[1]), dtype=np.float32)
    inertia = c_double()
    status = lib.asdnorm_kmeans(arr.ctypes.data_as(_F32P), arr.shape[0], arr.shape[1], k,
                                n_init, max_iter, _seed(seed), cent.ctypes.data_as(_F32P),
                                byref(inertia))
    if status:
        _check_rows(status, arr, _DISTANCES["euclidean"], "kmeans: x")
    return cent, inertia.value


def source_means(refs, domains, k, seed=0, n_init=10, distance="euclidean"):
    """Replace the source-domain rows (domain 1) of ``refs`` by the k centroids of their
    k-means (k clipped to their number). Returns (refs2, domains2): the centroids first
    (domain 1), then every non-source row in its original order with its domain.

    With ``distance="cosine"`` the rows are taken as the index stores them, L2-normalized:
    the centroids are means of unit vectors (not themselves unit), and the non-source rows
    come back normalized."""
    k = _count(k, "k", 1)
    n_init = _count(n_init, "n_init", 1)
    with _index(refs, distance, domains) as ix, _Handle(lib.asdnorm_index_free) as out:
        check(lib.asdnorm_source_means(ix.ptr, k, n_init, _seed(seed), byref(out.ptr)),
              "source_means")
        return _contents(out.ptr)


def _contents(handle):
    m = lib.asdnorm_index_size(handle)
    dim = lib.asdnorm_index_dim(handle)
    vec = np.empty((m, dim), dtype=np.float32)
    dom = np.empty(m, dtype=np.uint8)
    check(lib.asdnorm_index_get_vectors(handle, 0, m, vec.ctypes.data_as(_F32P)), "vectors")
    check(lib.asdnorm_index_get_domains(handle, dom.ctypes.data_as(_U8P), m), "domains")
    return vec, dom


def smote(x, n_new, k_neighbors=4, seed=0):
    """SMOTE: ``n_new`` synthetic rows x_i + u · (x_nn − x_i), x_i a uniformly drawn row
    of ``x`` (n, dim), n ≥ 2, x_nn one of its ``k_neighbors`` nearest other rows
    (Euclidean; clipped to n − 1), u ~ U[0, 1). Returns (n_new, dim) float32."""
    arr = _rows(x, "x")
    n_new = _count(n_new, "n_new", 0)
    k_neighbors = _count(k_neighbors, "k_neighbors", 1)
    out = np.empty((n_new, arr.shape[1]), dtype=np.float32)
    status = lib.asdnorm_smote(arr.ctypes.data_as(_F32P), arr.shape[0], arr.shape[1], n_new,
                               k_neighbors, _seed(seed), out.ctypes.data_as(_F32P))
    if status:
        _check_rows(status, arr, _DISTANCES["euclidean"], "smote: x")
    return out


def standardized_scores(index, tests, norm="ratio"):
    """Domain-wise standardization (transductive): for each domain among the references
    of the finalized ``index`` (an :class:`asdnorm.Index`), the scores of the batch
    ``tests`` (n, dim), n ≥ 2, against that domain's references alone (finalized with the
    index's estimator), standardized by their batch mean and unbiased standard
    deviation; the minimum over the domains. Returns (n,) float32.

    The index must not be modified while this runs."""
    handle = getattr(index, "_handle", None)
    if not isinstance(handle, c_void_p) or not handle:
        _fail(1, "standardized_scores: index must be an asdnorm.Index with a live handle")
    code = _enum(norm, _NORMS, "normalization")
    arr = _rows(tests, "tests", lib.asdnorm_index_dim(handle))
    out = np.empty(arr.shape[0], dtype=np.float32)
    status = lib.asdnorm_standardized_scores(handle, code, arr.ctypes.data_as(_F32P),
                                             arr.shape[0], out.ctypes.data_as(_F32P))
    if status:
        _check_rows(status, arr, lib.asdnorm_index_distance(handle),
                    "standardized_scores: tests")
    return out

