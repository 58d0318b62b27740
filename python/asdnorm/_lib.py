# SPDX-License-Identifier: MIT
"""Loading libasdnorm and declaring its C prototypes: the one place that does.

The library is found through, in order: the ASDNORM_LIBRARY environment
variable (a path to the .so); for an installed package, the library that was
installed with it (``_config.py``, generated at build time); from a source
tree, a meson build tree beside it (build*/lib/libasdnorm.so.0); and finally
the system's library path.
"""
import ctypes
import ctypes.util
import glob
import os

from ctypes import (POINTER, c_char_p, c_double, c_float, c_int, c_int32, c_size_t,
                    c_uint, c_uint8, c_uint64, c_void_p)

__all__ = ["lib", "Error", "check", "library_path"]


class Error(ValueError):
    """A libasdnorm call failed. ``status`` is the C status code, ``message``
    the text of asdnorm_strerror()."""

    def __init__(self, status, message, context=None):
        self.status = int(status)
        self.message = message
        self.context = context
        text = f"{message} (status {self.status})"
        if context:
            text = f"{context}: {text}"
        super().__init__(text)

    def __reduce__(self):
        # Pickled with its fields (the default would call Error(text) and fail), so
        # that it crosses process boundaries: Dask workers, multiprocessing.
        return (type(self), (self.status, self.message, self.context))


def _candidates():
    env = os.environ.get("ASDNORM_LIBRARY")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        from . import _config  # installed packages only
    except ImportError:
        # A source tree: python/asdnorm -> the repository root's build dirs.
        root = os.path.dirname(os.path.dirname(here))
        yield from sorted(glob.glob(os.path.join(root, "build*", "lib", "libasdnorm.so.0")))
    else:
        yield os.path.join(here, _config.LIBRARY) if _config.BUNDLED else _config.LIBRARY
    found = ctypes.util.find_library("asdnorm")
    yield found or "libasdnorm.so.0"


def _load():
    errors = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path), path
        except OSError as exc:
            errors.append(f"{path}: {exc}")
    raise ImportError("cannot load libasdnorm; set ASDNORM_LIBRARY to the path of "
                      "libasdnorm.so.0. Tried: " + "; ".join(errors))


lib, library_path = _load()

_f = POINTER(c_float)
_d = POINTER(c_double)
_u8 = POINTER(c_uint8)
_i32 = POINTER(c_int32)
_sz = POINTER(c_size_t)
_p = c_void_p
_st = c_int

_PROTOTYPES = {
    "asdnorm_version": (c_char_p, []),
    "asdnorm_version_number": (c_uint, []),
    "asdnorm_strerror": (c_char_p, [c_int]),
    "asdnorm_index_new": (_st, [c_size_t, c_int, POINTER(_p)]),
    "asdnorm_index_free": (None, [_p]),
    "asdnorm_index_add": (_st, [_p, _f, c_size_t, _u8]),
    "asdnorm_index_finalize": (_st, [_p, c_int, c_double]),
    "asdnorm_index_size": (c_size_t, [_p]),
    "asdnorm_index_dim": (c_size_t, [_p]),
    "asdnorm_index_distance": (c_int, [_p]),
    "asdnorm_index_is_finalized": (c_int, [_p]),
    "asdnorm_index_get_estimator": (_st, [_p, POINTER(c_int), _d]),
    "asdnorm_index_get_density": (_st, [_p, _d, c_size_t]),
    "asdnorm_index_get_domains": (_st, [_p, _u8, c_size_t]),
    "asdnorm_index_get_vectors": (_st, [_p, c_size_t, c_size_t, _f]),
    "asdnorm_check_rows": (_st, [_f, c_size_t, c_size_t, c_int, _sz]),
    "asdnorm_index_save": (_st, [_p, c_char_p]),
    "asdnorm_index_load": (_st, [c_char_p, POINTER(_p)]),
    "asdnorm_index_load_buffer": (_st, [c_void_p, c_size_t, POINTER(_p)]),
    "asdnorm_index_serialize": (_st, [_p, c_void_p, c_size_t, _sz]),
    "asdnorm_scorer_new": (_st, [_p, c_int, POINTER(_p)]),
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
    "asdnorm_source_means": (_st, [_p, c_size_t, c_size_t, c_uint64, POINTER(_p)]),
    "asdnorm_smote": (_st, [_f, c_size_t, c_size_t, c_size_t, c_size_t, c_uint64, _f]),
    "asdnorm_smote_index": (_st, [_p, c_size_t, c_size_t, c_uint64, POINTER(_p)]),
    "asdnorm_standardized_scores": (_st, [_p, c_int, _f, c_size_t, _f]),
    "asdnorm_lof_new": (_st, [_p, c_size_t, POINTER(_p)]),
    "asdnorm_lof_free": (None, [_p]),
    "asdnorm_lof_score": (_st, [_p, _f, c_size_t, _f]),
    # 0.2
    "asdnorm_index_search": (_st, [_p, _f, c_size_t, c_size_t, _f, _sz]),
    "asdnorm_index_search_double": (_st, [_p, _f, c_size_t, c_size_t, _d, _sz]),
    "asdnorm_index_set_density": (_st, [_p, c_int, c_double, _d, c_size_t]),
}

for _name, (_res, _args) in _PROTOTYPES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args


def check(status, context=None):
    """Raise Error for a non-zero status."""
    if status != 0:
        raise Error(status, lib.asdnorm_strerror(status).decode(), context)
