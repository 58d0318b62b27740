#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Requested against achieved false-alarm rate, per domain, of the threshold that
Scorer.threshold calibrates from the normal references alone (docs/math.md §2.5), with
the normalization (knn K=1, ratio) and without it (plain nearest-neighbour distance):
the table of docs/guide.md, "Choosing a threshold".

For each data set, one threshold is calibrated on the references of both domains
(pooled) and applied to held-out normal samples of each domain; the achieved rate of a
domain is the fraction of its held-out normals whose score exceeds the threshold.

Data (everything is in the repository):
  demo    the synthetic data of `asdnorm demo` (tools/demo.c: 600 source references in
          3 dense clusters, 10 target references in 2 sparse clusters, 150 held-out
          normals per domain), for seeds 1..SEEDS, through `asdnorm demo --save`;
  office  Office-Caltech10 SURF features (tests/data/office-caltech10): source domain
          Caltech-256 (two thirds of the normal class as references, the rest held
          out), target domain Amazon (5 references, the rest held out), each of the 10
          classes normal in turn; cosine distance.
Rates are pooled over the seeds or classes (false alarms / held-out normals).

Run from the repository root, after `meson setup build && meson compile -C build`:
  PYTHONPATH=python /usr/bin/python3 bench/threshold.py [--asdnorm build/tools/asdnorm]
      [--seeds 10] [--markdown]
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np

import asdnorm

FPRS = (0.01, 0.05, 0.1, 0.2)
METHODS = (("ratio", dict(density="knn", k=1), "ratio"), ("none", dict(density="none"), "none"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def false_alarms(refs, ref_dom, held, held_dom, distance, density, norm):
    """Per fpr: (false alarms, held-out normals) of each domain (1 source, 2 target)."""
    ix = asdnorm.Index(refs.shape[1], distance).add(refs, ref_dom).finalize(**density)
    sc = asdnorm.Scorer(ix, norm)
    s = sc.score(held)
    out = {}
    for fpr in FPRS:
        t = sc.threshold(fpr)
        out[fpr] = {d: (int((s[held_dom == d] > t).sum()), int((held_dom == d).sum()))
                    for d in (1, 2)}
    return out


def add(total, part):
    for fpr, per in part.items():
        for d, (fa, n) in per.items():
            a, b = total.setdefault(fpr, {}).get(d, (0, 0))
            total[fpr][d] = (a + fa, b + n)


def demo_sets(exe, seeds):
    with tempfile.TemporaryDirectory(prefix="asdnorm-threshold-") as tmp:
        for seed in range(1, seeds + 1):
            d = os.path.join(tmp, str(seed))
            subprocess.run([exe, "demo", "--seed", str(seed), "--save", d], check=True,
                           stdout=subprocess.DEVNULL)
            labels = np.load(os.path.join(d, "test_labels.npy"))
            normal = labels == 0
            yield (np.load(os.path.join(d, "refs.npy")),
                   np.load(os.path.join(d, "ref_domains.npy")).astype(np.uint8),
                   np.load(os.path.join(d, "test.npy"))[normal],
                   np.load(os.path.join(d, "test_domains.npy"))[normal])


def office_sets(n_tgt=5):
    data = os.path.join(ROOT, "tests", "data", "office-caltech10")
    xc = np.load(os.path.join(data, "surf_caltech10_x.npy")).astype(np.float32)
    yc = np.load(os.path.join(data, "surf_caltech10_y.npy"))
    xa = np.load(os.path.join(data, "surf_amazon_x.npy")).astype(np.float32)
    ya = np.load(os.path.join(data, "surf_amazon_y.npy"))
    for c in range(1, 11):
        src, tgt = xc[yc == c], xa[ya == c]
        n_src = 2 * len(src) // 3
        refs = np.vstack([src[:n_src], tgt[:n_tgt]])
        ref_dom = np.r_[np.ones(n_src), np.full(n_tgt, 2)].astype(np.uint8)
        held = np.vstack([src[n_src:], tgt[n_tgt:]])
        held_dom = np.r_[np.ones(len(src) - n_src), np.full(len(tgt) - n_tgt, 2)]
        yield refs, ref_dom, held, held_dom


def table(name, sets, distance, markdown):
    totals = {m: {} for m, _, _ in METHODS}
    for refs, ref_dom, held, held_dom in sets:
        for m, density, norm in METHODS:
            add(totals[m], false_alarms(refs, ref_dom, held, held_dom, distance, density, norm))
    any_totals = totals[METHODS[0][0]][FPRS[0]]
    n_src, n_tgt = any_totals[1][1], any_totals[2][1]
    print(f"\n{name} ({distance}; held-out normals: {n_src} source, {n_tgt} target)")
    head = ["requested", "ratio: source", "ratio: target", "none: source", "none: target"]
    if markdown:
        print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    else:
        print("  ".join(f"{h:>14s}" for h in head))
    for fpr in FPRS:
        cells = [f"{fpr:.2f}"]
        for m, _, _ in METHODS:
            for d in (1, 2):
                fa, n = totals[m][fpr][d]
                cells.append(f"{fa / n:.3f}")
        print("| " + " | ".join(cells) + " |" if markdown
              else "  ".join(f"{c:>14s}" for c in cells))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--asdnorm", help="the asdnorm program (default: build*/tools/asdnorm)")
    ap.add_argument("--seeds", type=int, default=10, help="demo data sets (default 10)")
    ap.add_argument("--markdown", action="store_true", help="Markdown tables")
    args = ap.parse_args()
    exe = args.asdnorm or next(iter(sorted(glob.glob(os.path.join(ROOT, "build*", "tools",
                                                                  "asdnorm")))), None)
    if not exe:
        sys.exit("threshold.py: no asdnorm program found; build it or pass --asdnorm")
    table("demo", demo_sets(exe, args.seeds), "cosine", args.markdown)
    table("Office-Caltech10, source Caltech-256, target Amazon", office_sets(), "cosine",
          args.markdown)


if __name__ == "__main__":
    main()
