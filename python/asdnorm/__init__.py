# SPDX-License-Identifier: MIT
"""libasdnorm for Python: local-density anomaly-score normalization.

>>> import asdnorm
>>> ix = asdnorm.Index(128, distance="cosine")
>>> ix.add(refs, domains=None)
>>> ix.finalize(density="knn", k=1)
>>> scores = asdnorm.Scorer(ix, norm="ratio").score(tests)

The C library is found through ASDNORM_LIBRARY (the path of libasdnorm.so.0),
a meson build tree beside this source tree, or the system's library path.
"""
__version__ = "0.1.0"

from ._lib import Error, lib as _clib, library_path

_loaded = _clib.asdnorm_version().decode()
if _loaded.split(".")[:2] != __version__.split(".")[:2]:
    raise ImportError(f"asdnorm {__version__} needs libasdnorm {'.'.join(__version__.split('.')[:2])}.x, "
                      f"but {library_path} is version {_loaded}")

from .core import Index, Scorer, Status  # noqa: E402
from . import metrics, baselines  # noqa: E402

__all__ = ["__version__", "Index", "Scorer", "Detector", "Error", "Status",
           "metrics", "baselines", "library_path"]


def __getattr__(name):
    # asdnorm.Detector is imported on first use: its module imports scikit-learn
    # (when installed), which takes seconds, and most programs never need it.
    if name == "Detector":
        from .detector import Detector
        globals()["Detector"] = Detector
        return Detector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"Detector"})
