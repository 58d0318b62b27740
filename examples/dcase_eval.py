# SPDX-License-Identifier: MIT
"""Evaluate density-normalized scores the DCASE way on real embeddings with a domain shift.

Office-Caltech10 SURF features (tests/data/office-caltech10 in the repository): for each object class c
(one "section", with its own index), class c is normal and every other class is anomalous.
Source domain = Caltech10: two thirds of its class-c rows are references, the rest are test
normals. Target domain = Amazon: only a few class-c rows are references (the handful of
recordings one has after a change of conditions), the rest are test normals. Anomalies are
rows of the other classes from both domains. Prints AUC (source, target), pAUC and the DCASE
2023 official score (harmonic mean) for plain k-NN and for the normalized scores.

    python3 examples/dcase_eval.py [DATA_DIR] [--n-target 5] [--seed 0]
"""
import argparse
import os

import numpy as np

import asdnorm

METHODS = [  # (label, density, k, r, norm)
    ("k-NN, no normalization", "none", 1, 0.0, "none"),
    ("k-NN K=1, ratio (paper default)", "knn", 1, 0.0, "ratio"),
    ("k-NN K=1, difference", "knn", 1, 0.0, "difference"),
    ("GWRP r=0.9, ratio", "gwrp", 1, 0.9, "ratio"),
]


DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests",
                            "data", "office-caltech10")


def load(data_dir, name):
    x = np.load(os.path.join(data_dir, f"surf_{name}_x.npy"))
    y = np.load(os.path.join(data_dir, f"surf_{name}_y.npy"))
    return x.astype(np.float32), y


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data_dir", nargs="?", default=DEFAULT_DATA,
                    help="the office-caltech10 directory (default: the repository's copy)")
    ap.add_argument("--n-target", type=int, default=5, help="target references per section")
    ap.add_argument("--n-anomalies", type=int, default=40, help="anomalies per domain and section")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    xs, ys = load(args.data_dir, "caltech10")  # source domain
    xt, yt = load(args.data_dir, "amazon")     # target domain

    results = {m[0]: [] for m in METHODS}
    labels, domains, sections = [], [], []
    for c in np.unique(ys):
        src = rng.permutation(np.flatnonzero(ys == c))
        tgt = rng.permutation(np.flatnonzero(yt == c))
        n_src_ref = 2 * len(src) // 3
        refs = np.vstack([xs[src[:n_src_ref]], xt[tgt[:args.n_target]]])
        ref_domains = np.r_[np.ones(n_src_ref), np.full(args.n_target, 2)].astype(np.uint8)
        anom_s = rng.choice(np.flatnonzero(ys != c), args.n_anomalies, replace=False)
        anom_t = rng.choice(np.flatnonzero(yt != c), args.n_anomalies, replace=False)
        tests = np.vstack([xs[src[n_src_ref:]], xt[tgt[args.n_target:]], xs[anom_s], xt[anom_t]])
        n_norm_s, n_norm_t = len(src) - n_src_ref, len(tgt) - args.n_target
        labels.append(np.r_[np.zeros(n_norm_s + n_norm_t), np.ones(2 * args.n_anomalies)])
        domains.append(np.r_[np.ones(n_norm_s), np.full(n_norm_t, 2),
                             np.ones(args.n_anomalies), np.full(args.n_anomalies, 2)])
        sections.append(np.full(len(tests), int(c)))

        for label, density, k, r, norm in METHODS:
            ix = asdnorm.Index(refs.shape[1], distance="cosine")
            ix.add(refs, domains=ref_domains)
            ix.finalize(density=density, k=k, r=r)
            results[label].append(asdnorm.Scorer(ix, norm=norm).score(tests))

    labels = np.concatenate(labels).astype(np.uint8)
    domains = np.concatenate(domains).astype(np.uint8)
    sections = np.concatenate(sections).astype(np.int32)
    print(f"Office-Caltech10 SURF, {len(np.unique(sections))} sections (one per class), "
          f"{len(labels)} test samples, {args.n_target} target references per section\n")
    print(f"{'method':34s} {'AUC src':>8s} {'AUC tgt':>8s} {'pAUC':>8s} {'official':>9s}")
    for label, _, _, _, _ in METHODS:
        scores = np.concatenate(results[label]).astype(np.float64)
        assert np.isfinite(scores).all()
        res = asdnorm.metrics.dcase(scores, labels, domains, sections, edition=2023)
        per = res["sections"].values()
        mean = {key: np.mean([s[key] for s in per]) for key in ("auc_source", "auc_target", "pauc")}
        print(f"{label:34s} {mean['auc_source']:8.4f} {mean['auc_target']:8.4f} "
              f"{mean['pauc']:8.4f} {res['official']:9.4f}")
        assert 0.0 < res["official"] <= 1.0
    print("\n(AUC and pAUC are arithmetic means over sections; 'official' is the DCASE "
          "2023 harmonic mean over all sections' values)")


if __name__ == "__main__":
    main()
