# SPDX-License-Identifier: MIT
"""AUC, pAUC and the DCASE challenge scores, computed by libasdnorm.

Labels: 1 anomalous, 0 normal. Scores: higher = more anomalous. Domains: 1 source,
2 target (needed for the normal samples only). Sections: integer ids.

>>> from asdnorm import metrics
>>> metrics.auc([0, 1, 0, 1], [0.1, 0.9, 0.4, 0.4])  # ties count half
0.875

``metrics.pauc(labels, scores, max_fpr=0.1)`` equals scikit-learn's
``roc_auc_score(labels, scores, max_fpr=0.1)``; ``metrics.dcase(scores, labels, domains,
sections)`` is the DCASE 2023/2024/2025 official score with its per-section values.

Bad input raises :class:`asdnorm.Error` (a ValueError) with the C status code in
``status``, also for problems found here before the call (a length mismatch is
ASDNORM_E_DIM = 10, a label outside 0/1 is ASDNORM_E_LABEL = 7, …).
"""
from ctypes import POINTER, byref, c_double, c_int32, c_size_t, c_uint8

import numpy as np

from ._lib import Error, check, lib

__all__ = ["auc", "pauc", "hmean", "dcase"]

# The C status codes raised from Python (asdnorm_status, pinned values).
_E_NULL, _E_ARG, _E_ENUM, _E_LABEL, _E_DIM, _E_EMPTY = 1, 2, 3, 7, 10, 16

_EDITIONS_2023 = (2023, 2024, 2025)  # same rules: AUC per domain + pAUC, harmonic mean
_INT32 = np.iinfo(np.int32)


def _fail(status, context):
    raise Error(status, lib.asdnorm_strerror(status).decode(), context)


def _ptr(a, ctype):
    return a.ctypes.data_as(POINTER(ctype))


def _vector(x, name):
    a = np.asarray(x)
    if a.ndim != 1:
        _fail(_E_DIM, f"{name} must be one-dimensional, got shape {a.shape}")
    return a


def _same_length(**arrays):
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        _fail(_E_DIM, "lengths differ: " + ", ".join(f"{k} {v}" for k, v in lengths.items()))
    n = next(iter(lengths.values()))
    if n == 0:
        _fail(_E_EMPTY, "no samples")
    return n


def _labels(x):
    # Checked here, not only in C: a cast to uint8 would wrap 256 to 0 and -1 to 255.
    a = _vector(x, "labels")
    if a.dtype.kind not in "biuf" or not np.isin(a, (0, 1)).all():
        _fail(_E_LABEL, "labels must be 0 (normal) or 1 (anomalous)")
    return np.ascontiguousarray(a, dtype=np.uint8)


def _float64(x, name):
    a = _vector(x, name)
    if a.dtype.kind not in "biuf":
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError):
            _fail(_E_ARG, f"{name} must be real numbers")
    return np.ascontiguousarray(a, dtype=np.float64)


def _sections(x):
    a = _vector(x, "sections")
    if a.dtype.kind == "f":
        if not (np.isfinite(a).all() and (a == np.round(a)).all()):
            _fail(_E_ARG, "section ids must be integers")
    elif a.dtype.kind not in "biu":
        _fail(_E_ARG, "section ids must be integers")
    if a.size and (a.min() < _INT32.min or a.max() > _INT32.max):
        _fail(_E_ARG, "section ids must fit in int32")
    return np.ascontiguousarray(a, dtype=np.int32)


def _domains(x, labels):
    # Only normal samples' domains are used (and must be 1 or 2); an anomaly's may be
    # anything, so it is passed as 0 rather than cast (which could wrap).
    a = _vector(x, "domains")
    if len(a) != len(labels):
        return a  # reported as a length mismatch by the caller
    normal = labels == 0
    d = a[normal]
    if d.dtype.kind not in "biuf" or not np.isin(d, (1, 2)).all():
        _fail(_E_LABEL, "the domain of every normal sample must be 1 (source) or 2 (target)")
    out = np.zeros(len(a), dtype=np.uint8)
    out[normal] = d
    return out


def auc(labels, scores):
    """Area under the ROC curve, ties counted half (Mann–Whitney U / (n₊ n₋)).

    Equal to ``sklearn.metrics.roc_auc_score(labels, scores)``.
    """
    y, s = _labels(labels), _float64(scores, "scores")
    n = _same_length(labels=y, scores=s)
    out = c_double()
    check(lib.asdnorm_auc(_ptr(y, c_uint8), _ptr(s, c_double), n, byref(out)), "auc")
    return out.value


def pauc(labels, scores, max_fpr=0.1):
    """Partial AUC up to false-positive rate ``max_fpr`` in (0, 1], McClish-standardized.

    Equal to ``sklearn.metrics.roc_auc_score(labels, scores, max_fpr=max_fpr)``;
    ``max_fpr=1`` gives the AUC.
    """
    y, s = _labels(labels), _float64(scores, "scores")
    n = _same_length(labels=y, scores=s)
    out = c_double()
    check(lib.asdnorm_pauc(_ptr(y, c_uint8), _ptr(s, c_double), n, float(max_fpr), byref(out)),
          "pauc")
    return out.value


def hmean(values):
    """Harmonic mean of positive values (the DCASE aggregation)."""
    v = _float64(values, "values")
    if len(v) == 0:
        _fail(_E_EMPTY, "no values")
    out = c_double()
    check(lib.asdnorm_hmean(_ptr(v, c_double), len(v), byref(out)), "hmean")
    return out.value


def dcase(scores, labels, domains, sections, edition=2023):
    """The DCASE task 2 official score and its per-section values (pAUC at max_fpr 0.1).

    Editions 2023, 2024, 2025: per section, AUC over the source-domain normals and all the
    section's anomalies, likewise for the target domain, and pAUC over all its samples; the
    official score is the harmonic mean of those values over every section::

        {"official": float,
         "sections": {section: {"auc_source": float, "auc_target": float, "pauc": float}}}

    Edition 2020 (no domains: ``domains`` may be None and is not used): per-section AUC and
    pAUC, and their arithmetic mean::

        {"official": float, "sections": {section: {"auc": float, "pauc": float}}}

    Sections are Python ints, in ascending order.
    """
    if edition in _EDITIONS_2023:
        keys = ("auc_source", "auc_target", "pauc")
    elif edition == 2020:
        keys = ("auc", "pauc")
    else:
        _fail(_E_ENUM, f"unknown DCASE edition {edition!r}; expected 2020, 2023, 2024 or 2025")
    y = _labels(labels)
    s = _float64(scores, "scores")
    sec = _sections(sections)
    if edition == 2020:
        arrays = {"scores": s, "labels": y, "sections": sec}
        if domains is not None:
            arrays["domains"] = _vector(domains, "domains")
        n = _same_length(**arrays)
    else:
        if domains is None:
            _fail(_E_NULL, f"edition {edition} needs the domains of the samples")
        d = _domains(domains, y)
        n = _same_length(scores=s, labels=y, domains=d, sections=sec)

    k = c_size_t()
    check(lib.asdnorm_count_sections(_ptr(sec, c_int32), n, byref(k)), "dcase")
    ids = np.empty(k.value, dtype=np.int32)
    values = np.empty((k.value, len(keys)), dtype=np.float64)
    official = c_double()
    common = (n, 0.1, k.value, _ptr(ids, c_int32), _ptr(values, c_double), byref(k),
              byref(official))
    if edition == 2020:
        st = lib.asdnorm_dcase2020(_ptr(s, c_double), _ptr(y, c_uint8), _ptr(sec, c_int32),
                                   *common)
    else:
        st = lib.asdnorm_dcase2023(_ptr(s, c_double), _ptr(y, c_uint8), _ptr(d, c_uint8),
                                   _ptr(sec, c_int32), *common)
    check(st, f"dcase {edition}")
    return {
        "official": official.value,
        "sections": {int(i): {key: float(v) for key, v in zip(keys, row)}
                     for i, row in zip(ids, values)},
    }
