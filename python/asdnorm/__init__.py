# SPDX-License-Identifier: MIT
"""libasdnorm for Python: local-density anomaly-score normalization.

Build an :class:`Index` of normal reference embeddings, finalize it (one density
constant per reference), and score test samples with a :class:`Scorer`; or use the
scikit-learn style :class:`Detector`. :mod:`asdnorm.metrics` has the AUC, pAUC and DCASE
scores, :mod:`asdnorm.baselines` the methods the paper compares against. The package
reference is docs/python.md.

The C library is found through ASDNORM_LIBRARY (the path of libasdnorm.so.0), a meson
build tree beside this source tree, or the system's library path.

Examples
--------
>>> import numpy as np, asdnorm
>>> rng = np.random.default_rng(0)
>>> refs = rng.normal(size=(100, 8)).astype(np.float32)
>>> ix = asdnorm.Index(8, distance="cosine").add(refs).finalize(density="knn", k=1)
>>> scores = asdnorm.Scorer(ix, norm="ratio").score(rng.normal(size=(5, 8)))
>>> scores.shape, scores.dtype
((5,), dtype('float32'))
"""
from __future__ import annotations

import ctypes as _ctypes
from typing import TYPE_CHECKING, Any, List, Optional

import numpy as np

from ._lib import (Allocator, CanceledError, Density, Distance, Domain, Error,
                   FileAccessError, FileError, FileMissingError, InvalidTypeError,
                   InvalidValueError, Norm, OutOfMemoryError, Status, check, fail,
                   lib as _clib, library_path, strerror)

__version__ = "0.2.0"

_loaded = _clib.asdnorm_version().decode()
if _loaded.split(".")[:2] != __version__.split(".")[:2]:
    raise ImportError(f"asdnorm {__version__} needs libasdnorm "
                      f"{'.'.join(__version__.split('.')[:2])}.x, "
                      f"but {library_path} is version {_loaded}")

from .core import Index, Scorer, check_rows  # noqa: E402
from . import metrics, baselines  # noqa: E402

if TYPE_CHECKING:
    from .detector import Detector

__all__ = ["__version__", "library_path", "library_version", "library_version_number",
           "Index", "Scorer", "Detector", "check_rows", "metrics", "baselines",
           "Status", "Distance", "Density", "Norm", "Domain", "strerror",
           "Error", "InvalidValueError", "InvalidTypeError", "FileError",
           "FileMissingError", "FileAccessError", "OutOfMemoryError", "CanceledError",
           "set_blas_control", "set_allocator"]
# Allocator (the ctypes struct set_allocator takes) is importable as asdnorm.Allocator;
# it is kept out of __all__ and help(asdnorm), whose text stays free of ctypes.


def library_version() -> str:
    """The loaded C library's version, "MAJOR.MINOR.PATCH" (``asdnorm_version``).

    Returns
    -------
    str
        The version of the library at :data:`library_path`.

    Examples
    --------
    >>> import asdnorm
    >>> asdnorm.library_version().split(".")[:2] == asdnorm.__version__.split(".")[:2]
    True
    """
    return str(_clib.asdnorm_version().decode())


def library_version_number() -> int:
    """The loaded C library's version as MAJOR * 10000 + MINOR * 100 + PATCH.

    Returns
    -------
    int
        ``asdnorm_version_number()``.

    Examples
    --------
    >>> import asdnorm
    >>> major, minor = asdnorm.__version__.split(".")[:2]
    >>> asdnorm.library_version_number() // 100 == int(major) * 100 + int(minor)
    True
    """
    return int(_clib.asdnorm_version_number())


def set_blas_control(allow: bool) -> None:
    """Allow the library to set a multithreaded OpenBLAS to one thread, process-wide, while
    its own threads call it (``asdnorm_set_blas_control``; docs/embedding.md).

    The Python package allows it when it is imported, as scikit-learn limits OpenBLAS to one
    thread during its own OpenMP loops: finalize and scoring then take 0.65-0.9 of the time
    they take without it (docs/performance.md). Numpy calls that other threads of the process
    make while a libasdnorm call runs use one BLAS thread meanwhile; a program with BLAS
    work of its own on other threads calls ``set_blas_control(False)`` (the C library's
    default: it never changes the BLAS's settings).

    Parameters
    ----------
    allow : bool
        True to allow (the package's default), False to forbid.

    Raises
    ------
    InvalidTypeError
        ``allow`` is not a bool.

    Examples
    --------
    >>> import asdnorm
    >>> asdnorm.set_blas_control(False)
    """
    if not isinstance(allow, (bool, np.bool_)):
        fail(Status.E_ARG, f"set_blas_control: allow must be a bool, not {type(allow).__name__}",
             kind=InvalidTypeError)
    check(_clib.asdnorm_set_blas_control(1 if allow else 0), "set_blas_control")


# A Python process is a program that owns its process (like the asdnorm command), and
# the library's own threads then carry every step: see set_blas_control.
check(_clib.asdnorm_set_blas_control(1), "set_blas_control")

_allocator: Optional[Allocator] = None  # kept alive while the library uses it


def set_allocator(allocator: Optional[Allocator]) -> None:
    """Route every allocation of the C library through the host's functions, process-wide
    (``asdnorm_set_allocator``; docs/embedding.md).

    Call it while the library holds no memory (before creating any object, or after all
    are freed). Functions written in Python are slow; this is for programs that embed
    Python beside their own allocator. ``asdnorm.Allocator`` is
    ``struct asdnorm_allocator`` as a Structure: four C function pointers and a ``user``
    pointer passed to each.

    Parameters
    ----------
    allocator : Allocator or None
        The functions (an ``asdnorm.Allocator``, kept alive here), or None
        to return to the C library's malloc.

    Raises
    ------
    InvalidValueError
        A function pointer is NULL, or the library still holds memory allocated with the
        current allocator (nothing changes).
    InvalidTypeError
        ``allocator`` is not an :class:`Allocator` or None.

    Examples
    --------
    While this process holds objects of the library, the allocator cannot change:

    >>> import asdnorm
    >>> keep = asdnorm.Index(2)
    >>> asdnorm.set_allocator(None)
    Traceback (most recent call last):
    ...
    asdnorm.InvalidValueError: set_allocator: wrong state: ... (status 8)
    """
    global _allocator
    if allocator is not None and not isinstance(allocator, Allocator):
        fail(Status.E_ARG, "set_allocator: expected an asdnorm.Allocator or None, not "
             f"{type(allocator).__name__}", kind=InvalidTypeError)
    check(_clib.asdnorm_set_allocator(None if allocator is None else _ctypes.byref(allocator)),
          "set_allocator")
    _allocator = allocator


def __getattr__(name: str) -> Any:
    """asdnorm.Detector, imported on first use: its module imports scikit-learn (when
    installed), which takes seconds, and most programs never need it."""
    if name == "Detector":
        from .detector import Detector
        globals()["Detector"] = Detector
        return Detector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> List[str]:
    """The module's names, the not yet imported Detector included."""
    return sorted(set(globals()) | {"Detector"})
