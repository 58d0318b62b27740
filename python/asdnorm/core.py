# SPDX-License-Identifier: MIT
"""The reference index and the scorer: thin, copy-free wrappers of the C handles.

Arrays cross into C without a copy when they already have the C layout: a float32,
C-contiguous, aligned, native-endian ``(n, dim)`` array is passed by pointer; anything
else (float64, integers, Fortran order, a strided view) is converted to that layout once.
Results come back in arrays allocated here and filled by C.

ctypes releases the GIL during every C call, so several threads can score at once: give
each thread its own :class:`Scorer` (a scorer serializes its own calls with a lock, so
sharing one is safe but not parallel). An index may be shared by any number of scorers;
adding to or finalizing it waits until no thread is scoring against it, and scoring waits
until such a change is done. A scorer holds a reference to its index, so the index lives
at least as long as every scorer built on it.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
from ctypes import byref, c_double, c_int, c_size_t, c_void_p
from typing import Any, Callable, Dict, Iterator, Literal, Optional, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

from ._convert import (F32P, F64P, SZP, U8P, as_count, as_domains, as_enum, as_number,
                       as_rows, as_thread_count, raise_row_error)
from ._lib import (Density, Distance, InvalidTypeError, Norm, PathArg, ProgressFn, Status,
                   check, encode_path, fail, lib)

__all__ = ["Index", "Scorer", "check_rows", "DISTANCES", "DENSITIES", "NORMS"]

#: The names the package accepts for each option, with their C values.
DISTANCES = {d.name.lower(): int(d) for d in Distance}
DENSITIES = {d.name.lower(): int(d) for d in Density}
NORMS = {n.name.lower(): int(n) for n in Norm}


class _RWLock:
    """Many readers (scorers) or one writer (add, finalize)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False

    @contextlib.contextmanager
    def read(self) -> Iterator[None]:
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
    def write(self) -> Iterator[None]:
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


#: What ``progress=`` accepts: a function of the fraction done, in [0, 1].
ProgressArg = Optional[Callable[[float], object]]

#: Below this many multiply-adds (~10 ms) a call on the main thread gets no callback of its
#: own just for Ctrl-C: it ends soon anyway, and a quick call stays quick.
_INTERRUPTIBLE_WORK = 1 << 26


class _Progress:
    """The progress callback of one long C call (``asdnorm_*_set_progress``).

    It calls the caller's ``progress`` with the fraction done (on the calling thread, with
    the GIL: the C library calls back only on the thread that called it), and turns an
    exception into a cancel: the callback returns nonzero, the C call returns
    ``ASDNORM_E_CANCELED`` having changed nothing, and :meth:`raise_error` re-raises the
    exception. On the main thread the callback is installed even without ``progress``
    (when the call has ``work`` enough to take a while), so that Ctrl-C is seen during the
    call: Python runs signal handlers when the callback runs Python code, and SIGINT's handler is wrapped for the call so that what it raises
    (KeyboardInterrupt) is kept and cancels the call instead of escaping from the ctypes
    callback, where ctypes would only print it."""

    def __init__(self, progress: ProgressArg, what: str, work: int) -> None:
        if progress is not None and not callable(progress):
            fail(Status.E_ARG, f"{what}: progress must be callable, not "
                               f"{type(progress).__name__}", kind=InvalidTypeError)
        self._progress = progress
        self._main = threading.current_thread() is threading.main_thread()
        self._handler: Any = None
        self.error: Optional[BaseException] = None
        wanted = progress is not None or (self._main and work >= _INTERRUPTIBLE_WORK)
        self._fn = ProgressFn(self._call) if wanted else None

    def _call(self, fraction: float, user: Optional[int]) -> int:
        if self.error is None and self._progress is not None:
            try:
                self._progress(fraction)
            except BaseException as exc:  # noqa: B036  (re-raised by raise_error)
                self.error = exc
        return 0 if self.error is None else 1

    def _on_sigint(self, signum: int, frame: Any) -> None:
        try:
            self._handler(signum, frame)
        except BaseException as exc:  # noqa: B036  (KeyboardInterrupt: re-raised later)
            if self.error is None:
                self.error = exc

    @contextlib.contextmanager
    def installed(self, setter: Callable[..., int], handle: c_void_p) -> Iterator[None]:
        """Around the C call: the callback set on ``handle`` and SIGINT's handler wrapped,
        both undone after it."""
        if self._fn is None:
            yield
            return
        wrap = self._main and callable(signal.getsignal(signal.SIGINT))
        if wrap:
            self._handler = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._on_sigint)
        try:
            check(setter(handle, self._fn, None))
            try:
                yield
            finally:
                setter(handle, ProgressFn(0), None)  # a NULL pointer: off
        finally:
            if wrap:
                signal.signal(signal.SIGINT, self._handler)

    def raise_error(self) -> None:
        """Raise what the callback or the SIGINT handler raised during the call, if
        anything (the C call then returned ``ASDNORM_E_CANCELED``, or had ended)."""
        if self.error is not None:
            error, self.error = self.error, None
            raise error


class _Owner:
    """Owns one C object, ``self._handle``, freed by the class's ``_free`` when the Python
    object goes. ``_free`` is bound at class definition rather than looked up in the
    module when called: __del__ may run at interpreter shutdown, when module globals may
    already be gone."""

    _free: Callable[[c_void_p], None]
    _handle: c_void_p

    def _refuse_second_init(self, what: str) -> None:
        # A second __init__ would replace the C object under the objects using it.
        if getattr(self, "_handle", None) is not None:
            fail(Status.E_STATE, f"{what}.__init__: the object is already initialized")

    def __del__(self) -> None:
        """Free the C object (once no Python reference to this object is left)."""
        handle = getattr(self, "_handle", None)
        if handle is not None and handle.value:
            self._handle = c_void_p()
            self._free(handle)


def _rebuild_index(dim: int, distance: str, vectors: npt.NDArray[np.float32],
                   domains: npt.NDArray[np.uint8]) -> "Index":
    ix = Index(dim, distance)
    ix.add(vectors, domains)
    return ix


def check_rows(x: npt.ArrayLike, distance: Union[str, Distance] = "cosine") -> Optional[int]:
    """The first row that adding or scoring would refuse, or None when all are valid.

    Parameters
    ----------
    x : array_like, shape (n, dim)
        Rows to check, as :meth:`Index.add` and :meth:`Scorer.score` take them.
    distance : {"cosine", "euclidean", "mse"}
        The distance the rows are meant for (a zero row is refused only under cosine).

    Returns
    -------
    int or None
        The position of the first non-finite, zero (cosine) or too large (euclidean, mse)
        row; None when every row is valid.

    Raises
    ------
    InvalidValueError
        ``x`` is not 2-D or ``distance`` is unknown.
    InvalidTypeError
        ``x`` does not hold real numbers.

    Examples
    --------
    >>> import asdnorm
    >>> asdnorm.check_rows([[1.0, 2.0], [0.0, 0.0], [float("nan"), 1.0]])
    1
    >>> asdnorm.check_rows([[1.0, 2.0], [0.0, 0.0]], distance="euclidean") is None
    True
    """
    code = as_enum(distance, Distance, "distance")
    arr = as_rows(x, None, "x")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        return None
    bad = c_size_t(arr.shape[0])
    status = lib.asdnorm_check_rows(arr.ctypes.data_as(F32P), arr.shape[0], arr.shape[1],
                                    code, byref(bad))
    if status not in (Status.OK, Status.E_NONFINITE, Status.E_ZERO_VECTOR, Status.E_RANGE):
        check(status, "check_rows")
    return None if bad.value >= arr.shape[0] else int(bad.value)


def _estimator(density: Union[str, Density], k: Any, r: Any) -> Tuple[Density, float]:
    """The C estimator and its parameter: K for "knn", r for "gwrp", 0 for "none"."""
    code = as_enum(density, Density, "density")
    if code == Density.KNN:
        return code, as_number(k, "k")
    if code == Density.GWRP:
        return code, as_number(r, "r")
    return code, 0.0


class Index(_Owner):
    """A set of reference embeddings with one local-density constant each.

    Lifecycle: create, :meth:`add` rows (any number of times), :meth:`finalize`, then
    score through a :class:`Scorer`. A finalized index stays finalized through
    :meth:`add` and :meth:`remove`, its densities updated exactly (docs/math.md §2.6),
    unless they were given with :meth:`set_density` (or read from a version-1 file):
    then it becomes un-finalized. Under cosine the references are stored
    L2-normalized, so :attr:`vectors` returns them so.

    Parameters
    ----------
    dim : int
        The embedding dimension, >= 1.
    distance : {"cosine", "euclidean", "mse"}
        The distance between a test sample and a reference (docs/math.md §2.1).

    Raises
    ------
    InvalidValueError
        ``dim`` < 1 or ``distance`` unknown.
    InvalidTypeError
        ``dim`` is not an integer.
    OutOfMemoryError
        The index could not be allocated.

    Examples
    --------
    >>> import numpy as np, asdnorm
    >>> refs = np.array([[0, 0], [0, 1], [5, 5], [5, 7]], dtype=np.float32)
    >>> ix = asdnorm.Index(2, distance="euclidean").add(refs).finalize("knn", k=1)
    >>> ix
    <asdnorm.Index dim=2 distance='euclidean' size=4 knn, param=1>
    >>> ix.density.tolist()
    [1.0, 1.0, 2.0, 2.0]
    """

    _free = lib.asdnorm_index_free

    def __init__(self, dim: int, distance: Union[str, Distance] = "cosine") -> None:
        self._refuse_second_init("Index")
        code = as_enum(distance, Distance, "distance")
        dim = as_count(dim, "dim", 1)
        handle = c_void_p()
        check(lib.asdnorm_index_new(dim, code, byref(handle)), "Index")
        self._handle = handle
        self._lock = _RWLock()
        self._dim = dim
        self._distance = code

    @classmethod
    def _from_handle(cls, handle: c_void_p) -> "Index":
        """Wrap a C ``asdnorm_index *`` and take ownership of it: it is freed with this
        object. For the functions that return new indexes."""
        if not handle.value:
            fail(Status.E_NULL, "Index._from_handle: NULL handle")
        self = cls.__new__(cls)
        self._handle = handle
        self._lock = _RWLock()
        self._dim = int(lib.asdnorm_index_dim(handle))
        self._distance = Distance(lib.asdnorm_index_distance(handle))
        return self

    # ---- building ---------------------------------------------------------
    def add(self, x: npt.ArrayLike, domains: Optional[npt.ArrayLike] = None, *,
            progress: ProgressArg = None) -> "Index":
        """Append references.

        All rows are checked before any is added: on error nothing changes. A
        finalized index stays finalized, with the density constants a finalize of all
        its rows would compute (bitwise; O(n · M · D) work, docs/math.md §2.6); one
        whose densities were given (:meth:`set_density`, a version-1 file) becomes
        un-finalized.

        Parameters
        ----------
        x : array_like, shape (n, dim)
            The references (float32 is passed without a copy; other real dtypes are
            converted to float32 once). Under cosine they are stored L2-normalized.
        domains : array_like of int, shape (n,), optional
            0 (unknown), 1 (source) or 2 (target) per row; None labels all 0.
        progress : callable, optional
            Called with the fraction of the work done (as for :meth:`finalize`) when the
            library reports it: adding to a finalized index does.

        Returns
        -------
        Index
            self, so that calls chain.

        Raises
        ------
        InvalidValueError
            A shape mismatch, a label outside 0/1/2, or a bad row (non-finite, zero
            under cosine, beyond 1e12 in norm under euclidean/mse); the message names it.
        InvalidTypeError
            ``x`` or ``domains`` does not hold numbers.
        OutOfMemoryError
            The references could not be stored.

        Examples
        --------
        >>> import asdnorm
        >>> ix = asdnorm.Index(2).add([[3.0, 4.0]], domains=[1])
        >>> ix.vectors.tolist(), ix.domains.tolist()
        ([[0.6000000238418579, 0.800000011920929]], [1])
        """
        arr = as_rows(x, self._dim)
        dom = as_domains(domains, arr.shape[0])
        dptr = None if dom is None else dom.ctypes.data_as(U8P)
        # Adding to a finalized index updates the densities: ~n · M · dim.
        work = arr.shape[0] * len(self) * self._dim if self.finalized else 0
        prog = _Progress(progress, "Index.add", work)
        with self._lock.write(), prog.installed(lib.asdnorm_index_set_progress, self._handle):
            status = lib.asdnorm_index_add(self._handle, arr.ctypes.data_as(F32P),
                                           arr.shape[0], dptr)
        prog.raise_error()
        if status:
            raise_row_error(status, arr, x, self._distance, "Index.add: x")
        return self

    def remove(self, positions: npt.ArrayLike) -> "Index":
        """Remove the references at ``positions``; the others keep their order.

        A finalized index stays finalized, with the density constants a finalize of
        the remaining references would compute (references that lost a neighbour are
        searched again, docs/math.md §2.6); one whose densities were given becomes
        un-finalized. On error nothing changes.

        Parameters
        ----------
        positions : array_like of int
            Distinct positions in ``[0, len(self))``, in any order.

        Returns
        -------
        Index
            self, so that calls chain.

        Raises
        ------
        InvalidValueError
            A negative, out-of-range or repeated position, or a finalized index that
            would keep fewer than 2 references (1 under density "none").
        InvalidTypeError
            ``positions`` does not hold integers.
        OutOfMemoryError
            The update could not be allocated.

        Examples
        --------
        >>> import asdnorm
        >>> ix = asdnorm.Index(1, "euclidean").add([[0.0], [1.0], [3.0], [7.0]])
        >>> ix.finalize("knn", k=1).remove([1]).density.tolist()
        [3.0, 3.0, 4.0]
        """
        pos = np.asarray(positions)
        if pos.size and not (np.issubdtype(pos.dtype, np.integer) and pos.dtype != np.bool_):
            fail(Status.E_ARG, f"Index.remove: positions must be integers; got dtype {pos.dtype}",
                 kind=InvalidTypeError)
        pos = pos.reshape(-1)
        if pos.size and pos.min() < 0:
            fail(Status.E_ARG, f"Index.remove: negative position {int(pos.min())}")
        arr = np.ascontiguousarray(pos, dtype=np.uintp)
        with self._lock.write():
            status = lib.asdnorm_index_remove(self._handle, arr.ctypes.data_as(SZP), arr.size)
        if status == Status.E_ARG:
            fail(status, f"Index.remove: positions must be distinct and below {len(self)}")
        check(status, "Index.remove")
        return self

    def finalize(self, density: Union[str, Density] = "knn", k: int = 1,
                 r: float = 0.9, *, progress: ProgressArg = None) -> "Index":
        """Compute the density constant of every reference (docs/math.md §2.2).

        Finalizing again with another estimator recomputes them.

        Parameters
        ----------
        density : {"knn", "gwrp", "none"}
            "knn": the mean distance to the ``k`` nearest other references; "gwrp": the
            rank-weighted mean of the distances to all others, weights ``r**(i-1)``;
            "none": plain nearest-neighbour distances.
        k : int
            K of "knn", >= 1, clipped to M - 1.
        r : float
            The decay of "gwrp", in [0, 1].
        progress : callable, optional
            Called as ``progress(fraction)`` with the fraction of the work done: 0 first,
            never decreasing, 1 last, at least 20 ms apart (docs/python.md). Whatever it
            raises cancels the finalize, which changes nothing, and is raised here. Its
            return value is ignored.

        Returns
        -------
        Index
            self.

        Raises
        ------
        InvalidValueError
            An unknown estimator, ``k`` < 1, ``r`` outside [0, 1], or too few references
            (none; fewer than 2 for knn and gwrp).
        InvalidTypeError
            ``k`` or ``r`` is not a number, or ``progress`` is not callable.
        KeyboardInterrupt
            Ctrl-C during the call (on the main thread): the index is unchanged.

        Examples
        --------
        >>> import asdnorm
        >>> ix = asdnorm.Index(1, "euclidean").add([[0.0], [1.0], [3.0]])
        >>> ix.finalize("knn", k=2).density.tolist()
        [2.0, 1.5, 2.5]
        """
        code, param = _estimator(density, k, r)
        prog = _Progress(progress, "Index.finalize", len(self) ** 2 * self._dim)
        with self._lock.write(), prog.installed(lib.asdnorm_index_set_progress, self._handle):
            status = lib.asdnorm_index_finalize(self._handle, code, param)
        prog.raise_error()
        what = {Density.KNN: f", k={k!r}", Density.GWRP: f", r={r!r}"}.get(code, "")
        check(status, f"Index.finalize(density={density!r}{what})")
        return self

    def set_density(self, values: npt.ArrayLike, density: Union[str, Density] = "knn",
                    k: int = 1, r: float = 0.9) -> "Index":
        """Finalize with density constants computed elsewhere
        (``asdnorm_index_set_density``): what :meth:`finalize` with the same estimator
        would have computed, for example by :mod:`asdnorm.dask` from the shards of a bank.

        Parameters
        ----------
        values : array_like of float64, shape (M,)
            One density constant per reference: finite, >= 0, all 0 for "none".
        density : {"knn", "gwrp", "none"}
            The estimator they come from (what :attr:`estimator` then reports).
        k : int
            K of "knn", >= 1, clipped to M - 1.
        r : float
            The decay of "gwrp", in [0, 1].

        Returns
        -------
        Index
            self, finalized; it scores, saves and loads as a finalized index with these
            constants does.

        Raises
        ------
        InvalidValueError
            ``values`` has not M entries, holds a negative, non-finite or (for "none")
            non-zero value, or the estimator or its parameter is invalid.
        InvalidTypeError
            ``k`` or ``r`` is not a number.

        Examples
        --------
        >>> import asdnorm
        >>> ix = asdnorm.Index(1, "euclidean").add([[0.0], [1.0], [3.0]])
        >>> ix.set_density([2.0, 1.5, 2.5], "knn", k=2).estimator
        ('knn', 2.0)
        """
        code, param = _estimator(density, k, r)
        vals = np.ascontiguousarray(values, dtype=np.float64)
        if vals.ndim != 1:
            fail(Status.E_DIM, f"Index.set_density: values must be 1-D; got shape {vals.shape}")
        with self._lock.write():
            status = lib.asdnorm_index_set_density(self._handle, code, param,
                                                   vals.ctypes.data_as(F64P), vals.shape[0])
        check(status, f"Index.set_density({vals.shape[0]} values, density={density!r})")
        return self

    def set_threads(self, threads: int) -> "Index":
        """How many threads :meth:`add` and :meth:`finalize` may use.

        Parameters
        ----------
        threads : int
            0 (the default): OpenMP's default (OMP_NUM_THREADS, or the number of cores);
            1: on the calling thread, starting no thread. Results do not depend on it.

        Returns
        -------
        Index
            self.

        Raises
        ------
        InvalidValueError
            ``threads`` is negative or above the library's maximum (1024).
        InvalidTypeError
            ``threads`` is not an integer.

        Examples
        --------
        >>> import asdnorm
        >>> asdnorm.Index(2).set_threads(1).add([[1.0, 0.0], [0.0, 1.0]]).finalize().density
        array([0.5, 0.5])
        """
        count = as_thread_count(threads, "Index.set_threads")
        with self._lock.write():
            check(lib.asdnorm_index_set_threads(self._handle, count),
                  f"Index.set_threads({threads!r})")
        return self

    # ---- queries ----------------------------------------------------------
    def clone(self) -> "Index":
        """A deep copy: the references, domains, distance, thread count and, when
        finalized, the estimator and densities (it scores bitwise like this index).

        Reading only, it may run while other threads score with this index: the way to
        update an index in use is to clone it, change the clone, and hand the clone to the
        scoring code (docs/embedding.md, "Live updates"). ``copy.copy`` and
        ``copy.deepcopy`` call it.

        Returns
        -------
        Index
            The copy, owning its own C index.

        Examples
        --------
        >>> import asdnorm
        >>> ix = asdnorm.Index(2, "euclidean").add([[0, 0], [3, 4]]).finalize()
        >>> new = ix.clone().add([[6, 8]])
        >>> len(ix), len(new), ix.finalized
        (2, 3, True)
        """
        handle = c_void_p()
        with self._lock.read():
            check(lib.asdnorm_index_clone(self._handle, byref(handle)), "Index.clone")
        return Index._from_handle(handle)

    def __copy__(self) -> "Index":
        return self.clone()

    def __deepcopy__(self, memo: Dict[int, Any]) -> "Index":
        return self.clone()

    def __len__(self) -> int:
        """The number of references M."""
        return int(lib.asdnorm_index_size(self._handle))

    @property
    def dim(self) -> int:
        """The embedding dimension."""
        return self._dim

    @property
    def distance(self) -> str:
        """The distance: "cosine", "euclidean" or "mse"."""
        return self._distance.name.lower()

    @property
    def finalized(self) -> bool:
        """Whether the index is finalized (can be scored against)."""
        return bool(lib.asdnorm_index_is_finalized(self._handle))

    @property
    def estimator(self) -> Optional[Tuple[str, float]]:
        """("knn", K after clipping), ("gwrp", r) or ("none", 0.0); None before finalize."""
        if not self.finalized:
            return None
        code, param = c_int(), c_double()
        check(lib.asdnorm_index_get_estimator(self._handle, byref(code), byref(param)),
              "Index.estimator")
        return Density(code.value).name.lower(), param.value

    @property
    def floor(self) -> float:
        """The ratio normalization's density floor φ = ε · S (docs/math.md §2.3): of the
        index's own references, or as :meth:`set_floor` gave it. Raises InvalidValueError
        before finalize."""
        phi = c_double()
        with self._lock.read():
            check(lib.asdnorm_index_get_floor(self._handle, byref(phi)), "Index.floor")
        return phi.value

    def set_floor(self, phi: float) -> "Index":
        """Give the finalized index the ratio floor φ of a larger reference set it is a part
        of (``asdnorm_index_set_floor``; :mod:`asdnorm.dask` gives each shard the bank's).
        Not saved: finalize, set_density and load derive φ again.

        Parameters
        ----------
        phi : float
            The floor the ratio normalization divides by where n_j is below it.

        Returns
        -------
        Index
            self.

        Raises
        ------
        InvalidValueError
            The index is not finalized, or ``phi`` is not finite and > 0."""
        value = as_number(phi, "phi")
        with self._lock.write():
            status = lib.asdnorm_index_set_floor(self._handle, value)
        check(status, f"Index.set_floor({phi!r})")
        return self

    @property
    def density(self) -> npt.NDArray[np.float64]:
        """The density constants n_j, shape (M,), float64.

        After finalize("none") they are all 0 (the scorer then uses n_j = 1 for ratio, 0
        for difference, docs/math.md §2.3). Raises InvalidValueError before finalize."""
        with self._lock.read():
            m = len(self)
            out = np.empty(m, dtype=np.float64)
            check(lib.asdnorm_index_get_density(self._handle, out.ctypes.data_as(F64P), m),
                  "Index.density")
        return out

    @property
    def domains(self) -> npt.NDArray[np.uint8]:
        """The domain labels, shape (M,), uint8: 0 unknown, 1 source, 2 target."""
        with self._lock.read():
            m = len(self)
            out = np.empty(m, dtype=np.uint8)
            check(lib.asdnorm_index_get_domains(self._handle, out.ctypes.data_as(U8P), m),
                  "Index.domains")
        return out

    @property
    def vectors(self) -> npt.NDArray[np.float32]:
        """A copy of the stored references, shape (M, dim), float32 (L2-normalized under
        cosine, except the raw centroids of :func:`asdnorm.baselines.source_means_index`)."""
        return self.get_vectors()

    def get_vectors(self, first: int = 0, count: Optional[int] = None
                    ) -> npt.NDArray[np.float32]:
        """A copy of some stored references, without copying the others.

        Parameters
        ----------
        first : int
            The position of the first reference.
        count : int, optional
            How many; None: all from ``first`` to the end.

        Returns
        -------
        ndarray of float32, shape (count, dim)
            As :attr:`vectors` returns them.

        Raises
        ------
        InvalidValueError
            The range is outside the index.
        InvalidTypeError
            ``first`` or ``count`` is not an integer.

        Examples
        --------
        >>> import asdnorm
        >>> ix = asdnorm.Index(1, "mse").add([[0.0], [1.0], [2.0], [3.0]])
        >>> ix.get_vectors(1, 2).tolist()
        [[1.0], [2.0]]
        """
        first = as_count(first, "first", 0)
        with self._lock.read():
            m = len(self)
            count = max(m - first, 0) if count is None else as_count(count, "count", 0)
            if first + count > m or first > m:
                fail(Status.E_ARG, f"Index.get_vectors: references {first} to "
                                   f"{first + count - 1} are outside the index of {m}")
            out = np.empty((count, self._dim), dtype=np.float32)
            if count:
                check(lib.asdnorm_index_get_vectors(self._handle, first, count,
                                                    out.ctypes.data_as(F32P)),
                      f"Index.get_vectors({first}, {count}) of {m}")
        return out

    def search(self, x: npt.ArrayLike, k: int = 1, dtype: npt.DTypeLike = np.float32
               ) -> Tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
        """The ``k`` nearest references of each query: exact k-NN search
        (``asdnorm_index_search``, ``asdnorm_index_search_double``).

        The distances are the exact ones the scorer uses (docs/math.md §2.1, §5), rounded
        to float32, or with ``dtype=np.float64`` the doubles finalize sums; the index need
        not be finalized.

        Parameters
        ----------
        x : array_like, shape (n, dim)
            The queries; n = 0 gives empty results.
        k : int
            Neighbours per query, 1 <= k <= M.
        dtype : {numpy.float32, numpy.float64}
            The type of the distances returned.

        Returns
        -------
        distances : ndarray of ``dtype``, shape (n, k)
            Ascending in each row.
        positions : ndarray of int64, shape (n, k)
            The references' positions; equal distances in order of position.

        Raises
        ------
        InvalidValueError
            ``k`` outside 1 … M, an empty index, a shape mismatch, or a bad row
            (non-finite, zero under cosine, too large under euclidean/mse); the message
            names the row.
        InvalidTypeError
            ``x`` does not hold real numbers, ``k`` is not an integer, or ``dtype`` is
            neither float32 nor float64.

        Examples
        --------
        >>> import asdnorm
        >>> ix = asdnorm.Index(1, "euclidean").add([[0.0], [1.0], [3.0], [1.0]])
        >>> d, j = ix.search([[1.2]], k=3)
        >>> d.round(3).tolist(), j.tolist()
        ([[0.2, 0.2, 1.2]], [[1, 3, 0]])
        """
        k = as_count(k, "k", 1)
        want = np.dtype(dtype)
        if want not in (np.float32, np.float64):
            fail(Status.E_ARG, f"Index.search: dtype must be float32 or float64, not {want}",
                 kind=InvalidTypeError)
        arr = as_rows(x, self._dim)
        n = arr.shape[0]
        with self._lock.read():
            m = len(self)
            if m and k > m:
                fail(Status.E_ARG, f"Index.search: k = {k} is more than the {m} references")
            dist = np.empty((n, k), dtype=want)
            ids = np.empty((n, k), dtype=np.uintp)
            if want == np.float32:
                status = lib.asdnorm_index_search(self._handle, arr.ctypes.data_as(F32P), n, k,
                                                  dist.ctypes.data_as(F32P),
                                                  ids.ctypes.data_as(SZP))
            else:
                status = lib.asdnorm_index_search_double(self._handle,
                                                         arr.ctypes.data_as(F32P), n, k,
                                                         dist.ctypes.data_as(F64P),
                                                         ids.ctypes.data_as(SZP))
        if status:
            raise_row_error(status, arr, x, self._distance, f"Index.search(k={k}): x")
        return dist, ids.astype(np.int64)

    def neighbours(self, k: int = 1, split: int = 0
                   ) -> Tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """The ``k`` nearest other references of every reference, the lists finalize sums
        (``asdnorm_index_neighbours``): exact double distances, ties to the lower position,
        each pair computed once. With ``split`` in 1 … M − 1 the references are two parts,
        ``[0, split)`` and ``[split, M)``, and each one's neighbours are searched in the
        other part only (parts of a reference set split between machines, docs/scaling.md).

        Parameters
        ----------
        k : int
            Neighbours per reference: 1 … M − 1, or with ``split`` at most each part's size.
        split : int
            0, or the first position of the second part.

        Returns
        -------
        distances : ndarray of float64, shape (M, k)
            Ascending in each row.
        positions : ndarray of int64, shape (M, k)

        Raises
        ------
        InvalidValueError
            Fewer than 2 references, ``split`` ≥ M or ``k`` out of range.

        Examples
        --------
        >>> import asdnorm
        >>> ix = asdnorm.Index(1, "euclidean").add([[0.0], [1.0], [3.0], [7.0]])
        >>> ix.neighbours(1)[1].ravel().tolist(), ix.neighbours(1, split=2)[1].ravel().tolist()
        ([1, 0, 1, 2], [2, 2, 1, 1])
        """
        k = as_count(k, "k", 1)
        split = as_count(split, "split", 0)
        with self._lock.read():
            m = len(self)
            dist = np.empty((m, k), dtype=np.float64)
            ids = np.empty((m, k), dtype=np.uintp)
            status = lib.asdnorm_index_neighbours(self._handle, split, k,
                                                  dist.ctypes.data_as(F64P),
                                                  ids.ctypes.data_as(SZP))
        check(status, f"Index.neighbours(k={k}, split={split}) of {m} references")
        return dist, ids.astype(np.int64)

    def __repr__(self) -> str:
        est = self.estimator
        state = f"{est[0]}, param={est[1]:g}" if est else "not finalized"
        return (f"<asdnorm.Index dim={self._dim} distance={self.distance!r} "
                f"size={len(self)} {state}>")

    # ---- persistence ------------------------------------------------------
    def save(self, path: PathArg) -> None:
        """Save the finalized index to a file, atomically.

        The file is written beside ``path`` under a temporary name, flushed and renamed
        over ``path``, so a crash leaves any old file intact (docs/file-format.md).

        Parameters
        ----------
        path : str, bytes or os.PathLike
            The file name.

        Raises
        ------
        FileError
            The file could not be written (an OSError; :class:`FileMissingError` for a
            missing directory, :class:`FileAccessError` for a permission problem), with
            the operating system's ``errno``, ``strerror`` and ``filename``.
        InvalidValueError
            The index is not finalized, or ``path`` contains a NUL character (nothing is
            written).
        InvalidTypeError
            ``path`` is not a path.

        Examples
        --------
        >>> import os, tempfile, asdnorm
        >>> ix = asdnorm.Index(1, "mse").add([[0.0], [1.0]]).finalize()
        >>> with tempfile.TemporaryDirectory() as d:
        ...     ix.save(os.path.join(d, "refs.asdx"))
        ...     asdnorm.Index.load(os.path.join(d, "refs.asdx")).density.tolist()
        [1.0, 1.0]
        """
        name = encode_path(path, "Index.save")
        with self._lock.read():
            ctypes.set_errno(0)
            status = lib.asdnorm_index_save(self._handle, name)
        check(status, f"Index.save({os.fspath(path)!r})", filename=os.fspath(path))

    @classmethod
    def load(cls, path: PathArg) -> "Index":
        """Load an index saved by :meth:`save`.

        Every field, size and the checksum are checked before anything is trusted.

        Parameters
        ----------
        path : str, bytes or os.PathLike
            The file name.

        Returns
        -------
        Index
            A finalized index that scores bit-identically to the one saved.

        Raises
        ------
        FileError
            The file could not be read (:class:`FileMissingError`: it does not exist),
            with the operating system's ``errno``, ``strerror`` and ``filename``.
        InvalidValueError
            The file is malformed, truncated, fails its checksum or has a format version
            this library cannot read; or ``path`` contains a NUL character.
        InvalidTypeError
            ``path`` is not a path.

        Examples
        --------
        >>> import asdnorm
        >>> try:
        ...     asdnorm.Index.load("no-such-file.asdx")
        ... except FileNotFoundError as e:
        ...     print(e.errno == 2, e.filename)
        True no-such-file.asdx
        """
        name = encode_path(path, "Index.load")
        handle = c_void_p()
        ctypes.set_errno(0)
        status = lib.asdnorm_index_load(name, byref(handle))
        check(status, f"Index.load({os.fspath(path)!r})", filename=os.fspath(path))
        return cls._from_handle(handle)

    def to_bytes(self) -> bytes:
        """The bytes :meth:`save` would write.

        Returns
        -------
        bytes
            The saved file's contents (docs/file-format.md).

        Raises
        ------
        InvalidValueError
            The index is not finalized.

        Examples
        --------
        >>> import asdnorm
        >>> ix = asdnorm.Index(1, "mse").add([[0.0], [1.0]]).finalize()
        >>> asdnorm.Index.from_bytes(ix.to_bytes()).density.tolist()
        [1.0, 1.0]
        """
        with self._lock.read():
            needed = c_size_t(0)
            status = lib.asdnorm_index_serialize(self._handle, None, 0, byref(needed))
            if status not in (Status.OK, Status.E_BUFFER):
                check(status, "Index.to_bytes")
            buf = ctypes.create_string_buffer(needed.value)
            check(lib.asdnorm_index_serialize(self._handle, buf, needed.value,
                                              byref(needed)), "Index.to_bytes")
        return buf.raw[:needed.value]

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview]) -> "Index":
        """Load an index from the bytes of a saved file.

        Parameters
        ----------
        data : bytes-like
            What :meth:`to_bytes` returned or :meth:`save` wrote (not retained).

        Returns
        -------
        Index
            A finalized index.

        Raises
        ------
        InvalidValueError
            The bytes are malformed, truncated, fail the checksum or have an unknown
            format version.
        InvalidTypeError
            ``data`` is not bytes-like.
        """
        try:
            view = memoryview(data).cast("B")
        except TypeError as exc:
            fail(Status.E_ARG, f"Index.from_bytes: {exc}", kind=InvalidTypeError)
        buf = np.frombuffer(view, dtype=np.uint8)
        handle = c_void_p()
        check(lib.asdnorm_index_load_buffer(buf.ctypes.data_as(c_void_p), buf.nbytes,
                                            byref(handle)), "Index.from_bytes")
        return cls._from_handle(handle)

    def __reduce__(self) -> Tuple[Any, ...]:
        # A finalized index pickles as its saved bytes (exact); an un-finalized one
        # as its stored vectors and domains.
        if self.finalized:
            return (Index.from_bytes, (self.to_bytes(),))
        vectors = self.vectors
        if self._distance == Distance.COSINE and vectors.size and \
                np.abs(np.linalg.norm(vectors, axis=1) - 1.0).max() > 1e-5:
            # Raw centroids (source_means_index): adding them again would normalize them.
            fail(Status.E_STATE, "pickling an un-finalized cosine index that holds raw "
                                 "centroids would normalize them; finalize it first (a "
                                 "finalized index pickles exactly)")
        return (_rebuild_index, (self._dim, self.distance, vectors, self.domains))


class Scorer(_Owner):
    """Scores test samples against a finalized :class:`Index` (higher = more anomalous).

    The scorer owns scratch memory allocated once, so scoring allocates nothing in C.
    It keeps its index alive: :attr:`index` is read-only and the index is freed only
    after every scorer on it.

    Parameters
    ----------
    index : Index
        The references (need not be finalized yet; it must be when scoring).
    norm : {"ratio", "difference", "none"}
        How a distance is normalized by the reference's density (docs/math.md §2.3).

    Raises
    ------
    InvalidTypeError
        ``index`` is not an :class:`Index`.
    InvalidValueError
        ``norm`` is unknown.
    OutOfMemoryError
        The scratch memory could not be allocated.

    Examples
    --------
    >>> import asdnorm
    >>> ix = asdnorm.Index(1, "euclidean").add([[0.0], [1.0], [10.0], [12.0]]).finalize()
    >>> sc = asdnorm.Scorer(ix, norm="ratio")
    >>> sc.score([[0.5], [11.0]]).tolist()
    [0.5, 0.5]
    >>> scores, nearest = sc.score([[3.0]], return_nearest=True)
    >>> scores.tolist(), nearest.tolist()
    ([2.0], [1])
    """

    _free = lib.asdnorm_scorer_free

    def __init__(self, index: Index, norm: Union[str, Norm] = "ratio") -> None:
        self._refuse_second_init("Scorer")
        if not isinstance(index, Index):
            fail(Status.E_NULL if index is None else Status.E_ARG,
                 f"Scorer: expected an asdnorm.Index, got {type(index).__name__}",
                 kind=InvalidTypeError)
        code = as_enum(norm, Norm, "norm")
        handle = c_void_p()
        check(lib.asdnorm_scorer_new(index._handle, code, byref(handle)), "Scorer")
        self._handle = handle
        self._lock = threading.Lock()
        self._index = index
        self._norm = code

    @property
    def index(self) -> Index:
        """The index this scorer scores against (read-only: the C scorer is bound to it)."""
        return self._index

    @property
    def norm(self) -> str:
        """The normalization: "ratio", "difference" or "none"."""
        return self._norm.name.lower()

    def set_threads(self, threads: int) -> "Scorer":
        """How many threads :meth:`score` may use for a batch.

        The scorer keeps one workspace per thread it may use; a program that scores on
        its own threads gives each thread its own scorer with 1 thread.

        Parameters
        ----------
        threads : int
            0 (the default): OpenMP's default; 1: on the calling thread, starting no
            thread. Results do not depend on it.

        Returns
        -------
        Scorer
            self.

        Raises
        ------
        InvalidValueError
            ``threads`` is negative or above the library's maximum (1024).
        InvalidTypeError
            ``threads`` is not an integer.
        OutOfMemoryError
            The workspaces could not be allocated (nothing changes).
        """
        count = as_thread_count(threads, "Scorer.set_threads")
        with self._lock:
            check(lib.asdnorm_scorer_set_threads(self._handle, count),
                  f"Scorer.set_threads({threads!r})")
        return self

    @overload
    def score(self, x: npt.ArrayLike, return_nearest: Literal[False] = ..., *,
              progress: ProgressArg = ...) -> npt.NDArray[np.float32]: ...

    @overload
    def score(self, x: npt.ArrayLike, return_nearest: Literal[True], *,
              progress: ProgressArg = ...
              ) -> Tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]: ...

    def score(self, x: npt.ArrayLike, return_nearest: bool = False, *,
              progress: ProgressArg = None) -> Union[npt.NDArray[np.float32],
                         Tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]]:
        """Anomaly scores of test samples (docs/math.md §2.3).

        Parameters
        ----------
        x : array_like, shape (n, dim)
            The test samples; n = 0 gives an empty result.
        return_nearest : bool
            Also return the position of the reference attaining each minimum (the lowest
            such position when several attain it exactly).
        progress : callable, optional
            Called as ``progress(fraction)``, as for :meth:`Index.finalize`; whatever it
            raises cancels the scoring and is raised here.

        Returns
        -------
        scores : ndarray of float32, shape (n,)
            Higher = more anomalous.
        nearest : ndarray of int64, shape (n,)
            Only with ``return_nearest``.

        Raises
        ------
        InvalidValueError
            The index is not finalized, a shape mismatch, or a bad row (non-finite, zero
            under cosine, too large under euclidean/mse); the message names the row.
        InvalidTypeError
            ``x`` does not hold real numbers, or ``progress`` is not callable.
        KeyboardInterrupt
            Ctrl-C during the call (on the main thread).
        """
        ix = self._index
        arr = as_rows(x, ix.dim)
        n = arr.shape[0]
        scores = np.empty(n, dtype=np.float32)
        nearest = np.empty(n, dtype=np.uintp) if return_nearest else None
        prog = _Progress(progress, "Scorer.score", n * len(ix) * ix.dim)
        with self._lock, ix._lock.read(), \
                prog.installed(lib.asdnorm_scorer_set_progress, self._handle):
            status = lib.asdnorm_scorer_score(
                self._handle, arr.ctypes.data_as(F32P), n, scores.ctypes.data_as(F32P),
                None if nearest is None else nearest.ctypes.data_as(SZP))
        prog.raise_error()
        if status:
            raise_row_error(status, arr, x, ix._distance, "Scorer.score: x")
        if nearest is None:
            return scores
        # size_t positions < 2**63: reinterpret in place where the sizes agree.
        if nearest.dtype.itemsize == 8:
            return scores, nearest.view(np.int64)
        return scores, nearest.astype(np.int64)

    @overload
    def self_scores(self, return_nearest: Literal[False] = ...) -> npt.NDArray[np.float32]: ...

    @overload
    def self_scores(self, return_nearest: Literal[True]
                    ) -> Tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]: ...

    def self_scores(self, return_nearest: bool = False
                    ) -> Union[npt.NDArray[np.float32],
                               Tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]]:
        """Leave-one-out scores of the references (docs/math.md §2.5).

        Reference i is scored against all the other references, each with the density
        constant it would have on the index without reference i: the score a new normal
        sample gets. Their distribution calibrates a decision threshold
        (:meth:`threshold`). Costs about a finalize plus scoring the M references.

        Parameters
        ----------
        return_nearest : bool
            Also return the position of the reference attaining each minimum (never i
            itself; the lowest such position when several attain it exactly).

        Returns
        -------
        scores : ndarray of float32, shape (M,)
            One per reference, in the index's order.
        nearest : ndarray of int64, shape (M,)
            Only with ``return_nearest``.

        Raises
        ------
        InvalidValueError
            The index is not finalized, or has too few references (3 under knn and gwrp,
            2 without a density).

        Examples
        --------
        >>> import asdnorm
        >>> ix = asdnorm.Index(1, "euclidean").add([[0.0], [1.0], [3.0], [6.0], [10.0]])
        >>> sc = asdnorm.Scorer(ix.finalize("knn", k=1), norm="ratio")
        >>> scores, nearest = sc.self_scores(return_nearest=True)
        >>> [round(float(s), 4) for s in scores]
        [0.5, 0.3333, 0.75, 0.5714, 1.3333]
        >>> nearest.tolist()
        [1, 0, 3, 4, 3]
        """
        ix = self._index
        with self._lock, ix._lock.read():
            m = len(ix)
            scores = np.empty(m, dtype=np.float32)
            nearest = np.empty(m, dtype=np.uintp) if return_nearest else None
            status = lib.asdnorm_scorer_self_scores(
                self._handle, scores.ctypes.data_as(F32P),
                None if nearest is None else nearest.ctypes.data_as(SZP))
        check(status, "Scorer.self_scores (a finalized index of at least 3 references, 2 "
                      "without a density)" if status in (Status.E_STATE, Status.E_TOO_FEW)
              else "Scorer.self_scores")
        if nearest is None:
            return scores
        return scores, nearest.astype(np.int64)

    def threshold(self, fpr: float = 0.1) -> float:
        """A decision threshold from the normal references alone (docs/math.md §2.5).

        The smallest self score t (:meth:`self_scores`) with at most floor(fpr * M) self
        scores above it; a test sample whose score exceeds t is declared anomalous, and
        about a fraction ``fpr`` of normal samples are. One threshold for both domains:
        the normalization is what makes it fit both. It equals
        ``numpy.quantile(self_scores(), 1 - fpr, method="inverted_cdf")`` up to the
        rounding of ``1 - fpr``.

        Parameters
        ----------
        fpr : float
            The false-alarm rate wanted, in (0, 1).

        Returns
        -------
        float
            The threshold, a score (a float32 value).

        Raises
        ------
        InvalidValueError
            ``fpr`` outside (0, 1) or NaN, the index is not finalized, or has too few
            references.
        InvalidTypeError
            ``fpr`` is not a number.

        Examples
        --------
        >>> import asdnorm
        >>> ix = asdnorm.Index(1, "euclidean").add([[0.0], [1.0], [3.0], [6.0], [10.0]])
        >>> sc = asdnorm.Scorer(ix.finalize("knn", k=1), norm="ratio")
        >>> sc.threshold(fpr=0.2)
        0.75
        >>> (sc.score([[4.0], [20.0]]) > sc.threshold(fpr=0.2)).tolist()
        [False, True]
        """
        value = as_number(fpr, "fpr")
        ix = self._index
        out = ctypes.c_float()
        with self._lock, ix._lock.read():
            status = lib.asdnorm_scorer_threshold(self._handle, value, byref(out))
        check(status, f"Scorer.threshold(fpr={fpr!r})" +
              (": fpr must be in (0, 1)" if status == Status.E_ARG else ""))
        return float(out.value)

    def __repr__(self) -> str:
        return f"<asdnorm.Scorer norm={self.norm!r} index={self._index!r}>"

    def __reduce__(self) -> Tuple[Any, ...]:
        return (Scorer, (self._index, self.norm))


for _cls in (Index, Scorer):
    _cls.__module__ = "asdnorm"
del _cls
