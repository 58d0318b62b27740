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

from typing import TYPE_CHECKING, Any, List

from ._lib import (Density, Distance, Domain, Error, FileAccessError, FileError,
                   FileMissingError, InvalidTypeError, InvalidValueError, Norm,
                   OutOfMemoryError, Status, lib as _clib, library_path, strerror)

__version__ = "0.1.0"

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
           "FileMissingError", "FileAccessError", "OutOfMemoryError"]


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
