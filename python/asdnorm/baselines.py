# SPDX-License-Identifier: MIT
"""The baselines the paper compares against (docs/math.md §3), computed by the C
library: LOF in novelty mode, k-means and source means, SMOTE, and domain-wise
standardization.

Functions on arrays (:func:`lof`, :func:`kmeans`, :func:`source_means`, :func:`smote`)
and on an :class:`asdnorm.Index` (:class:`LOF`, :func:`source_means_index`,
:func:`smote_index`, :func:`standardized_scores`). Seeded functions give the same result
for the same seed on every run, thread count and platform. Arrays are converted once to
C-contiguous float32.

Examples
--------
>>> import numpy as np
>>> from asdnorm import baselines
>>> x = np.array([[0, 0], [0, 1], [10, 10], [10, 11]], dtype=np.float32)
>>> centroids, inertia = baselines.kmeans(x, 2, seed=0)
>>> sorted(centroids.tolist()), inertia
([[0.0, 0.5], [10.0, 10.5]], 1.0)
"""
from __future__ import annotations

import threading
from ctypes import byref, c_double, c_void_p
from typing import Any, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from ._convert import (F32P, U8P, as_count, as_domains, as_enum, as_rows, as_seed,
                       raise_row_error)
from ._lib import Distance, InvalidTypeError, Norm, Status, check, fail, lib
from .core import Index, _Owner

__all__ = ["LOF", "lof", "kmeans", "source_means", "source_means_index", "smote",
           "smote_index", "standardized_scores"]


def _as_index(index: object, what: str) -> Index:
    if not isinstance(index, Index):
        fail(Status.E_NULL if index is None else Status.E_ARG,
             f"{what}: expected an asdnorm.Index, got {type(index).__name__}",
             kind=InvalidTypeError)
    return index


def _index_of(refs: npt.ArrayLike, distance: Union[str, Distance],
              domains: Optional[npt.ArrayLike] = None, name: str = "refs") -> Index:
    """An index holding ``refs`` (not finalized), bad rows reported as rows of ``name``."""
    arr = as_rows(refs, None, name)
    ix = Index(arr.shape[1], distance)
    dom = as_domains(domains, arr.shape[0])
    status = lib.asdnorm_index_add(ix._handle, arr.ctypes.data_as(F32P), arr.shape[0],
                                   None if dom is None else dom.ctypes.data_as(U8P))
    if status:
        raise_row_error(status, arr, refs, ix._distance, name)
    return ix


class LOF(_Owner):
    """Local Outlier Factor in novelty mode (Breunig et al. 2000), fitted on the references
    of an :class:`asdnorm.Index` with the index's distance.

    Scores equal scikit-learn's ``-LocalOutlierFactor(n_neighbors=k,
    novelty=True).fit(refs).score_samples(x)`` for the Euclidean distance. The model keeps
    its index alive (:attr:`index` is read-only); the index must not be modified while
    the model is used (adding to it makes :meth:`score` fail).

    Parameters
    ----------
    index : Index
        The references (need not be finalized), at least 2.
    k : int
        Neighbours, >= 1, clipped to M - 1.

    Raises
    ------
    InvalidValueError
        Fewer than 2 references or ``k`` < 1.
    InvalidTypeError
        ``index`` is not an Index, ``k`` not an integer.
    OutOfMemoryError
        The model could not be allocated.

    Examples
    --------
    >>> import asdnorm
    >>> from asdnorm.baselines import LOF
    >>> ix = asdnorm.Index(1, "euclidean").add([[0.0], [1.0], [2.0], [3.0]])
    >>> [round(float(s), 4) for s in LOF(ix, k=2).score([[1.5], [13.0]])]
    [0.6667, 7.0]
    """

    _free = lib.asdnorm_lof_free

    def __init__(self, index: Index, k: int = 16) -> None:
        self._refuse_second_init("LOF")
        index = _as_index(index, "LOF")
        k = as_count(k, "k", 1)
        handle = c_void_p()
        with index._lock.read():
            check(lib.asdnorm_lof_new(index._handle, k, byref(handle)), "LOF")
        self._handle = handle
        self._index = index
        self._k = k
        self._lock = threading.Lock()

    @property
    def index(self) -> Index:
        """The index the model was fitted on (read-only)."""
        return self._index

    @property
    def k(self) -> int:
        """The number of neighbours asked for (the model clips it to M - 1)."""
        return self._k

    def __repr__(self) -> str:
        return f"<asdnorm.baselines.LOF k={self._k} index={self._index!r}>"

    def __reduce__(self) -> Tuple[Any, ...]:
        # Refitted on the unpickled index: the C model holds pointers into it.
        return (LOF, (self._index, self._k))

    def score(self, x: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """LOF scores of test samples (higher = more anomalous).

        Parameters
        ----------
        x : array_like, shape (n, dim)
            The test samples.

        Returns
        -------
        ndarray of float32, shape (n,)
            Mean lrd of the k nearest references / lrd(x).

        Raises
        ------
        InvalidValueError
            A shape mismatch, a bad row (named in the message), or the index changed
            size since the fit.
        InvalidTypeError
            ``x`` does not hold real numbers.
        """
        ix = self._index
        arr = as_rows(x, ix.dim, "x")
        out = np.empty(arr.shape[0], dtype=np.float32)
        with self._lock, ix._lock.read():
            status = lib.asdnorm_lof_score(self._handle, arr.ctypes.data_as(F32P),
                                           arr.shape[0], out.ctypes.data_as(F32P))
        if status:
            raise_row_error(status, arr, x, ix._distance, "LOF.score: x")
        return out


def lof(refs: npt.ArrayLike, tests: npt.ArrayLike, k: int = 16,
        distance: Union[str, Distance] = "euclidean") -> npt.NDArray[np.float32]:
    """LOF in novelty mode on arrays: fitted on ``refs``, the scores of ``tests``.

    Parameters
    ----------
    refs : array_like, shape (m, dim)
        The references, m >= 2.
    tests : array_like, shape (n, dim)
        The test samples.
    k : int
        Neighbours, >= 1, clipped to m - 1.
    distance : {"euclidean", "cosine", "mse"}
        The distance (cosine: 0.5 · (1 − cos)).

    Returns
    -------
    ndarray of float32, shape (n,)
        Equal to scikit-learn's ``-LocalOutlierFactor(n_neighbors=k,
        novelty=True).fit(refs).score_samples(tests)`` for the Euclidean distance.

    Raises
    ------
    InvalidValueError
        Bad rows, shapes or ``k``; fewer than 2 references.
    InvalidTypeError
        Non-numeric input.

    Examples
    --------
    >>> from asdnorm import baselines
    >>> scores = baselines.lof([[0.0], [1.0], [2.0], [3.0]], [[1.5], [13.0]], k=2)
    >>> [round(float(s), 4) for s in scores]
    [0.6667, 7.0]
    """
    k = as_count(k, "k", 1)
    ix = _index_of(refs, distance)
    arr = as_rows(tests, ix.dim, "tests")
    model = LOF(ix, k)
    out = np.empty(arr.shape[0], dtype=np.float32)
    status = lib.asdnorm_lof_score(model._handle, arr.ctypes.data_as(F32P), arr.shape[0],
                                   out.ctypes.data_as(F32P))
    if status:
        raise_row_error(status, arr, tests, ix._distance, "lof: tests")
    return out


def kmeans(x: npt.ArrayLike, k: int, seed: int = 0, n_init: int = 10,
           max_iter: int = 300) -> Tuple[npt.NDArray[np.float32], float]:
    """k-means with k-means++ seeding, ``n_init`` restarts and Lloyd iterations, as
    scikit-learn's KMeans; the restart with the lowest inertia is kept.

    Parameters
    ----------
    x : array_like, shape (n, dim)
        The rows.
    k : int
        Clusters, 1 <= k <= n.
    seed : int
        The random seed (taken modulo 2**64).
    n_init : int
        Restarts, >= 1.
    max_iter : int
        Lloyd iterations per restart, >= 1.

    Returns
    -------
    centroids : ndarray of float32, shape (k, dim)
    inertia : float
        The sum of squared Euclidean distances to the nearest centroid, in float64.

    Raises
    ------
    InvalidValueError
        k > n, a bad row (named), a count < 1.
    InvalidTypeError
        Non-numeric input or a non-integer count.

    Examples
    --------
    >>> from asdnorm import baselines
    >>> c, inertia = baselines.kmeans([[0.0], [2.0]], 1)
    >>> c.tolist(), inertia
    ([[1.0]], 2.0)
    """
    arr = as_rows(x, None, "x")
    k = as_count(k, "k", 1)
    n_init = as_count(n_init, "n_init", 1)
    max_iter = as_count(max_iter, "max_iter", 1)
    cent = np.empty((k, arr.shape[1]), dtype=np.float32)
    inertia = c_double()
    status = lib.asdnorm_kmeans(arr.ctypes.data_as(F32P), arr.shape[0], arr.shape[1], k,
                                n_init, max_iter, as_seed(seed), cent.ctypes.data_as(F32P),
                                byref(inertia))
    if status:
        raise_row_error(status, arr, x, Distance.EUCLIDEAN, "kmeans: x")
    return cent, inertia.value


def source_means_index(index: Index, k: int, seed: int = 0, n_init: int = 10) -> Index:
    """Source means on an index: its source-domain references replaced by k centroids.

    A new, un-finalized index: the k centroids of :func:`kmeans` over the source-domain
    references of ``index`` (domain 1), followed by every other reference unchanged.
    Under cosine the centroids are stored as they are, not re-normalized (the mean of
    unit vectors), so that d(x, c) is the mean cosine distance from x to the cluster's
    members (docs/math.md §3); :attr:`Index.vectors` returns them raw.

    Parameters
    ----------
    index : Index
        The references (any state).
    k : int
        Clusters, >= 1, clipped to the number of source references.
    seed : int
        The random seed.
    n_init : int
        k-means restarts, >= 1.

    Returns
    -------
    Index
        The new index (finalize it before scoring).

    Raises
    ------
    InvalidValueError
        No source references, a count < 1, or a zero centroid under cosine.
    InvalidTypeError
        ``index`` is not an Index, a count not an integer.

    Examples
    --------
    >>> import asdnorm
    >>> from asdnorm.baselines import source_means_index
    >>> ix = asdnorm.Index(2, "cosine").add([[1, 0], [0, 1], [5, 5]], domains=[1, 1, 2])
    >>> sm = source_means_index(ix, 1)
    >>> sm.vectors.tolist(), sm.domains.tolist()    # the centroid has norm 0.707
    ([[0.5, 0.5], [0.7071067690849304, 0.7071067690849304]], [1, 2])
    """
    index = _as_index(index, "source_means_index")
    k = as_count(k, "k", 1)
    n_init = as_count(n_init, "n_init", 1)
    out = c_void_p()
    with index._lock.read():
        check(lib.asdnorm_source_means(index._handle, k, n_init, as_seed(seed), byref(out)),
              "source_means_index")
    return Index._from_handle(out)


def source_means(refs: npt.ArrayLike, domains: npt.ArrayLike, k: int, seed: int = 0,
                 n_init: int = 10, distance: Union[str, Distance] = "euclidean"
                 ) -> Tuple[npt.NDArray[np.float32], npt.NDArray[np.uint8]]:
    """Source means on arrays: :func:`source_means_index` of an index holding ``refs``.

    Parameters
    ----------
    refs : array_like, shape (m, dim)
        The references.
    domains : array_like, shape (m,)
        0/1/2 per reference; the rows of domain 1 are clustered.
    k, seed, n_init
        As :func:`source_means_index`.
    distance : {"euclidean", "cosine", "mse"}
        Under cosine the rows are taken as the index stores them, L2-normalized: the
        centroids are means of unit vectors (not themselves unit), and the other rows
        come back normalized.

    Returns
    -------
    refs2 : ndarray of float32, shape (m2, dim)
        The centroids first, then every non-source row in its original order.
    domains2 : ndarray of uint8, shape (m2,)

    Raises
    ------
    InvalidValueError, InvalidTypeError
        As :meth:`asdnorm.Index.add` and :func:`source_means_index`.

    Examples
    --------
    >>> from asdnorm import baselines
    >>> refs2, dom2 = baselines.source_means([[0.0], [2.0], [9.0]], [1, 1, 2], 1)
    >>> refs2.tolist(), dom2.tolist()
    ([[1.0], [9.0]], [1, 2])
    """
    ix = _index_of(refs, distance, domains)
    out = source_means_index(ix, k, seed, n_init)
    return out.vectors, out.domains


def smote(x: npt.ArrayLike, n_new: int, k_neighbors: int = 4,
          seed: int = 0) -> npt.NDArray[np.float32]:
    """SMOTE: ``n_new`` synthetic rows x_i + u · (x_nn − x_i).

    x_i is drawn uniformly from the rows of ``x``, x_nn uniformly from its
    ``k_neighbors`` nearest other rows (Euclidean), u ~ U[0, 1).

    Parameters
    ----------
    x : array_like, shape (n, dim)
        The rows, n >= 2.
    n_new : int
        Rows to make, >= 0.
    k_neighbors : int
        >= 1, clipped to n - 1.
    seed : int
        The random seed.

    Returns
    -------
    ndarray of float32, shape (n_new, dim)

    Raises
    ------
    InvalidValueError
        n < 2, a bad row (named), a count out of range.
    InvalidTypeError
        Non-numeric input or a non-integer count.

    Examples
    --------
    >>> from asdnorm import baselines
    >>> new = baselines.smote([[0.0, 0.0], [1.0, 1.0]], 3, seed=1)
    >>> new.shape, bool(((new >= 0) & (new <= 1) & (new[:, :1] == new[:, 1:])).all())
    ((3, 2), True)
    """
    arr = as_rows(x, None, "x")
    n_new = as_count(n_new, "n_new", 0)
    k_neighbors = as_count(k_neighbors, "k_neighbors", 1)
    out = np.empty((n_new, arr.shape[1]), dtype=np.float32)
    status = lib.asdnorm_smote(arr.ctypes.data_as(F32P), arr.shape[0], arr.shape[1], n_new,
                               k_neighbors, as_seed(seed), out.ctypes.data_as(F32P))
    if status:
        raise_row_error(status, arr, x, Distance.EUCLIDEAN, "smote: x")
    return out


def smote_index(index: Index, n_new: int = 0, k_neighbors: int = 4, seed: int = 0) -> Index:
    """SMOTE on an index: every reference followed by synthetic target-domain references.

    The synthetic rows are made by :func:`smote` from the target references (domain 2)
    of ``index`` and re-normalized under cosine.

    Parameters
    ----------
    index : Index
        The references (any state), with at least 2 of the target domain.
    n_new : int
        Synthetic rows; 0 makes the target domain as large as the source domain
        (source count - target count rows, or none).
    k_neighbors : int
        >= 1, clipped to the number of target references - 1.
    seed : int
        The random seed.

    Returns
    -------
    Index
        A new, un-finalized index.

    Raises
    ------
    InvalidValueError
        Fewer than 2 target references, a count out of range, a zero synthetic row under
        cosine.
    InvalidTypeError
        ``index`` is not an Index, a count not an integer.

    Examples
    --------
    >>> import asdnorm
    >>> from asdnorm.baselines import smote_index
    >>> ix = asdnorm.Index(1, "euclidean").add([[0], [1], [2], [10], [11]],
    ...                                        domains=[1, 1, 1, 2, 2])
    >>> big = smote_index(ix, 0, seed=3)
    >>> len(big), big.domains.tolist()[5:], bool((big.vectors[5:] >= 10).all())
    (6, [2], True)
    """
    index = _as_index(index, "smote_index")
    n_new = as_count(n_new, "n_new", 0)
    k_neighbors = as_count(k_neighbors, "k_neighbors", 1)
    out = c_void_p()
    with index._lock.read():
        check(lib.asdnorm_smote_index(index._handle, n_new, k_neighbors, as_seed(seed),
                                      byref(out)), "smote_index")
    return Index._from_handle(out)


def standardized_scores(index: Index, tests: npt.ArrayLike,
                        norm: Union[str, Norm] = "ratio") -> npt.NDArray[np.float32]:
    """Domain-wise standardization (transductive: needs the whole test batch).

    For each domain among the references of ``index``, the scores of the batch against
    that domain's references alone (finalized with the index's estimator, normalized with
    ``norm``), standardized by their batch mean and unbiased standard deviation; the final
    score is the minimum over the domains.

    Parameters
    ----------
    index : Index
        A finalized index.
    tests : array_like, shape (n, dim)
        The test batch, n >= 2.
    norm : {"ratio", "difference", "none"}
        The normalization of each domain's scores.

    Returns
    -------
    ndarray of float32, shape (n,)

    Raises
    ------
    InvalidValueError
        The index is not finalized, n < 2, a domain too small for the estimator, zero
        variance, a bad row (named).
    InvalidTypeError
        ``index`` is not an Index; non-numeric input.

    Examples
    --------
    >>> import asdnorm
    >>> from asdnorm import baselines
    >>> ix = asdnorm.Index(1, "euclidean").add([[0.0], [1.0]]).finalize("none")
    >>> baselines.standardized_scores(ix, [[2.0], [3.0], [4.0]], norm="none").tolist()
    [-1.0, 0.0, 1.0]
    """
    index = _as_index(index, "standardized_scores")
    code = as_enum(norm, Norm, "norm")
    arr = as_rows(tests, index.dim, "tests")
    out = np.empty(arr.shape[0], dtype=np.float32)
    with index._lock.read():
        status = lib.asdnorm_standardized_scores(index._handle, code,
                                                 arr.ctypes.data_as(F32P), arr.shape[0],
                                                 out.ctypes.data_as(F32P))
    if status:
        raise_row_error(status, arr, tests, index._distance, "standardized_scores: tests")
    return out

