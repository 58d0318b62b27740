# SPDX-License-Identifier: MIT
"""asdnorm.metrics against scikit-learn (roc_auc_score with and without max_fpr) and
scipy.stats.hmean, on random inputs with heavy ties, hand-built DCASE sets, and bad input."""
import math

import numpy as np
import pytest

import asdnorm
import asdnorm.metrics as metrics

sklearn_metrics = pytest.importorskip("sklearn.metrics")
scipy_stats = pytest.importorskip("scipy.stats")
roc_auc_score = sklearn_metrics.roc_auc_score

TOL = 1e-9
MAX_FPRS = (0.1, 0.05, 0.2, 0.25, 0.5, 0.9, 1.0)

# Status codes (asdnorm_status).
E_NULL, E_ARG, E_ENUM, E_NONFINITE, E_LABEL, E_DIM = 1, 2, 3, 5, 7, 10
E_EMPTY, E_NO_ANOMALY, E_NO_NORMAL = 16, 17, 18


def random_binary(rng, n):
    """Labels with both classes and scores with heavy ties (rounded to 1 decimal, or a
    handful of integer levels, or continuous)."""
    while True:
        y = (rng.random(n) < rng.uniform(0.1, 0.9)).astype(np.uint8)
        if 0 < y.sum() < n:
            break
    kind = rng.integers(3)
    base = rng.normal(size=n) + 0.7 * y
    if kind == 0:
        s = np.round(base, 1)
    elif kind == 1:
        s = rng.integers(0, rng.integers(1, 6), size=n).astype(np.float64) + y * rng.integers(0, 2)
    else:
        s = base
    return y, s


# ---- AUC and pAUC against scikit-learn ---------------------------------------------------

def test_auc_pauc_match_sklearn_on_random_tied_inputs():
    rng = np.random.default_rng(2023)
    worst_auc = worst_pauc = 0.0
    cases = 0
    for _ in range(400):
        n = int(rng.integers(2, 300))
        y, s = random_binary(rng, n)
        worst_auc = max(worst_auc, abs(metrics.auc(y, s) - roc_auc_score(y, s)))
        ps = MAX_FPRS[:3] + (float(rng.uniform(0.001, 1.0)),)
        for p in ps:
            got = metrics.pauc(y, s, max_fpr=p)
            worst_pauc = max(worst_pauc, abs(got - roc_auc_score(y, s, max_fpr=p)))
            cases += 1
    assert worst_auc <= TOL
    assert worst_pauc <= TOL, (worst_pauc, cases)


@pytest.mark.parametrize("p", MAX_FPRS)
def test_pauc_matches_sklearn_for_each_max_fpr(p):
    rng = np.random.default_rng(int(p * 1000))
    for _ in range(60):
        y, s = random_binary(rng, int(rng.integers(2, 120)))
        assert abs(metrics.pauc(y, s, max_fpr=p) - roc_auc_score(y, s, max_fpr=p)) <= TOL


def test_pauc_at_grid_fprs():
    # max_fpr exactly on an FPR of the curve (k / n_normals), where the interpolation
    # point falls on a vertex or a vertical segment.
    rng = np.random.default_rng(7)
    for _ in range(100):
        y, s = random_binary(rng, int(rng.integers(4, 60)))
        nn = int((y == 0).sum())
        for k in range(1, nn + 1):
            p = k / nn
            assert abs(metrics.pauc(y, s, p) - roc_auc_score(y, s, max_fpr=p)) <= TOL


def test_pauc_default_is_dcase_0_1():
    rng = np.random.default_rng(3)
    y, s = random_binary(rng, 200)
    assert metrics.pauc(y, s) == metrics.pauc(y, s, max_fpr=0.1)


def test_hand_values():
    # Anomalies 0.9, 0.4 and normals 0.8, 0.3, 0.2, 0.1: U = 4 + 3 = 7 of 8.
    y, s = [1, 0, 1, 0, 0, 0], [0.9, 0.8, 0.4, 0.3, 0.2, 0.1]
    assert metrics.auc(y, s) == 0.875
    # Up to FPR 0.1 the TPR is 0.5: A = 0.05, 0.5 * (1 + 0.045 / 0.095) = 14/19.
    assert abs(metrics.pauc(y, s, 0.1) - 14 / 19) <= 1e-12
    # Every score tied: 0.5 for AUC and every pAUC.
    assert metrics.auc([1, 0, 0], [2.0, 2.0, 2.0]) == 0.5
    assert abs(metrics.pauc([1, 0, 0], [2.0, 2.0, 2.0], 0.3) - 0.5) <= 1e-12


def test_input_types_accepted():
    ref = roc_auc_score([0, 1, 0, 1], [0.1, 0.9, 0.4, 0.4])
    assert metrics.auc([0, 1, 0, 1], [0.1, 0.9, 0.4, 0.4]) == ref  # lists
    assert metrics.auc(np.array([False, True, False, True]), np.array([1, 9, 4, 4])) == ref
    assert metrics.auc(np.array([0.0, 1.0, 0.0, 1.0]), np.float32([0.1, 0.9, 0.4, 0.4])) == ref
    # non-contiguous views
    assert metrics.auc(np.array([0, 9, 1, 9, 0, 9, 1, 9], dtype=np.int64)[::2],
                       np.array([0.1, 0.5, 0.9, 0.2, 0.4, 0.3, 0.4, 0.0])[::2]) == ref
    assert isinstance(metrics.auc([0, 1], [0.0, 1.0]), float)


# ---- hmean ------------------------------------------------------------------------------------

def test_hmean_matches_scipy():
    rng = np.random.default_rng(11)
    for _ in range(200):
        v = rng.uniform(0.01, 1.0, size=int(rng.integers(1, 40)))
        assert abs(metrics.hmean(v) - scipy_stats.hmean(v)) <= 1e-12
    assert abs(metrics.hmean([1, 2, 4]) - 12 / 7) <= 1e-12


# ---- DCASE against a computation with scikit-learn -------------------------------------------

def dcase_reference(scores, labels, domains, sections, edition):
    """Per section as the DCASE evaluators compute it, with sklearn and scipy."""
    scores, labels, sections = map(np.asarray, (scores, labels, sections))
    out, flat = {}, []
    for sec in sorted(set(int(x) for x in sections)):
        m = sections == sec
        y, s = labels[m], scores[m]
        if edition == 2020:
            row = {"auc": roc_auc_score(y, s), "pauc": roc_auc_score(y, s, max_fpr=0.1)}
        else:
            d = np.asarray(domains)[m]
            src = (y == 1) | (d == 1)
            tgt = (y == 1) | (d == 2)
            row = {"auc_source": roc_auc_score(y[src], s[src]),
                   "auc_target": roc_auc_score(y[tgt], s[tgt]),
                   "pauc": roc_auc_score(y, s, max_fpr=0.1)}
        out[sec] = row
        flat.extend(row.values())
    official = float(np.mean(flat)) if edition == 2020 else float(scipy_stats.hmean(flat))
    return {"official": official, "sections": out}


def assert_dcase_close(got, want):
    assert list(got["sections"]) == list(want["sections"])  # same ids, ascending
    for sec, row in want["sections"].items():
        assert type(sec) is int
        assert got["sections"][sec].keys() == row.keys()
        for key, value in row.items():
            assert abs(got["sections"][sec][key] - value) <= TOL, (sec, key)
    assert abs(got["official"] - want["official"]) <= TOL


# Two sections given interleaved (ids 5 and -2); anomalies' domains 0 and 7 are unused.
H_SCORE = [0.3, 0.9, 0.2, 0.5, 0.7, 0.6, 0.8, 0.1, 0.3, 0.6, 0.1, 0.95, 0.3]
H_LABEL = [1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1]
H_DOMAIN = [0, 1, 1, 1, 2, 2, 1, 1, 1, 2, 2, 2, 7]
H_SECTION = [5, -2, 5, -2, 5, -2, 5, -2, 5, -2, 5, -2, 5]


@pytest.mark.parametrize("edition", [2023, 2024, 2025])
def test_dcase2023_hand_built(edition):
    got = metrics.dcase(H_SCORE, H_LABEL, H_DOMAIN, H_SECTION, edition=edition)
    assert list(got["sections"]) == [-2, 5]
    assert_dcase_close(got, dcase_reference(H_SCORE, H_LABEL, H_DOMAIN, H_SECTION, 2023))
    # and the hand-derived values (see tests/test_metrics.c)
    assert got["sections"][-2] == pytest.approx(
        {"auc_source": 1.0, "auc_target": 0.375, "pauc": 9 / 19}, abs=1e-12)
    assert got["sections"][5] == pytest.approx(
        {"auc_source": 5 / 6, "auc_target": 2 / 3, "pauc": 37 / 57}, abs=1e-12)


def test_dcase2020_hand_built():
    for domains in (None, H_DOMAIN):
        got = metrics.dcase(H_SCORE, H_LABEL, domains, H_SECTION, edition=2020)
        assert_dcase_close(got, dcase_reference(H_SCORE, H_LABEL, None, H_SECTION, 2020))
        assert got["sections"][-2]["auc"] == 11 / 16
        assert got["sections"][5]["auc"] == 0.75


def test_dcase_random_against_sklearn():
    rng = np.random.default_rng(42)
    pool = np.array([-2**31, -40, -1, 0, 3, 17, 100000, 2**31 - 1])
    for _ in range(40):
        ids = rng.choice(pool, size=int(rng.integers(1, 5)), replace=False)
        # each section: at least one anomaly and one normal of each domain
        sections = np.concatenate([np.repeat(ids, 3), rng.choice(ids, size=int(rng.integers(0, 300)))])
        n = len(sections)
        labels = np.r_[np.tile([1, 0, 0], len(ids)), (rng.random(n - 3 * len(ids)) < 0.3)]
        domains = np.r_[np.tile([0, 1, 2], len(ids)), rng.integers(1, 3, n - 3 * len(ids))]
        scores = np.round(rng.normal(size=n) + 0.5 * labels, 1)
        perm = rng.permutation(n)
        args = scores[perm], labels[perm].astype(int), domains[perm], sections[perm]
        for edition in (2023, 2020):
            got = metrics.dcase(*args, edition=edition)
            assert_dcase_close(got, dcase_reference(*args, edition=edition))


def test_dcase_float_and_int64_section_ids():
    got = metrics.dcase(H_SCORE, H_LABEL, H_DOMAIN, np.array(H_SECTION, dtype=np.float64))
    assert list(got["sections"]) == [-2, 5]
    got = metrics.dcase(H_SCORE, H_LABEL, H_DOMAIN, np.array(H_SECTION, dtype=np.int64))
    assert all(type(k) is int for k in got["sections"])


def test_dcase_zero_auc_gives_zero_official():
    # The anomaly is below both normals: AUC_source = AUC_target = 0; hmean → 0 (scipy too).
    got = metrics.dcase([0.1, 0.5, 0.6], [1, 0, 0], [1, 1, 2], [0, 0, 0])
    assert got["sections"][0]["auc_source"] == 0.0
    assert got["official"] == 0.0


# ---- bad input ---------------------------------------------------------------------------------

def status_of(fn, *args, **kwargs):
    with pytest.raises(asdnorm.Error) as info:
        fn(*args, **kwargs)
    # A missing required argument (None) is a TypeError, every bad value a ValueError.
    builtin = TypeError if info.value.status == E_NULL else ValueError
    assert isinstance(info.value, builtin), type(info.value).__mro__
    return info.value.status


def test_auc_pauc_errors():
    y, s = [1, 0, 1, 0], [0.5, 0.2, 0.1, 0.4]
    for fn in (metrics.auc, metrics.pauc):
        assert status_of(fn, [1, 0, 1], s) == E_DIM
        assert status_of(fn, [[1, 0], [1, 0]], np.reshape(s, (2, 2))) == E_DIM
        assert status_of(fn, [], []) == E_EMPTY
        assert status_of(fn, [1, 0, 2, 0], s) == E_LABEL
        assert status_of(fn, [1, 0, 256, 0], s) == E_LABEL  # would wrap to 0 as uint8
        assert status_of(fn, [1, 0, -1, 0], s) == E_LABEL
        assert status_of(fn, [1, 0, 0.5, 0], s) == E_LABEL
        assert status_of(fn, [1, 0, np.nan, 0], s) == E_LABEL
        assert status_of(fn, y, [0.5, np.nan, 0.1, 0.4]) == E_NONFINITE
        assert status_of(fn, y, [0.5, np.inf, 0.1, 0.4]) == E_NONFINITE
        assert status_of(fn, [0, 0, 0, 0], s) == E_NO_ANOMALY
        assert status_of(fn, [1, 1, 1, 1], s) == E_NO_NORMAL
    for p in (0.0, -0.1, 1.0000001, 2, np.nan, np.inf):
        assert status_of(metrics.pauc, y, s, max_fpr=p) == E_ARG


def test_hmean_errors():
    assert status_of(metrics.hmean, []) == E_EMPTY
    assert status_of(metrics.hmean, [[0.5]]) == E_DIM
    assert status_of(metrics.hmean, [0.5, np.nan]) == E_NONFINITE
    assert metrics.hmean([0.5, 0.0]) == 0.0  # the limit, as metrics.dcase gives it
    assert status_of(metrics.hmean, [0.5, -1.0]) == E_ARG


def test_dcase_errors():
    s, y, d, sec = H_SCORE, H_LABEL, H_DOMAIN, H_SECTION
    assert status_of(metrics.dcase, s, y, d, sec, edition=2021) == E_ENUM
    assert status_of(metrics.dcase, s, y, d, sec, edition="2023") == E_ENUM
    assert status_of(metrics.dcase, s, y, None, sec) == E_NULL
    assert status_of(metrics.dcase, s[:-1], y, d, sec) == E_DIM
    assert status_of(metrics.dcase, s, y, d[:-1], sec) == E_DIM
    assert status_of(metrics.dcase, s, y, d, sec[:-1], edition=2020) == E_DIM
    assert status_of(metrics.dcase, s, y, d[:-1], sec, edition=2020) == E_DIM
    assert status_of(metrics.dcase, [], [], [], []) == E_EMPTY
    y2 = list(y); y2[4] = 2
    assert status_of(metrics.dcase, s, y2, d, sec) == E_LABEL
    d2 = list(d); d2[2] = 0  # a normal sample without a domain
    assert status_of(metrics.dcase, s, y, d2, sec) == E_LABEL
    d2[2] = 257  # would wrap to 1 as uint8
    assert status_of(metrics.dcase, s, y, d2, sec) == E_LABEL
    s2 = list(s); s2[7] = np.nan
    assert status_of(metrics.dcase, s2, y, d, sec) == E_NONFINITE
    # section 5 without anomalies
    y3 = [0 if (sec[i] == 5) else y[i] for i in range(len(y))]
    d3 = [1 if (sec[i] == 5 and y[i]) else d[i] for i in range(len(d))]
    assert status_of(metrics.dcase, s, y3, d3, sec) == E_NO_ANOMALY
    assert status_of(metrics.dcase, s, y3, None, sec, edition=2020) == E_NO_ANOMALY
    # section -2 without target normals
    d4 = [1 if (sec[i] == -2 and not y[i]) else d[i] for i in range(len(d))]
    assert status_of(metrics.dcase, s, y, d4, sec) == E_NO_NORMAL
    # section ids that are not int32 integers
    assert status_of(metrics.dcase, s, y, d, [x + 0.5 for x in sec]) == E_ARG
    assert status_of(metrics.dcase, s, y, d, [x + 2**31 for x in sec]) == E_ARG
    assert status_of(metrics.dcase, s, y, d, ["a"] * len(sec)) == E_ARG


def test_anomaly_domains_are_unused():
    # Any value, even one that is not a domain, is accepted for anomalies.
    d = [-1 if y else dom for y, dom in zip(H_LABEL, H_DOMAIN)]
    got = metrics.dcase(H_SCORE, H_LABEL, d, H_SECTION)
    want = metrics.dcase(H_SCORE, H_LABEL, H_DOMAIN, H_SECTION)
    assert got == want
    assert not math.isnan(got["official"])


@pytest.mark.parametrize("max_fpr", [0.05, 0.3, 1.0])
def test_dcase_max_fpr(max_fpr):
    """Each section's pAUC is scikit-learn's roc_auc_score(max_fpr=) over its samples."""
    s, y, sec = np.array(H_SCORE), np.array(H_LABEL), np.array(H_SECTION)
    for edition, domains in ((2023, H_DOMAIN), (2020, None)):
        got = metrics.dcase(s, y, domains, sec, edition=edition, max_fpr=max_fpr)
        for section, values in got["sections"].items():
            rows = sec == section
            want = sklearn_metrics.roc_auc_score(y[rows], s[rows], max_fpr=max_fpr)
            assert values["pauc"] == pytest.approx(want, rel=1e-12), (edition, section)
    assert status_of(metrics.dcase, s, y, H_DOMAIN, sec, max_fpr=0.0) == E_ARG
    assert status_of(metrics.dcase, s, y, H_DOMAIN, sec, max_fpr=1.5) == E_ARG
    with pytest.raises(TypeError):
        metrics.dcase(s, y, H_DOMAIN, sec, max_fpr="0.1")


# ---- the evaluator's result table --------------------------------------------------------

EPS = np.finfo(np.float64).eps


def test_dcase_table_by_hand():
    """One section derived by hand: source normals 1, 2; target normals 3, 4; anomalies 5
    (source) and 2.5 (target); decisions: score > 2.2."""
    s = [1.0, 2.0, 3.0, 4.0, 5.0, 2.5]
    t = metrics.dcase_table(s, [0, 0, 0, 0, 1, 1], [1, 1, 2, 2, 1, 2], [3] * 6,
                            machines=["fan"] * 6, decisions=[0, 0, 1, 1, 1, 1])
    # AUC (source) 4/4, (target) 2/4, (all) 6/8; pAUC: TPR 1/2 up to FPR 1/4, so the area
    # up to 0.1 is 0.05 and McClish gives (1 + 0.045/0.095)/2 = 14/19. Source: tp 1,
    # fp 0, fn 0; target: tp 1, fp 2, fn 0.
    row = t.sections["fan", 3]
    want = {"auc_source": 1.0, "auc_target": 0.5, "pauc": 14 / 19, "auc_all": 0.75,
            "precision_source": 1.0, "precision_target": 1 / 3, "recall_source": 1.0,
            "recall_target": 1.0, "f1_source": 1.0, "f1_target": 0.5}
    assert list(row) == list(want)
    assert row == pytest.approx(want, abs=1e-15)
    # Means over (source, target): AUC 1, 1/2; pAUC twice; precision 1, 1/3; F1 1, 1/2.
    means = t.machine_types["fan"]
    assert means["arithmetic_mean"] == pytest.approx(
        {"auc": 0.75, "pauc": 14 / 19, "precision": 2 / 3, "recall": 1.0, "f1": 0.75}, abs=1e-15)
    assert means["harmonic_mean"] == pytest.approx(
        {"auc": 2 / 3, "pauc": 14 / 19, "precision": 0.5, "recall": 1.0, "f1": 2 / 3}, abs=1e-15)
    assert means["target_harmonic_mean"]["precision"] == pytest.approx(1 / 3, abs=1e-15)
    assert t.overall == means  # one machine type
    assert t.official == pytest.approx(42 / 61, abs=1e-15)  # 3 / (1 + 2 + 19/14)
    # The result CSV's layout.
    rows = t.rows()
    assert rows[:2] == [["fan"], ["section", "AUC (all)", "AUC (source)", "AUC (target)",
                                  "pAUC", "precision (source)", "precision (target)",
                                  "recall (source)", "recall (target)", "F1 score (source)",
                                  "F1 score (target)"]]
    assert rows[2][0] == "03" and rows[2][1:5] == pytest.approx([0.75, 1.0, 0.5, 14 / 19])
    assert rows[3] == ["", "", "AUC", "pAUC", "precision", "recall", "F1 score"]
    assert [r[0] for r in rows[4:8]] == ["arithmetic mean", "harmonic mean",
                                        "source harmonic mean", "target harmonic mean"]
    assert rows[-3][:2] == ["official score", ""] and rows[-2][:2] == ["official score ci95", ""]
    assert rows[-1] == []
    d = t.to_dict()
    assert list(d) == ["official", "official_ci95", "sections", "machine_types", "overall"]
    assert list(d["sections"]) == ["fan_section_03"]


def jackknife(y, s, metric):
    n = len(y)
    theta = np.array([metric(np.delete(y, i), np.delete(s, i)) for i in range(n)])
    sigma = np.sqrt(np.sum((theta - theta.mean()) ** 2) / (n * (n - 1)))
    return scipy_stats.t.ppf(0.975, n - 1) * sigma


def test_dcase_table_against_sklearn():
    """Every value of random tables (ties, several machine types and sections, shuffled
    samples) against scikit-learn's roc_auc_score, precision_score, recall_score,
    f1_score, scipy's hmean and a jackknife with scipy's t quantile."""
    rng = np.random.default_rng(15)
    n = 240
    mach = rng.choice(["valve", "ToyCar", "fan"], size=n)
    sec = rng.integers(0, 3, size=n)
    y = (rng.random(n) < 0.4).astype(int)
    dom = rng.integers(1, 3, size=n)
    s = np.round(rng.normal(size=n) + y, 1)
    dec = (s + rng.normal(size=n) > 0.8).astype(int)
    t = metrics.dcase_table(s, y, dom, sec, machines=mach, decisions=dec)
    assert list(t.machine_types) == ["ToyCar", "fan", "valve"]
    assert list(t.sections) == sorted(t.sections)
    floored = lambda v: scipy_stats.hmean(np.maximum(v, EPS))  # noqa: E731
    flat, per_machine = [], {}
    for (m, k), row in t.sections.items():
        g = (mach == m) & (sec == k)
        want = {"auc_all": roc_auc_score(y[g], s[g]),
                "pauc": roc_auc_score(y[g], s[g], max_fpr=0.1)}
        for code, name in ((1, "source"), (2, "target")):
            chosen = g & ((y == 1) | (dom == code))
            want[f"auc_{name}"] = roc_auc_score(y[chosen], s[chosen])
            mine = g & (dom == code)
            for key, fn in (("precision", sklearn_metrics.precision_score),
                            ("recall", sklearn_metrics.recall_score),
                            ("f1", sklearn_metrics.f1_score)):
                want[f"{key}_{name}"] = fn(y[mine], dec[mine], zero_division=0)
        assert row == pytest.approx(want, rel=1e-12, abs=1e-15), (m, k)
        flat += [row["auc_source"], row["auc_target"], row["pauc"]]
        per_machine.setdefault(m, []).append(row)
    for m, rows in per_machine.items():
        for col, key in (("auc", "auc_{}"), ("pauc", "pauc"), ("f1", "f1_{}")):
            src = np.array([r[key.format("source")] for r in rows])
            tgt = np.array([r[key.format("target")] for r in rows])
            got = t.machine_types[m]
            assert got["arithmetic_mean"][col] == pytest.approx(np.r_[src, tgt].mean(), rel=1e-14)
            assert got["harmonic_mean"][col] == pytest.approx(floored(np.r_[src, tgt]), rel=1e-14)
            assert got["source_harmonic_mean"][col] == pytest.approx(floored(src), rel=1e-14)
            assert got["target_harmonic_mean"][col] == pytest.approx(floored(tgt), rel=1e-14)
    assert t.official == pytest.approx(floored(flat), rel=1e-14)
    # The jackknife over all samples in the table's order (machine types, sections).
    order = np.lexsort((sec, np.searchsorted(sorted(set(mach)), mach)))
    ci = 0.5 * (jackknife(y[order], s[order], roc_auc_score) +
                jackknife(y[order], s[order], lambda a, b: roc_auc_score(a, b, max_fpr=0.1)))
    assert t.official_ci95 == pytest.approx(ci, rel=1e-9)  # scipy's t.ppf: ~1e-11
    # Without decisions: the AUC columns only.
    bare = metrics.dcase_table(s, y, dom, sec, machines=mach)
    assert all(list(r) == ["auc_source", "auc_target", "pauc", "auc_all"]
               for r in bare.sections.values())
    assert bare.overall is not None and list(bare.overall["harmonic_mean"]) == ["auc", "pauc"]
    assert bare.official == t.official
    assert all(math.isnan(v) for v in bare.rows()[2][5:])


def test_dcase_table_2020():
    rng = np.random.default_rng(20)
    n = 90
    mach = np.repeat(["valve", "ToyCar"], n // 2)
    sec = rng.integers(1, 3, size=n)
    y = (rng.random(n) < 0.4).astype(int)
    s = rng.normal(size=n) + y
    t = metrics.dcase_table(s, y, None, sec, machines=mach, edition=2020)
    values = []
    for (m, k), row in t.sections.items():
        g = (mach == m) & (sec == k)
        want = [roc_auc_score(y[g], s[g]), roc_auc_score(y[g], s[g], max_fpr=0.1)]
        assert [row["auc"], row["pauc"]] == pytest.approx(want, rel=1e-12)
        values += want
    for m in ("ToyCar", "valve"):
        rows = [r for (mm, _), r in t.sections.items() if mm == m]
        assert t.machine_types[m]["average"] == pytest.approx(
            {"auc": np.mean([r["auc"] for r in rows]),
             "pauc": np.mean([r["pauc"] for r in rows])}, rel=1e-14)
    assert t.official == pytest.approx(np.mean(values), rel=1e-14)
    assert math.isnan(t.official_ci95) and t.overall is None
    # The same official score as metrics.dcase when there is one machine type.
    one = metrics.dcase_table(s, y, None, sec, edition=2020)
    assert one.official == pytest.approx(metrics.dcase(s, y, None, sec, edition=2020)["official"],
                                         rel=1e-14)
    assert one.rows()[:2] == [[""], ["id", "AUC", "pAUC"]]
    assert list(one.to_dict()) == ["official", "sections", "machine_types"]
    assert list(one.to_dict()["sections"]) == ["section_01", "section_02"]


def t_central_probability(t, nu):
    """P(|T| < t) for Student's t with an integer nu > 0, by the finite sums of Abramowitz
    and Stegun 26.7.3 and 26.7.4 (no special function)."""
    theta = math.atan(t / math.sqrt(nu))
    c2, term, total = math.cos(theta) ** 2, 1.0, 0.0
    if nu % 2 == 1:
        term = math.cos(theta)
        for k in range(1, (nu - 1) // 2 + 1):  # cos + 2/3 cos^3 + 2*4/(3*5) cos^5 + ...
            total += term
            term *= c2 * (2 * k) / (2 * k + 1)
        return 2 / math.pi * (theta + math.sin(theta) * total)
    for k in range(1, nu // 2 + 1):  # 1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ...
        total += term
        term *= c2 * (2 * k - 1) / (2 * k)
    return math.sin(theta) * total


def test_dcase_table_student_t():
    """The confidence interval's t quantile: the exact values for 1 and 2 degrees of
    freedom, the central probability 0.95 at the 0.975 quantile by finite sums, and
    scipy's t.ppf (accurate to about 1e-9 only: 12.706204736432 for one degree of
    freedom, where cot(pi/40) = 12.706204736174...)."""
    assert metrics._t_quantile(0.975, 1) == pytest.approx(1 / math.tan(math.pi / 40), rel=1e-14)
    assert metrics._t_quantile(0.975, 2) == pytest.approx(0.95 * math.sqrt(2 / 0.0975), rel=1e-14)
    for nu in (1, 2, 3, 4, 5, 6, 29, 30, 279, 1000):
        q = metrics._t_quantile(0.975, nu)
        assert abs(t_central_probability(q, nu) - 0.95) <= 1e-14, nu
    for nu in (5, 279, 1799, 1e5):
        assert metrics._t_quantile(0.975, nu) == pytest.approx(scipy_stats.t.ppf(0.975, nu),
                                                               rel=1e-9), nu
    assert metrics._t_quantile(0.025, 7) == -metrics._t_quantile(0.975, 7)
    assert metrics._t_quantile(0.5, 7) == 0.0


def test_dcase_table_errors():
    s, y, d = [1.0, 2.0, 3.0, 4.0, 5.0, 2.5], [0, 0, 0, 0, 1, 1], [1, 1, 2, 2, 1, 2]
    sec, mach, dec = [0] * 6, ["fan"] * 6, [0, 0, 1, 1, 1, 1]
    table = metrics.dcase_table
    assert status_of(table, s, y, d, sec, edition=2021) == E_ENUM
    assert status_of(table, s, y, None, sec) == E_NULL
    assert status_of(table, s, y, d, sec, max_fpr=0) == E_ARG
    assert status_of(table, s, y, d, sec, machines=mach[:-1]) == E_DIM
    assert status_of(table, s, y, d, sec, machines=[1] * 6) == E_ARG
    assert status_of(table, s, y, d, sec, decisions=dec[:-1]) == E_DIM
    assert status_of(table, s, y, d, sec, decisions=[2] * 6) == E_LABEL
    # With decisions an anomaly's domain counts too.
    assert status_of(table, s, y, d[:4] + [0, 2], sec, decisions=dec) == E_LABEL
    assert table(s, y, d[:4] + [0, 2], sec).sections[("", 0)]["auc_source"] == 1.0
    assert status_of(table, s[:4] + [np.inf] + s[5:], y, d, sec) == E_NONFINITE
    with pytest.raises(asdnorm.InvalidValueError, match="section fan_section_00 has no normal "
                                                        "samples of the target domain"):
        table(s, y, [1, 1, 1, 1, 1, 2], sec, machines=mach)
    with pytest.raises(asdnorm.InvalidValueError, match="section fan_section_07 has no anomalous"):
        table(s, y, d, [0, 0, 0, 7, 0, 0], machines=mach)
    assert status_of(table, s, y, d, [0, 0, 0, 7, 0, 0], machines=mach) == E_NO_ANOMALY
    assert status_of(table, s, [1] * 6, d, sec) == E_NO_NORMAL
