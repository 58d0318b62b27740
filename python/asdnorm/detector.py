# SPDX-License-Identifier: MIT
"""A scikit-learn style outlier detector on top of :class:`asdnorm.Index` and
:class:`asdnorm.Scorer`. scikit-learn is optional: when it is importable the
class is a ``BaseEstimator`` + ``OutlierMixin`` (so ``clone``, pipelines,
``GridSearchCV`` … work); without it, ``get_params``/``set_params`` are
provided here.

The decision threshold ``offset_`` is honest about the training data. Scoring
a training row against an index that contains it finds the row itself at
distance 0, so ``score_samples(X_train)`` is *not* a leave-one-out score (it is
0 for ``norm="ratio"``/``"none"``, i.e. every training row looks perfectly
normal). ``fit`` therefore sets ``offset_`` from **out-of-fold** scores
(cross-fitting): the training rows are split into ``n_folds`` folds, each fold
is scored by an index built and finalized on the other folds only (its own
density constants, the same settings), and ``offset_`` is the
``100 * contamination`` percentile of those scores. A held-out row is scored
exactly as a new sample would be, against a reference set ``(n_folds - 1) /
n_folds`` the size. Folds are deterministic: within each domain label, the
i-th row (in input order) goes to fold ``i % n_folds``, so the few target
references are spread over the folds. This costs ``n_folds`` extra finalizes of
``(n_folds - 1) / n_folds`` of the data (about 3x a single finalize with 5 folds).

``fit_predict(X)`` returns those out-of-fold predictions for the training rows
(about ``contamination`` of them are -1), whereas ``fit(X).predict(X)`` scores
the rows against an index containing them.
"""
import inspect

import numpy as np

from .core import Index, Scorer, Status, _as_rows, _fail

try:  # scikit-learn is optional
    from sklearn.base import BaseEstimator as _Base, OutlierMixin as _Outlier
    _BASES = (_Base, _Outlier)
except ImportError:  # pragma: no cover - exercised in a subprocess by the tests
    _BASES = ()

__all__ = ["Detector"]


class _Params:
    """get_params/set_params as scikit-learn's BaseEstimator defines them, for
    when scikit-learn is not installed."""

    _estimator_type = "outlier_detector"

    @classmethod
    def _get_param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep=True):
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"Invalid parameter {key!r} for estimator {self!r}. "
                                 f"Valid parameters are: {valid!r}.")
            setattr(self, key, value)
        return self

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


class Detector(*(_BASES or (_Params,))):
    """Local-density normalized nearest-neighbour outlier detector.

    Parameters
    ----------
    distance : "cosine" | "euclidean" | "mse"
    density : "knn" | "gwrp" | "none"  (the density estimator of each reference)
    k : int >= 1, the K of "knn" (clipped to n_samples - 1)
    r : float in [0, 1], the decay of "gwrp"
    norm : "ratio" | "difference" | "none"
    contamination : float in (0, 0.5], the expected fraction of outliers; sets ``offset_``
    n_folds : int >= 2, folds of the out-of-fold scores that set ``offset_``

    The defaults are the paper's recommended setting: cosine, k-NN with K = 1, ratio.

    Attributes (after fit)
    ----------------------
    index_ : Index over all training rows; scorer_ : Scorer on it
    offset_ : float, decision_function = score_samples - offset_
    oof_score_samples_ : (n_samples,) out-of-fold score_samples of the training rows
    n_features_in_ : int
    """

    def __init__(self, distance="cosine", density="knn", k=1, r=0.9, norm="ratio",
                 contamination=0.1, n_folds=5):
        self.distance = distance
        self.density = density
        self.k = k
        self.r = r
        self.norm = norm
        self.contamination = contamination
        self.n_folds = n_folds

    # ---- fitting ----------------------------------------------------------
    def _build(self, X, domains):
        ix = Index(X.shape[1], self.distance)
        ix.add(X, domains)
        ix.finalize(self.density, k=self.k, r=self.r)
        return ix, Scorer(ix, self.norm)

    def fit(self, X, y=None, domains=None):
        """Fit on normal training rows X (n_samples, n_features); ``y`` is ignored
        (scikit-learn convention), ``domains`` are per-row labels 0/1/2 (pass by keyword).
        Returns self."""
        X = self._rows(X)
        c = self.contamination
        if isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, float, np.number)) \
                or not 0.0 < c <= 0.5:
            _fail(Status.E_ARG, f"contamination must be in (0, 0.5]; got {c!r}")
        folds = self.n_folds
        if isinstance(folds, (bool, np.bool_)) or not isinstance(folds, (int, np.integer)) \
                or folds < 2:
            _fail(Status.E_ARG, f"n_folds must be an integer >= 2; got {folds!r}")
        n = X.shape[0]
        if n == 0:
            _fail(Status.E_EMPTY, f"Found array with 0 sample(s) (shape={X.shape}) while a "
                                  "minimum of 3 is required.")
        if n < 3:
            _fail(Status.E_TOO_FEW, f"Detector.fit needs at least 3 samples (to set offset_ "
                                    f"from out-of-fold scores); got n_samples={n}")
        dom = None if domains is None else np.asarray(domains)
        index, scorer = self._build(X, dom)  # validates X, domains and every option
        X = _as_rows(X, X.shape[1])  # float32 once, for the folds

        fold = self.fold_ids(n, dom, folds)
        need = 1 if index.estimator[0] == "none" else 2
        oof = np.empty(n, dtype=np.float64)
        for f in range(min(folds, n)):
            held = fold == f
            if (~held).sum() < need:
                _fail(Status.E_TOO_FEW,
                      f"Detector.fit: {n} training rows are too few to set offset_ from "
                      f"{folds}-fold out-of-fold scores (each fold's index needs {need})")
            _, sc = self._build(X[~held], None if dom is None else dom[~held])
            oof[held] = sc.score(X[held])
        self.index_ = index
        self.scorer_ = scorer
        self.oof_score_samples_ = -oof
        self.offset_ = float(np.percentile(self.oof_score_samples_, 100.0 * c))
        self.n_features_in_ = X.shape[1]
        return self

    @staticmethod
    def fold_ids(n, domains, n_folds):
        """The fold of each training row: within each domain label, the i-th row goes
        to fold i % n_folds."""
        fold = np.empty(n, dtype=np.int64)
        labels = np.zeros(n, dtype=np.int64) if domains is None else np.asarray(domains)
        for value in np.unique(labels):
            rows = np.flatnonzero(labels == value)
            fold[rows] = np.arange(rows.size) % n_folds
        return fold

    # ---- scoring ----------------------------------------------------------
    def _rows(self, X):
        """X as an array, with scikit-learn's wording for the common mistakes."""
        if hasattr(X, "toarray") or hasattr(X, "tocsr"):
            _fail(Status.E_ARG, "sparse input is not supported; pass X.toarray()")
        X = np.asarray(X)
        if X.ndim != 2:
            _fail(Status.E_DIM, f"Expected a 2D array (n_samples, n_features), got shape "
                                f"{X.shape}. Reshape your data either using "
                                "array.reshape(-1, 1) if your data has a single feature or "
                                "array.reshape(1, -1) if it contains a single sample.")
        if X.shape[1] == 0:
            _fail(Status.E_ARG, f"Found array with 0 feature(s) (shape={X.shape}) while a "
                                "minimum of 1 is required.")
        return X

    def _check_fitted(self):
        if not hasattr(self, "offset_"):
            try:
                from sklearn.exceptions import NotFittedError
            except ImportError:  # pragma: no cover
                _fail(Status.E_STATE, "this Detector is not fitted yet; call fit first")
            raise NotFittedError("This Detector instance is not fitted yet. Call 'fit' with "
                                 "appropriate arguments before using this estimator.")

    def score_samples(self, X):
        """(n,) float64, higher = more normal: the negated anomaly score. Rows that are
        in the training set score against themselves (distance 0): not leave-one-out."""
        self._check_fitted()
        X = self._rows(X)
        if X.shape[1] != self.n_features_in_:
            _fail(Status.E_DIM, f"X has {X.shape[1]} features, but Detector is expecting "
                                f"{self.n_features_in_} features as input")
        return -self.scorer_.score(X).astype(np.float64)

    def decision_function(self, X):
        """score_samples(X) - offset_: negative for outliers, >= 0 for inliers."""
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for inliers, -1 for outliers (decision_function < 0)."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def fit_predict(self, X, y=None, domains=None):
        """Fit and return the out-of-fold predictions of the training rows (+1 / -1)."""
        self.fit(X, y, domains=domains)
        return np.where(self.oof_score_samples_ < self.offset_, -1, 1)
