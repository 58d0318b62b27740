# SPDX-License-Identifier: MIT
"""Shared helpers: an independent float64 brute force of docs/math.md §2, computed
from the caller's original (un-normalized) rows with numpy, never by the library."""
import numpy as np
import pytest

EPSILON = 1e-12  # ASDNORM_EPSILON


def bf_distance(kind, x, y):
    """(n, m) distances of docs/math.md §2.1 in float64, exact differences (no gemm trick)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if kind == "cosine":
        xn = x / np.linalg.norm(x, axis=1, keepdims=True)
        yn = y / np.linalg.norm(y, axis=1, keepdims=True)
        return np.maximum(0.5 * (1.0 - xn @ yn.T), 0.0)
    sq = ((x[:, None, :] - y[None, :, :]) ** 2).sum(axis=2)
    if kind == "euclidean":
        return np.sqrt(sq)
    if kind == "mse":
        return sq / x.shape[1]
    raise AssertionError(kind)


def bf_density(kind, y, density, k=1, r=0.9):
    """Density constants: sorted distances to the *other* references (by position)."""
    d = bf_distance(kind, y, y)
    m = len(y)
    out = np.empty(m)
    for j in range(m):
        row = np.sort(np.delete(d[j], j))
        if density == "knn":
            out[j] = row[:min(int(k), m - 1)].mean()
        elif density == "gwrp":
            w = np.float64(r) ** np.arange(m - 1)  # 0.0 ** 0 == 1.0
            out[j] = (w * row).sum() / w.sum()
        else:
            out[j] = np.nan
    return out


def bf_ratio_floor(kind, y):
    """The ratio's floor EPSILON * S of docs/math.md §2.3 (S from the references' spread)."""
    if kind == "cosine":
        return EPSILON
    y = np.asarray(y, dtype=np.float64)
    v = ((y - y.mean(axis=0)) ** 2).sum(axis=1).mean()
    if v == 0:
        return EPSILON
    return EPSILON * (np.sqrt(v) if kind == "euclidean" else v / y.shape[1])


def bf_scores(kind, y, dens, density, norm, x):
    """(scores, argmin) of docs/math.md §2.3 in float64."""
    d = bf_distance(kind, x, y)
    if density == "none":
        nj = np.full(len(y), 1.0 if norm == "ratio" else 0.0)
    else:
        nj = dens
    if norm == "ratio":
        s = d / np.maximum(nj, bf_ratio_floor(kind, y))
    elif norm == "difference":
        s = d - nj
    else:
        s = d
    return s.min(axis=1), s.argmin(axis=1), s


class ErrorLog:
    """Largest relative error against the brute force, over the combinations checked."""

    def __init__(self):
        self.max_rel = 0.0
        self.where = None
        self.combinations = set()
        self.values = 0

    def record(self, combo, got, want, floor):
        got = np.asarray(got, dtype=np.float64)
        want = np.asarray(want, dtype=np.float64)
        rel = np.abs(got - want) / np.maximum(np.abs(want), floor)
        self.combinations.add(combo)
        self.values += rel.size
        if rel.size and rel.max() > self.max_rel:
            self.max_rel = float(rel.max())
            self.where = combo
        return rel


ERRORS = ErrorLog()


@pytest.fixture
def error_log():
    return ERRORS


def pytest_terminal_summary(terminalreporter):
    if ERRORS.combinations:
        terminalreporter.write_line(
            f"asdnorm vs float64 brute force: max relative error {ERRORS.max_rel:.3g} "
            f"(at {ERRORS.where}) over {len(ERRORS.combinations)} combinations, "
            f"{ERRORS.values} values")


def pytest_configure(config):
    config.addinivalue_line("markers", "io: needs lib/io.c (asdnorm_index_save/load)")
