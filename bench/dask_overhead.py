#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""asdnorm.dask on a LocalCluster against one process, in the same run (docs/scaling.md).

The job: M references × D dimensions (cosine, k-NN density with K = 16), then the
ratio scores of N tests with their nearest references. One process: asdnorm.Index
with the library's OpenMP threads (all cores). Dask: a LocalCluster of W worker
processes with one thread each (OMP_NUM_THREADS=1 in the workers, so W processes
use W cores), the references in W chunks. Both must give identical densities,
scores and nearest references (checked). Prints wall times, their ratios, and the
per-task times of finalize's block-pair searches and of scoring (from Dask's task
stream), the inputs of the cost model in docs/scaling.md.

Run:  ASDNORM_LIBRARY=build/lib/libasdnorm.so.0 PYTHONPATH=python \\
        nice /usr/bin/python3 bench/dask_overhead.py [--m 50000] [--d 128] [--n 10000]
"""
import argparse
import os
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--m", type=int, default=50000)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    import asdnorm
    import dask
    import dask.array as da
    import distributed
    import asdnorm.dask as ad

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(50, args.d))
    refs = (centres[rng.integers(0, 50, args.m)] + 0.5 * rng.normal(size=(args.m, args.d))
            ).astype(np.float32)
    tests = (centres[rng.integers(0, 50, args.n)] + 0.6 * rng.normal(size=(args.n, args.d))
             ).astype(np.float32)

    t0, c0 = time.perf_counter(), time.process_time()
    one = asdnorm.Index(args.d, "cosine").add(refs)
    one.finalize("knn", k=args.k)
    t_fin1, c_fin1 = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    s1, n1 = asdnorm.Scorer(one, "ratio").score(tests, return_nearest=True)
    t_sc1, c_sc1 = time.perf_counter() - t0, time.process_time() - c0

    with dask.config.set({"distributed.worker.daemon": True}):
        cluster = distributed.LocalCluster(n_workers=args.workers, processes=True,
                                           threads_per_worker=1, dashboard_address=":0",
                                           env={"OMP_NUM_THREADS": "1"})
    client = distributed.Client(cluster)
    chunk = -(-args.m // args.workers)
    x = da.from_array(refs, chunks=(chunk, args.d))
    xt = da.from_array(tests, chunks=(min(args.n, 2500), args.d))

    def cpu():  # CPU seconds of all worker processes: robust to other load
        return sum(client.run(time.process_time).values())

    with distributed.get_task_stream(client) as ts:
        t0 = time.perf_counter()
        ix = ad.Index(args.d, "cosine").add(x)
        t_add = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), cpu()
        ix.finalize("knn", k=args.k)
        t_fin, c_fin = time.perf_counter() - t0, cpu() - c0
        t0, c0 = time.perf_counter(), cpu()
        s2, n2 = dask.compute(*ad.Scorer(ix, "ratio").score(xt, return_nearest=True))
        t_sc, c_sc = time.perf_counter() - t0, cpu() - c0
    exact = (ix.density.tobytes() == one.density.tobytes() and s1.tobytes() == s2.tobytes()
             and np.array_equal(n1, n2))

    per = {}
    for t in ts.data:
        name = t["key"].split("-")[0].strip("('")
        for s in t["startstops"]:
            if s["action"] == "compute":
                per.setdefault(name, []).append(s["stop"] - s["start"])
    print(f"M={args.m} D={args.d} N={args.n} K={args.k}, {args.workers} worker processes "
          f"× 1 thread vs one process with {os.cpu_count()} threads; exact: {exact}")
    print(f"finalize: one process {t_fin1:.2f} s, dask {t_fin:.2f} s (+ add {t_add:.2f} s): "
          f"ratio {t_fin / t_fin1:.2f} ({(t_fin + t_add) / t_fin1:.2f} with add)")
    print(f"score:    one process {t_sc1:.2f} s, dask {t_sc:.2f} s: ratio {t_sc / t_sc1:.2f}")
    print(f"total:    ratio {(t_add + t_fin + t_sc) / (t_fin1 + t_sc1):.2f}")
    print(f"CPU time: finalize one process {c_fin1:.2f} s, workers {c_fin:.2f} s: ratio "
          f"{c_fin / c_fin1:.2f}; score {c_sc1:.2f} s vs {c_sc:.2f} s: ratio {c_sc / c_sc1:.2f}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, times in sorted(per.items()):
        print(f"  task {name:15s} n={len(times):4d} mean {np.mean(times) * 1e3:9.1f} ms "
              f"total {np.sum(times):7.2f} s")
    if "_cross_lists" in per:   # a pair of blocks: b × b pairs of rows, each once
        b = args.m / len(per["_self_lists"])
        pair = np.mean(per["_cross_lists"])
        print(f"  block pair: {b:.0f} × {b:.0f} rows × {args.d} dims in {pair * 1e3:.0f} ms: "
              f"{b * b * args.d / pair / 1e9:.2f} G pair-dims/s per worker")
    if "_score_part" in per:
        sp = np.mean(per["_score_part"])
        rate = min(args.n, 2500) * chunk * args.d / sp
        print(f"  shard scoring: {min(args.n, 2500)} tests × {chunk} references in "
              f"{sp * 1e3:.0f} ms: {rate / 1e9:.2f} G row-dims/s per worker")
    client.close()
    cluster.close()


if __name__ == "__main__":
    main()
