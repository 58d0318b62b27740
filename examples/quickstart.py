# SPDX-License-Identifier: MIT
"""asdnorm in Python: build an index of normal references, score test samples.

Run from a build tree:  ASDNORM_LIBRARY=build/lib/libasdnorm.so.0 PYTHONPATH=python \\
                        python3 examples/quickstart.py
"""
import numpy as np

import asdnorm

rng = np.random.default_rng(0)
dim = 16
e = 4.0 * np.eye(dim)
# Normal references: many from a dense source domain, a handful from a sparse target
# domain (a new machine setting). Anomalies: source-domain sounds that drifted away.
source = e[0] + rng.normal(0, 0.4, (500, dim))
target = e[1] + rng.normal(0, 1.0, (10, dim))

ix = asdnorm.Index(dim, distance="cosine")
ix.add(source, domains=np.ones(len(source), dtype=np.uint8))    # 1 = source
ix.add(target, domains=np.full(len(target), 2, dtype=np.uint8))  # 2 = target
ix.finalize(density="knn", k=1)  # the paper's recommended setting
print(ix)
print(f"density constants (median): source {np.median(ix.density[ix.domains == 1]):.4f}, "
      f"target {np.median(ix.density[ix.domains == 2]):.4f}")

n = 200
tests = np.vstack([e[0] + rng.normal(0, 0.4, (n, dim)),              # normal, source
                   e[1] + rng.normal(0, 1.0, (n, dim)),              # normal, target
                   0.5 * (e[0] + e[2]) + rng.normal(0, 0.4, (n, dim))]  # anomalous
                  ).astype(np.float32)
labels = np.repeat([0, 0, 1], n).astype(np.uint8)                    # 1 = anomalous

plain = asdnorm.Scorer(ix, norm="none")       # plain nearest-neighbour distance
normalized = asdnorm.Scorer(ix, norm="ratio")  # distance / the reference's local density
p = plain.score(tests)
s, nearest = normalized.score(tests, return_nearest=True)

print("\nsample           plain k-NN  normalized  nearest reference")
for i, kind in ((0, "normal source"), (n, "normal target"), (2 * n, "anomalous")):
    j = nearest[i]
    print(f"{kind:15s}  {p[i]:10.4f}  {s[i]:10.4f}  #{j} "
          f"({'source' if ix.domains[j] == 1 else 'target'})")

# One threshold for both domains: plain distances are larger in the sparse target domain
# than for the anomalies; the normalized scores put both domains on one scale.
auc_plain = asdnorm.metrics.auc(labels, p)
auc_norm = asdnorm.metrics.auc(labels, s)
print(f"\nAUC, both domains together: plain k-NN {auc_plain:.3f}, normalized {auc_norm:.3f}")
assert auc_norm > auc_plain

# A scikit-learn style detector with the same defaults: +1 inlier, -1 outlier.
det = asdnorm.Detector(contamination=0.05).fit(np.vstack([source, target]),
                                               domains=ix.domains)
pred = det.predict(tests)
print(f"Detector.predict: {np.mean(pred[:2 * n] == -1):.1%} of normals and "
      f"{np.mean(pred[2 * n:] == -1):.1%} of anomalies flagged")

# Save once, load in the monitoring program: identical scores.
restored = asdnorm.Index.from_bytes(ix.to_bytes())   # or ix.save(path); Index.load(path)
assert np.array_equal(asdnorm.Scorer(restored).score(tests), s)
print(f"\nlibasdnorm {asdnorm.__version__} from {asdnorm.library_path}: OK")
