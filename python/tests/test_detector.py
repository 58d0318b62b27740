# SPDX-License-Identifier: MIT
"""asdnorm.Detector: scikit-learn's outlier-detector conventions, values against the
float64 brute force of conftest.py, the out-of-fold offset_, and sklearn being optional."""
import functools
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import asdnorm
from asdnorm.core import Status

from conftest import bf_density, bf_scores

sklearn = pytest.importorskip("sklearn", reason="scikit-learn (python3-sklearn) not installed")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

TOL = 1e-4


def data(seed=0, n=60, d=10, n_test=30):
    rng = np.random.default_rng(seed)
    center = np.zeros(d)
    center[0] = 4.0
    X = center + rng.normal(0, 1.0, (n, d))
    tests = np.vstack([center + rng.normal(0, 1.0, (n_test - 5, d)),
                       -center + rng.normal(0, 1.0, (5, d))])       # 5 clear outliers
    return X, tests


def oof_brute_force(X, domains, distance, density, k, r, norm, n_folds):
    """Out-of-fold anomaly scores by the documented fold rule, in float64."""
    labels = np.zeros(len(X), int) if domains is None else np.asarray(domains)
    fold = np.empty(len(X), int)
    for v in np.unique(labels):
        rows = np.flatnonzero(labels == v)
        fold[rows] = np.arange(rows.size) % n_folds
    out = np.empty(len(X))
    for f in range(n_folds):
        held = fold == f
        refs = X[~held]
        dens = bf_density(distance, refs, density, k, r)
        out[held] = bf_scores(distance, refs, dens, density, norm, X[held])[0]
    return out


def test_defaults_are_the_papers_setting():
    det = asdnorm.Detector()
    assert det.get_params() == dict(distance="cosine", density="knn", k=1, r=0.9,
                                    norm="ratio", contamination=0.1, n_folds=5)
    assert det._estimator_type == "outlier_detector"


@pytest.mark.parametrize("distance,density,k,r,norm", [
    ("cosine", "knn", 1, 0.9, "ratio"),
    ("euclidean", "gwrp", 1, 0.5, "difference"),
    ("mse", "knn", 3, 0.9, "none"),
])
def test_values_against_brute_force(distance, density, k, r, norm, error_log):
    X, tests = data(seed=1)
    domains = np.r_[np.ones(50), np.full(10, 2)].astype(int)
    det = asdnorm.Detector(distance=distance, density=density, k=k, r=r, norm=norm,
                           contamination=0.1)
    assert det.fit(X, domains=domains) is det
    np.testing.assert_array_equal(det.index_.domains, domains)
    assert det.n_features_in_ == X.shape[1]

    dens = bf_density(distance, X, density, k, r)
    want, _, s_all = bf_scores(distance, X, dens, density, norm, tests)
    floor = np.median(np.abs(s_all)) if norm == "difference" else 1e-30
    ss = det.score_samples(tests)
    assert ss.dtype == np.float64 and ss.shape == (len(tests),)
    rel = error_log.record(("Detector", distance, density, norm), -ss, want, floor)
    assert rel.max() <= TOL                      # score_samples = -anomaly score

    oof = oof_brute_force(X, domains, distance, density, k, r, norm, 5)
    rel = error_log.record(("Detector oof", distance, density, norm),
                           -det.oof_score_samples_, oof, floor)
    assert rel.max() <= TOL
    want_offset = np.percentile(-oof, 10.0)
    assert det.offset_ == pytest.approx(want_offset, rel=TOL, abs=TOL * floor)

    dec = det.decision_function(tests)
    assert dec.dtype == np.float64
    np.testing.assert_allclose(dec, ss - det.offset_, rtol=0, atol=0)
    pred = det.predict(tests)
    assert pred.dtype.kind == "i" and set(np.unique(pred)) <= {-1, 1}
    np.testing.assert_array_equal(pred, np.where(dec < 0, -1, 1))
    assert (pred[-5:] == -1).all()               # the clear outliers


def test_training_rows_and_fit_predict():
    X, _ = data(seed=2, n=100)
    det = asdnorm.Detector(contamination=0.1)
    flags = det.fit_predict(X)
    assert set(np.unique(flags)) == {-1, 1}
    assert abs((flags == -1).sum() - 10) <= 1    # out-of-fold: about contamination * n
    # Documented: the training rows themselves are at distance 0 from themselves,
    # so score_samples(X_train) is 0 (ratio), not a leave-one-out score.
    # (0 up to double rounding of the cosine of a row with itself.)
    np.testing.assert_allclose(det.score_samples(X), np.zeros(len(X)), rtol=0, atol=1e-12)
    assert (det.predict(X) == 1).all()


def test_folds_are_stratified_by_domain():
    fold = asdnorm.Detector.fold_ids(12, np.array([1] * 8 + [2] * 4), 4)
    assert fold.tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]
    fold = asdnorm.Detector.fold_ids(6, np.array([2, 1, 2, 1, 1, 2]), 3)
    assert fold.tolist() == [0, 0, 1, 1, 2, 2]


def test_errors():
    X, tests = data(seed=3)
    for c in (0, 0.0, 0.6, -0.1, "auto", None, True):
        with pytest.raises(asdnorm.Error) as info:
            asdnorm.Detector(contamination=c).fit(X)
        assert info.value.status == Status.E_ARG
    for folds in (1, 0, 2.5):
        with pytest.raises(asdnorm.Error) as info:
            asdnorm.Detector(n_folds=folds).fit(X)
        assert info.value.status == Status.E_ARG
    for kw, status in [(dict(distance="l1"), Status.E_ENUM), (dict(norm="max"), Status.E_ENUM),
                       (dict(density="lof"), Status.E_ENUM), (dict(k=0), Status.E_ARG)]:
        with pytest.raises(asdnorm.Error) as info:
            asdnorm.Detector(**kw).fit(X)
        assert info.value.status == status, kw
    with pytest.raises(asdnorm.Error) as info:
        asdnorm.Detector().fit(X[:2])           # 2 rows: a fold's index would have 1
    assert info.value.status == Status.E_TOO_FEW
    with pytest.raises(asdnorm.Error) as info:
        asdnorm.Detector().fit(X[0])
    assert info.value.status == Status.E_DIM
    det = asdnorm.Detector()
    with pytest.raises(sklearn.exceptions.NotFittedError):
        det.predict(tests)
    det.fit(X)
    with pytest.raises(ValueError, match="X has 9 features, but Detector is expecting 10"):
        det.predict(tests[:, :9])
    bad = tests.copy()
    bad[0, 0] = np.nan
    with pytest.raises(asdnorm.Error) as info:
        det.decision_function(bad)
    assert info.value.status == Status.E_NONFINITE


def test_sklearn_clone_params_and_pickle():
    X, tests = data(seed=4)
    det = asdnorm.Detector(k=2, contamination=0.05)
    assert det.set_params(norm="difference") is det and det.norm == "difference"
    with pytest.raises(ValueError):
        det.set_params(bogus=1)
    twin = clone(det)
    assert twin is not det and twin.get_params() == det.get_params()
    det.fit(X)
    assert not hasattr(clone(det), "offset_")
    restored = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(restored.decision_function(tests), det.decision_function(tests))
    assert "Detector(" in repr(det)


def test_sklearn_model_selection():
    from sklearn.metrics import roc_auc_score
    rng = np.random.default_rng(5)
    d = 10
    center = np.zeros(d)
    center[0] = 6.0
    Xall = np.vstack([center + rng.normal(0, 1.0, (60, d)), rng.normal(0, 6.0, (12, d))])
    y = np.r_[np.ones(60), np.zeros(12)].astype(int)   # 1 = normal (the inlier class)
    domains = np.where(np.arange(len(y)) % 7 == 0, 2, 1)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    # roc_auc on decision_function (higher = more normal = the positive class 1), each
    # fold equal to fitting by hand on the training rows, with domains routed per fold.
    for fit_params in (None, {"domains": domains}):
        aucs = cross_val_score(asdnorm.Detector(norm="none"), Xall, y, cv=cv,
                               scoring="roc_auc", fit_params=fit_params)
        want = []
        for train, test in cv.split(Xall, y):
            det = asdnorm.Detector(norm="none").fit(
                Xall[train], domains=None if fit_params is None else domains[train])
            want.append(roc_auc_score(y[test], det.decision_function(Xall[test])))
        np.testing.assert_array_equal(aucs, want)
        assert (aucs > 0.9).all(), aucs
    grid = GridSearchCV(asdnorm.Detector(), {"k": [1, 3]},
                        cv=cv, scoring="roc_auc").fit(Xall, y)
    assert set(grid.best_params_) == {"k"} and np.isfinite(grid.best_score_)
    assert isinstance(grid.best_estimator_, asdnorm.Detector)
    pipe = make_pipeline(StandardScaler(), asdnorm.Detector(distance="euclidean"))
    pred = pipe.fit(Xall[y == 1]).predict(Xall)
    assert set(np.unique(pred)) == {-1, 1}
    assert (pred[y == 0] == -1).mean() > 0.8


def test_works_without_sklearn():
    code = ("import sys; sys.modules['sklearn'] = None  # import sklearn fails\n"
            "import numpy as np, asdnorm\n"
            "rng = np.random.default_rng(0); X = rng.normal(size=(40, 5)) + 3\n"
            "det = asdnorm.Detector(k=2)\n"
            "assert det.get_params()['k'] == 2 and det.set_params(k=3) is det and det.k == 3\n"
            "try:\n    det.set_params(nope=1)\nexcept ValueError: pass\nelse: raise SystemExit(1)\n"
            "try:\n    det.predict(X)\nexcept asdnorm.Error as e: assert e.status == 8\n"
            "else: raise SystemExit(1)\n"
            "p = det.fit(X).predict(-X)\n"
            "assert set(p.tolist()) == {-1}, p\n"
            "assert 'Detector(' in repr(det)\n"
            "print('ok')\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=os.environ, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr


def test_sklearn_style_messages():
    det = asdnorm.Detector()
    with pytest.raises(asdnorm.Error, match="Reshape your data"):
        det.fit(np.ones(5))
    with pytest.raises(asdnorm.Error, match="0 feature"):
        det.fit(np.ones((5, 0)))
    with pytest.raises(asdnorm.Error, match="0 sample"):
        det.fit(np.ones((0, 5)))
    with pytest.raises(asdnorm.Error, match="n_samples=1"):
        det.fit(np.ones((1, 5)))
    with pytest.raises(asdnorm.InvalidValueError, match="Complex data not supported"):
        det.fit(np.ones((5, 3), dtype=complex))
    with pytest.raises(asdnorm.InvalidTypeError, match="sparse"):      # a TypeError
        det.fit(pytest.importorskip("scipy.sparse").csr_matrix(np.eye(5)))
    X = np.random.default_rng(0).normal(size=(10, 3)).astype(object)
    np.testing.assert_array_equal(asdnorm.Detector().fit(X).offset_,
                                  asdnorm.Detector().fit(X.astype(float)).offset_)


# ---------------------------------------------------------------------------------------
# scikit-learn's estimator checks, and the deviations declared in the tags
# ---------------------------------------------------------------------------------------
def _unwrap(check):
    """The check itself, ready to call with the estimator: check_estimator yields
    partial(check, name), the declared checks wrapped to raise SkipTest."""
    fn = getattr(check.func, "__wrapped__", check.func)
    return functools.partial(fn, *check.args)


def _check_name(check):
    fn = _unwrap(check).func
    return fn.func.__name__ if isinstance(fn, functools.partial) else fn.__name__


@pytest.mark.parametrize("distance", ["cosine", "euclidean", "mse"])
def test_check_estimator(distance):
    """check_estimator passes; the only checks it skips are the declared deviations."""
    import warnings
    from sklearn.exceptions import SkipTestWarning
    from sklearn.utils.estimator_checks import check_estimator

    det = asdnorm.Detector(distance=distance)
    declared = det._get_tags()["_xfail_checks"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_estimator(det)
    skipped = {str(w.message).split()[1] for w in caught
               if issubclass(w.category, SkipTestWarning)
               and str(w.message).startswith("Skipping ")}
    assert skipped == set(declared), (skipped, declared)
    want = {"check_outliers_train", "check_outliers_fit_predict"}
    if distance == "cosine":
        want.add("check_estimators_dtypes")
    assert set(declared) == want
    for name, reason in declared.items():      # each reason is in the class docstring
        assert name in asdnorm.Detector.__doc__, name
        assert len(reason) > 40


@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
def test_declared_deviations_are_real(distance):
    """Run each declared check anyway: it still fails, for the stated reason (a tag that
    is no longer needed must be removed)."""
    from sklearn.utils.estimator_checks import check_estimator

    det = asdnorm.Detector(distance=distance)
    declared = det._get_tags()["_xfail_checks"]
    seen = set()
    for est, check in check_estimator(det, generate_only=True):
        name = _check_name(check)
        if name not in declared or name in seen:
            continue
        seen.add(name)
        with pytest.raises((AssertionError, ValueError)) as e:
            _unwrap(check)(est)
        if name == "check_estimators_dtypes":
            assert isinstance(e.value, asdnorm.InvalidValueError)
            assert e.value.status == Status.E_ZERO_VECTOR and "row" in str(e.value)
    assert seen == set(declared)


def test_integer_input():
    """Integers are converted to float32 and score as the same floats; under cosine an
    all-zero row is refused with its position, whatever the dtype."""
    rng = np.random.default_rng(3)
    X = rng.integers(1, 20, size=(40, 5))
    tests = rng.integers(1, 20, size=(10, 5))
    for distance in ("cosine", "euclidean", "mse"):
        a = asdnorm.Detector(distance=distance).fit(X)
        b = asdnorm.Detector(distance=distance).fit(X.astype(np.float32))
        np.testing.assert_array_equal(a.score_samples(tests),
                                      b.score_samples(tests.astype(np.float32)))
        assert a.offset_ == b.offset_
    zero = X.copy()
    zero[7] = 0
    with pytest.raises(ValueError) as e:
        asdnorm.Detector(distance="cosine").fit(zero)
    assert e.value.status == Status.E_ZERO_VECTOR and "row 7" in str(e.value)
    with pytest.raises(ValueError) as e:
        asdnorm.Detector(distance="cosine").fit(X).predict(zero[5:10])
    assert "row 2" in str(e.value)
    asdnorm.Detector(distance="euclidean").fit(zero)       # a point like any other


def test_object_and_complex_input():
    X, tests = data(seed=4)
    det = asdnorm.Detector().fit(X.astype(object))
    np.testing.assert_array_equal(det.score_samples(tests.astype(object)),
                                  det.score_samples(tests))
    bad = X.astype(object)
    bad[0, 0] = {"a": 1}
    with pytest.raises(TypeError, match="argument must be a string.* number"):
        asdnorm.Detector().fit(bad)
    with pytest.raises(ValueError, match="Complex data not supported"):
        asdnorm.Detector().fit(X + 1j)
