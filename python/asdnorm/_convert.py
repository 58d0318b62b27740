# SPDX-License-Identifier: MIT
"""Argument conversion shared by every module: one rule for each kind of argument.

Arrays cross into C without a copy when they already have the C layout: a float32,
C-contiguous, aligned, native-endian ``(n, dim)`` array is passed by pointer; anything
else (float64, integers, Fortran order, a strided view) is converted to that layout once.
"""
from __future__ import annotations

import enum
from ctypes import POINTER, byref, c_double, c_float, c_int32, c_size_t, c_uint8
from typing import Any, Optional, Type, TypeVar

import numpy as np
import numpy.typing as npt

from ._lib import InvalidTypeError, Status, check, fail, lib

__all__ = ["F32P", "F64P", "U8P", "I32P", "SZP", "as_rows", "as_domains", "as_count",
           "as_seed", "as_number", "as_enum", "raise_row_error"]

F32P = POINTER(c_float)
F64P = POINTER(c_double)
U8P = POINTER(c_uint8)
I32P = POINTER(c_int32)
SZP = POINTER(c_size_t)

# Statuses that a bad row of the input causes; asdnorm_check_rows() finds the row.
_ROW_STATUSES = (Status.E_NONFINITE, Status.E_ZERO_VECTOR, Status.E_RANGE)
_FLOAT32_MAX = float(np.finfo(np.float32).max)

E = TypeVar("E", bound=enum.IntEnum)


def as_enum(value: Any, cls: Type[E], what: str) -> E:
    """A member of ``cls`` from its lower-case name ("cosine") or the member itself."""
    if isinstance(value, cls):
        return value
    if isinstance(value, str) and value.upper() in cls.__members__:
        return cls[value.upper()]
    names = ", ".join(repr(m.name.lower()) for m in cls)
    fail(Status.E_ENUM, f"unknown {what} {value!r}; expected one of {names}")


def as_rows(x: npt.ArrayLike, dim: Optional[int] = None,
            name: str = "x") -> npt.NDArray[np.float32]:
    """x as an (n, dim) float32 C-contiguous aligned array; x itself when it already is one.

    Integers are converted to float32 (exactly up to 2**24). Values beyond the float32
    range become inf here and are reported by :func:`raise_row_error` as out of range."""
    if isinstance(x, np.ndarray) and x.dtype == np.float32 and x.ndim == 2 \
            and (dim is None or x.shape[1] == dim) and x.flags.c_contiguous \
            and x.flags.aligned and x.dtype.isnative:
        return x
    if hasattr(x, "toarray") or hasattr(x, "tocsr"):
        fail(Status.E_ARG, f"{name}: sparse input is not supported; pass {name}.toarray()",
             kind=InvalidTypeError)
    try:
        arr = np.asarray(x)
        if arr.dtype.kind == "O":  # e.g. a list of Python numbers with None
            arr = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        fail(Status.E_ARG, f"{name} must hold real numbers: {exc}", kind=InvalidTypeError)
    if arr.dtype.kind == "c":
        fail(Status.E_ARG, f"{name}: Complex data not supported (dtype {arr.dtype})")
    if arr.dtype.kind not in "fiu":
        fail(Status.E_ARG, f"{name} must hold real numbers, not dtype {arr.dtype}",
             kind=InvalidTypeError)
    if arr.ndim != 2:
        fail(Status.E_DIM, f"{name} must be a 2-D array (n, {dim or 'dim'}); got "
                           f"{arr.ndim} dimension(s), shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        fail(Status.E_DIM, f"{name} has {arr.shape[1]} columns; expected {dim}")
    with np.errstate(over="ignore", invalid="ignore"):
        return np.require(arr, dtype=np.float32, requirements=["C", "A"])


def as_domains(domains: Optional[npt.ArrayLike], n: int,
               name: str = "domains") -> Optional[npt.NDArray[np.uint8]]:
    """domains as n uint8 labels 0/1/2 (None stays None). Values are checked here because a
    conversion to uint8 would wrap 257 to 1."""
    if domains is None:
        return None
    d = np.asarray(domains)
    if d.ndim != 1:
        fail(Status.E_DIM, f"{name} must be 1-D; got shape {d.shape}")
    if d.shape[0] != n:
        fail(Status.E_DIM, f"{name} has {d.shape[0]} labels for {n} rows")
    if d.dtype.kind not in "iuf":
        fail(Status.E_LABEL, f"{name} must be integers 0, 1 or 2, not dtype {d.dtype}",
             kind=InvalidTypeError)
    bad = np.flatnonzero(~np.isin(d, (0, 1, 2)))
    if bad.size:
        fail(Status.E_LABEL, f"{name}[{bad[0]}] is {d[bad[0]]!r}; expected 0 (unknown), "
                             "1 (source) or 2 (target)")
    return np.ascontiguousarray(d, dtype=np.uint8)


def as_count(value: Any, name: str, minimum: int) -> int:
    """A non-negative integer argument (a numpy integer is fine; a float or bool is not)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        fail(Status.E_ARG, f"{name} must be an integer, not {type(value).__name__}",
             kind=InvalidTypeError)
    if value < minimum:
        fail(Status.E_ARG, f"{name} must be >= {minimum}; got {value}")
    return int(value)


#: ASDNORM_MAX_THREADS of asdnorm.h.
MAX_THREADS = 1024


def as_thread_count(value: Any, context: str) -> int:
    """A thread count 0 … MAX_THREADS (checked here: ctypes would wrap a larger int)."""
    count = as_count(value, f"{context}: threads", 0)
    if count > MAX_THREADS:
        fail(Status.E_ARG, f"{context}: threads must be at most {MAX_THREADS}; got {count}")
    return count


def as_seed(seed: Any) -> int:
    """A seed: any integer, taken modulo 2**64."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        fail(Status.E_ARG, f"seed must be an integer, not {type(seed).__name__}",
             kind=InvalidTypeError)
    return int(seed) & 0xFFFFFFFFFFFFFFFF


def as_number(value: Any, name: str) -> float:
    """A real-number argument (not a bool)."""
    if isinstance(value, (bool, np.bool_)) or isinstance(value, (str, bytes)):
        fail(Status.E_ARG, f"{name} must be a number, not {type(value).__name__}",
             kind=InvalidTypeError)
    try:
        return float(value)
    except (TypeError, ValueError):
        fail(Status.E_ARG, f"{name} must be a number; got {value!r}", kind=InvalidTypeError)
    except OverflowError:
        fail(Status.E_ARG, f"{name} is too large: {value!r}")


def _finite_row(orig: Any, row: int) -> bool:
    """Whether row ``row`` of the caller's (pre-conversion) input was all finite."""
    try:
        return bool(np.isfinite(np.asarray(np.asarray(orig)[row], dtype=np.float64)).all())
    except (TypeError, ValueError, OverflowError):
        return False


def raise_row_error(status: int, arr: npt.NDArray[np.float32], orig: Any, distance: int,
                    name: str) -> None:
    """Raise the error of a failed call on the rows ``arr`` (converted from ``orig``),
    naming the first offending row when a row is the cause."""
    if status in _ROW_STATUSES and arr.shape[0] and arr.shape[1]:
        bad = c_size_t(arr.shape[0])
        lib.asdnorm_check_rows(arr.ctypes.data_as(F32P), arr.shape[0], arr.shape[1],
                               distance, byref(bad))
        row = bad.value
        if row < arr.shape[0]:
            context = f"row {row} of {name}"
            if status == Status.E_NONFINITE and orig is not arr and _finite_row(orig, row):
                fail(Status.E_RANGE, context + f": a value is beyond the float32 range "
                                               f"(|v| > {_FLOAT32_MAX:.4g})")
            check(status, context)
    check(status, name)
