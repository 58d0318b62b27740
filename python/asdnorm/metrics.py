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

import math
from ctypes import byref, c_double, c_size_t
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, TypedDict, Union

import numpy as np
import numpy.typing as npt

from ._convert import F64P, I32P, U8P, as_number
from ._lib import Status, check, fail, lib

__all__ = ["auc", "pauc", "hmean", "count_sections", "dcase", "DcaseResult", "dcase_table",
           "DcaseTable"]

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


# ---- the official evaluator's result table --------------------------------------------------

_EPS = float(np.finfo(np.float64).eps)  # the evaluator's floor for harmonic means and ratios
_DOMAINS = ("source", "target")
_MEAN_ROWS = ("arithmetic_mean", "harmonic_mean", "source_harmonic_mean", "target_harmonic_mean")
_MEAN_COLUMNS = ("auc", "pauc", "precision", "recall", "f1")
_CSV_MEANS = ("arithmetic mean", "harmonic mean", "source harmonic mean", "target harmonic mean")
_CSV_OVERALL = " over all machine types, sections, and domains"
_CSV_SECTION_2023 = ("AUC (all)", "AUC (source)", "AUC (target)", "pAUC", "precision (source)",
                     "precision (target)", "recall (source)", "recall (target)",
                     "F1 score (source)", "F1 score (target)")
_CSV_KEYS_2023 = ("auc_all", "auc_source", "auc_target", "pauc", "precision_source",
                  "precision_target", "recall_source", "recall_target", "f1_source", "f1_target")
# A row's keys: those of dcase() first, as asdnorm eval --json has them.
_SECTION_KEYS_2023 = ("auc_source", "auc_target", "pauc") + tuple(
    k for k in _CSV_KEYS_2023 if k not in ("auc_source", "auc_target", "pauc"))

_Row = Dict[str, float]
_MeanRows = Dict[str, _Row]
_TableRow = List[Union[str, float]]


@dataclass(frozen=True)
class DcaseTable:
    """The official DCASE task 2 evaluator's result table (:func:`dcase_table`).

    Values the input cannot give (precision, recall and F1 without decisions) are
    absent from the dictionaries; :meth:`rows` shows them as NaN.

    Parameters
    ----------
    edition : int
        2023 (the 2023–2025 table) or 2020.
    official : float
        The official score: 2023, the harmonic mean of every section's AUC (source),
        AUC (target) and pAUC (each at least the machine epsilon); 2020, the arithmetic
        mean of every section's AUC and pAUC.
    official_ci95 : float
        2023: the half-width of the official score's 95 % confidence interval, the mean
        of the jackknife intervals of the AUC and of the pAUC of all samples pooled;
        NaN for 2020.
    sections : dict
        ``{(machine type, section id): row}`` in the table's order (machine types in
        code-point order, then section ids). 2023 rows: ``auc_all``, ``auc_source``,
        ``auc_target``, ``pauc`` and, with decisions, ``precision_source``,
        ``precision_target``, ``recall_source``, ``recall_target``, ``f1_source``,
        ``f1_target``. 2020 rows: ``auc``, ``pauc``.
    machine_types : dict
        ``{machine type: mean rows}``. 2023: ``arithmetic_mean``, ``harmonic_mean``,
        ``source_harmonic_mean``, ``target_harmonic_mean``, each ``{"auc", "pauc"}``
        and, with decisions, ``"precision"``, ``"recall"``, ``"f1"``; every section
        contributes its source and its target value (its pAUC twice). 2020:
        ``{"average": {"auc", "pauc"}}``.
    overall : dict or None
        2023: the mean rows over every section; None for 2020.

    Examples
    --------
    >>> from asdnorm import metrics
    >>> t = metrics.dcase_table([0.1, 0.2, 0.9, 0.3], [0, 0, 1, 1], [1, 2, 1, 1],
    ...                         [0, 0, 0, 0], machines=["fan"] * 4)
    >>> t.official, t.sections["fan", 0]["auc_source"]
    (1.0, 1.0)
    >>> t.to_dict()["machine_types"]["fan"]["harmonic_mean"]
    {'auc': 1.0, 'pauc': 1.0}
    """

    edition: int
    official: float
    official_ci95: float
    sections: Dict[Tuple[str, int], _Row]
    machine_types: Dict[str, _MeanRows]
    overall: Optional[_MeanRows]

    def to_dict(self) -> Dict[str, Any]:
        """The table as ``asdnorm eval --dcase-dir DIR --json`` prints it.

        Returns
        -------
        dict
            ``{"official", "official_ci95" (2023), "sections", "machine_types",
            "overall" (2023)}``; sections are named ``<machine>_section_<ss>``
            (``section_<ss>`` for the machine type ``""``).
        """
        out: Dict[str, Any] = {"official": self.official}
        if self.edition != 2020:
            out["official_ci95"] = self.official_ci95
        out["sections"] = {_section_name(m, s): dict(row)
                           for (m, s), row in self.sections.items()}
        out["machine_types"] = {m: {k: dict(v) for k, v in means.items()}
                                for m, means in self.machine_types.items()}
        if self.overall is not None:
            out["overall"] = {k: dict(v) for k, v in self.overall.items()}
        return out

    def rows(self) -> List[_TableRow]:
        """The table in the layout of the evaluator's result CSV (``asdnorm eval
        --result``): one list per line, numbers as floats (NaN for an empty cell).

        Returns
        -------
        list of list
            2023: per machine type its name, the section header and rows, the mean
            rows; then the mean rows over everything, ``official score`` and
            ``official score ci95``. 2020: per machine type its name, ``id,AUC,pAUC``,
            the section rows and ``Average``.
        """
        out: List[_TableRow] = []
        nan = float("nan")
        for machine, means in self.machine_types.items():
            sections = [(s, row) for (m, s), row in self.sections.items() if m == machine]
            if self.edition == 2020:
                out += [[machine], ["id", "AUC", "pAUC"]]
                out += [[f"{s:02d}", row["auc"], row["pauc"]] for s, row in sections]
                avg = means["average"]
                out += [["Average", avg["auc"], avg["pauc"]], []]
                continue
            out += [[machine], ["section", *_CSV_SECTION_2023]]
            out += [[f"{s:02d}", *(row.get(k, nan) for k in _CSV_KEYS_2023)]
                    for s, row in sections]
            out += _csv_means(means, "")
        if self.overall is not None:
            out += _csv_means(self.overall, _CSV_OVERALL)
            out += [["official score", "", self.official],
                    ["official score ci95", "", self.official_ci95], []]
        return out


def _section_name(machine: str, section: int) -> str:
    return f"{machine}_section_{section:02d}" if machine else f"section_{section:02d}"


def _csv_means(means: _MeanRows, suffix: str) -> List[_TableRow]:
    nan = float("nan")
    out: List[_TableRow] = [["", "", "AUC", "pAUC", "precision", "recall", "F1 score"]]
    for key, name in zip(_MEAN_ROWS, _CSV_MEANS):
        out.append([name + suffix, "", *(means[key].get(c, nan) for c in _MEAN_COLUMNS)])
    return out + [[]]


def _arithmetic_mean(values: Sequence[float]) -> float:
    total = 0.0
    for v in values:  # left to right, as asdnorm eval adds them
        total += v
    return total / len(values)


def _floored_hmean(values: Sequence[float]) -> float:
    """The evaluator's harmonic mean: every value at least the machine epsilon."""
    return hmean(np.maximum(np.asarray(values, dtype=np.float64), _EPS))


def _prf(labels: npt.NDArray[np.uint8], decisions: npt.NDArray[np.uint8]) -> Tuple[float, ...]:
    """Precision, recall and F1 of 0/1 decisions, each ratio's denominator at least
    the machine epsilon (so 0 where nothing was found)."""
    tp = float(np.sum((labels == 1) & (decisions == 1)))
    fp = float(np.sum((labels == 0) & (decisions == 1)))
    fn = float(np.sum((labels == 1) & (decisions == 0)))
    precision = tp / max(tp + fp, _EPS)
    recall = tp / max(tp + fn, _EPS)
    return precision, recall, 2 * precision * recall / max(precision + recall, _EPS)


# Student's t quantile for the confidence interval (numpy has none, scipy is not a
# dependency): the regularized incomplete beta function by its continued fraction
# (modified Lentz), then bisection on the upper tail.

def _beta_fraction(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (tiny if abs(d) < tiny else d)
    h = d
    for m in range(1, 100001):
        m2 = 2.0 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d
        c = 1 + aa / c
        d = 1 / (tiny if abs(d) < tiny else d)
        c = tiny if abs(c) < tiny else c
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d
        c = 1 + aa / c
        d = 1 / (tiny if abs(d) < tiny else d)
        c = tiny if abs(c) < tiny else c
        step = d * c
        h *= step
        if abs(step - 1) < 1e-16:
            break
    return h


def _incomplete_beta(a: float, b: float, x: float) -> float:
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x)
                     + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(a, b, x) / a
    return 1 - front * _beta_fraction(b, a, 1 - x) / b


def _t_quantile(p: float, dof: float) -> float:
    """The p-quantile of Student's t distribution with dof degrees of freedom."""
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -_t_quantile(1 - p, dof)

    def upper_tail(t: float) -> float:
        return 0.5 * _incomplete_beta(dof / 2, 0.5, dof / (dof + t * t))

    tail, lo, hi = 1 - p, 0.0, 1.0
    while upper_tail(hi) > tail and hi < 1e300:
        hi *= 2
    for _ in range(2000):  # the tail falls as t grows: bisect until nothing is left
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if upper_tail(mid) > tail:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _jackknife_ci95(labels: npt.NDArray[np.uint8], scores: npt.NDArray[np.float64],
                    max_fpr: float) -> float:
    """The jackknife 95 % interval of the AUC (max_fpr 1) or the pAUC of all samples."""
    n = len(labels)
    keep = np.ones(n, dtype=bool)
    theta = []
    for i in range(n):
        keep[i] = False
        y, s = labels[keep], scores[keep]
        theta.append(auc(y, s) if max_fpr >= 1 else pauc(y, s, max_fpr))
        keep[i] = True
    mean = _arithmetic_mean(theta)
    ss = 0.0
    for t in theta:
        ss += (t - mean) * (t - mean)
    return _t_quantile(0.975, n - 1.0) * math.sqrt(ss / (n * (n - 1.0)))


def _machine_types(x: Optional[npt.ArrayLike], n: int) -> List[str]:
    if x is None:
        return [""] * n
    a = _vector(x, "machines")
    names = a.tolist()
    if not all(isinstance(m, str) for m in names):
        fail(Status.E_ARG, "machine types must be strings")
    return names  # type: ignore[no-any-return]  # checked: a list of str


def _section_rows(y: npt.NDArray[np.uint8], s: npt.NDArray[np.float64],
                  d: Optional[npt.NDArray[np.uint8]], dec: Optional[npt.NDArray[np.uint8]],
                  max_fpr: float) -> _Row:
    """One section's row of the table (d None: the 2020 row)."""
    if d is None:
        return {"auc": auc(y, s), "pauc": pauc(y, s, max_fpr)}
    row = {"auc_all": auc(y, s), "pauc": pauc(y, s, max_fpr)}
    for code, name in enumerate(_DOMAINS, start=1):
        chosen = (y == 1) | (d == code)  # the domain's normals and all the anomalies
        row[f"auc_{name}"] = auc(y[chosen], s[chosen])
        if dec is not None:
            mine = d == code  # precision and recall: the domain's samples only
            p, r, f1 = _prf(y[mine], dec[mine])
            row.update({f"precision_{name}": p, f"recall_{name}": r, f"f1_{name}": f1})
    return {k: row[k] for k in _SECTION_KEYS_2023 if k in row}


def _mean_rows(rows: Sequence[_Row]) -> _MeanRows:
    """The four 2023 mean rows of some sections: each column over their source values,
    then their target values (the pAUC counts for both)."""
    out: _MeanRows = {k: {} for k in _MEAN_ROWS}
    for col in _MEAN_COLUMNS:
        key = {"auc": "auc_{}", "pauc": "pauc"}.get(col, col + "_{}")
        if key.format("source") not in rows[0]:
            continue  # no decisions: no precision, recall or F1
        src = [r[key.format("source")] for r in rows]
        tgt = [r[key.format("target")] for r in rows]
        out["arithmetic_mean"][col] = _arithmetic_mean(src + tgt)
        out["harmonic_mean"][col] = _floored_hmean(src + tgt)
        out["source_harmonic_mean"][col] = _floored_hmean(src)
        out["target_harmonic_mean"][col] = _floored_hmean(tgt)
    return out


def _check_section(name: str, y: npt.NDArray[np.uint8], d: Optional[npt.NDArray[np.uint8]]) -> None:
    """Every value of the section's row is defined; else the section is named."""
    if not y.any():
        fail(Status.E_NO_ANOMALY, f"section {name} has no anomalous samples (label 1): its "
                                  "AUC is undefined")
    if y.all():
        fail(Status.E_NO_NORMAL, f"section {name} has no normal samples (label 0): its AUC "
                                 "is undefined")
    for code, domain in enumerate(_DOMAINS, start=1):
        if d is not None and not ((y == 0) & (d == code)).any():
            fail(Status.E_NO_NORMAL, f"section {name} has no normal samples of the {domain} "
                                     f"domain (domain {code}): AUC ({domain}) is undefined")


def dcase_table(scores: npt.ArrayLike, labels: npt.ArrayLike, domains: Optional[npt.ArrayLike],
                sections: npt.ArrayLike, machines: Optional[npt.ArrayLike] = None,
                decisions: Optional[npt.ArrayLike] = None, edition: int = 2023,
                max_fpr: float = 0.1) -> DcaseTable:
    """The official DCASE task 2 evaluator's result table, as ``asdnorm eval --dcase-dir
    DIR --result FILE`` writes it and ``--json`` prints it.

    A section is a (machine type, section id) pair. 2023–2025 per section: AUC (all),
    AUC (source) and AUC (target) (the domain's normals against all the anomalies),
    pAUC and, from the 0/1 ``decisions``, precision, recall and F1 per domain (over the
    domain's samples); per machine type and over everything the arithmetic, harmonic,
    source and target harmonic means; the official score and its jackknife confidence
    interval. 2020 per section AUC and pAUC, per machine type their average, the
    official score their arithmetic mean. Harmonic means and the ratios floor their
    values or denominators at the machine epsilon, as the evaluator does.

    Parameters
    ----------
    scores : array_like, shape (n,)
        Higher = more anomalous.
    labels : array_like, shape (n,)
        1 anomalous, 0 normal.
    domains : array_like, shape (n,), or None
        1 source, 2 target: for every normal sample, and with ``decisions`` for every
        sample. Not used by edition 2020 (may be None).
    sections : array_like of int, shape (n,)
        Section ids (written ``%02d`` in names).
    machines : array_like of str, shape (n,), or None
        Machine types; None puts every sample in one machine type ``""``.
    decisions : array_like, shape (n,), or None
        1 judged anomalous, 0 normal (the ``decision_result`` files); None leaves
        precision, recall and F1 out. Not used by edition 2020.
    edition : {2023, 2024, 2025, 2020}
        The challenge's rules (2023–2025 share one table).
    max_fpr : float
        The pAUC's limit, in (0, 1]; the challenge uses 0.1.

    Returns
    -------
    DcaseTable
        The table; :meth:`DcaseTable.to_dict` gives the CLI's ``--json`` layout,
        :meth:`DcaseTable.rows` the result CSV's.

    Raises
    ------
    InvalidValueError
        Lengths differ, no samples, a bad label, domain or decision, a non-finite
        score, a section id that is not an integer, a machine type that is not a
        string, a section without anomalies or without normals (of a domain, 2023),
        an unknown edition, or ``max_fpr`` outside (0, 1].
    InvalidTypeError
        Edition 2023+ without domains.

    Examples
    --------
    >>> from asdnorm import metrics
    >>> t = metrics.dcase_table([1, 2, 3, 4, 5, 2.5], [0, 0, 0, 0, 1, 1],
    ...                         [1, 1, 2, 2, 1, 2], [0] * 6, machines=["fan"] * 6,
    ...                         decisions=[0, 0, 1, 1, 1, 1])
    >>> row = t.sections["fan", 0]
    >>> row["auc_all"], row["auc_source"], row["auc_target"], row["precision_target"]
    (0.75, 1.0, 0.5, 0.3333333333333333)
    >>> round(t.official, 6)  # 3 / (1/1 + 1/0.5 + 1/pAUC), pAUC = 14/19
    0.688525
    """
    if edition not in _EDITIONS_2023 and edition != 2020:
        fail(Status.E_ENUM, f"unknown DCASE edition {edition!r}; expected 2020, 2023, 2024 "
                            "or 2025")
    max_fpr = as_number(max_fpr, "max_fpr")
    if not 0 < max_fpr <= 1:
        fail(Status.E_ARG, f"max_fpr must be in (0, 1], got {max_fpr!r}")
    y, s, sec = _labels(labels), _float64(scores, "scores"), _sections(sections)
    arrays: Dict[str, npt.NDArray[Any]] = {"scores": s, "labels": y, "sections": sec}
    d: Optional[npt.NDArray[np.uint8]] = None
    dec: Optional[npt.NDArray[np.uint8]] = None
    if edition != 2020:
        if domains is None:
            fail(Status.E_NULL, f"edition {edition} needs the domains of the samples")
        d = arrays["domains"] = _domains(domains, y)
        if decisions is not None:
            dec = arrays["decisions"] = _binary(decisions, "decisions", "1 (anomalous) or 0")
            d = arrays["domains"] = _binary(domains, "domains", "1 (source) or 2 (target) "
                                            "for every sample when decisions are given", (1, 2))
    n = _same_length(**arrays)
    if not np.isfinite(s).all():
        fail(Status.E_NONFINITE, "scores must be finite")
    mach = _machine_types(machines, n)
    if len(mach) != n:
        fail(Status.E_DIM, f"lengths differ: scores {n}, machines {len(mach)}")

    # The samples in the table's order (machine types, then sections; stable).
    names = sorted(set(mach))
    index = {m: i for i, m in enumerate(names)}
    code = np.array([index[m] for m in mach], dtype=np.int64)
    order = np.lexsort(np.stack([sec.astype(np.int64), code]))
    y, s, sec, code = y[order], s[order], sec[order], code[order]
    d = None if d is None else d[order]
    dec = None if dec is None else dec[order]
    starts = np.flatnonzero(np.r_[True, (np.diff(code) != 0) | (np.diff(sec) != 0), True])

    rows: Dict[Tuple[str, int], _Row] = {}
    for a, b in zip(starts[:-1], starts[1:]):
        key = (names[code[a]], int(sec[a]))
        part = slice(a, b)
        _check_section(_section_name(*key), y[part], None if d is None else d[part])
        rows[key] = _section_rows(y[part], s[part], None if d is None else d[part],
                                  None if dec is None else dec[part], max_fpr)
    by_machine = {m: [r for (mm, _), r in rows.items() if mm == m] for m in names}
    if edition == 2020:
        return DcaseTable(
            2020, _arithmetic_mean([v for r in rows.values() for v in (r["auc"], r["pauc"])]),
            float("nan"), rows,
            {m: {"average": {"auc": _arithmetic_mean([r["auc"] for r in rs]),
                             "pauc": _arithmetic_mean([r["pauc"] for r in rs])}}
             for m, rs in by_machine.items()},
            None)
    official = _floored_hmean([v for r in rows.values()
                               for v in (r["auc_source"], r["auc_target"], r["pauc"])])
    ci95 = 0.5 * (_jackknife_ci95(y, s, 1.0) + _jackknife_ci95(y, s, max_fpr))
    return DcaseTable(2023, official, ci95, rows,
                      {m: _mean_rows(rs) for m, rs in by_machine.items()},
                      _mean_rows(list(rows.values())))


def _binary(x: npt.ArrayLike, name: str, allowed: str,
            values: Tuple[int, int] = (0, 1)) -> npt.NDArray[np.uint8]:
    a = _vector(x, name)
    if a.dtype.kind not in "biuf" or not np.isin(a, values).all():
        fail(Status.E_LABEL, f"{name} must be {allowed}")
    return np.ascontiguousarray(a, dtype=np.uint8)
