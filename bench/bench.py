#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The same job with libasdnorm, numpy, scikit-learn and FAISS: time, agreement, memory.

The job (issue 5): cosine distance d = 0.5 (1 - cos), k-NN density n_j = mean
distance of reference j to its K nearest other references (finalize), then the
ratio score s(x) = min_j d(x, y_j) / max(n_j, 1e-12) of every test (score), for
K = 1 and K = 16.

Implementations, each run in its own subprocess so that its peak RSS is its own:
  asdnorm      the library (python/asdnorm, library from ASDNORM_LIBRARY), allowed
               to set OpenBLAS to one thread while its threads call it
               (asdnorm.set_blas_control(True), the Python package's default)
  asdnorm-default  the same in the C library's default mode, set_blas_control(False)
               (with OpenBLAS's own threads, its BLAS-calling steps run on the
               calling thread)
  numpy        straightforward: the full M x M and N x M float32 matrices
  numpy-block  the same in 1024-row blocks (memory O(block · M))
  sklearn      NearestNeighbors(algorithm="brute", metric="cosine") for the
               densities; pairwise_distances_chunked + min for the scores (a
               normalized minimum is not a k-NN query)
  faiss        IndexFlatIP (exact) on the normalized rows for the densities;
               the scores as one exact maximum-inner-product search over
               augmented vectors x' = [x̂, 1], y'_j = [ŷ_j, -1] / n_j, since
               <x', y'_j> = -(1 - cos) / n_j
Data: the loose 64-cluster mixture of issue 5, or with --families the data
families of issue 12 (bench/families.h, drawn alike here): iso, loose, tight4,
tight6, dup30, ident, lowrank, and decaf (the Office-Caltech DeCAF features in
tests/data: references DSLR, tests webcam, D = 4096, whatever the shape). With
families, the implementation "sgemm" (numpy's float32 products of the same
shapes, nothing else) is the limit, and every family's line gives asdnorm's
time relative to sgemm, to the isotropic family (both sgemm-relative, so that
drift between families cancels) and to the fastest peer.
Run:  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        ASDNORM_LIBRARY=build-perf/lib/libasdnorm.so.0 PYTHONPATH=python \\
        /usr/bin/python3 bench/bench.py [--reps 3] [--quick] [--shapes MxNxD,...]
              [--families iso,loose,tight4,tight6,dup30,ident,lowrank,decaf]
Columns: wall times (medians), CPU time of the process (all threads; robust to
other load on the machine), ratios to asdnorm, peak RSS, and the largest
relative difference of scores and densities from asdnorm's (exact) ones.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

EPS = 1e-12
SHAPES = [(10000, 10000, 512), (50000, 10000, 128), (2000, 2000, 6144)]
IMPLS = ["asdnorm", "numpy", "numpy-block", "sklearn", "faiss"]
BLOCK = 1024


FAMILIES = ["iso", "loose", "tight4", "tight6", "dup30", "ident", "lowrank", "decaf"]
SIGMA = {"loose": 0.7, "dup30": 0.7, "tight4": np.sqrt(2e-4), "tight6": np.sqrt(2e-6)}
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                    "office-caltech10")


def make_data(n, d, seed, family="loose", refs=None):
    """n rows of a family (see bench/families.h); refs: the references, for tests."""
    if family == "decaf":
        return np.ascontiguousarray(
            np.load(os.path.join(DATA, "decaf_dslr_x.npy" if refs is None else "decaf_webcam_x.npy")))
    rng = np.random.default_rng(seed)
    base = np.random.default_rng(12345).normal(size=(64, d))
    if family == "iso":
        x = rng.normal(size=(n, d))
    elif family == "lowrank":
        B = np.random.default_rng(12345).normal(size=(8, d)) / np.sqrt(8)
        x = rng.normal(size=(n, 8)) @ B + 1e-3 * rng.normal(size=(n, d))
    elif family == "ident":
        x = np.tile(base[0], (n, 1))
        if refs is not None:
            x[n // 2:] += 1e-3 * rng.normal(size=(n - n // 2, d))
    else:
        x = base[rng.integers(0, 64, size=n)] + SIGMA[family] * rng.normal(size=(n, d))
    x = x.astype(np.float32)
    if family == "dup30":
        copy = np.flatnonzero(rng.random(n) < 0.3)
        if refs is None:
            for i in copy[copy > 0]:
                x[i] = x[rng.integers(0, i)]
        else:
            x[copy] = refs[rng.integers(0, len(refs), size=len(copy))]
    return x


def unit(x):
    return (x / np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)).astype(np.float32)


# ---- implementations: each returns (finalize(Y, k) -> state, score(state, X) -> scores)

def impl_asdnorm(control=True):
    import asdnorm
    asdnorm.set_blas_control(control)

    def fin(Y, k):
        ix = asdnorm.Index(Y.shape[1], distance="cosine")
        ix.add(Y)
        ix.finalize(density="knn", k=k)
        return ix, asdnorm.Scorer(ix, norm="ratio")

    def score(st, X):
        return st[1].score(X)

    def density(st):
        return st[0].density
    return fin, score, density


def _density_from_sim_rows(S, rows0, k):
    """Rows of cosine similarities to all references -> mean k-NN distance, excluding self."""
    D = 0.5 * (1.0 - S)
    D[np.arange(S.shape[0]), rows0 + np.arange(S.shape[0])] = np.inf
    part = np.partition(D, k - 1, axis=1)[:, :k]
    return np.maximum(part, 0).mean(axis=1, dtype=np.float64)


def impl_numpy():
    def fin(Y, k):
        Yn = unit(Y)
        return Yn, _density_from_sim_rows(Yn @ Yn.T, 0, k)

    def score(st, X):
        Yn, dens = st
        D = np.maximum(0.5 * (1.0 - unit(X) @ Yn.T), 0)
        return (D / np.maximum(dens, EPS).astype(np.float32)).min(axis=1)
    return fin, score, lambda st: st[1]


def impl_numpy_block():
    def fin(Y, k):
        Yn = unit(Y)
        dens = np.empty(len(Y))
        for i0 in range(0, len(Y), BLOCK):
            dens[i0:i0 + BLOCK] = _density_from_sim_rows(Yn[i0:i0 + BLOCK] @ Yn.T, i0, k)
        return Yn, dens

    def score(st, X):
        Yn, dens = st
        inv = (1.0 / np.maximum(dens, EPS)).astype(np.float32)
        Xn = unit(X)
        out = np.empty(len(X), np.float32)
        for i0 in range(0, len(X), BLOCK):
            D = np.maximum(0.5 * (1.0 - Xn[i0:i0 + BLOCK] @ Yn.T), 0)
            D *= inv
            out[i0:i0 + BLOCK] = D.min(axis=1)
        return out
    return fin, score, lambda st: st[1]


def impl_sklearn():
    from sklearn.metrics import pairwise_distances_chunked
    from sklearn.neighbors import NearestNeighbors

    def fin(Y, k):
        nn = NearestNeighbors(n_neighbors=k + 1, algorithm="brute", metric="cosine", n_jobs=-1)
        nn.fit(Y)
        dist, idx = nn.kneighbors(Y)
        # drop each row's own position (normally column 0)
        self_mask = idx == np.arange(len(Y))[:, None]
        keep = np.where(self_mask.any(axis=1)[:, None], ~self_mask, np.arange(k + 1) < k)
        d = 0.5 * dist[keep].reshape(len(Y), k)
        return Y, np.maximum(d, 0).mean(axis=1)

    def score(st, X):
        Y, dens = st
        inv = 1.0 / np.maximum(dens, EPS)
        parts = pairwise_distances_chunked(
            X, Y, metric="cosine", n_jobs=-1,
            reduce_func=lambda D, start: (np.maximum(0.5 * D, 0) * inv).min(axis=1))
        return np.concatenate(list(parts)).astype(np.float32)
    return fin, score, lambda st: st[1]


def impl_faiss():
    import faiss

    def fin(Y, k):
        Yn = unit(Y)
        index = faiss.IndexFlatIP(Yn.shape[1])
        index.add(Yn)
        sim, idx = index.search(Yn, k + 1)
        self_mask = idx == np.arange(len(Y))[:, None]
        keep = np.where(self_mask.any(axis=1)[:, None], ~self_mask, np.arange(k + 1) < k)
        d = 0.5 * (1.0 - sim[keep].reshape(len(Y), k).astype(np.float64))
        dens = np.maximum(d, 0).mean(axis=1)
        inv = 1.0 / np.maximum(dens, EPS)
        aug = np.hstack([Yn * inv[:, None], -inv[:, None]]).astype(np.float32)
        sindex = faiss.IndexFlatIP(aug.shape[1])
        sindex.add(aug)
        return sindex, dens

    def score(st, X):
        sindex, _ = st
        Xa = np.hstack([unit(X), np.ones((len(X), 1), np.float32)])
        sim, _ = sindex.search(Xa, 1)
        return np.maximum(-0.5 * sim[:, 0], 0)
    return fin, score, lambda st: st[1]


def impl_sgemm():
    """The limit: the float32 products alone, in blocks (nothing else)."""
    def products(A, B):
        for i0 in range(0, len(A), BLOCK):
            A[i0:i0 + BLOCK] @ B.T

    def fin(Y, k):
        Yn = unit(Y)
        products(Yn, Yn)
        return Yn, np.zeros(len(Y))

    def score(st, X):
        products(unit(X), st[0])
        return np.zeros(len(X), np.float32)
    return fin, score, lambda st: st[1]


FACTORY = {"sgemm": impl_sgemm, "asdnorm": impl_asdnorm,
           "asdnorm-default": lambda: impl_asdnorm(False), "numpy": impl_numpy, "numpy-block": impl_numpy_block,
           "sklearn": impl_sklearn, "faiss": impl_faiss}


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child(impl, m, n, d, k, reps, single, out_path, family):
    """One implementation on one shape: times (medians), peak RSS, results saved to out_path."""
    Y = make_data(m, d, 1, family)
    X = make_data(n, d, 2, family, Y)
    fin, score, density = FACTORY[impl]()
    base = peak_rss_mib()
    tf, ts, cf, cs = [], [], [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        st = fin(Y, k)
        tf.append(time.perf_counter() - t0)
        cf.append(time.process_time() - c0)
    s = score(st, X[:64])  # warm-up
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        s = score(st, X)
        ts.append(time.perf_counter() - t0)
        cs.append(time.process_time() - c0)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    res = {"finalize": float(np.median(tf)), "score": float(np.median(ts)),
           "cpu": float(np.median(cf) + np.median(cs)),
           "peak_mib": peak_rss_mib(), "growth_mib": peak_rss_mib() - base,
           # the whole child: system time, page faults, involuntary context switches
           "sys": ru.ru_stime, "minflt": ru.ru_minflt, "nivcsw": ru.ru_nivcsw}
    if single:
        one = X[:1].copy()
        score(st, one)
        t1 = []
        for _ in range(201):
            t0 = time.perf_counter()
            score(st, one)
            t1.append(time.perf_counter() - t0)
        res["single"] = float(np.median(t1))
    np.savez(out_path, scores=np.asarray(s, np.float64), density=np.asarray(density(st), np.float64))
    print(json.dumps(res))


def run_child(impl, m, n, d, k, reps, single, tmp, family):
    path = os.path.join(tmp, f"{impl}-{m}-{n}-{d}-{k}-{family}.npz")
    cmd = [sys.executable, __file__, "--child", impl, str(m), str(n), str(d), str(k),
           str(reps), "1" if single else "0", path, family]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return None, p.stderr.strip().splitlines()[-1:] or ["failed"]
    res = json.loads(p.stdout.strip().splitlines()[-1])
    z = np.load(path)
    return res, (z["scores"], z["density"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="smaller shapes (a smoke test)")
    ap.add_argument("--impls", default=",".join(IMPLS))
    ap.add_argument("--shapes", default=None,
                    help="e.g. 10000x10000x512,2000x2000x6144 (M x N x D); default: issue 5's")
    ap.add_argument("--families", default=None,
                    help="comma-separated data families (issue 12): " + ",".join(FAMILIES))
    ap.add_argument("--child", nargs=9, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        impl, m, n, d, k, reps, single, out, family = a.child
        return child(impl, int(m), int(n), int(d), int(k), int(reps), single == "1", out, family)

    import asdnorm
    shapes = [(2000, 1000, 256), (4000, 1000, 128)] if a.quick else SHAPES
    if a.shapes:
        shapes = [tuple(int(v) for v in t.split("x")) for t in a.shapes.split(",")]
    impls = a.impls.split(",")
    families = a.families.split(",") if a.families else [None]
    if a.families and "sgemm" not in impls:
        impls = ["sgemm"] + impls
    summary, iso_rel = [], {}
    print(f"asdnorm {asdnorm.__version__} from {asdnorm._lib.library_path}; numpy {np.__version__}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')} "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')}; medians of {a.reps}")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for (m0, n0, d0), family, k in [(s, f, k) for s in shapes for f in families
                                        for k in (1, 16)]:
            if family == "decaf":
                Yd, Xd = make_data(0, 0, 0, "decaf"), make_data(0, 0, 0, "decaf", 1)
                m, n, d = len(Yd), len(Xd), Yd.shape[1]
            else:
                m, n, d = m0, n0, d0
            single = (m, d) == (10000, 512) or (a.quick and (m, n, d) == shapes[0])
            print(f"\n== M={m} N={n} D={d} K={k}" + (f" family {family}" if family else "") + " ==")
            print(f"{'impl':12s} {'finalize s':>10s} {'score s':>9s} {'total s':>9s} "
                  f"{'vs asdnorm':>10s} {'cpu s':>8s} {'cpu vs':>7s} {'peak MiB':>9s} {'max rel diff':>12s}"
                  f" {'sys s':>6s} {'minflt':>8s} {'invcsw':>7s}"
                  + ("  single-sample ms" if single else ""))
            rows, ref = {}, None
            for impl in impls:
                if impl == "numpy" and m * m * 4 > (4 << 30):
                    print(f"{impl:12s} skipped: its M x M float32 matrix is {m * m * 4 / 2**30:.0f} GiB")
                    continue
                res, data = run_child(impl, m, n, d, k, a.reps, single, tmp, family or "loose")
                if res is None:
                    print(f"{impl:12s} FAILED: {data[0]}")
                    ok = False
                    continue
                rows[impl] = res
                if impl == "asdnorm":
                    ref = data
                diff = float("nan")
                if ref is not None and impl != "sgemm":
                    sd = np.max(np.abs(data[0] - ref[0]) / np.maximum(np.abs(ref[0]), 1e-30))
                    dd = np.max(np.abs(data[1] - ref[1]) / np.maximum(np.abs(ref[1]), 1e-30))
                    diff = max(sd, dd)
                    # float32 pipelines vs the exact library; on tight clusters and
                    # duplicates their absolute error (~1e-7) exceeds the distances
                    if diff > 1e-3 and family not in ("tight4", "tight6", "dup30", "ident"):
                        ok = False
                tot = res["finalize"] + res["score"]
                ratio = tot / (rows["asdnorm"]["finalize"] + rows["asdnorm"]["score"]) \
                    if "asdnorm" in rows else float("nan")
                cratio = res["cpu"] / rows["asdnorm"]["cpu"] if "asdnorm" in rows else float("nan")
                print(f"{impl:12s} {res['finalize']:10.3f} {res['score']:9.3f} {tot:9.3f} "
                      f"{ratio:10.2f} {res['cpu']:8.3f} {cratio:7.2f} {res['peak_mib']:9.0f} {diff:12.2e}"
                      f" {res['sys']:6.2f} {res['minflt']:8d} {res['nivcsw']:7d}"
                      + (f"  {1e3 * res['single']:8.3f}" if single else ""))
            others = {i: r["finalize"] + r["score"] for i, r in rows.items()
                      if i not in ("asdnorm", "asdnorm-default", "sgemm")}
            if "asdnorm" in rows and others:
                best = min(others, key=others.get)
                mine = rows["asdnorm"]["finalize"] + rows["asdnorm"]["score"]
                cbest = min((i for i in others), key=lambda i: rows[i]["cpu"])
                print(f"fastest other (wall): {best}; asdnorm is {others[best] / mine:.2f}x faster; "
                      f"least CPU other: {cbest}, {rows[cbest]['cpu'] / rows['asdnorm']['cpu']:.2f}x "
                      f"asdnorm's CPU (target: >= 1.5x at 10000/10000/512, > 1x elsewhere)")
                if family and "sgemm" in rows:
                    rel = mine / (rows["sgemm"]["finalize"] + rows["sgemm"]["score"])
                    if family == "iso":
                        iso_rel[(m0, n0, d0, k)] = rel
                    vs_iso = rel / iso_rel.get((m0, n0, d0, k), float("nan"))
                    dflt = rows.get("asdnorm-default")
                    dx = others[best] / (dflt["finalize"] + dflt["score"]) if dflt else float("nan")
                    summary.append(f"{family:8s} {m:6d} {n:6d} {d:5d} {k:3d} {mine:9.3f} "
                                   f"{rel:8.2f} {vs_iso:7.2f} {best:>12s} {others[best] / mine:8.2f}"
                                   f" {min(rows[i]['cpu'] for i in others) / rows['asdnorm']['cpu']:8.2f} {dx:8.2f}")
    if summary:
        print("\nper family: asdnorm's finalize + score (s), / sgemm, / the isotropic family's "
              "(sgemm-relative; target <= 1.3), fastest peer and how many times asdnorm is faster "
              "(target >= 1.5), in wall time, in CPU time (the least-CPU peer's / asdnorm's), and "
              "in wall time in the library's default BLAS mode (asdnorm-default, when run)")
        print(f"{'family':8s} {'M':>6s} {'N':>6s} {'D':>5s} {'K':>3s} {'asdnorm':>9s} "
              f"{'/sgemm':>8s} {'/iso':>7s} {'peer':>12s} {'x faster':>8s} {'x CPU':>8s} "
              f"{'default':>8s}")
        print("\n".join(summary))
    print("\nagreement:", "all within 1e-3 relative" if ok else "SOME DISAGREE OR FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
