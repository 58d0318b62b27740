# SPDX-License-Identifier: MIT
"""A reference bank spread over Dask workers: the same scores as one process.

Starts a LocalCluster of 2 worker processes (on a real cluster, connect a
distributed.Client to its scheduler instead: docs/scaling.md), builds a bank with
one shard per chunk of rows, finalizes it, scores lazily, saves and loads it, and
checks every result against one process on the same rows.

Run from a build tree:  ASDNORM_LIBRARY=build/lib/libasdnorm.so.0 PYTHONPATH=python \\
                        python3 examples/dask_bank.py
"""
import os
import sys
import tempfile

import numpy as np

try:
    import dask
    import dask.array as da
    import distributed
except ImportError as exc:  # the example needs Dask (Debian: python3-distributed)
    print(f"skipped: {exc}")
    sys.exit(77)  # meson's "skipped"

import asdnorm
import asdnorm.dask as ad


def main():
    rng = np.random.default_rng(0)
    dim = 32
    e = 4.0 * np.eye(dim)
    # 3,000 source references in a dense cluster, 30 target ones in a sparse one.
    refs = np.vstack([e[0] + rng.normal(0, 0.4, (3000, dim)),
                      e[1] + rng.normal(0, 1.0, (30, dim))]).astype(np.float32)
    domains = np.r_[np.ones(3000, np.uint8), np.full(30, 2, np.uint8)]
    tests = np.vstack([e[0] + rng.normal(0, 0.4, (400, dim)),           # normal, source
                       e[1] + rng.normal(0, 1.0, (400, dim)),           # normal, target
                       0.5 * (e[0] + e[2]) + rng.normal(0, 0.4, (400, dim))]  # anomalous
                      ).astype(np.float32)

    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster):
        bank = ad.Index(dim, distance="cosine")
        bank.add(da.from_array(refs, chunks=(1010, dim)), domains=domains)  # 3 shards
        bank.finalize(density="knn", k=1)
        print(bank)
        scores, nearest = ad.Scorer(bank, norm="ratio").score(
            da.from_array(tests, chunks=(300, dim)), return_nearest=True)
        scores, nearest = dask.compute(scores, nearest)   # lazy until here
        for name, part in (("source normal", scores[:400]), ("target normal", scores[400:800]),
                           ("anomalous", scores[800:])):
            print(f"  {name:14s} median score {np.median(part):8.3f}")

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "bank")
            bank.save(path)                       # one file per shard + manifest.json
            print("saved:", sorted(os.listdir(path)))
            again = ad.Index.load(path)
            s2 = ad.Scorer(again, norm="ratio").score(da.from_array(tests, chunks=(300, dim)))
            assert s2.compute().tobytes() == scores.tobytes()

    # One process on the same rows gives the same bits.
    one = asdnorm.Index(dim, distance="cosine").add(refs, domains=domains)
    one.finalize(density="knn", k=1)
    s1, n1 = asdnorm.Scorer(one, norm="ratio").score(tests, return_nearest=True)
    assert bank.density.tobytes() == one.density.tobytes()
    assert s1.tobytes() == scores.tobytes() and np.array_equal(n1, nearest)
    print("identical to one process: densities, scores and nearest references")


if __name__ == "__main__":
    main()
