# SPDX-License-Identifier: MIT
"""Loading libasdnorm, its C prototypes, status codes, enums and exceptions: the one
place that declares them.

The library is found through, in order: the ASDNORM_LIBRARY environment
variable (a path to the .so); for an installed package, the library that was
installed with it (``_config.py``, generated at build time); from a source
tree, a meson build tree beside it (build*/lib/libasdnorm.so.0); and finally
the system's library path.

Every table here mirrors include/asdnorm/asdnorm.h; python/tests/test_header.py parses
the header and fails when one of them differs from it (a prototype with a wrong argument
type would corrupt memory silently).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import enum
import errno as _errno
import glob
import importlib
import operator
import os
from ctypes import (POINTER, c_char_p, c_double, c_float, c_int, c_int32, c_size_t,
                    c_uint, c_uint8, c_uint64, c_void_p)
from typing import Any, Iterator, NoReturn, Optional, Tuple, Union

__all__ = ["lib", "library_path", "PROTOTYPES", "Allocator", "Status", "Distance", "Density", "Norm",
           "Domain", "Error", "InvalidValueError", "InvalidTypeError", "FileError",
           "FileMissingError", "FileAccessError", "OutOfMemoryError", "CanceledError",
           "ProgressFn", "check", "fail",
           "strerror", "encode_path", "PathArg"]

#: What the package accepts as a file name: str, bytes or an os.PathLike of either.
PathArg = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


def _candidates() -> Iterator[str]:
    env = os.environ.get("ASDNORM_LIBRARY")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        # Generated at build time and installed with the package; a source tree has none.
        config = importlib.import_module("._config", __package__)
    except ImportError:
        # A source tree: python/asdnorm -> the repository root's build dirs.
        root = os.path.dirname(os.path.dirname(here))
        yield from sorted(glob.glob(os.path.join(root, "build*", "lib", "libasdnorm.so.0")))
    else:
        library = str(config.LIBRARY)
        yield os.path.join(here, library) if config.BUNDLED else library
    yield ctypes.util.find_library("asdnorm") or "libasdnorm.so.0"


def _load() -> Tuple[ctypes.CDLL, str]:
    errors = []
    for path in _candidates():
        try:
            # use_errno: a failed save or load reports the operating system's cause.
            return ctypes.CDLL(path, use_errno=True), path
        except OSError as exc:
            errors.append(f"{path}: {exc}")
    raise ImportError("cannot load libasdnorm; set ASDNORM_LIBRARY to the path of "
                      "libasdnorm.so.0. Tried: " + "; ".join(errors))


lib, library_path = _load()

# ---- prototypes ------------------------------------------------------------
_f = POINTER(c_float)
_d = POINTER(c_double)
_u8 = POINTER(c_uint8)
_i32 = POINTER(c_int32)
_sz = POINTER(c_size_t)
_p = c_void_p            # asdnorm_index *, asdnorm_scorer *, asdnorm_lof *
_pp = POINTER(c_void_p)  # the out-parameter of a constructor
_st = c_int              # asdnorm_status and the other enums



class Allocator(ctypes.Structure):
    """``struct asdnorm_allocator``: the host's memory functions for
    :func:`asdnorm.set_allocator`, each receiving ``user`` first."""

    _fields_ = [
        ("malloc_fn", ctypes.CFUNCTYPE(c_void_p, c_void_p, c_size_t)),
        ("calloc_fn", ctypes.CFUNCTYPE(c_void_p, c_void_p, c_size_t, c_size_t)),
        ("realloc_fn", ctypes.CFUNCTYPE(c_void_p, c_void_p, c_void_p, c_size_t)),
        ("free_fn", ctypes.CFUNCTYPE(None, c_void_p, c_void_p)),
        ("user", c_void_p),
    ]


#: ``asdnorm_progress_fn``: ``int (*)(double fraction, void *user)``.
ProgressFn = ctypes.CFUNCTYPE(c_int, c_double, c_void_p)


#: {C function: (restype, argtypes)} for every function of asdnorm.h.
PROTOTYPES: "dict[str, Tuple[Any, list[Any]]]" = {
    "asdnorm_version": (c_char_p, []),
    "asdnorm_version_number": (c_uint, []),
    "asdnorm_strerror": (c_char_p, [_st]),
    "asdnorm_set_allocator": (_st, [POINTER(Allocator)]),
    "asdnorm_set_blas_control": (_st, [c_int]),
    "asdnorm_index_set_threads": (_st, [_p, c_uint]),
    "asdnorm_scorer_set_threads": (_st, [_p, c_uint]),
    "asdnorm_index_new": (_st, [c_size_t, _st, _pp]),
    "asdnorm_index_free": (None, [_p]),
    "asdnorm_index_add": (_st, [_p, _f, c_size_t, _u8]),
    "asdnorm_index_finalize": (_st, [_p, _st, c_double]),
    "asdnorm_index_size": (c_size_t, [_p]),
    "asdnorm_index_dim": (c_size_t, [_p]),
    "asdnorm_index_distance": (_st, [_p]),
    "asdnorm_index_is_finalized": (c_int, [_p]),
    "asdnorm_index_get_estimator": (_st, [_p, POINTER(_st), _d]),
    "asdnorm_index_get_density": (_st, [_p, _d, c_size_t]),
    "asdnorm_index_get_domains": (_st, [_p, _u8, c_size_t]),
    "asdnorm_index_get_vectors": (_st, [_p, c_size_t, c_size_t, _f]),
    "asdnorm_check_rows": (_st, [_f, c_size_t, c_size_t, _st, _sz]),
    "asdnorm_index_search": (_st, [_p, _f, c_size_t, c_size_t, _f, _sz]),
    "asdnorm_index_save": (_st, [_p, c_char_p]),
    "asdnorm_index_load": (_st, [c_char_p, _pp]),
    "asdnorm_index_load_buffer": (_st, [c_void_p, c_size_t, _pp]),
    "asdnorm_index_serialize": (_st, [_p, c_void_p, c_size_t, _sz]),
    "asdnorm_scorer_new": (_st, [_p, _st, _pp]),
    "asdnorm_scorer_free": (None, [_p]),
    "asdnorm_scorer_score": (_st, [_p, _f, c_size_t, _f, _sz]),
    "asdnorm_auc": (_st, [_u8, _d, c_size_t, _d]),
    "asdnorm_pauc": (_st, [_u8, _d, c_size_t, c_double, _d]),
    "asdnorm_hmean": (_st, [_d, c_size_t, _d]),
    "asdnorm_count_sections": (_st, [_i32, c_size_t, _sz]),
    "asdnorm_dcase2023": (_st, [_d, _u8, _u8, _i32, c_size_t, c_double, c_size_t, _i32, _d,
                                _sz, _d]),
    "asdnorm_dcase2020": (_st, [_d, _u8, _i32, c_size_t, c_double, c_size_t, _i32, _d, _sz,
                                _d]),
    "asdnorm_kmeans": (_st, [_f, c_size_t, c_size_t, c_size_t, c_size_t, c_size_t, c_uint64,
                             _f, _d]),
    "asdnorm_source_means": (_st, [_p, c_size_t, c_size_t, c_uint64, _pp]),
    "asdnorm_smote": (_st, [_f, c_size_t, c_size_t, c_size_t, c_size_t, c_uint64, _f]),
    "asdnorm_smote_index": (_st, [_p, c_size_t, c_size_t, c_uint64, _pp]),
    "asdnorm_standardized_scores": (_st, [_p, _st, _f, c_size_t, _f]),
    "asdnorm_lof_new": (_st, [_p, c_size_t, _pp]),
    "asdnorm_lof_free": (None, [_p]),
    "asdnorm_lof_score": (_st, [_p, _f, c_size_t, _f]),
    "asdnorm_index_search_double": (_st, [_p, _f, c_size_t, c_size_t, _d, _sz]),
    "asdnorm_index_set_density": (_st, [_p, _st, c_double, _d, c_size_t]),
    "asdnorm_index_clone": (_st, [_p, _pp]),
    "asdnorm_index_set_progress": (_st, [_p, ProgressFn, c_void_p]),
    "asdnorm_scorer_set_progress": (_st, [_p, ProgressFn, c_void_p]),
    "asdnorm_scorer_self_scores": (_st, [_p, _f, _sz]),
    "asdnorm_scorer_threshold": (_st, [_p, c_double, _f]),
    "asdnorm_index_neighbours": (_st, [_p, c_size_t, c_size_t, _d, _sz]),
    "asdnorm_index_get_floor": (_st, [_p, _d]),
    "asdnorm_index_set_floor": (_st, [_p, c_double]),
    "asdnorm_index_remove": (_st, [_p, _sz, c_size_t]),
}

for _name, (_res, _args) in PROTOTYPES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args
del _name, _res, _args, _fn


# ---- enums (asdnorm.h, pinned values) ---------------------------------------
class Status(enum.IntEnum):
    """The C status codes (``asdnorm_status``); :attr:`Error.status` is one of them."""

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
    E_CANCELED = 21

    @property
    def message(self) -> str:
        """The library's English message for this status (``asdnorm_strerror``)."""
        return strerror(self)


class Distance(enum.IntEnum):
    """``asdnorm_distance``: the distance between a test sample and a reference."""

    COSINE = 0
    EUCLIDEAN = 1
    MSE = 2


class Density(enum.IntEnum):
    """``asdnorm_density``: the estimator of each reference's density constant."""

    NONE = 0
    KNN = 1
    GWRP = 2


class Norm(enum.IntEnum):
    """``asdnorm_norm``: how a distance is normalized by the reference's density."""

    NONE = 0
    RATIO = 1
    DIFFERENCE = 2


class Domain(enum.IntEnum):
    """``asdnorm_domain``: the domain label of a reference or test sample (uint8)."""

    UNKNOWN = 0
    SOURCE = 1
    TARGET = 2


def strerror(status: int) -> str:
    """The library's static English message for a status code, also for unknown values.

    Parameters
    ----------
    status : int
        A status code (:class:`Status`).

    Returns
    -------
    str
        The text of ``asdnorm_strerror(status)``.

    Raises
    ------
    InvalidTypeError
        ``status`` is not an integer.

    Examples
    --------
    >>> import asdnorm
    >>> asdnorm.strerror(asdnorm.Status.E_DIM) == asdnorm.Status.E_DIM.message
    True
    """
    try:
        code = operator.index(status)
    except TypeError:
        fail(Status.E_ARG, f"strerror: status must be an integer, not {type(status).__name__}",
             kind=InvalidTypeError)
    text: bytes = lib.asdnorm_strerror(code)
    return text.decode()


# ---- exceptions -------------------------------------------------------------
class Error(Exception):
    """The base of every error the package raises for a failed operation.

    Each error is also the matching built-in exception: :class:`InvalidValueError` is a
    ValueError, :class:`InvalidTypeError` a TypeError, :class:`FileError` an OSError
    (:class:`FileMissingError` a FileNotFoundError, :class:`FileAccessError` a
    PermissionError), :class:`OutOfMemoryError` a MemoryError.

    Attributes
    ----------
    status : Status
        The C status code the failure has (or, for a problem found in Python before any
        call, the code the library gives that problem).
    message : str
        ``asdnorm_strerror(status)``.
    context : str or None
        Which call and argument failed, e.g. ``"row 3 of Index.add: x"``.
    """

    status: Status
    message: str
    context: Optional[str]

    def __init__(self, status: int, message: Optional[str] = None,
                 context: Optional[str] = None, os_errno: Optional[int] = None,
                 filename: Union[str, bytes, None] = None) -> None:
        super().__init__(status, message, context, os_errno, filename)
        # OSError's __init__ keeps only (errno, strerror) in args: set them for pickling.
        self.args = (status, message, context, os_errno, filename)
        try:
            self.status = Status(status)
        except ValueError:
            self.status = status  # type: ignore[assignment]  # a code newer than this package
        self.message = strerror(status) if message is None else message
        self.context = context
        text = f"{self.message} (status {int(status)})"
        if os_errno:
            text += f": {os.strerror(os_errno)}"
        self._text = f"{context}: {text}" if context else text

    def __str__(self) -> str:
        return self._text

    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...]]:
        return type(self), self.args


class InvalidValueError(Error, ValueError):
    """An argument has a bad value: out of range, wrong shape, non-finite, a bad label,
    the wrong state, a malformed file, …"""


class InvalidTypeError(Error, TypeError):
    """An argument has the wrong type (a string where an array is expected, None, …)."""


class OutOfMemoryError(Error, MemoryError):
    """The library could not allocate memory (``ASDNORM_E_NOMEM``)."""


class CanceledError(Error):
    """A progress callback canceled the call (``ASDNORM_E_CANCELED``); nothing changed.
    The package's own ``progress=`` callbacks re-raise what the callback raised instead."""


class FileError(Error, OSError):
    """A file could not be opened, read, written or renamed (``ASDNORM_E_IO``).

    ``errno``, ``strerror`` and ``filename`` are the operating system's cause, as for
    any OSError (``errno`` is None when the system gave none)."""

    def __init__(self, status: int, message: Optional[str] = None,
                 context: Optional[str] = None, os_errno: Optional[int] = None,
                 filename: Union[str, bytes, None] = None) -> None:
        super().__init__(status, message, context, os_errno, filename)
        self.errno = os_errno  # type: ignore[assignment]  # None without a cause, as OSError's
        self.strerror = os.strerror(os_errno) if os_errno else self.message
        self.filename = filename


class FileMissingError(FileError, FileNotFoundError):
    """The file (or a directory of its path) does not exist (ENOENT)."""


class FileAccessError(FileError, PermissionError):
    """Permission denied (EACCES, EPERM)."""


def _error_class(status: int, os_errno: Optional[int]) -> type:
    if status == Status.E_IO:
        if os_errno == _errno.ENOENT:
            return FileMissingError
        if os_errno in (_errno.EACCES, _errno.EPERM):
            return FileAccessError
        return FileError
    if status == Status.E_NOMEM:
        return OutOfMemoryError
    if status == Status.E_CANCELED:
        return CanceledError
    if status == Status.E_NULL:
        return InvalidTypeError
    return InvalidValueError


def fail(status: int, context: Optional[str] = None, *, kind: Optional[type] = None,
         os_errno: Optional[int] = None, filename: Union[str, bytes, None] = None) -> NoReturn:
    """Raise the error of ``status`` (its class chosen from the status, or ``kind``)."""
    cls = kind or _error_class(status, os_errno)
    raise cls(status, None, context, os_errno, filename)


def check(status: int, context: Optional[str] = None, *,
          filename: Union[str, bytes, None] = None) -> None:
    """Raise the error of a non-zero status returned by a C call. With ``filename`` (a
    file operation) an I/O error carries ctypes' copy of errno as the operating system's
    cause; the caller set it to 0 before the call. (Other statuses do not: errno may hold
    a harmless failure the library recovered from.)"""
    if status != 0:
        os_errno = ctypes.get_errno() if filename is not None and status == Status.E_IO else 0
        fail(status, context, os_errno=os_errno or None, filename=filename)


def encode_path(path: PathArg, what: str) -> bytes:
    """A file name as the bytes the C library gets: str, bytes or os.PathLike (through
    os.fspath), refusing a NUL (which C would silently cut the name at)."""
    try:
        name = os.fsencode(os.fspath(path))
    except TypeError:
        fail(Status.E_ARG, f"{what}: the path must be str, bytes or os.PathLike, "
                           f"not {type(path).__name__}", kind=InvalidTypeError)
    if b"\0" in name:
        fail(Status.E_ARG, f"{what}: the path {os.fsdecode(name)!r} contains a NUL character")
    return name


for _cls in (Status, Distance, Density, Norm, Domain, Error, InvalidValueError,
             InvalidTypeError, OutOfMemoryError, CanceledError, FileError, FileMissingError, FileAccessError):
    _cls.__module__ = "asdnorm"
del _cls
