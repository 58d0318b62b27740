# SPDX-License-Identifier: MIT
"""The reference index and the scorer: thin, copy-free wrappers of the C handles.

Arrays cross into C without a copy when they already have the C layout: a
float32, C-contiguous, aligned, native-endian ``(n, dim)`` array is passed by
pointer; anything else (float64, Fortran order, a strided view) is converted to
that layout once. Results come back in arrays allocated here and filled by C.

ctypes releases the GIL during every C call, so several threads can score at
once: give each thread its own :class:`Scorer` (a scorer serializes its own
calls with a lock, so sharing one is safe but not parallel). An index may be
shared by any number of scorers; adding to or finalizing it waits until no
thread is scoring against it, and scoring waits until such a change is done.
"""
import contextlib
import ctypes
import enum
import os
import threading
from ctypes import POINTER, byref, c_double, c_float, c_int, c_size_t, c_uint8, c_void_p

import numpy as np

from . import _lib
from ._lib import Error, lib

__all__ = ["Index", "Scorer", "Status", "DISTANCES", "DENSITIES", "NORMS"]


class Status(enum.IntEnum):
    """The C status codes (``asdnorm_status``); ``Error.status`` compares equal to them."""

    OK = 0
    E_NULL = 1
    E_ARG = 2
    E_ENUM = 3
    E_OVERFLOW = 4
    E_NONFINITE = 5
    E_ZERO_VECTOR = 6
    E_LABEL = 7
    E_STATE = 8
    E_TOO_FEW = 9
    E_DIM = 10
    E_NOMEM = 11
    E_IO = 12
    E_CORRUPT = 13
    E_VERSION = 14
    E_RANGE = 15
    E_EMPTY = 16
    E_NO_ANOMALY = 17
    E_NO_NORMAL = 18
    E_DEGENERATE = 19
    E_BUFFER = 20


DISTANCES = {"cosine": 0, "euclidean": 1, "mse": 2}
DENSITIES = {"none": 0, "knn": 1, "gwrp": 2}
NORMS = {"none": 0, "ratio": 1, "difference": 2}
_DISTANCE_NAMES = {v: k for k, v in DISTANCES.items()}
_DENSITY_NAMES = {v: k for k, v in DENSITIES.items()}

_F32P = POINTER(c_float)
_F64P = POINTER(c_double)
_U8P = POINTER(c_uint8)
_SZP = POINTER(c_size_t)
# Statuses that a bad row of the input causes; asdnorm_check_rows() finds the row.
_ROW_STATUSES = (Status.E_NONFINITE, Status.E_ZERO_VECTOR, Status.E_RANGE)
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _fail(status, context):
    """Raise Error for a problem found in Python, with the C status it matches."""
    raise Error(status, lib.asdnorm_strerror(int(status)).decode(), context)


def _enum(value, table, what):
    if isinstance(value, str) and value.lower() in table:
        return table[value.lower()]
    _fail(Status.E_ENUM, f"unknown {what} {value!r}; expected one of "
                         + ", ".join(repr(k) for k in table))


def _as_rows(x, dim, name="x"):
    """x as an (n, dim) float32 C-contiguous aligned array; x itself when it already is one."""
    if isinstance(x, np.ndarray) and x.dtype == np.float32 and x.ndim == 2 \
            and x.flags.c_contiguous and x.flags.aligned and x.dtype.isnative:
        arr = x
    else:
        arr = np.asarray(x)
        if arr.dtype.kind == "O":  # e.g. a list of Python numbers with None
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError) as exc:
                _fail(Status.E_ARG, f"{name} must hold real numbers: {exc}")
        if arr.dtype.kind == "c":
            _fail(Status.E_ARG, f"{name}: Complex data not supported (dtype {arr.dtype})")
        if arr.dtype.kind not in "fiu":
            _fail(Status.E_ARG, f"{name} must hold real numbers, not dtype {arr.dtype}")
    if arr.ndim != 2:
        _fail(Status.E_DIM, f"{name} must be a 2-D array (n, {dim}); got {arr.ndim} "
                            f"dimension(s), shape {arr.shape}")
    if arr.shape[1] != dim:
        _fail(Status.E_DIM, f"{name} has {arr.shape[1]} columns; the index has dim {dim}")
    if arr is not x or arr.dtype != np.float32 or not (arr.flags.c_contiguous
                                                       and arr.flags.aligned):
        # One conversion; values beyond float32 become inf here and are reported
        # by _row_error as out of range rather than as non-finite.
        with np.errstate(over="ignore", invalid="ignore"):
            arr = np.require(arr, dtype=np.float32, requirements=["C", "A"])
    return arr


def _as_domains(domains, n):
    """domains as n uint8 labels (None stays None); values are checked here because a
    conversion to uint8 would wrap 257 to 1."""
    if domains is None:
        return None
    d = np.asarray(domains)
    if d.ndim != 1:
        _fail(Status.E_DIM, f"domains must be 1-D; got shape {d.shape}")
    if d.shape[0] != n:
        _fail(Status.E_DIM, f"domains has {d.shape[0]} labels for {n} rows")
    if d.dtype == np.uint8:
        return np.ascontiguousarray(d)  # the C library checks the values
    if d.dtype.kind not in "iuf":
        _fail(Status.E_LABEL, f"domains must be integers 0, 1 or 2, not dtype {d.dtype}")
    bad = np.flatnonzero(~np.isin(d, (0, 1, 2)))
    if bad.size:
        _fail(Status.E_LABEL, f"domains[{bad[0]}] is {d[bad[0]]!r}; expected 0 (unknown), "
                              "1 (source) or 2 (target)")
    return d.astype(np.uint8)


def _finite_row(orig, row):
    """Whether row `row` of the caller's (pre-conversion) input was all finite."""
    try:
        return bool(np.isfinite(np.asarray(np.asarray(orig)[row], dtype=np.float64)).all())
    except (TypeError, ValueError, OverflowError):
        return False


def _row_error(status, arr, orig, distance, name):
    """Raise the Error of a failed add/score, naming the first offending row."""
    if status in _ROW_STATUSES:
        bad = c_size_t(arr.shape[0])
        lib.asdnorm_check_rows(arr.ctypes.data_as(_F32P), arr.shape[0], arr.shape[1],
                               distance, byref(bad))
        row = bad.value
        if row < arr.shape[0]:
            context = f"row {row} of {name}"
            if status == Status.E_NONFINITE and orig is not arr \
                    and _finite_row(orig, row):
                _fail(Status.E_RANGE, context + f": a value is beyond the float32 range "
                                                f"(|v| > {_FLOAT32_MAX:.4g})")
            _lib.check(status, context)
    _lib.check(status, name)


class _RWLock:
    """Many readers (scorers) or one writer (add, finalize)."""

    def __init__(self):
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False

    @contextlib.contextmanager
    def read(self):
        with self._cond:
            while self._writer:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def write(self):
        with self._cond:
            while self._writer or self._readers:
                self._cond.wait()
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


def _rebuild_index(dim, distance, vectors, domains):
    ix = Index(dim, distance)
    ix.add(vectors, domains)
    return ix


class Index:
    """A set of reference embeddings with one local-density constant each.

    >>> ix = Index(128, distance="cosine")
    >>> ix.add(refs, domains=None)          # (n, 128) float32 or float64
    >>> ix.finalize(density="knn", k=1)

    The C handle is ``self._handle`` (a ``ctypes.c_void_p``). Under cosine the
    references are stored L2-normalized, so :attr:`vectors` returns them so.
    """

    def __init__(self, dim, distance="cosine"):
        self._handle = c_void_p()
        self._lock = _RWLock()
        code = _enum(distance, DISTANCES, "distance")
        if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)) \
                or dim < 1:
            _fail(Status.E_ARG, f"dim must be an integer >= 1; got {dim!r}")
        _lib.check(lib.asdnorm_index_new(int(dim), code, byref(self._handle)), "Index")
        self._dim = int(dim)
        self._distance = code

    @classmethod
    def _from_handle(cls, handle):
        """Wrap a C ``asdnorm_index *`` (a c_void_p or an int) and take ownership of it:
        it is freed with this object. For functions that return new indexes."""
        self = cls.__new__(cls)
        self._handle = handle if isinstance(handle, c_void_p) else c_void_p(handle)
        self._lock = _RWLock()
        if not self._handle.value:
            raise ValueError("Index._from_handle: NULL handle")
        self._dim = int(lib.asdnorm_index_dim(self._handle))
        self._distance = int(lib.asdnorm_index_distance(self._handle))
        return self

    def __del__(self, _free=lib.asdnorm_index_free):
        # _free is bound at definition time, so this works at interpreter shutdown
        # when module globals may already be gone.
        handle = getattr(self, "_handle", None)
        if handle is not None and handle.value:
            self._handle = c_void_p()
            _free(handle)

    # ---- building ---------------------------------------------------------
    def add(self, x, domains=None):
        """Append references: ``x`` (n, dim), ``domains`` n labels 0/1/2 or None (all 0).

        All rows are checked before any is added; on error nothing changes.
        The index becomes un-finalized. Returns self."""
        arr = _as_rows(x, self._dim)
        dom = _as_domains(domains, arr.shape[0])
        dptr = None if dom is None else dom.ctypes.data_as(_U8P)
        with self._lock.write():
            status = lib.asdnorm_index_add(self._handle, arr.ctypes.data_as(_F32P),
                                           arr.shape[0], dptr)
        if status:
            _row_error(status, arr, x, self._distance, "Index.add: x")
        return self

    def finalize(self, density="knn", k=1, r=0.9):
        """Compute the density constants: ``density`` "none" | "knn" (with ``k``, an
        integer >= 1, clipped to M - 1) | "gwrp" (with ``r`` in [0, 1]). Returns self."""
        code = _enum(density, DENSITIES, "density")
        if code == DENSITIES["knn"]:
            param = self._number(k, "k")
        elif code == DENSITIES["gwrp"]:
            param = self._number(r, "r")
        else:
            param = 0.0
        with self._lock.write():
            status = lib.asdnorm_index_finalize(self._handle, code, param)
        what = {1: f", k={k!r}", 2: f", r={r!r}"}.get(code, "")
        _lib.check(status, f"Index.finalize(density={density!r}{what})")
        return self

    @staticmethod
    def _number(value, name):
        if isinstance(value, (bool, np.bool_)):
            _fail(Status.E_ARG, f"{name} must be a number, not {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            _fail(Status.E_ARG, f"{name} must be a number; got {value!r}")
        except OverflowError:
            _fail(Status.E_ARG, f"{name} is too large: {value!r}")

    # ---- queries ----------------------------------------------------------
    def __len__(self):
        return int(lib.asdnorm_index_size(self._handle))

    @property
    def dim(self):
        return self._dim

    @property
    def distance(self):
        """"cosine", "euclidean" or "mse"."""
        return _DISTANCE_NAMES[self._distance]

    @property
    def finalized(self):
        return bool(lib.asdnorm_index_is_finalized(self._handle))

    @property
    def estimator(self):
        """("knn", K after clipping) | ("gwrp", r) | ("none", 0.0), or None before finalize."""
        if not self.finalized:
            return None
        code, param = c_int(), c_double()
        _lib.check(lib.asdnorm_index_get_estimator(self._handle, byref(code), byref(param)),
                   "Index.estimator")
        return _DENSITY_NAMES[code.value], param.value

    @property
    def density(self):
        """(M,) float64: the density constants n_j (Error E_STATE before finalize).
        After finalize("none") the library reports zeros; the scorer then uses n_j = 1
        (ratio) or 0 (difference), as docs/math.md §2.3 says."""
        with self._lock.read():
            m = len(self)
            out = np.empty(m, dtype=np.float64)
            _lib.check(lib.asdnorm_index_get_density(self._handle, out.ctypes.data_as(_F64P), m),
                       "Index.density")
        return out

    @property
    def domains(self):
        """(M,) uint8: the domain labels (0 unknown, 1 source, 2 target)."""
        with self._lock.read():
            m = len(self)
            out = np.empty(m, dtype=np.uint8)
            _lib.check(lib.asdnorm_index_get_domains(self._handle, out.ctypes.data_as(_U8P), m),
                       "Index.domains")
        return out

    @property
    def vectors(self):
        """(M, dim) float32: a copy of the stored references (L2-normalized under cosine)."""
        with self._lock.read():
            m = len(self)
            out = np.empty((m, self._dim), dtype=np.float32)
            if m:
                _lib.check(lib.asdnorm_index_get_vectors(self._handle, 0, m,
                                                         out.ctypes.data_as(_F32P)),
                           "Index.vectors")
        return out

    def __repr__(self):
        est = self.estimator
        state = f"{est[0]}, param={est[1]:g}" if est else "not finalized"
        return (f"<asdnorm.Index dim={self._dim} distance={self.distance!r} "
                f"size={len(self)} {state}>")

    # ---- persistence ------------------------------------------------------
    def save(self, path):
        """Save the finalized index to ``path`` atomically (Error on failure)."""
        with self._lock.read():
            status = lib.asdnorm_index_save(self._handle, os.fsencode(path))
        _lib.check(status, f"Index.save({os.fspath(path)!r})")

    @classmethod
    def load(cls, path):
        """Load an index saved by :meth:`save` (finalized, scores bit-identically)."""
        handle = c_void_p()
        _lib.check(lib.asdnorm_index_load(os.fsencode(path), byref(handle)),
                   f"Index.load({os.fspath(path)!r})")
        return cls._from_handle(handle)

    def to_bytes(self):
        """The bytes :meth:`save` would write."""
        with self._lock.read():
            needed = c_size_t(0)
            status = lib.asdnorm_index_serialize(self._handle, None, 0, byref(needed))
            if status not in (Status.OK, Status.E_BUFFER):
                _lib.check(status, "Index.to_bytes")
            buf = ctypes.create_string_buffer(needed.value)
            _lib.check(lib.asdnorm_index_serialize(self._handle, buf, needed.value,
                                                   byref(needed)), "Index.to_bytes")
        return buf.raw[:needed.value]

    @classmethod
    def from_bytes(cls, data):
        """Load an index from the bytes of a saved file (bytes, bytearray, memoryview, …)."""
        buf = np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
        handle = c_void_p()
        _lib.check(lib.asdnorm_index_load_buffer(buf.ctypes.data_as(c_void_p), buf.nbytes,
                                                 byref(handle)), "Index.from_bytes")
        return cls._from_handle(handle)

    def __reduce__(self):
        # A finalized index pickles as its saved bytes (exact); an un-finalized one
        # as its stored vectors and domains.
        if self.finalized:
            return (Index.from_bytes, (self.to_bytes(),))
        return (_rebuild_index, (self._dim, self.distance, self.vectors, self.domains))

    # ---- 0.2: search and given density constants ---------------------------
    def search(self, x, k, dtype=np.float32):
        """The ``k`` nearest references of each row of ``x`` (n, dim), ascending, ties to
        the lower position: ``(dist, ids)``, (n, k) ``dtype`` and (n, k) int64. The
        distances are exact (docs/math.md §5): rounded to float32, or with
        ``dtype=np.float64`` the doubles finalize sums. The index need not be finalized."""
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            _fail(Status.E_ARG, f"Index.search: dtype must be float32 or float64, not {dtype}")
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1:
            _fail(Status.E_ARG, f"Index.search: k must be an integer >= 1; got {k!r}")
        arr = _as_rows(x, self._dim)
        n = arr.shape[0]
        dist = np.empty((n, int(k)), dtype=dtype)
        ids = np.empty((n, int(k)), dtype=np.uintp)
        fn, ptr = ((lib.asdnorm_index_search, _F32P) if dtype == np.float32
                   else (lib.asdnorm_index_search_double, _F64P))
        with self._lock.read():
            status = fn(self._handle, arr.ctypes.data_as(_F32P), n, int(k),
                        dist.ctypes.data_as(ptr), ids.ctypes.data_as(_SZP))
        if status:
            _row_error(status, arr, x, self._distance, f"Index.search(k={k!r}): x")
        # size_t positions < 2**63: reinterpret in place where the sizes agree.
        return dist, ids.view(np.int64) if ids.dtype.itemsize == 8 else ids.astype(np.int64)

    def set_density(self, values, density="knn", k=1, r=0.9):
        """Finalize with density constants computed elsewhere: ``values`` (M,) float64, as
        :meth:`finalize` with the same ``density``, ``k`` / ``r`` would have computed them
        (finite, >= 0, all 0 for "none"). Returns self."""
        code = _enum(density, DENSITIES, "density")
        param = {1: lambda: self._number(k, "k"), 2: lambda: self._number(r, "r")}.get(
            code, lambda: 0.0)()
        vals = np.ascontiguousarray(values, dtype=np.float64)
        if vals.ndim != 1:
            _fail(Status.E_DIM, f"Index.set_density: values must be 1-D; got shape {vals.shape}")
        with self._lock.write():
            status = lib.asdnorm_index_set_density(self._handle, code, param,
                                                   vals.ctypes.data_as(_F64P), vals.shape[0])
        _lib.check(status, f"Index.set_density({vals.shape[0]} values, density={density!r})")
        return self


class Scorer:
    """Scores test samples against a finalized :class:`Index` (higher = more anomalous).

    >>> sc = Scorer(ix, norm="ratio")        # "ratio" | "difference" | "none"
    >>> s = sc.score(x)                       # (n,) float32
    >>> s, nearest = sc.score(x, return_nearest=True)

    Keeps a reference to the index (``self.index``), so the index outlives it.
    """

    def __init__(self, index, norm="ratio"):
        self._handle = c_void_p()
        self._lock = threading.Lock()
        if index is None:
            _fail(Status.E_NULL, "Scorer: index is None")
        if not isinstance(index, Index):
            _fail(Status.E_ARG, f"Scorer: expected an asdnorm.Index, got {type(index).__name__}")
        code = _enum(norm, NORMS, "norm")
        _lib.check(lib.asdnorm_scorer_new(index._handle, code, byref(self._handle)), "Scorer")
        self.index = index
        self._norm = code

    def __del__(self, _free=lib.asdnorm_scorer_free):
        handle = getattr(self, "_handle", None)
        if handle is not None and handle.value:
            self._handle = c_void_p()
            _free(handle)

    @property
    def norm(self):
        return {v: k for k, v in NORMS.items()}[self._norm]

    def score(self, x, return_nearest=False):
        """Anomaly scores of ``x`` (n, dim): (n,) float32; with ``return_nearest`` also
        the (n,) int64 positions of the reference attaining each minimum."""
        ix = self.index
        arr = _as_rows(x, ix.dim)
        n = arr.shape[0]
        scores = np.empty(n, dtype=np.float32)
        nearest = None
        if return_nearest:
            nearest = np.empty(n, dtype=np.uintp)
        with self._lock, ix._lock.read():
            status = lib.asdnorm_scorer_score(
                self._handle, arr.ctypes.data_as(_F32P), n, scores.ctypes.data_as(_F32P),
                None if nearest is None else nearest.ctypes.data_as(_SZP))
        if status:
            _row_error(status, arr, x, ix._distance, "Scorer.score: x")
        if not return_nearest:
            return scores
        # size_t positions < 2**63: reinterpret in place where the sizes agree.
        if nearest.dtype.itemsize == 8:
            nearest = nearest.view(np.int64)
        else:
            nearest = nearest.astype(np.int64)
        return scores, nearest

    def __repr__(self):
        return f"<asdnorm.Scorer norm={self.norm!r} index={self.index!r}>"

    def __reduce__(self):
        return (Scorer, (self.index, self.norm))
