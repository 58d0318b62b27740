# SPDX-License-Identifier: MIT
"""libasdnorm through cffi (ABI mode, no compiler): the C API as declared in asdnorm.h.

The declarations are installed beside the header, generated from it at build time:

    python3 examples/cffi_score.py /usr/local/include/asdnorm/asdnorm.cdef
    python3 examples/cffi_score.py build/python/asdnorm.cdef build/lib/libasdnorm.so.0

Without a library path, ASDNORM_LIBRARY or the system's "libasdnorm.so.0" is loaded.
The asdnorm Python package (ctypes) does the same with checked arguments and exceptions;
cffi suits a program that already uses cffi or wants the C API as it is.
"""
import os
import sys

import cffi
import numpy as np

cdef_path = sys.argv[1] if len(sys.argv) > 1 else "/usr/local/include/asdnorm/asdnorm.cdef"
library = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("ASDNORM_LIBRARY",
                                                                "libasdnorm.so.0")
ffi = cffi.FFI()
with open(cdef_path, encoding="utf-8") as f:
    ffi.cdef(f.read())
lib = ffi.dlopen(library)


def check(status):
    """Every fallible function returns an asdnorm_status; 0 (ASDNORM_OK) is success."""
    if status != lib.ASDNORM_OK:
        raise RuntimeError(ffi.string(lib.asdnorm_strerror(status)).decode())


def floats(a):
    """A pointer to a C-contiguous float32 array (no copy; keep `a` alive during the call)."""
    return ffi.cast("float *", ffi.from_buffer(a))


rng = np.random.default_rng(1)
dim = 8
refs = np.ascontiguousarray(rng.normal(size=(300, dim)) + 3.0, dtype=np.float32)
tests = np.ascontiguousarray(np.vstack([rng.normal(size=(5, dim)) + 3.0,     # normal
                                        rng.normal(size=(5, dim)) - 3.0]),   # anomalous
                             dtype=np.float32)

# new -> add -> finalize: an index of the references, K-NN density with K = 1.
pix = ffi.new("asdnorm_index **")
check(lib.asdnorm_index_new(dim, lib.ASDNORM_DISTANCE_EUCLIDEAN, pix))
ix = ffi.gc(pix[0], lib.asdnorm_index_free)
check(lib.asdnorm_index_add(ix, floats(refs), len(refs), ffi.NULL))
check(lib.asdnorm_index_finalize(ix, lib.ASDNORM_DENSITY_KNN, 1))

# A scorer owns its scratch memory; the index must outlive it (freed in reverse order).
psc = ffi.new("asdnorm_scorer **")
check(lib.asdnorm_scorer_new(ix, lib.ASDNORM_NORM_RATIO, psc))
sc = ffi.gc(psc[0], lib.asdnorm_scorer_free)
scores = np.empty(len(tests), dtype=np.float32)
nearest = ffi.new("size_t[]", len(tests))
check(lib.asdnorm_scorer_score(sc, floats(tests), len(tests), floats(scores), nearest))

# The same in float64 with numpy (docs/math.md §2): distance to each reference over its
# K = 1 density (the distance to its nearest other reference), minimum over references.
d_rr = np.linalg.norm(refs[:, None, :].astype(np.float64) - refs[None], axis=2)
np.fill_diagonal(d_rr, np.inf)
density = d_rr.min(axis=1)
ratio = np.linalg.norm(tests[:, None, :].astype(np.float64) - refs[None], axis=2) / density
np.testing.assert_allclose(scores, ratio.min(axis=1), rtol=1e-4)
assert list(nearest) == list(ratio.argmin(axis=1))

print(f"libasdnorm {ffi.string(lib.asdnorm_version()).decode()} through cffi")
for i, s in enumerate(scores):
    print(f"test {i}: score {s:8.3f}  nearest reference #{nearest[i]}"
          f"{'  (anomalous)' if i >= 5 else ''}")
assert scores[5:].min() > scores[:5].max()
sc = ix = None  # the scorer is freed before the index it uses
print("OK")
