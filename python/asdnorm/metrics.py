# SPDX-License-Identifier: MIT
"""AUC, pAUC and the DCASE challenge scores, computed by libasdnorm (docs/math.md §4).

Labels: 1 anomalous, 0 normal. Scores: higher = more anomalous. Domains: 1 source,
2 target (needed for the normal samples only). Sections: integer ids.

Bad input raises :class:`asdnorm.InvalidValueError` (a ValueError) with the C status code
in ``status``, also for problems found here before the call (a length mismatch is
``Status.E_DIM``, a label outside 0/1 is ``Status.E_LABEL``, …).

Examples
--------
>>> from asdnorm import metrics
>>> metrics.auc([0, 1, 0, 1], [0.1, 0.9, 0.4, 0.4])  # ties count half
0.875
"""
from __future__ import annotations

from ctypes import byref, c_double, c_size_t
from typing import Any, Dict, Optional, TypedDict

import numpy as np
import numpy.typing as npt

from ._convert import F64P, I32P, U8P, as_number
from ._lib import Status, check, fail, lib

__all__ = ["auc", "pauc", "hmean", "count_sections", "dcase", "DcaseResult"]

_EDITIONS_2023 = (2023, 2024, 2025)  # same rules: AUC per domain + pAUC, harmonic mean
_INT32 = np.iinfo(np.int32)


class DcaseResult(TypedDict):
    """What :func:`dcase` returns: the official score and the per-section values."""

    official: float
    sections: Dict[int, Dict[str, float]]


def _vector(x: npt.ArrayLike, name: str) -> npt.NDArray[Any]:
    a = np.asarray(x)
    if a.ndim != 1:
        fail(Status.E_DIM, f"{name} must be one-dimensional, got shape {a.shape}")
    return a


def _same_length(**arrays: npt.NDArray[Any]) -> int:
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        fail(Status.E_DIM, "lengths differ: " + ", ".join(f"{k} {v}" for k, v in lengths.items()))
    n = next(iter(lengths.values()))
    if n == 0:
        fail(Status.E_EMPTY, "no samples")
    return n


def _labels(x: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    # Checked here, not only in C: a cast to uint8 would wrap 256 to 0 and -1 to 255.
    a = _vector(x, "labels")
    if a.dtype.kind not in "biuf" or not np.isin(a, (0, 1)).all():
        fail(Status.E_LABEL, "labels must be 0 (normal) or 1 (anomalous)")
    return np.ascontiguousarray(a, dtype=np.uint8)


def _float64(x: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    a = _vector(x, name)
    if a.dtype.kind not in "biuf":
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError):
            fail(Status.E_ARG, f"{name} must be real numbers")
    return np.ascontiguousarray(a, dtype=np.float64)


def _sections(x: npt.ArrayLike) -> npt.NDArray[np.int32]:
    a = _vector(x, "sections")
    if a.dtype.kind == "f":
        if not (np.isfinite(a).all() and (a == np.round(a)).all()):
            fail(Status.E_ARG, "section ids must be integers")
    elif a.dtype.kind not in "biu":
        fail(Status.E_ARG, "section ids must be integers")
    if a.size and (a.min() < _INT32.min or a.max() > _INT32.max):
        fail(Status.E_ARG, "section ids must fit in int32")
    return np.ascontiguousarray(a, dtype=np.int32)


def _domains(x: npt.ArrayLike, labels: npt.NDArray[np.uint8]) -> npt.NDArray[Any]:
    # Only normal samples' domains are used (and must be 1 or 2); an anomaly's may be
    # anything, so it is passed as 0 rather than cast (which could wrap).
    a = _vector(x, "domains")
    if len(a) != len(labels):
        return a  # reported as a length mismatch by the caller
    normal = labels == 0
    d = a[normal]
    if d.dtype.kind not in "biuf" or not np.isin(d, (1, 2)).all():
        fail(Status.E_LABEL, "the domain of every normal sample must be 1 (source) or 2 (target)")
    out = np.zeros(len(a), dtype=np.uint8)
    out[normal] = d
    return out


def auc(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """Area under the ROC curve, ties counted half (Mann–Whitney U / (n₊ n₋)).

    Equal to ``sklearn.metrics.roc_auc_score(labels, scores)``.

    Parameters
    ----------
    labels : array_like, shape (n,)
        1 anomalous, 0 normal.
    scores : array_like, shape (n,)
        Higher = more anomalous.

    Returns
    -------
    float
        The AUC in [0, 1].

    Raises
    ------
    InvalidValueError
        Lengths differ, no samples, a label outside 0/1, a non-finite score, or no
        anomalous or no normal sample.

    Examples
    --------
    >>> from asdnorm import metrics
    >>> metrics.auc([0, 0, 1], [0.1, 0.2, 0.3])
    1.0
    """
    y, s = _labels(labels), _float64(scores, "scores")
    n = _same_length(labels=y, scores=s)
    out = c_double()
    check(lib.asdnorm_auc(y.ctypes.data_as(U8P), s.ctypes.data_as(F64P), n, byref(out)), "auc")
    return out.value


def pauc(labels: npt.ArrayLike, scores: npt.ArrayLike, max_fpr: float = 0.1) -> float:
    """Partial AUC up to a false-positive rate, McClish-standardized.

    Equal to ``sklearn.metrics.roc_auc_score(labels, scores, max_fpr=max_fpr)``.

    Parameters
    ----------
    labels : array_like, shape (n,)
        1 anomalous, 0 normal.
    scores : array_like, shape (n,)
        Higher = more anomalous.
    max_fpr : float
        The limit, in (0, 1]; DCASE uses 0.1 and 1 gives the AUC.

    Returns
    -------
    float
        The standardized partial AUC in [0, 1].

    Raises
    ------
    InvalidValueError
        As :func:`auc`, and ``max_fpr`` outside (0, 1].

    Examples
    --------
    >>> from asdnorm import metrics
    >>> metrics.pauc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4], max_fpr=0.5)
    1.0
    """
    y, s = _labels(labels), _float64(scores, "scores")
    n = _same_length(labels=y, scores=s)
    out = c_double()
    check(lib.asdnorm_pauc(y.ctypes.data_as(U8P), s.ctypes.data_as(F64P), n,
                           as_number(max_fpr, "max_fpr"), byref(out)), "pauc")
    return out.value


def hmean(values: npt.ArrayLike) -> float:
    """Harmonic mean of values >= 0 (the DCASE aggregation); a zero gives 0, the limit, as
    :func:`dcase` and scipy.stats.hmean give it.

    Parameters
    ----------
    values : array_like, shape (n,)
        Finite values >= 0.

    Returns
    -------
    float
        n / sum(1 / v).

    Raises
    ------
    InvalidValueError
        No values, a non-finite value or a negative value.

    Examples
    --------
    >>> from asdnorm import metrics
    >>> metrics.hmean([1.0, 0.5])
    0.6666666666666666
    """
    v = _float64(values, "values")
    if len(v) == 0:
        fail(Status.E_EMPTY, "no values")
    out = c_double()
    check(lib.asdnorm_hmean(v.ctypes.data_as(F64P), len(v), byref(out)), "hmean")
    return out.value


def count_sections(sections: npt.ArrayLike) -> int:
    """The number of distinct section ids.

    Parameters
    ----------
    sections : array_like of int, shape (n,)
        Section ids (fitting in int32).

    Returns
    -------
    int
        The number of distinct ids.

    Raises
    ------
    InvalidValueError
        No samples, or an id that is not an integer or does not fit in int32.

    Examples
    --------
    >>> from asdnorm import metrics
    >>> metrics.count_sections([3, 0, 3, 7])
    3
    """
    sec = _sections(sections)
    if len(sec) == 0:
        fail(Status.E_EMPTY, "no samples")
    k = c_size_t()
    check(lib.asdnorm_count_sections(sec.ctypes.data_as(I32P), len(sec), byref(k)),
          "count_sections")
    return int(k.value)


def dcase(scores: npt.ArrayLike, labels: npt.ArrayLike, domains: Optional[npt.ArrayLike],
          sections: npt.ArrayLike, edition: int = 2023, max_fpr: float = 0.1) -> DcaseResult:
    """The DCASE task 2 official score and its per-section values.

    Editions 2023, 2024, 2025: per section, AUC over the source-domain normals and all the
    section's anomalies, likewise for the target domain, and pAUC over all its samples; the
    official score is the harmonic mean of those values over every section. Edition 2020
    (no domains: ``domains`` may be None and is not used): per-section AUC and pAUC, and
    their arithmetic mean.

    Parameters
    ----------
    scores : array_like, shape (n,)
        Higher = more anomalous.
    labels : array_like, shape (n,)
        1 anomalous, 0 normal.
    domains : array_like, shape (n,), or None
        1 source, 2 target for every normal sample (an anomaly's is not used).
    sections : array_like of int, shape (n,)
        Section ids.
    edition : {2023, 2024, 2025, 2020}
        The challenge's rules.
    max_fpr : float
        The pAUC's limit, in (0, 1]; the challenge uses 0.1.

    Returns
    -------
    dict
        ``{"official": float, "sections": {id: {"auc_source", "auc_target", "pauc"}}}``
        (2020: ``{"auc", "pauc"}`` per section); ids are Python ints in ascending order.

    Raises
    ------
    InvalidValueError
        Lengths differ, a bad label or domain, a non-integer section id, a section
        without anomalies or without normals of a domain, an unknown edition, or
        ``max_fpr`` outside (0, 1].
    InvalidTypeError
        Edition 2023+ without domains.

    Examples
    --------
    >>> from asdnorm import metrics
    >>> r = metrics.dcase([0.1, 0.2, 0.9, 0.3], [0, 0, 1, 1], [1, 2, 1, 1], [0, 0, 0, 0])
    >>> r["official"], r["sections"][0]["auc_source"]
    (1.0, 1.0)
    """
    if edition in _EDITIONS_2023:
        keys: tuple[str, ...] = ("auc_source", "auc_target", "pauc")
    elif edition == 2020:
        keys = ("auc", "pauc")
    else:
        fail(Status.E_ENUM, f"unknown DCASE edition {edition!r}; expected 2020, 2023, 2024 "
                            "or 2025")
    y = _labels(labels)
    s = _float64(scores, "scores")
    sec = _sections(sections)
    d: Optional[npt.NDArray[Any]] = None
    if edition == 2020:
        arrays: Dict[str, npt.NDArray[Any]] = {"scores": s, "labels": y, "sections": sec}
        if domains is not None:
            arrays["domains"] = _vector(domains, "domains")
        n = _same_length(**arrays)
    else:
        if domains is None:
            fail(Status.E_NULL, f"edition {edition} needs the domains of the samples")
        d = _domains(domains, y)
        n = _same_length(scores=s, labels=y, domains=d, sections=sec)

    k = c_size_t()
    check(lib.asdnorm_count_sections(sec.ctypes.data_as(I32P), n, byref(k)), "dcase")
    ids = np.empty(k.value, dtype=np.int32)
    values = np.empty((k.value, len(keys)), dtype=np.float64)
    official = c_double()
    common = (n, as_number(max_fpr, "max_fpr"), k.value, ids.ctypes.data_as(I32P), values.ctypes.data_as(F64P),
              byref(k), byref(official))
    if d is None:
        st = lib.asdnorm_dcase2020(s.ctypes.data_as(F64P), y.ctypes.data_as(U8P),
                                   sec.ctypes.data_as(I32P), *common)
    else:
        st = lib.asdnorm_dcase2023(s.ctypes.data_as(F64P), y.ctypes.data_as(U8P),
                                   d.ctypes.data_as(U8P), sec.ctypes.data_as(I32P), *common)
    check(st, f"dcase {edition}")
    return {
        "official": official.value,
        "sections": {int(i): {key: float(v) for key, v in zip(keys, row)}
                     for i, row in zip(ids, values)},
    }
