#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""asdnorm.dask on a LocalCluster against one process, in the same run (docs/scaling.md).

The job: M references × D dimensions (cosine, k-NN density with K = 16), then the
ratio scores of N tests with their nearest references. One process: asdnorm.Index
with the library's OpenMP threads (all cores). Dask: a LocalCluster of W worker
processes with one thread each (OMP_NUM_THREADS=1 in the workers, so W processes
use W cores), the references in W chunks. Both must give identical densities,
scores and nearest references (checked). The comparison runs --repeat times,
alternating which side goes first (the load of a shared machine drifts); each run
prints wall and CPU times (this process's, and the workers' summed) and their
ratios, then the medians and the workers' task times per task prefix (Dask's task
stream), the inputs of the cost model in docs/scaling.md.

Run:  ASDNORM_LIBRARY=build/lib/libasdnorm.so.0 PYTHONPATH=python \\
        nice /usr/bin/python3 bench/dask_overhead.py [--m 50000] [--d 128] [--repeat 5]
"""
import argparse
import os
import time

import numpy as np


def one_process(asdnorm, refs, tests, k):
    """Finalize and score in this process: (wall, CPU) of each, and the results."""
    t0, c0 = time.perf_counter(), time.process_time()
    one = asdnorm.Index(refs.shape[1], "cosine").add(refs)
    one.finalize("knn", k=k)
    fin = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    s, n = asdnorm.Scorer(one, "ratio").score(tests, return_nearest=True)
    sc = time.perf_counter() - t0, time.process_time() - c0
    return fin, sc, (one.density, s, n)


def one_thread(refs, tests, k):
    """The same job on one thread, as a task in a worker (OMP_NUM_THREADS=1 there): the
    CPU time of the work itself, without the waits of a team of threads."""
    import asdnorm
    c0 = time.process_time()
    one = asdnorm.Index(refs.shape[1], "cosine").add(refs)
    one.finalize("knn", k=k)
    c1 = time.process_time()
    asdnorm.Scorer(one, "ratio").score(tests, return_nearest=True)
    return c1 - c0, time.process_time() - c1


def on_dask(client, ad, dask, x, xt, d, k):
    """The same job on the cluster: (wall, CPU of all workers) of add + finalize and of
    scoring, and the results."""
    def cpu():  # CPU seconds of all worker processes: robust to other load
        return sum(client.run(time.process_time).values())

    t0, c0 = time.perf_counter(), cpu()
    ix = ad.Index(d, "cosine").add(x)
    ix.finalize("knn", k=k)
    fin = time.perf_counter() - t0, cpu() - c0
    t0, c0 = time.perf_counter(), cpu()
    s, n = dask.compute(*ad.Scorer(ix, "ratio").score(xt, return_nearest=True))
    sc = time.perf_counter() - t0, cpu() - c0
    return fin, sc, (ix.density, s, n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--m", type=int, default=50000)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3,
                    help="comparisons, alternating which side runs first (medians printed)")
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

    with dask.config.set({"distributed.worker.daemon": True}):
        cluster = distributed.LocalCluster(n_workers=args.workers, processes=True,
                                           threads_per_worker=1, dashboard_address=":0",
                                           env={"OMP_NUM_THREADS": "1"})
    client = distributed.Client(cluster)
    chunk = -(-args.m // args.workers)
    x = da.from_array(refs, chunks=(chunk, args.d))
    xt = da.from_array(tests, chunks=(min(args.n, 2500), args.d))

    print(f"M={args.m} D={args.d} N={args.n} K={args.k}: {args.workers} worker processes "
          f"× 1 thread vs one process with {os.cpu_count()} threads")
    print("finalize (with add): wall of one process / of Dask and their ratio; CPU of one "
          "process / of one thread / of the workers, the workers' ratio to each.\n"
          "score: the same three ratios. load: the 1-minute load average after the run.")
    print("run  load | finalize wall (s)   ratio | finalize CPU (s)               ratios "
          "    | score ratios      | exact")
    data = client.scatter([refs, tests])   # for one_thread, on one worker
    rows, per = [], {}
    for r in range(args.repeat):
        single = client.submit(one_thread, *data, args.k, pure=False).result()
        with distributed.get_task_stream(client) as ts:
            if r % 2 == 0:
                one = one_process(asdnorm, refs, tests, args.k)
                dsk = on_dask(client, ad, dask, x, xt, args.d, args.k)
            else:
                dsk = on_dask(client, ad, dask, x, xt, args.d, args.k)
                one = one_process(asdnorm, refs, tests, args.k)
        (d1, s1, n1), (d2, s2, n2) = one[2], dsk[2]
        exact = d1.tobytes() == d2.tobytes() and s1.tobytes() == s2.tobytes() \
            and np.array_equal(n1, n2)
        load = os.getloadavg()[0]
        ratios = [dsk[0][0] / one[0][0], dsk[0][1] / one[0][1], dsk[0][1] / single[0],
                  dsk[1][0] / one[1][0], dsk[1][1] / one[1][1], dsk[1][1] / single[1]]
        rows.append(ratios + [load])
        print(f"{r + 1:3d} {load:5.1f} | {one[0][0]:6.2f} / {dsk[0][0]:6.2f} s  {ratios[0]:5.2f} "
              f"| {one[0][1]:6.2f} / {single[0]:6.2f} / {dsk[0][1]:6.2f} s  {ratios[1]:5.2f} "
              f"{ratios[2]:5.2f} | {ratios[3]:5.2f} {ratios[4]:5.2f} {ratios[5]:5.2f} | {exact}")
        for t in ts.data:
            name = t["key"].split("-")[0].strip("('")
            for st in t["startstops"]:
                if st["action"] == "compute":
                    per.setdefault(name, []).append(st["stop"] - st["start"])
        if not exact:
            raise SystemExit("the results differ from one process")
    med = np.median(np.array(rows), axis=0)
    print(f"median of {args.repeat} (limit 1.3): finalize wall ratio {med[0]:.2f}, CPU ratio "
          f"{med[1]:.2f} (to one thread {med[2]:.2f}); score wall ratio {med[3]:.2f}, CPU ratio "
          f"{med[4]:.2f} (to one thread {med[5]:.2f}); load {med[6]:.1f} on {os.cpu_count()} "
          "cores")
    print("workers' task time per task prefix, all runs (Dask's task stream):")
    for name, times in sorted(per.items()):
        print(f"  task {name:15s} n={len(times):4d} mean {np.mean(times) * 1e3:9.1f} ms "
              f"total {np.sum(times) / args.repeat:7.2f} s per run")
    if "_cross_lists" in per:   # the pairs of rows in different shards, each once
        s = args.m / args.workers
        pairs = (args.m * args.m - args.workers * s * s) / 2
        t = np.sum(per["_cross_lists"]) / args.repeat
        print(f"  pairs across shards: {pairs:.3g} × {args.d} dims in {t:.2f} s of pair tasks "
              f"per run: {pairs * args.d / t / 1e9:.2f} G pair-dims/s per worker")
    if "_score_part" in per:
        sp = np.median(per["_score_part"])
        rate = min(args.n, 2500) * chunk * args.d / sp
        print(f"  shard scoring: {min(args.n, 2500)} tests × {chunk} references in "
              f"{sp * 1e3:.0f} ms (median): {rate / 1e9:.2f} G row-dims/s per worker")
    client.close()
    cluster.close()


if __name__ == "__main__":
    main()
