#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tests of the asdnorm command-line program.

Every expected value is computed here, independently of the library, in float64
numpy (and scikit-learn for LOF and the AUCs). Run one test:

    test_cli.py --asdnorm build/tools/asdnorm [--data DIR] TEST

Exit status 0 pass, 1 fail, 77 skip (meson's convention).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

try:
    import numpy as np
except ImportError:  # a Python without numpy (a pyenv python3 on PATH): skip, not fail
    print("skip: numpy is not installed for", sys.executable)
    sys.exit(77)

SKIP = 77
ASDNORM = None
DATA = None


class Skip(Exception):
    pass


# ---- helpers -------------------------------------------------------------------------

def run(*args, expect=0, stdin=None):
    """Run asdnorm; check the exit status; return (stdout, stderr)."""
    p = subprocess.run([ASDNORM, *map(str, args)], input=stdin, capture_output=True, text=True,
                       timeout=300)
    if p.returncode != expect:
        raise AssertionError(f"asdnorm {' '.join(map(str, args))}: exit {p.returncode}, "
                             f"expected {expect}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    return p.stdout, p.stderr


def fails(*args, code=1, needles=()):
    """Run asdnorm expecting failure with `code` and every needle in stderr."""
    out, err = run(*args, expect=code)
    assert err.startswith("asdnorm"), f"message should start with 'asdnorm': {err!r}"
    for n in needles:
        assert n in err, f"expected {n!r} in the message: {err!r}"
    assert out == "", f"nothing on stdout on failure: {out!r}"
    return err


def sklearn():
    try:
        import sklearn.metrics  # noqa: F401
        import sklearn.neighbors  # noqa: F401
        return sklearn
    except ImportError:
        raise Skip("scikit-learn is not installed")


def data_dir():
    # The data are part of the repository (tests/data): missing data is a failure.
    if not DATA or not os.path.isdir(DATA):
        raise AssertionError(f"no data directory ({DATA})")
    return DATA


def close(a, b, rtol=1e-4, atol=1e-6, what="values"):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    if not np.allclose(a, b, rtol=rtol, atol=atol):
        i = int(np.argmax(np.abs(a - b) / (atol + rtol * np.abs(b))))
        raise AssertionError(f"{what}: element {i}: {a[i]!r} != {b[i]!r}")


def read_csv_column(path, header):
    with open(path) as f:
        lines = f.read().splitlines()
    assert lines[0] == header, f"{path}: header {lines[0]!r}"
    return np.array([float(v) for v in lines[1:]])


# ---- independent mathematics (docs/math.md section 2) ------------------------------------

def distances(x, y, distance):
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if distance == "cosine":
        xn = x / np.linalg.norm(x, axis=1, keepdims=True)
        yn = y / np.linalg.norm(y, axis=1, keepdims=True)
        return 0.5 * (1.0 - xn @ yn.T)
    sq = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * x @ y.T
    sq = np.maximum(sq, 0.0)
    if distance == "euclidean":
        return np.sqrt(sq)
    return sq / x.shape[1]


def density(y, distance, kind, param):
    m = len(y)
    if kind == "none":
        return None
    d = distances(y, y, distance)
    out = np.empty(m)
    for j in range(m):
        others = np.sort(np.delete(d[j], j))  # exclude by position, keep duplicates
        if kind == "knn":
            k = int(min(param, m - 1))
            out[j] = others[:k].mean()
        else:
            w = param ** np.arange(m - 1, dtype=np.float64) if param > 0 else \
                np.r_[1.0, np.zeros(m - 2)]
            out[j] = (w * others).sum() / w.sum()
    return out


def ratio_floor(refs, distance):
    """The ratio's floor 1e-12 * S of docs/math.md §2.3 (S from the references' spread)."""
    if distance == "cosine":
        return 1e-12
    y = np.asarray(refs, np.float64)
    v = ((y - y.mean(axis=0)) ** 2).sum(axis=1).mean()
    return 1e-12 * (1.0 if v == 0 else np.sqrt(v) if distance == "euclidean" else v / y.shape[1])


def scores_ref(refs, tests, distance="cosine", kind="knn", param=1, norm="ratio"):
    """Anomaly scores and the argmin reference, as docs/math.md §2.3 defines them."""
    d = distances(tests, refs, distance)
    n = density(refs, distance, kind, param)
    if norm == "none":
        s = d
    elif norm == "ratio":
        s = d / np.maximum(n if n is not None else 1.0, ratio_floor(refs, distance))
    else:
        s = d - (n if n is not None else 0.0)
    return s.min(1), s.argmin(1), s


def auc(labels, scores):
    return sklearn().metrics.roc_auc_score(labels, scores)


def pauc(labels, scores, p=0.1):
    return sklearn().metrics.roc_auc_score(labels, scores, max_fpr=p)


def hmean(v):
    v = np.asarray(v, np.float64)
    return len(v) / np.sum(1.0 / v)


def dcase2023(scores, labels, domains, sections):
    out = {}
    vals = []
    for s in np.unique(sections):
        m = sections == s
        sc, lb, dm = scores[m], labels[m], domains[m]
        src = (lb == 1) | (dm == 1)
        tgt = (lb == 1) | (dm == 2)
        row = {"auc_source": auc(lb[src], sc[src]), "auc_target": auc(lb[tgt], sc[tgt]),
               "pauc": pauc(lb, sc)}
        out[str(int(s))] = row
        vals += list(row.values())
    return {"official": hmean(vals), "sections": out}


def dcase2020(scores, labels, sections):
    out = {}
    vals = []
    for s in np.unique(sections):
        m = sections == s
        row = {"auc": auc(labels[m], scores[m]), "pauc": pauc(labels[m], scores[m])}
        out[str(int(s))] = row
        vals += list(row.values())
    return {"official": float(np.mean(vals)), "sections": out}


def same_dict(got, want, tol=1e-9):
    """got has want's keys and values (with --dcase-dir it has more: the result table's)."""
    assert set(want) <= set(got), f"keys {sorted(got)} lack some of {sorted(want)}"
    assert abs(got["official"] - want["official"]) <= tol, \
        f"official {got['official']} != {want['official']}"
    assert list(got["sections"]) == list(want["sections"]), \
        f"sections {list(got['sections'])} != {list(want['sections'])}"
    for s, row in want["sections"].items():
        assert set(row) <= set(got["sections"][s]), f"section {s}: keys"
        for k, v in row.items():
            assert abs(got["sections"][s][k] - v) <= tol, f"section {s} {k}: {got['sections'][s][k]} != {v}"


# ---- real data: Office-Caltech10 SURF features -----------------------------------------

def office_protocol(normal_class=1, n_src=100, n_tgt=5, n_anom=40):
    """One class normal, the others anomalous; caltech10 the source domain (many
    references), amazon the target (a handful)."""
    d = data_dir()
    xc = np.load(os.path.join(d, "surf_caltech10_x.npy"))
    yc = np.load(os.path.join(d, "surf_caltech10_y.npy"))
    xa = np.load(os.path.join(d, "surf_amazon_x.npy"))
    ya = np.load(os.path.join(d, "surf_amazon_y.npy"))
    c = np.where(yc == normal_class)[0]
    a = np.where(ya == normal_class)[0]
    ca = np.where(yc != normal_class)[0][:n_anom]
    aa = np.where(ya != normal_class)[0][:n_anom]
    refs = np.vstack([xc[c[:n_src]], xa[a[:n_tgt]]])
    ref_dom = np.r_[np.ones(n_src), np.full(n_tgt, 2)].astype(np.int64)
    tests = np.vstack([xc[c[n_src:]], xa[a[n_tgt:]], xc[ca], xa[aa]])
    labels = np.r_[np.zeros(len(c) - n_src + len(a) - n_tgt), np.ones(2 * n_anom)].astype(np.int64)
    test_dom = np.r_[np.ones(len(c) - n_src), np.full(len(a) - n_tgt, 2), np.ones(n_anom),
                     np.full(n_anom, 2)].astype(np.int64)
    return refs.astype(np.float32), ref_dom, tests.astype(np.float32), labels, test_dom


def save_protocol(tmp, *arrays, names=("refs", "ref_dom", "tests", "labels", "test_dom")):
    paths = []
    for a, n in zip(arrays, names):
        p = os.path.join(tmp, n + ".npy")
        np.save(p, a)
        paths.append(p)
    return paths


# ---- tests ---------------------------------------------------------------------------

def test_version_help(tmp):
    out, _ = run("--version")
    assert re.match(r"asdnorm \d+\.\d+\.\d+ \(libasdnorm \d+\.\d+\.\d+\)", out), out
    for cmd in ([], ["score"], ["eval"], ["index"], ["index", "build"], ["index", "info"], ["demo"]):
        out, _ = run(*cmd, "--help")
        assert "Usage" in out, (cmd, out)
    _, err = run(expect=2)
    assert "Usage" in err
    fails("frobnicate", code=2, needles=("unknown command 'frobnicate'",))
    fails("--frob", code=2, needles=("unknown option '--frob'",))


def test_score_real_data(tmp):
    """score -> numbers equal to the independent computation, for every distance,
    estimator and normalization, on real features with duplicates and sparsity."""
    refs, ref_dom, tests, labels, test_dom = office_protocol()
    pr, pd, pt, pl, ptd = save_protocol(tmp, refs, ref_dom, tests, labels, test_dom)
    combos = [("cosine", "knn", 1, "ratio"), ("cosine", "knn", 3, "difference"),
              ("cosine", "none", 0, "none"), ("cosine", "gwrp", 0.9, "ratio"),
              ("euclidean", "knn", 1, "ratio"), ("mse", "gwrp", 0.5, "difference"),
              ("euclidean", "knn", 2, "none")]
    for distance, kind, param, norm in combos:
        out = os.path.join(tmp, "s.npy")
        near = os.path.join(tmp, "n.npy")
        args = ["score", "--ref", pr, "--ref-domains", pd, "--test", pt, "--distance", distance,
                "--density", kind, "--norm", norm, "--out", out, "--nearest", near]
        if kind == "knn":
            args += ["--k", param]
        if kind == "gwrp":
            args += ["--r", param]
        run(*args)
        want, arg, full = scores_ref(refs, tests, distance, kind, param, norm)
        got = np.load(out)
        assert got.dtype == np.float32 and got.shape == (len(tests),)
        close(got, want, what=f"{distance}/{kind}/{norm} scores")
        nearest = np.load(near)
        assert nearest.dtype == np.int64
        # Where the minimum is unique by a clear margin, the position must match.
        part = np.sort(full, axis=1)
        clear = part[:, 1] - part[:, 0] > 1e-3 * np.abs(part[:, 0]) + 1e-9
        assert clear.sum() > len(tests) // 2
        assert (nearest[clear] == arg[clear]).all(), f"{distance}/{kind}/{norm}: nearest"


def loo_ref(refs, distance="cosine", kind="knn", param=1, norm="ratio"):
    """Leave-one-out scores of docs/math.md §2.5 from scratch: reference i against the
    others, with the densities of the references without i; the index's floor."""
    d = distances(refs, refs, distance)
    phi = ratio_floor(refs, distance)
    out = np.empty(len(refs))
    for i in range(len(refs)):
        keep = np.delete(np.arange(len(refs)), i)
        n = density(refs[keep], distance, kind, param)
        s = d[i, keep]
        if norm == "ratio" and n is not None:
            s = s / np.maximum(n, phi)
        elif norm == "difference" and n is not None:
            s = s - n
        out[i] = s.min()
    return out


def threshold_ref(self_scores, fpr):
    """The smallest self score with at most floor(fpr * M) above it."""
    s = np.sort(np.asarray(self_scores, np.float32))
    return s[len(s) - 1 - int(np.floor(fpr * len(s) + 1e-6))]


def test_calibrate(tmp):
    """calibrate -> the threshold of the leave-one-out scores computed here; score --fpr
    decides with it; sections, saved indexes and model directories agree."""
    refs, ref_dom, tests, labels, test_dom = office_protocol()
    pr, pd, pt, pl, ptd = save_protocol(tmp, refs, ref_dom, tests, labels, test_dom)
    combos = [("cosine", "knn", 1, "ratio", 0.1), ("cosine", "gwrp", 0.9, "ratio", 0.05),
              ("euclidean", "knn", 3, "difference", 0.2), ("mse", "none", 0, "none", 0.01)]
    for distance, kind, param, norm, fpr in combos:
        method = ["--distance", distance, "--density", kind, "--norm", norm]
        method += ["--k", param] if kind == "knn" else ["--r", param] if kind == "gwrp" else []
        out, _ = run("calibrate", "--ref", pr, "--ref-domains", pd, "--fpr", fpr, *method)
        lines = out.splitlines()
        assert lines[0] == "references,threshold" and len(lines) == 2, out
        m, t = lines[1].split(",")
        want = threshold_ref(loo_ref(refs, distance, kind, param, norm), fpr)
        assert int(m) == len(refs)
        close(np.float32(t), want, rtol=1e-5, what=f"{distance}/{kind}/{norm} threshold")
        js, _ = run("calibrate", "--ref", pr, "--fpr", fpr, "--json", *method)
        doc = json.loads(js)
        assert doc["fpr"] == fpr and doc["norm"] == norm
        (entry,) = doc["sections"]
        assert entry["section"] == 0 and entry["references"] == len(refs)
        assert np.float32(entry["threshold"]) == np.float32(t)
        # score --fpr: a second CSV column, 1 where the score exceeds the threshold.
        csv = os.path.join(tmp, "s.csv")
        dec = os.path.join(tmp, "d.npy")
        run("score", "--ref", pr, "--test", pt, "--fpr", fpr, "--out", csv, "--decisions", dec,
            *method)
        got = np.genfromtxt(csv, delimiter=",", names=True)
        assert got.dtype.names == ("score", "anomalous")
        assert (got["anomalous"] == (got["score"].astype(np.float32) > np.float32(t))).all()
        assert (np.load(dec) == got["anomalous"]).all() and np.load(dec).dtype == np.int64
        close(got["score"], scores_ref(refs, tests, distance, kind, param, norm)[0],
              what="scores beside the decisions")
    # One threshold per section: --ref-sections, a model directory and single indexes agree.
    sec = (np.arange(len(refs)) % 2 + 3).astype(np.int64)
    ps = os.path.join(tmp, "sec.npy")
    np.save(ps, sec)
    out, _ = run("calibrate", "--ref", pr, "--ref-sections", ps, "--fpr", 0.1)
    assert out.splitlines()[0] == "section,references,threshold"
    rows = [r.split(",") for r in out.splitlines()[1:]]
    assert [int(r[0]) for r in rows] == [3, 4]
    for (sid, m, t), part in zip(rows, (refs[sec == 3], refs[sec == 4])):
        assert int(m) == len(part)
        close(np.float32(t), threshold_ref(loo_ref(part), 0.1), rtol=1e-5, what="section")
    model = os.path.join(tmp, "model")
    run("index", "build", "--ref", pr, "--ref-sections", ps, "--out", model)
    saved, _ = run("calibrate", "--index", model, "--fpr", 0.1)
    assert saved == out
    one = os.path.join(tmp, "one.asdx")
    run("index", "build", "--ref", pr, "--out", one)
    a, _ = run("calibrate", "--index", one)
    b, _ = run("calibrate", "--ref", pr)
    assert a == b
    # Written atomically, like every output.
    res = os.path.join(tmp, "t.json")
    run("calibrate", "--ref", pr, "--json", "--out", res)
    assert json.load(open(res))["sections"][0]["references"] == len(refs)
    # Errors.
    for bad in ("0", "1", "-0.1", "abc", "nan"):
        fails("calibrate", "--ref", pr, "--fpr", bad, code=2, needles=["--fpr"])
        fails("score", "--ref", pr, "--test", pt, "--fpr", bad, code=2, needles=["--fpr"])
    fails("score", "--ref", pr, "--test", pt, "--decisions", dec, code=2, needles=["--fpr"])
    fails("score", "--ref", pr, "--test", pt, "--fpr", "0.1", "--out", os.path.join(tmp, "x.npy"),
          code=2, needles=["--decisions"])
    fails("score", "--ref", pr, "--test", pt, "--fpr", "0.1", "--method", "lof", code=2,
          needles=["--method density"])
    fails("calibrate", "--ref", pr, "--out", os.path.join(tmp, "x.npy"), code=2, needles=[".npy"])
    fails("calibrate", "--index", one, "--k", "3", code=2, needles=["--index"])
    two = os.path.join(tmp, "two.npy")
    np.save(two, refs[:2])
    fails("calibrate", "--ref", two, needles=["at least 3 references"])
    run("calibrate", "--ref", two, "--density", "none")


def test_score_eval_round_trip(tmp):
    """score then eval --json equals scikit-learn's AUCs on the same scores, and the
    paper's normalization beats plain k-NN on the mixed (one threshold) AUC."""
    refs, ref_dom, tests, labels, test_dom = office_protocol(normal_class=2)
    pr, pd, pt, pl, ptd = save_protocol(tmp, refs, ref_dom, tests, labels, test_dom)
    for norm_args, kind in ((["--density", "none", "--norm", "none"], "none"), ([], "knn")):
        out = os.path.join(tmp, f"s_{kind}.csv")
        run("score", "--ref", pr, "--ref-domains", pd, "--test", pt, *norm_args, "--out", out)
        s = read_csv_column(out, "score")
        want_s, _, _ = scores_ref(refs, tests, "cosine", kind, 1, "none" if kind == "none" else "ratio")
        close(s, want_s, what="scores")
        got = json.loads(run("eval", "--scores", out, "--labels", pl, "--domains", ptd, "--json")[0])
        same_dict(got, dcase2023(s, labels, test_dom, np.zeros(len(s), np.int64)))
        # The table prints the same numbers, rounded.
        table = run("eval", "--scores", out, "--labels", pl, "--domains", ptd)[0]
        assert f"{got['official']:.4f}" in table, table


def test_sections(tmp):
    """One index per section: scoring with sections equals scoring each section
    alone, and eval --sections reports each section."""
    parts = [office_protocol(normal_class=c, n_src=80, n_tgt=4, n_anom=25) for c in (3, 4)]
    refs = np.vstack([p[0] for p in parts])
    ref_dom = np.concatenate([p[1] for p in parts])
    ref_sec = np.concatenate([np.full(len(p[0]), 7 + i) for i, p in enumerate(parts)])
    tests = np.vstack([p[2] for p in parts])
    labels = np.concatenate([p[3] for p in parts])
    test_dom = np.concatenate([p[4] for p in parts])
    test_sec = np.concatenate([np.full(len(p[2]), 7 + i) for i, p in enumerate(parts)])
    # Interleave the rows so that sections are not contiguous in the files.
    rp = np.random.default_rng(1).permutation(len(refs))
    tp = np.random.default_rng(2).permutation(len(tests))
    refs, ref_dom, ref_sec = refs[rp], ref_dom[rp], ref_sec[rp]
    tests, labels, test_dom, test_sec = tests[tp], labels[tp], test_dom[tp], test_sec[tp]
    paths = save_protocol(tmp, refs, ref_dom, ref_sec, tests, labels, test_dom, test_sec,
                          names=("r", "rd", "rs", "t", "l", "td", "ts"))
    pr, pd, prs, pt, pl, ptd, pts = paths
    out, near = os.path.join(tmp, "s.npy"), os.path.join(tmp, "n.npy")
    run("score", "--ref", pr, "--ref-domains", pd, "--ref-sections", prs, "--test", pt,
        "--test-sections", pts, "--out", out, "--nearest", near)
    got, nearest = np.load(out), np.load(near)
    want = np.empty(len(tests))
    for s in (7, 8):
        rm, tm = ref_sec == s, test_sec == s
        sc, arg, _ = scores_ref(refs[rm], tests[tm])
        want[tm] = sc
        # --nearest names rows of the reference file, inside the test's section.
        assert (ref_sec[nearest[tm]] == s).all()
        close(distances(tests[tm], refs[nearest[tm]], "cosine").diagonal(),
              distances(tests[tm], refs[rm][arg], "cosine").diagonal(), what="nearest rows")
    close(got, want, what="sectioned scores")
    res = json.loads(run("eval", "--scores", out, "--labels", pl, "--domains", ptd,
                         "--sections", pts, "--json")[0])
    same_dict(res, dcase2023(got.astype(np.float64), labels, test_dom, test_sec))
    res = json.loads(run("eval", "--scores", out, "--labels", pl, "--sections", pts, "--json")[0])
    same_dict(res, dcase2020(got.astype(np.float64), labels, test_sec))
    # A test section without references is an error naming the section.
    np.save(os.path.join(tmp, "ts_bad.npy"), np.where(test_sec == 8, 9, test_sec))
    fails("score", "--ref", pr, "--ref-sections", prs, "--test", pt, "--test-sections",
          os.path.join(tmp, "ts_bad.npy"), needles=("ts_bad.npy", "section 9 has no references"))


def test_eval_json(tmp):
    """eval --json against scikit-learn, with ties, several sections, both editions,
    CSV and NPY inputs, and another --max-fpr."""
    sk = sklearn()
    rng = np.random.default_rng(5)
    n = 600
    labels = (rng.random(n) < 0.3).astype(np.int64)
    scores = np.round(rng.normal(size=n) + labels, 1)  # many ties
    domains = rng.integers(1, 3, n)
    sections = rng.integers(0, 3, n) * 10
    np.save(os.path.join(tmp, "s.npy"), scores)
    np.savetxt(os.path.join(tmp, "l.csv"), labels, fmt="%d", header="label", comments="")
    np.save(os.path.join(tmp, "d.npy"), domains.astype(np.uint8))
    np.save(os.path.join(tmp, "c.npy"), sections.astype(np.int32))
    args = ["eval", "--scores", os.path.join(tmp, "s.npy"), "--labels", os.path.join(tmp, "l.csv"),
            "--domains", os.path.join(tmp, "d.npy"), "--sections", os.path.join(tmp, "c.npy")]
    got = json.loads(run(*args, "--json")[0])
    same_dict(got, dcase2023(scores, labels, domains, sections))
    got = json.loads(run(*args, "--json", "--edition", "2020")[0])
    same_dict(got, dcase2020(scores, labels, sections))
    # --max-fpr changes the pAUC only.
    got = json.loads(run(*args, "--json", "--max-fpr", "0.25")[0])
    for s in ("0", "10", "20"):
        m = sections == int(s)
        want = sk.metrics.roc_auc_score(labels[m], scores[m], max_fpr=0.25)
        assert abs(got["sections"][s]["pauc"] - want) < 1e-9
    # Without --domains the 2020 rules apply; --edition 2023 then needs domains.
    got = json.loads(run("eval", "--scores", os.path.join(tmp, "s.npy"), "--labels",
                         os.path.join(tmp, "l.csv"), "--json")[0])
    same_dict(got, dcase2020(scores, labels, np.zeros(n, np.int64)))
    fails("eval", "--scores", os.path.join(tmp, "s.npy"), "--labels", os.path.join(tmp, "l.csv"),
          "--edition", "2023", code=2, needles=("--domains",))


def write_npy(path, header_dict, payload, version=(1, 0)):
    """An NPY file written byte by byte, so that every version and header form
    can be produced exactly."""
    h = header_dict.encode("latin1" if version[0] < 3 else "utf8")
    pre = 10 if version[0] == 1 else 12
    pad = (64 - (pre + len(h) + 1) % 64) % 64
    h = h + b" " * pad + b"\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY" + bytes(version))
        f.write(len(h).to_bytes(2 if version[0] == 1 else 4, "little"))
        f.write(h)
        f.write(payload)


def test_npy_formats(tmp):
    """NPY versions 1, 2 and 3, float32/float64 in either byte order, and integer,
    unsigned, boolean and whole-float label dtypes all read the same."""
    rng = np.random.default_rng(3)
    refs = rng.normal(size=(40, 8)).astype(np.float32)
    tests = rng.normal(size=(15, 8)).astype(np.float32)
    want, _, _ = scores_ref(refs, tests)
    from numpy.lib import format as npf
    variants = []
    for version in ((1, 0), (2, 0), (3, 0)):
        for dt in ("<f4", "<f8", ">f4", ">f8"):
            p = os.path.join(tmp, f"r_{version[0]}_{dt[1:]}_{'be' if dt[0] == '>' else 'le'}.npy")
            with open(p, "wb") as f:
                npf.write_array(f, refs.astype(dt), version=version)
            variants.append(p)
    # A header as numpy's own writer would never produce it but the format allows:
    # keys in another order, double quotes, no trailing comma.
    p = os.path.join(tmp, "r_reordered.npy")
    write_npy(p, "{\"shape\": (40, 8), \"fortran_order\": False, \"descr\": \"<f4\"}",
              refs.astype("<f4").tobytes())
    variants.append(p)
    np.save(os.path.join(tmp, "t.npy"), tests)
    for p in variants:
        out = os.path.join(tmp, "s.npy")
        run("score", "--ref", p, "--test", os.path.join(tmp, "t.npy"), "--out", out)
        close(np.load(out), want, what=os.path.basename(p))
        # The same file as tests: each row's nearest reference is itself.
        run("score", "--ref", p, "--test", p, "--density", "none", "--norm", "none", "--out", out)
        close(np.load(out), np.zeros(len(refs)), atol=1e-6, what=os.path.basename(p) + " self")
    # Label dtypes.
    labels = np.r_[np.zeros(10), np.ones(5)]
    scores = np.arange(15.0)[::-1] % 7
    np.save(os.path.join(tmp, "sc.npy"), scores)
    expected = None
    for dt in ("|u1", "|i1", "<i2", "<u2", "<i4", ">i4", "<i8", "<u8", "|b1", "<f4", "<f8"):
        p = os.path.join(tmp, f"lab_{dt[1:]}{'be' if dt[0] == '>' else ''}.npy")
        np.save(p, labels.astype(dt))
        got = json.loads(run("eval", "--scores", os.path.join(tmp, "sc.npy"), "--labels", p,
                             "--json")[0])
        expected = expected or got
        assert got == expected, (dt, got, expected)
    assert abs(expected["sections"]["0"]["auc"] - auc(labels, scores)) < 1e-12
    # A (n, 1) column is a vector too.
    np.save(os.path.join(tmp, "lab_col.npy"), labels.reshape(-1, 1).astype(np.int64))
    got = json.loads(run("eval", "--scores", os.path.join(tmp, "sc.npy"), "--labels",
                         os.path.join(tmp, "lab_col.npy"), "--json")[0])
    assert got == expected
    # The writer: float32 scores, int64 positions, version 1.0, readable by numpy.
    out = os.path.join(tmp, "w.npy")
    run("score", "--ref", variants[0], "--test", os.path.join(tmp, "t.npy"), "--out", out,
        "--nearest", os.path.join(tmp, "wn.npy"))
    with open(out, "rb") as f:
        assert npf.read_magic(f) == (1, 0)
        shape, fortran, dtype = npf.read_array_header_1_0(f)
        assert shape == (15,) and not fortran and dtype == np.dtype("<f4")
        assert f.tell() % 64 == 0  # data aligned as numpy aligns it
    assert np.load(os.path.join(tmp, "wn.npy")).dtype == np.dtype("<i8")


def test_csv(tmp):
    """CSV input with and without a header row, numpy.savetxt's '#' header, quoted
    fields, CRLF line ends; CSV output with a header; standard output by default."""
    rng = np.random.default_rng(4)
    refs = rng.normal(size=(30, 5))
    tests = rng.normal(size=(12, 5))
    want, arg, _ = scores_ref(refs.astype(np.float32), tests.astype(np.float32))
    pr = os.path.join(tmp, "r.csv")
    with open(pr, "w", newline="") as f:
        f.write(",".join(f"dim{j}" for j in range(5)) + "\r\n")
        for row in refs:
            f.write(",".join(repr(float(v)) for v in row) + "\r\n")
    pt = os.path.join(tmp, "t.csv")
    np.savetxt(pt, tests, delimiter=",", header="a,b,c,d,e")  # '# a,b,c,d,e'
    pq = os.path.join(tmp, "q.csv")
    with open(pq, "w") as f:
        f.write('"x 1","x,2","x3","x4","x5"\n')
        for row in tests:
            f.write(",".join(f' "{v!r}" ' for v in row) + "\n")
    pn = os.path.join(tmp, "n.csv")
    np.savetxt(pn, tests, delimiter=",")
    for test_file in (pt, pq, pn):
        out = os.path.join(tmp, "s.csv")
        run("score", "--ref", pr, "--test", test_file, "--out", out, "--nearest",
            os.path.join(tmp, "near.csv"))
        close(read_csv_column(out, "score"), want, what=os.path.basename(test_file))
        assert (read_csv_column(os.path.join(tmp, "near.csv"), "nearest") == arg).all()
    stdout, _ = run("score", "--ref", pr, "--test", pt)
    lines = stdout.splitlines()
    assert lines[0] == "score" and len(lines) == 13
    close([float(v) for v in lines[1:]], want, what="stdout scores")
    # '-' reads the tests from standard input.
    with open(pn) as f:
        stdout, _ = run("score", "--ref", pr, "--test", "-", stdin=f.read())
    close([float(v) for v in stdout.splitlines()[1:]], want, what="stdin scores")


def test_demo(tmp):
    """The demo runs, is deterministic, shows the paper's effect, and its data set
    round-trips through score and eval to the same numbers."""
    out1, _ = run("demo")
    out2, _ = run("demo")
    assert out1 == out2, "the demo must be deterministic"
    rows = {}
    for line in out1.splitlines():
        m = re.match(r"(.+?)\s+(\d\.\d{3})\s+(\d\.\d{3})\s+(\d\.\d{3})\s+(\d\.\d{3})\s+(\d\.\d{3})$", line)
        if m:
            rows[m.group(1)] = [float(m.group(i)) for i in range(2, 7)]
    for name in ("k-NN, no normalization", "k-NN K=1, ratio (paper)", "k-NN K=1, difference",
                 "GWRP r=0.9, ratio", "LOF k=16", "source k-means, 16 means", "SMOTE target, k=4",
                 "domain-wise standardization"):
        assert name in rows, f"demo row {name!r} missing:\n{out1}"
    plain, ratio = rows["k-NN, no normalization"], rows["k-NN K=1, ratio (paper)"]
    # Within each domain plain k-NN is good; across domains it is not, and the
    # normalization fixes that: mixed AUC and the official score rise markedly.
    assert plain[0] > 0.9 and plain[1] > 0.85
    assert ratio[2] > plain[2] + 0.1, (plain, ratio)
    assert ratio[4] > plain[4] + 0.1, (plain, ratio)
    assert rows["k-NN K=1, difference"][2] > plain[2] + 0.1
    # The saved data set gives the same numbers through the ordinary commands.
    d = os.path.join(tmp, "demo")
    run("demo", "--save", d)
    # demo --help states the data set's sizes: the saved files have them.
    sizes = re.search(r"\((\d+)-dim embeddings on the\s+unit sphere: (\d+) references in (\d+) "
                      r"dense source clusters, (\d+) in (\d+) sparse,\s+shifted target clusters; "
                      r"(\d+) normal and (\d+) anomalous tests per domain\)",
                      run("demo", "--help")[0])
    assert sizes, "demo --help describes the data set"
    dim, n_src, _, n_tgt, _, n_norm, n_anom = map(int, sizes.groups())
    rd, tl, td = (np.load(os.path.join(d, f)) for f in
                  ("ref_domains.npy", "test_labels.npy", "test_domains.npy"))
    assert np.load(os.path.join(d, "refs.npy")).shape[1] == dim
    assert (rd == 1).sum() == n_src and (rd == 2).sum() == n_tgt, (n_src, n_tgt)
    for dom in (1, 2):
        assert ((td == dom) & (tl == 0)).sum() == n_norm and ((td == dom) & (tl == 1)).sum() == n_anom
    for args, row in ((["--density", "none", "--norm", "none"], plain), ([], ratio)):
        s = os.path.join(tmp, "s.npy")
        run("score", "--ref", f"{d}/refs.npy", "--ref-domains", f"{d}/ref_domains.npy", "--test",
            f"{d}/test.npy", "--out", s, *args)
        got = json.loads(run("eval", "--scores", s, "--labels", f"{d}/test_labels.npy",
                             "--domains", f"{d}/test_domains.npy", "--json")[0])
        assert abs(got["official"] - row[4]) < 6e-4, (got, row)
        sc = np.load(s).astype(np.float64)
        lab = np.load(f"{d}/test_labels.npy")
        assert abs(auc(lab, sc) - row[2]) < 6e-4
        # Independent check of the saved scores themselves.
        refs = np.load(f"{d}/refs.npy")
        want, _, _ = scores_ref(refs, np.load(f"{d}/test.npy"), "cosine",
                                "none" if args else "knn", 1, "none" if args else "ratio")
        close(sc, want, what="demo scores")


def test_plot(tmp):
    """--plot writes well-formed SVG with the three histograms, the threshold at the
    chosen FPR and the ROC curves."""
    rng = np.random.default_rng(6)
    n = 300
    labels = (np.arange(n) % 3 == 0).astype(np.int64)
    domains = np.where(np.arange(n) % 2 == 0, 1, 2)
    scores = rng.normal(size=n) + 2 * labels + 0.8 * (domains == 2)
    for name, arr in (("s", scores), ("l", labels), ("d", domains)):
        np.save(os.path.join(tmp, name + ".npy"), arr)
    svg = os.path.join(tmp, "p.svg")
    run("eval", "--scores", f"{tmp}/s.npy", "--labels", f"{tmp}/l.npy", "--domains", f"{tmp}/d.npy",
        "--plot", svg, "--plot-fpr", "0.05")
    root = ET.parse(svg).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == ns + "svg"
    ids = {e.get("id"): e for e in root.iter() if e.get("id")}
    for h in ("hist-source", "hist-target", "hist-anomaly"):
        assert h in ids, f"{h} missing"
        paths = ids[h].findall(ns + "path")
        assert len(paths) == 1 and len(paths[0].get("d").split("L")) > 10, h
    roc = ids["roc"]
    assert roc.tag == ns + "path" and roc.get("d").startswith("M")
    pts = [tuple(map(float, p.split())) for p in roc.get("d")[1:].split(" L")]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    assert xs == sorted(xs) and ys == sorted(ys, reverse=True), "ROC must be monotone"
    assert "roc-source" in ids and "roc-target" in ids
    # The threshold: at most 5% of all normals above it, the smallest such score.
    normals = np.sort(scores[labels == 0])
    k = int(np.ceil(0.95 * len(normals)))
    thr = normals[k - 1]
    text = " ".join(t.text or "" for t in root.iter(ns + "text"))
    assert f"threshold {thr:.4g}" in text, (thr, text)
    src_fa = np.mean(scores[(labels == 0) & (domains == 1)] > thr) * 100
    assert f"{src_fa:.1f}% false alarms" in text
    # Without domains: one normal histogram.
    svg2 = os.path.join(tmp, "p2.svg")
    run("eval", "--scores", f"{tmp}/s.npy", "--labels", f"{tmp}/l.npy", "--plot", svg2)
    ids2 = {e.get("id") for e in ET.parse(svg2).getroot().iter() if e.get("id")}
    assert {"hist-normal", "hist-anomaly", "roc", "threshold"} <= ids2 and "hist-target" not in ids2
    fails("eval", "--scores", f"{tmp}/s.npy", "--labels", f"{tmp}/l.npy", "--plot",
          f"{tmp}/p.npy", code=2, needles=(".svg",))


def test_baselines(tmp):
    """--method lof against scikit-learn, --method standardize against numpy, and
    --source-kmeans / --smote run with their references mapped in --nearest."""
    sk = sklearn()
    from sklearn.neighbors import LocalOutlierFactor
    refs, ref_dom, tests, labels, test_dom = office_protocol(normal_class=5, n_src=60, n_tgt=6,
                                                             n_anom=20)
    # Duplicate references make LOF's densities infinite; keep unique rows.
    _, first = np.unique(refs, axis=0, return_index=True)
    keep = np.sort(first)
    refs, ref_dom = refs[keep], ref_dom[keep]
    pr, pd, pt, pl, ptd = save_protocol(tmp, refs, ref_dom, tests, labels, test_dom)
    out = os.path.join(tmp, "s.npy")
    run("score", "--ref", pr, "--test", pt, "--method", "lof", "--k", "8", "--distance",
        "euclidean", "--out", out)
    lof = LocalOutlierFactor(n_neighbors=8, novelty=True).fit(refs.astype(np.float64))
    close(np.load(out), -lof.score_samples(tests.astype(np.float64)), rtol=1e-4, what="LOF")

    run("score", "--ref", pr, "--ref-domains", pd, "--test", pt, "--standardize", "--out", out)
    finals = []
    for d in (1, 2):
        s, _, _ = scores_ref(refs[ref_dom == d], tests)
        finals.append((s - s.mean()) / s.std(ddof=1))
    close(np.load(out), np.min(finals, axis=0), rtol=1e-4, atol=1e-4, what="standardized")

    near = os.path.join(tmp, "n.npy")
    run("score", "--ref", pr, "--ref-domains", pd, "--test", pt, "--source-kmeans", "4",
        "--density", "none", "--norm", "none", "--out", out, "--nearest", near)
    s, nearest = np.load(out), np.load(near)
    # A test closest to a target reference gets exactly that plain distance.
    tgt = nearest >= 0
    assert (ref_dom[nearest[tgt]] == 2).all()
    close(s[tgt], distances(tests[tgt], refs[nearest[tgt]], "cosine").diagonal(), what="kmeans")
    assert (~tgt).any(), "some tests should be nearest to a centroid"
    run("score", "--ref", pr, "--ref-domains", pd, "--test", pt, "--smote", "3", "--seed", "7",
        "--out", out, "--nearest", near)
    nearest = np.load(near)
    assert ((nearest == -1) | ((nearest >= 0) & (nearest < len(refs)))).all()
    # Seeded: the same run gives the same scores.
    s1 = np.load(out)
    run("score", "--ref", pr, "--ref-domains", pd, "--test", pt, "--smote", "3", "--seed", "7",
        "--out", out)
    assert (np.load(out) == s1).all()
    fails("score", "--ref", pr, "--test", pt, "--smote", "3", needles=("--smote", "target"))
    fails("score", "--ref", pr, "--test", pt, "--source-kmeans", "3", needles=("source",))


def test_index(tmp):
    """index build / info / score --index: the saved index scores exactly as the
    one built from the references; sections give one file each."""
    refs, ref_dom, tests, labels, test_dom = office_protocol(normal_class=6, n_src=60, n_tgt=5,
                                                             n_anom=15)
    pr, pd, pt, pl, ptd = save_protocol(tmp, refs, ref_dom, tests, labels, test_dom)
    ix = os.path.join(tmp, "refs.asdx")
    run("index", "build", "--ref", pr, "--ref-domains", pd, "--density", "gwrp", "--r", "0.8",
        "--out", ix)
    info = run("index", "info", ix)[0]
    assert f"references  {len(refs)} (source 60, target 5, unknown 0)" in info, info
    assert "dimension   800" in info and "cosine" in info and "gwrp, r = 0.8" in info, info
    a, b = os.path.join(tmp, "a.npy"), os.path.join(tmp, "b.npy")
    run("score", "--index", ix, "--test", pt, "--out", a)
    run("score", "--ref", pr, "--test", pt, "--density", "gwrp", "--r", "0.8", "--out", b)
    assert (np.load(a) == np.load(b)).all(), "a loaded index scores bit-identically"
    want, _, _ = scores_ref(refs, tests, "cosine", "gwrp", 0.8, "ratio")
    close(np.load(a), want, what="index scores")
    # Sections: a directory of section_<id>.asdx files.
    sec = np.arange(len(refs)) % 2
    tsec = np.arange(len(tests)) % 2
    np.save(os.path.join(tmp, "rs.npy"), sec)
    np.save(os.path.join(tmp, "ts.npy"), tsec)
    d = os.path.join(tmp, "ix")
    run("index", "build", "--ref", pr, "--ref-sections", os.path.join(tmp, "rs.npy"), "--out", d)
    assert sorted(os.listdir(d)) == ["manifest", "section_0.asdx", "section_1.asdx"]
    assert run("index", "info", d)[0].count("references") == 2
    run("score", "--index", d, "--test", pt, "--test-sections", os.path.join(tmp, "ts.npy"),
        "--out", a)
    run("score", "--ref", pr, "--ref-sections", os.path.join(tmp, "rs.npy"), "--test", pt,
        "--test-sections", os.path.join(tmp, "ts.npy"), "--out", b)
    assert (np.load(a) == np.load(b)).all()
    fails("score", "--index", d, "--test", pt, code=2, needles=("--test-sections",))
    fails("score", "--index", ix, "--test", pt, "--distance", "mse", code=2, needles=("--index",))
    with open(os.path.join(tmp, "bad.asdx"), "wb") as f:
        f.write(open(ix, "rb").read()[:100])
    fails("index", "info", os.path.join(tmp, "bad.asdx"), needles=("bad.asdx",))
    fails("score", "--index", os.path.join(tmp, "bad.asdx"), "--test", pt, needles=("bad.asdx",))


def test_dcase_dir(tmp):
    """eval --dcase-dir with the challenge's file layout: ground truth directories
    as the official evaluator has them, and development-set file names alone."""
    rng = np.random.default_rng(8)
    teams = os.path.join(tmp, "team")
    gt = os.path.join(tmp, "gt")
    os.makedirs(teams)
    os.makedirs(os.path.join(gt, "ground_truth_data"))
    os.makedirs(os.path.join(gt, "ground_truth_domain"))
    all_s, all_l, all_d, all_c = [], [], [], []
    for c, machine in enumerate(("ToyCar", "fan")):
        n = 100
        lab = rng.permutation(np.r_[np.zeros(50), np.ones(50)]).astype(int)
        dom = rng.permutation(np.r_[np.zeros(50), np.ones(50)]).astype(int)  # 0 source, 1 target
        sc = rng.normal(size=n) + lab + 0.5 * dom
        names = [f"section_00_{i:04d}.wav" for i in range(n)]
        order = rng.permutation(n)  # the score file need not follow the ground truth's order
        with open(f"{teams}/anomaly_score_{machine}_section_00_test.csv", "w") as f:
            for i in order:
                f.write(f"{names[i]},{sc[i]!r}\n")
        with open(f"{teams}/decision_result_{machine}_section_00_test.csv", "w") as f:
            f.writelines(f"{names[i]},{int(sc[i] > 0.5)}\n" for i in order)
        with open(f"{gt}/ground_truth_data/ground_truth_{machine}_section_00_test.csv", "w") as f:
            f.writelines(f"{names[i]},{lab[i]}\n" for i in range(n))
        with open(f"{gt}/ground_truth_domain/ground_truth_{machine}_section_00_test.csv", "w") as f:
            f.writelines(f"{names[i]},{dom[i]}\n" for i in range(n))
        all_s.append(sc)
        all_l.append(lab)
        all_d.append(dom + 1)
        all_c.append(np.full(n, c))
    s, l, d, c = map(np.concatenate, (all_s, all_l, all_d, all_c))
    want = dcase2023(s, l, d, c)
    want["sections"] = {"ToyCar_section_00": want["sections"]["0"],
                        "fan_section_00": want["sections"]["1"]}
    got = json.loads(run("eval", "--dcase-dir", teams, "--ground-truth", gt, "--json")[0])
    same_dict(got, want)
    table = run("eval", "--dcase-dir", teams, "--ground-truth", gt)[0]
    assert "ToyCar_section_00" in table and "fan_section_00" in table
    # Development-set names carry the label and the domain.
    dev = os.path.join(tmp, "dev")
    os.makedirs(dev)
    with open(f"{dev}/anomaly_score_valve_section_01_test.csv", "w") as f:
        for i in range(100):
            f.write(f"section_01_{'source' if d[i] == 1 else 'target'}_test_"
                    f"{'anomaly' if l[i] else 'normal'}_{i:04d}_vel_4.wav,{s[i]!r}\n")
    got = json.loads(run("eval", "--dcase-dir", dev, "--json")[0])
    w = dcase2023(s[:100], l[:100], d[:100], np.zeros(100, int))
    w["sections"] = {"valve_section_01": w["sections"]["0"]}
    same_dict(got, w)
    # A score missing from a file is named.
    with open(f"{teams}/anomaly_score_fan_section_00_test.csv") as f:
        lines = f.read().splitlines()
    missing = lines[3].split(",")[0]
    with open(f"{teams}/anomaly_score_fan_section_00_test.csv", "w") as f:
        f.write("\n".join(lines[:3] + lines[4:]) + "\n")
    fails("eval", "--dcase-dir", teams, "--ground-truth", gt,
          needles=("anomaly_score_fan_section_00_test.csv", missing))


def test_errors(tmp):
    """Each failure: exit 1 (or 2 for usage) and a message naming the file, the
    row (and column) and what was wrong."""
    rng = np.random.default_rng(9)
    refs = rng.normal(size=(20, 4)).astype(np.float32)
    tests = rng.normal(size=(10, 4)).astype(np.float32)
    P = lambda name: os.path.join(tmp, name)  # noqa: E731
    np.save(P("r.npy"), refs)
    np.save(P("t.npy"), tests)
    np.save(P("s.npy"), rng.normal(size=10))
    np.save(P("l.npy"), np.r_[np.zeros(5), np.ones(5)].astype(np.int64))

    # Missing file.
    fails("score", "--ref", P("nope.npy"), "--test", P("t.npy"),
          needles=("nope.npy", "No such file"))
    # Wrong dtypes: complex embeddings, string labels, float labels that are not whole.
    np.save(P("c.npy"), refs.astype(np.complex64))
    fails("score", "--ref", P("c.npy"), "--test", P("t.npy"), needles=("c.npy", "dtype", "<c8"))
    np.save(P("u.npy"), np.array(["a", "b"]))
    fails("eval", "--scores", P("s.npy"), "--labels", P("u.npy"), needles=("u.npy", "dtype"))
    np.save(P("lf.npy"), np.r_[np.zeros(5), np.full(5, 0.5)])
    fails("eval", "--scores", P("s.npy"), "--labels", P("lf.npy"),
          needles=("lf.npy", "row 5 (0-based)", "whole number"))
    # Fortran order is read (numpy writes it, e.g. from a DataFrame's values): the
    # same scores as the C-order file.
    with open(P("f.npy"), "wb") as f:
        np.lib.format.write_array(f, np.asfortranarray(refs))
    with open(P("f.npy"), "rb") as f:
        npf = np.lib.format
        npf.read_magic(f)
        assert npf.read_array_header_1_0(f)[1], "the file really is in Fortran order"
    fo = run("score", "--ref", P("f.npy"), "--test", P("t.npy"))[0]
    co = run("score", "--ref", P("r.npy"), "--test", P("t.npy"))[0]
    assert fo == co, "Fortran-order references score as the C-order ones"
    # Truncated, garbage and 3-D NPY.
    raw = open(P("r.npy"), "rb").read()
    open(P("trunc.npy"), "wb").write(raw[:-7])
    fails("score", "--ref", P("trunc.npy"), "--test", P("t.npy"), needles=("trunc.npy", "truncated"))
    open(P("junk.npy"), "wb").write(b"hello, world")
    fails("score", "--ref", P("junk.npy"), "--test", P("t.npy"), needles=("junk.npy", "not an NPY"))
    np.save(P("3d.npy"), np.zeros((2, 2, 2), np.float32))
    fails("score", "--ref", P("3d.npy"), "--test", P("t.npy"), needles=("3d.npy", "dimensions"))
    open(P("v9.npy"), "wb").write(b"\x93NUMPY\x09\x00" + raw[8:])
    fails("score", "--ref", P("v9.npy"), "--test", P("t.npy"), needles=("v9.npy", "version 9.0"))
    # Ragged CSV.
    with open(P("rag.csv"), "w") as f:
        f.write("a,b,c,d\n1,2,3,4\n5,6,7\n")
    fails("score", "--ref", P("rag.csv"), "--test", P("t.npy"),
          needles=("rag.csv", "line 3 has 3 fields, expected 4"))
    with open(P("word.csv"), "w") as f:
        f.write("1,2,3,4\n5,six,7,8\n")
    fails("score", "--ref", P("word.csv"), "--test", P("t.npy"),
          needles=("word.csv", "line 2, column 2", "'six' is not a number"))
    # Label length mismatch.
    np.save(P("l9.npy"), np.zeros(9, np.int64))
    fails("eval", "--scores", P("s.npy"), "--labels", P("l9.npy"), needles=("l9.npy", "9", "s.npy", "10"))
    np.save(P("d3.npy"), np.ones(3, np.int64))
    fails("score", "--ref", P("r.npy"), "--ref-domains", P("d3.npy"), "--test", P("t.npy"),
          needles=("d3.npy", "3 values", "20 rows"))
    # NaN and inf in a row, in NPY and CSV, in references and tests.
    bad = refs.copy()
    bad[7, 2] = np.nan
    np.save(P("nan.npy"), bad)
    fails("score", "--ref", P("nan.npy"), "--test", P("t.npy"),
          needles=("nan.npy", "row 7, column 2 (0-based)", "NaN"))
    badt = tests.copy()
    badt[4, 1] = -np.inf
    np.savetxt(P("inf.csv"), badt, delimiter=",", header="w,x,y,z", comments="")
    fails("score", "--ref", P("r.npy"), "--test", P("inf.csv"),
          needles=("inf.csv", "line 6, column 2", "-inf"))
    bads = np.load(P("s.npy"))
    bads[3] = np.nan
    np.save(P("snan.npy"), bads)
    fails("eval", "--scores", P("snan.npy"), "--labels", P("l.npy"), needles=("snan.npy", "row 3", "NaN"))
    # A zero vector under cosine; float64 beyond float32.
    z = refs.copy()
    z[11] = 0
    np.save(P("zero.npy"), z)
    fails("score", "--ref", P("zero.npy"), "--test", P("t.npy"), needles=("zero.npy", "row 11", "zero"))
    big = refs.astype(np.float64)
    big[2, 3] = 1e300
    np.save(P("big.npy"), big)
    fails("score", "--ref", P("big.npy"), "--test", P("t.npy"),
          needles=("big.npy", "row 2, column 3", "float32"))
    # Dimension mismatch, bad labels, bad domains.
    np.save(P("t5.npy"), rng.normal(size=(3, 5)).astype(np.float32))
    fails("score", "--ref", P("r.npy"), "--test", P("t5.npy"), needles=("r.npy", "t5.npy", "dimension"))
    np.save(P("l3.npy"), np.r_[np.zeros(5), np.ones(4), 3].astype(np.int64))
    fails("eval", "--scores", P("s.npy"), "--labels", P("l3.npy"), needles=("l3.npy", "row 9", "label 3"))
    np.save(P("dom5.npy"), np.r_[np.ones(19), 5].astype(np.int64))
    fails("score", "--ref", P("r.npy"), "--ref-domains", P("dom5.npy"), "--test", P("t.npy"),
          needles=("dom5.npy", "row 19", "domain 5"))
    # Metrics that are undefined name the section.
    np.save(P("l0.npy"), np.zeros(10, np.int64))
    fails("eval", "--scores", P("s.npy"), "--labels", P("l0.npy"), needles=("section 0", "no anomalous"))
    np.save(P("dsrc.npy"), np.ones(10, np.int64))
    fails("eval", "--scores", P("s.npy"), "--labels", P("l.npy"), "--domains", P("dsrc.npy"),
          needles=("section 0", "target"))
    # A normal sample with an unknown domain under the 2023 rules (fine under 2020).
    np.save(P("dunk.npy"), np.r_[1, 0, np.ones(8)].astype(np.int64))
    fails("eval", "--scores", P("s.npy"), "--labels", P("l.npy"), "--domains", P("dunk.npy"),
          needles=("dunk.npy", "row 1", "domain 0"))
    run("eval", "--scores", P("s.npy"), "--labels", P("l.npy"), "--domains", P("dunk.npy"),
        "--edition", "2020")
    # Unknown file type; a reference set too small for the estimator.
    fails("score", "--ref", P("r.txt"), "--test", P("t.npy"), needles=("r.txt", ".npy", ".csv"))
    np.save(P("one.npy"), refs[:1])
    fails("score", "--ref", P("one.npy"), "--test", P("t.npy"), needles=("1 reference", "--density none"))
    run("score", "--ref", P("one.npy"), "--test", P("t.npy"), "--density", "none")
    # An unwritable output.
    fails("score", "--ref", P("r.npy"), "--test", P("t.npy"), "--out", P("no/such/dir/s.npy"),
          needles=("s.npy",))

    # Usage errors: exit 2.
    fails("score", "--ref", P("r.npy"), "--test", P("t.npy"), "--bogus", code=2,
          needles=("unknown option '--bogus'", "--help"))
    fails("score", "--test", P("t.npy"), code=2, needles=("--ref",))
    fails("score", "--ref", P("r.npy"), code=2, needles=("--test",))
    fails("score", "--ref", P("r.npy"), "--test", P("t.npy"), "--distance", "manhattan", code=2,
          needles=("manhattan",))
    fails("score", "--ref", P("r.npy"), "--test", P("t.npy"), "--k", "0", code=2, needles=("--k",))
    fails("score", "--ref", P("r.npy"), "--test", P("t.npy"), "--k", "2", "--density", "gwrp",
          code=2, needles=("--k",))
    fails("score", "--ref", P("r.npy"), "--test", P("t.npy"), "--r", "1.5", "--density", "gwrp",
          code=2, needles=("--r",))
    fails("score", "--ref", P("r.npy"), "--test", P("t.npy"), "--ref-sections", P("l.npy"), code=2,
          needles=("--test-sections",))
    fails("score", "--ref", P("r.npy"), "--test", P("t.npy"), "--out", code=2,
          needles=("'--out' needs a value",))
    fails("score", "--ref", P("r.npy"), "--test", P("t.npy"), "--smote", "2", "--source-kmeans", "2",
          code=2)
    fails("eval", "--scores", P("s.npy"), code=2, needles=("--labels",))
    fails("eval", "--scores", P("s.npy"), "--labels", P("l.npy"), "--max-fpr", "0", code=2,
          needles=("--max-fpr",))
    fails("eval", "--scores", P("s.npy"), "--labels", P("l.npy"), "--edition", "2019", code=2,
          needles=("2019",))
    fails("index", "launch", code=2, needles=("launch",))
    # getopt_long: a unique prefix is the option, an ambiguous one is named; a flag
    # takes no value.
    fails("score", "--re", P("r.npy"), "--test", P("t.npy"), code=2,
          needles=("'--re'", "ambiguous"))
    fails("eval", "--scores", P("s.npy"), "--labels", P("l.npy"), "--json=yes", code=2,
          needles=("'--json' takes no value",))
    assert run("score", "--ref", P("r.npy"), "--test", P("t.npy"), "--dist", "mse")[0] == \
        run("score", "--ref", P("r.npy"), "--test", P("t.npy"), "--distance", "mse")[0]


def test_man_page(tmp):
    """asdnorm(1) documents every option that a command's --help lists, and groff
    formats it without a warning."""
    man = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "asdnorm.1")
    with open(man) as f:
        text = f.read()
    plain = text.replace("\\-", "-").replace("\\%", "")
    for cmd in ([], ["score"], ["calibrate"], ["eval"], ["index", "build"], ["demo"]):
        out, _ = run(*cmd, "--help")
        for opt in set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", out)):
            assert opt in plain, f"{opt} (asdnorm {' '.join(cmd)} --help) is not in asdnorm.1"
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "EXAMPLES", "FILES"):
        assert f".SH {section}" in text, section
    try:
        p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", man], capture_output=True,
                           text=True)
    except FileNotFoundError:
        return
    assert p.returncode == 0 and p.stderr == "", p.stderr


def snapshot(path):
    """What a file is: its type and, for a regular file, its bytes."""
    st = os.lstat(path)
    import stat as st_mod
    if st_mod.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            return ("file", f.read())
    return (st_mod.S_IFMT(st.st_mode), st.st_ino)


def leftovers(directory):
    """Temporary files an interrupted or failed write left behind."""
    return [n for n in os.listdir(directory) if n.startswith(".asdnorm-") or ".tmp" in n]


# ---- the official evaluator's result table ------------------------------------------------

EPS = np.finfo(np.float64).eps
MEAN_ROWS = ("arithmetic mean", "harmonic mean", "source harmonic mean", "target harmonic mean")
OVERALL = " over all machine types, sections, and domains"
HEADER_2023 = ["section", "AUC (all)", "AUC (source)", "AUC (target)", "pAUC", "precision (source)",
               "precision (target)", "recall (source)", "recall (target)", "F1 score (source)",
               "F1 score (target)"]


def read_table(path):
    import csv
    with open(path, newline="") as f:
        return list(csv.reader(f))


def jackknife_ci95(y, s, metric):
    """The jackknife 95 % interval of metric(y, s): leave-one-out values, their
    standard error, Student's t quantile (scipy)."""
    import scipy.stats
    n = len(y)
    theta = np.array([metric(np.delete(y, i), np.delete(s, i)) for i in range(n)])
    sigma = np.sqrt(np.sum((theta - theta.mean()) ** 2) / (n * (n - 1)))
    return scipy.stats.t.ppf(0.975, n - 1) * sigma


def prf(y, d):
    """Precision, recall, F1 as the evaluator defines them (epsilon floors)."""
    tp = np.sum((y == 1) & (d == 1))
    fp = np.sum((y == 0) & (d == 1))
    fn = np.sum((y == 1) & (d == 0))
    p = tp / max(tp + fp, EPS)
    r = tp / max(tp + fn, EPS)
    return p, r, 2 * p * r / max(p + r, EPS)


def expected_2023(machines):
    """The table from {machine: {section: (names, scores, labels, domains 0/1, decisions)}}."""
    rows, means, pooled_y, pooled_s, official_vals = {}, {}, [], [], []

    def mean_block(perf):
        perf = [np.asarray(p, np.float64) for p in perf]
        h = lambda v: len(v) / np.sum(1.0 / np.maximum(v, EPS))  # noqa: E731
        half = len(perf[0]) // 2
        return [[p.mean() for p in perf], [h(p) for p in perf], [h(p[:half]) for p in perf],
                [h(p[half:]) for p in perf]]

    for m in sorted(machines):
        src, tgt = {k: [] for k in range(5)}, {k: [] for k in range(5)}
        for sec in sorted(machines[m]):
            names, sc, lab, dom, dec = machines[m][sec]
            r = {"AUC (all)": auc(lab, sc), "pAUC": pauc(lab, sc)}
            for k, dname in ((0, "source"), (1, "target")):
                sel = (dom == k) | (lab == 1)
                r[f"AUC ({dname})"] = auc(lab[sel], sc[sel])
                p, rc, f1 = prf(lab[dom == k], dec[dom == k])
                r[f"precision ({dname})"], r[f"recall ({dname})"], r[f"F1 score ({dname})"] = p, rc, f1
                bucket = src if k == 0 else tgt
                for i, key in enumerate(("AUC", "pAUC", "precision", "recall", "F1 score")):
                    bucket[i].append(r[f"{key} ({dname})"] if key != "pAUC" else r["pAUC"])
            rows[(m, sec)] = r
            official_vals += [r["AUC (source)"], r["AUC (target)"], r["pAUC"]]
            pooled_y.append(lab)
            pooled_s.append(sc)
        perf = [src[i] + tgt[i] for i in range(5)]
        means[m] = mean_block(perf)
    src_all = {i: [] for i in range(5)}
    tgt_all = {i: [] for i in range(5)}
    keys = ("AUC", "pAUC", "precision", "recall", "F1 score")
    for m in sorted(machines):
        for sec in sorted(machines[m]):
            r = rows[(m, sec)]
            for i, key in enumerate(keys):
                src_all[i].append(r["pAUC"] if key == "pAUC" else r[f"{key} (source)"])
                tgt_all[i].append(r["pAUC"] if key == "pAUC" else r[f"{key} (target)"])
    overall = mean_block([src_all[i] + tgt_all[i] for i in range(5)])
    y, s = np.concatenate(pooled_y), np.concatenate(pooled_s)
    official = len(official_vals) / np.sum(1.0 / np.maximum(official_vals, EPS))
    ci = np.mean([jackknife_ci95(y, s, auc), jackknife_ci95(y, s, pauc)])
    return rows, means, overall, official, ci


def check_table_2023(path, machines, tol=1e-12):
    """The CSV at path has the evaluator's layout and the values expected_2023 computes."""
    rows, means, overall, official, ci = expected_2023(machines)
    t = read_table(path)
    i = 0

    def near(cells, want, what):
        for c, w in zip(cells, want):
            if w is None or (isinstance(w, float) and np.isnan(w)):
                assert c == "", f"{what}: {c!r} should be empty"
            else:
                assert abs(float(c) - w) <= tol, f"{what}: {c} != {w!r}"

    def means_block(block, label_suffix):
        nonlocal i
        assert t[i] == ["", "", "AUC", "pAUC", "precision", "recall", "F1 score"], t[i]
        i += 1
        for r, name in enumerate(MEAN_ROWS):
            assert t[i][:2] == [name + label_suffix, ""], t[i]
            near(t[i][2:], block[r], name + label_suffix)
            i += 1
        assert t[i] == [], t[i]
        i += 1

    for m in sorted(machines):
        assert t[i] == [m], (i, t[i])
        assert t[i + 1] == HEADER_2023, t[i + 1]
        i += 2
        for sec in sorted(machines[m]):
            assert t[i][0] == sec, t[i]
            near(t[i][1:], [rows[(m, sec)][k] for k in HEADER_2023[1:]], f"{m} {sec}")
            i += 1
        means_block(means[m], "")
    means_block(overall, OVERALL)
    assert t[i][:2] == ["official score", ""], t[i]
    near(t[i][2:], [official], "official score")
    assert t[i + 1][:2] == ["official score ci95", ""], t[i + 1]
    # scipy's t.ppf is accurate to about 1e-11 relative (its 0.975 quantile for one
    # degree of freedom is 12.706204736432, cot(0.025 pi) is 12.706204736175).
    assert abs(float(t[i + 1][2]) - ci) <= 1e-9 * ci, f"ci95 {t[i + 1][2]} != {ci!r}"
    assert t[i + 2:] == [[]], t[i + 2:]
    return rows, means, overall, official, ci


def write_submission(root, machines, attributes=()):
    """Score, decision and ground-truth files as the 2021-2025 evaluators read them;
    machine types in `attributes` are scored under their attribute names."""
    team, gt = os.path.join(root, "team"), os.path.join(root, "gt")
    for d in ("ground_truth_data", "ground_truth_domain", "ground_truth_attributes"):
        os.makedirs(os.path.join(gt, d), exist_ok=True)
    os.makedirs(team, exist_ok=True)
    rng = np.random.default_rng(1)
    for m, sections in machines.items():
        for sec, (names, sc, lab, dom, dec) in sections.items():
            stem = f"{m}_section_{sec}_test.csv"
            attr = [f"section_{sec}_{'source' if d == 0 else 'target'}_test_"
                    f"{'anomaly' if y else 'normal'}_{i:04d}_vel_{i % 3}" for i, (y, d)
                    in enumerate(zip(lab, dom))]
            shown = [a + ".wav" for a in attr] if m in attributes else names
            order = rng.permutation(len(names))
            with open(f"{team}/anomaly_score_{stem}", "w") as f:
                f.writelines(f"{shown[i]},{sc[i]!r}\n" for i in order)
            with open(f"{team}/decision_result_{stem}", "w") as f:
                f.writelines(f"{shown[i]},{int(dec[i])}\n" for i in order)
            with open(f"{gt}/ground_truth_data/ground_truth_{stem}", "w") as f:
                f.writelines(f"{n},{int(y)}\n" for n, y in zip(names, lab))
            with open(f"{gt}/ground_truth_domain/ground_truth_{stem}", "w") as f:
                f.writelines(f"{n},{int(d)}\n" for n, d in zip(names, dom))
            with open(f"{gt}/ground_truth_attributes/ground_truth_{stem}", "w") as f:
                f.writelines(f"{n},{a}\n" for n, a in zip(names, attr))
    return team, gt


def hand_machines():
    """A table derived by hand: one section; source normals 1, 2; target normals 3, 4;
    anomalies 5 (source) and 2.5 (target); decisions: score > 2.2."""
    sc = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 2.5])
    lab = np.array([0, 0, 0, 0, 1, 1])
    dom = np.array([0, 0, 1, 1, 0, 1])
    dec = (sc > 2.2).astype(int)
    names = [f"section_00_{i:04d}.wav" for i in range(6)]
    return {"fan": {"00": (names, sc, lab, dom, dec)}}


def generated_machines():
    """Three machine types, one to three sections, ties, integer scores."""
    rng = np.random.default_rng(17)
    machines = {}
    for m, nsec in (("ToyCar", 1), ("bearing", 3), ("fan", 2)):
        machines[m] = {}
        for k in range(nsec):
            n = 40 + 10 * k
            lab = rng.permutation(np.r_[np.zeros(n // 2), np.ones(n - n // 2)]).astype(int)
            dom = rng.permutation(np.r_[np.zeros(n - 3 - k), np.ones(3 + k)]).astype(int)
            dom[np.flatnonzero(lab == 0)[:2]] = [0, 1]  # both domains have normals
            sc = (rng.integers(0, 6, size=n) + 2 * lab).astype(np.float64)  # ties
            dec = (sc + rng.normal(size=n) > 4).astype(int)
            names = [f"section_{k:02d}_{i:04d}.wav" for i in range(n)]
            machines[m][f"{k:02d}"] = (names, sc, lab, dom, dec)
    return machines


def test_eval_table(tmp):
    """eval --dcase-dir --result: the official evaluator's result table, every value
    computed here independently (scikit-learn, scipy); a small table derived by hand;
    attribute-named score files; incomplete submissions refused."""
    sklearn()
    hand = hand_machines()
    team, gt = write_submission(os.path.join(tmp, "hand"), hand)
    out = os.path.join(tmp, "hand.csv")
    run("eval", "--dcase-dir", team, "--ground-truth", gt, "--result", out)
    t = read_table(out)
    # AUC (source) 4/4, AUC (target) 2/4, AUC (all) 6/8; pAUC: TPR 1/2 up to FPR 1/4, so
    # the area up to 0.1 is 0.05 and McClish gives (1 + 0.045 / 0.095) / 2 = 14/19;
    # source: tp 1, fp 0, fn 0; target: tp 1, fp 2, fn 0.
    row = [float(v) for v in t[2][1:]]
    assert t[2][0] == "00"
    want = [0.75, 1.0, 0.5, 14 / 19, 1.0, 1 / 3, 1.0, 1.0, 1.0, 0.5]
    assert np.allclose(row, want, rtol=0, atol=1e-15), (row, want)
    # Means over (source, target): AUC 1, 1/2; precision 1, 1/3; F1 1, 1/2.
    amean = [float(v) for v in t[4][2:]]
    hm = [float(v) for v in t[5][2:]]
    assert np.allclose(amean, [0.75, 14 / 19, 2 / 3, 1.0, 0.75], rtol=0, atol=1e-15), amean
    assert np.allclose(hm, [2 / 3, 14 / 19, 0.5, 1.0, 2 / 3], rtol=0, atol=1e-15), hm
    off = [r for r in t if r[:1] == ["official score"]][0]
    assert abs(float(off[2]) - 42 / 61) <= 1e-15, off  # 3 / (1 + 2 + 19/14)
    check_table_2023(out, hand)

    # Generated: three machine types, one to three sections, ties, integer scores,
    # one machine type scored under attribute names.
    machines = generated_machines()
    team, gt = write_submission(os.path.join(tmp, "gen"), machines, attributes=("fan",))
    out = os.path.join(tmp, "result.csv")
    stdout = run("eval", "--dcase-dir", team, "--ground-truth", gt, "--result", out)[0]
    rows, means, overall, official, ci = check_table_2023(out, machines)
    assert "official score ci95" in stdout
    # --json carries the same numbers.
    got = json.loads(run("eval", "--dcase-dir", team, "--ground-truth", gt, "--json")[0])
    assert abs(got["official"] - official) <= 1e-12 and abs(got["official_ci95"] - ci) <= 1e-9 * ci
    r = got["sections"]["bearing_section_02"]
    w = rows[("bearing", "02")]
    for key, col in (("auc_all", "AUC (all)"), ("auc_target", "AUC (target)"),
                     ("precision_source", "precision (source)"), ("f1_target", "F1 score (target)")):
        assert abs(r[key] - w[col]) <= 1e-12, (key, r[key], w[col])
    hm = got["machine_types"]["fan"]["harmonic_mean"]
    assert abs(hm["recall"] - means["fan"][1][3]) <= 1e-12
    assert abs(got["overall"]["target_harmonic_mean"]["auc"] - overall[3][0]) <= 1e-12

    # An incomplete submission: a machine type missing, or a decision file missing.
    os.rename(f"{team}/anomaly_score_fan_section_01_test.csv", os.path.join(tmp, "away.csv"))
    fails("eval", "--dcase-dir", team, "--ground-truth", gt, "--result", out,
          needles=("incomplete", "anomaly_score_fan_section_01_test.csv"))
    os.rename(os.path.join(tmp, "away.csv"), f"{team}/anomaly_score_fan_section_01_test.csv")
    os.remove(f"{team}/decision_result_ToyCar_section_00_test.csv")
    fails("eval", "--dcase-dir", team, "--ground-truth", gt,
          needles=("incomplete", "anomaly_score_ToyCar_section_00_test.csv", "decision_result"))
    check_table_2023(out, machines)  # the earlier result is untouched by the failures
    # --result needs --dcase-dir; it never replaces an input.
    fails("eval", "--scores", out, "--labels", out, "--result", out, code=2,
          needles=("--result", "--dcase-dir"))
    write_submission(os.path.join(tmp, "gen"), machines, attributes=("fan",))  # complete again
    target = f"{team}/anomaly_score_ToyCar_section_00_test.csv"
    before = open(target, "rb").read()
    fails("eval", "--dcase-dir", team, "--ground-truth", gt, "--result", target,
          needles=(target, "refusing"))
    assert open(target, "rb").read() == before


def write_submission_2020(tmp):
    """A DCASE 2020 submission and its eval_data_list.csv; returns the team directory,
    the list and {(machine, id): (names, scores, labels)}."""
    rng = np.random.default_rng(20)
    team = os.path.join(tmp, "team")
    os.makedirs(team)
    lines, sections = [], {}
    for m, ids in (("ToyCar", ("05", "06")), ("valve", ("01",))):
        lines.append(m)
        for sec in ids:
            n = 30
            lab = rng.permutation(np.r_[np.zeros(18), np.ones(12)]).astype(int)
            sc = rng.normal(size=n) + lab
            names = [f"id_{sec}_{i:08d}.wav" for i in range(n)]
            lines += [f"{nm},{'anomaly' if y else 'normal'}_{nm},{y}" for nm, y in zip(names, lab)]
            with open(f"{team}/anomaly_score_{m}_id_{sec}.csv", "w") as f:
                f.writelines(f"{nm},{v!r}\n" for nm, v in zip(names, sc))
            sections[(m, sec)] = (names, sc, lab)
    gt = os.path.join(tmp, "eval_data_list.csv")
    with open(gt, "w") as f:
        f.write("\n".join(lines) + "\n")
    return team, gt, sections


def test_eval_2020(tmp):
    """The DCASE 2020 evaluation ground truth (eval_data_list.csv) and the 2020 table."""
    sklearn()
    team, gt, sections = write_submission_2020(tmp)
    want = {k: (auc(lab, sc), pauc(lab, sc)) for k, (names, sc, lab) in sections.items()}
    out = os.path.join(tmp, "result.csv")
    got = json.loads(run("eval", "--dcase-dir", team, "--ground-truth", gt, "--result", out,
                         "--json")[0])
    t = read_table(out)
    expect = []
    for m in ("ToyCar", "valve"):
        expect += [[m], ["id", "AUC", "pAUC"]]
        vals = [want[k] for k in sorted(want) if k[0] == m]
        expect += [[k[1], *want[k]] for k in sorted(want) if k[0] == m]
        expect += [["Average", *np.mean(vals, axis=0)], []]
    assert len(t) == len(expect), t
    for a, b in zip(t, expect):
        if len(b) < 3 or isinstance(b[1], str):  # the machine type, the header, the blank line
            assert a == b, (a, b)
            continue
        assert a[0] == b[0], (a, b)
        assert np.allclose([float(v) for v in a[1:]], b[1:], rtol=0, atol=1e-12), (a, b)
    official = np.mean([v for k in want for v in want[k]])
    assert abs(got["official"] - official) <= 1e-12
    assert abs(got["sections"]["ToyCar_section_06"]["pauc"] - want[("ToyCar", "06")][1]) <= 1e-12
    # The directory holding eval_data_list.csv works as well; a missing id is refused.
    run("eval", "--dcase-dir", team, "--ground-truth", tmp, "--result", out)
    os.remove(f"{team}/anomaly_score_ToyCar_id_06.csv")
    fails("eval", "--dcase-dir", team, "--ground-truth", gt,
          needles=("incomplete", "anomaly_score_ToyCar_id_06.csv", "eval_data_list.csv"))


# ---- the same table from Python ------------------------------------------------------------

def python_metrics():
    """asdnorm.metrics of the package beside this build (meson sets PYTHONPATH and
    ASDNORM_LIBRARY for the test that needs it)."""
    try:
        import asdnorm.metrics
    except (ImportError, OSError) as e:
        raise Skip(f"the asdnorm Python package cannot be loaded: {e}")
    return asdnorm.metrics


def arrays_of(machines):
    """Flat arrays (scores, labels, domains 1/2, section ids, machine types, decisions) of
    a write_submission() dictionary, in the order asdnorm eval reads the files (machine
    types, sections, file names)."""
    cols = [[] for _ in range(6)]
    for m in sorted(machines):
        for sec in sorted(machines[m]):
            names, sc, lab, dom, dec = machines[m][sec]
            o = np.argsort(names, kind="stable")
            for col, v in zip(cols, (sc[o], lab[o], dom[o] + 1, np.full(len(o), int(sec)),
                                     np.full(len(o), m), dec[o])):
                col.append(v)
    return [np.concatenate(c) for c in cols]


# The confidence interval's Student t quantile takes lgamma(dof/2 + 1/2) - lgamma(dof/2),
# a difference of two large numbers, and CPython's math.lgamma is its own, not the C
# library's: a last-bit difference in either becomes ~1e-13 of the quantile at a few
# hundred samples (measured: 3e-14 relative at 280 samples).
CI_RTOL = 1e-11


def same_values(got, want, where="table"):
    """Nested dictionaries with the same keys and numbers equal to the last bit (the
    confidence interval to CI_RTOL)."""
    assert list(got) == list(want), f"{where}: keys {list(got)} != {list(want)}"
    for k in want:
        if isinstance(want[k], dict):
            same_values(got[k], want[k], f"{where}.{k}")
        elif k == "official_ci95":
            assert abs(got[k] - want[k]) <= CI_RTOL * want[k], f"{where}.{k}: {got[k]!r} != {want[k]!r}"
        else:
            assert got[k] == want[k], f"{where}.{k}: {got[k]!r} != {want[k]!r}"


def same_rows(rows, csv_rows):
    """DcaseTable.rows() against the result CSV: the same cells, numbers to the bit."""
    assert len(rows) == len(csv_rows), (len(rows), len(csv_rows))
    for r, c in zip(rows, csv_rows):
        assert len(r) == len(c), (r, c)
        for a, b in zip(r, c):
            if isinstance(a, str):
                assert a == b, (r, c)
            elif np.isnan(a):
                assert b == "", (r, c)
            elif r[0] == "official score ci95":
                assert abs(a - float(b)) <= CI_RTOL * a, (r, c)
            else:
                assert a == float(b), (r, c)


def test_python_table(tmp):
    """asdnorm.metrics.dcase_table gives eval --dcase-dir's table value for value (--json
    and --result): the hand-derived, the generated (one machine type attribute-named)
    and the 2020 submissions, with and without decision files."""
    metrics = python_metrics()
    for label, machines, attributes in (("hand", hand_machines(), ()),
                                        ("generated", generated_machines(), ("fan",))):
        team, gt = write_submission(os.path.join(tmp, label), machines, attributes)
        out = os.path.join(tmp, f"{label}.csv")
        cli = json.loads(run("eval", "--dcase-dir", team, "--ground-truth", gt, "--result", out,
                             "--json")[0])
        sc, lab, dom, sec, mach, dec = arrays_of(machines)
        table = metrics.dcase_table(sc, lab, dom, sec, machines=mach, decisions=dec)
        same_values(table.to_dict(), cli)
        same_rows(table.rows(), read_table(out))
        # Any order of the samples gives the same table (to rounding: the jackknife
        # sums in sample order).
        p = np.random.default_rng(3).permutation(len(sc))
        shuffled = metrics.dcase_table(sc[p], lab[p], dom[p], sec[p], machines=mach[p],
                                       decisions=dec[p])
        assert shuffled.sections == table.sections
        assert abs(shuffled.official_ci95 - table.official_ci95) <= 1e-12
        # Without decision files: no precision, recall or F1, in both.
        for f in os.listdir(team):
            if f.startswith("decision_result_"):
                os.remove(os.path.join(team, f))
        cli = json.loads(run("eval", "--dcase-dir", team, "--ground-truth", gt, "--result", out,
                             "--json")[0])
        table = metrics.dcase_table(sc, lab, dom, sec, machines=mach)
        same_values(table.to_dict(), cli)
        same_rows(table.rows(), read_table(out))
        assert "precision" not in table.overall["harmonic_mean"]

    team, gt, sections = write_submission_2020(os.path.join(tmp, "2020"))
    out = os.path.join(tmp, "2020.csv")
    cli = json.loads(run("eval", "--dcase-dir", team, "--ground-truth", gt, "--result", out,
                         "--json")[0])
    keys = sorted(sections)
    table = metrics.dcase_table(
        np.concatenate([sections[k][1] for k in keys]),
        np.concatenate([sections[k][2] for k in keys]), None,
        np.concatenate([np.full(len(sections[k][0]), int(k[1])) for k in keys]),
        machines=np.concatenate([np.full(len(sections[k][0]), k[0]) for k in keys]),
        edition=2020)
    same_values(table.to_dict(), cli)
    same_rows(table.rows(), read_table(out))


def test_data_safety(tmp):
    """No command destroys data: an output that is an input (by device and inode,
    not by name) is refused, outputs are written atomically, an existing file
    survives a failed write, non-regular files are never replaced, and stale
    sections of a model directory are removed and never used."""
    import resource
    import signal
    rng = np.random.default_rng(15)
    refs = rng.normal(size=(40, 6)).astype(np.float32)
    tests = rng.normal(size=(9, 6)).astype(np.float32)
    P = lambda name: os.path.join(tmp, name)  # noqa: E731
    np.save(P("refs.npy"), refs)
    np.save(P("tests.npy"), tests)
    np.savetxt(P("tests.csv"), tests, delimiter=",")
    want, arg, _ = scores_ref(refs, tests)

    # An output that is an input, by name, by another spelling, by a hard link,
    # and as standard input redirected from the file: refused, the input intact.
    os.link(P("refs.npy"), P("alias.npy"))
    before = snapshot(P("refs.npy"))
    for out in (P("refs.npy"), os.path.join(tmp, ".", "refs.npy"), P("alias.npy")):
        fails("score", "--ref", P("refs.npy"), "--test", P("tests.npy"), "--out", out,
              needles=(out, "refusing"))
        assert snapshot(P("refs.npy")) == before, f"--out {out} changed the references"
    fails("score", "--ref", P("refs.npy"), "--test", P("tests.npy"), "--out", P("o.npy"),
          "--nearest", P("tests.npy"), needles=("tests.npy", "refusing"))
    assert np.array_equal(np.load(P("tests.npy")), tests)
    assert not os.path.exists(P("o.npy")), "nothing is written when an output is refused"
    before_csv = snapshot(P("tests.csv"))
    with open(P("tests.csv")) as f:
        p = subprocess.run([ASDNORM, "score", "--ref", P("refs.npy"), "--test", "-", "--out",
                            P("tests.csv")], stdin=f, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "standard input" in p.stderr, p.stderr
    assert snapshot(P("tests.csv")) == before_csv
    # --out and --nearest the same file (existing or not, spelled differently).
    for a, b in ((P("x.csv"), os.path.join(tmp, ".", "x.csv")), (P("refs.npy"), P("alias.npy"))):
        fails("score", "--ref", P("refs.npy"), "--test", P("tests.npy"), "--out", a,
              "--nearest", b, code=2, needles=("--out", "--nearest", "same file"))
    # index build over its references; eval --plot over its scores.
    fails("index", "build", "--ref", P("refs.npy"), "--out", P("alias.npy"),
          needles=("alias.npy", "refs.npy", "refusing"))
    assert snapshot(P("refs.npy")) == before
    np.save(P("s.npy"), want)
    np.save(P("l.npy"), (np.arange(9) % 2).astype(np.int64))
    s_before = snapshot(P("s.npy"))
    os.link(P("s.npy"), P("s.svg"))
    fails("eval", "--scores", P("s.npy"), "--labels", P("l.npy"), "--plot", P("s.svg"),
          needles=("s.svg", "refusing"))
    assert snapshot(P("s.npy")) == s_before

    # Non-regular files are never replaced: a FIFO, a directory, a device node.
    os.mkfifo(P("fifo.csv"))
    os.mkdir(P("dir.csv"))
    specials = [P("fifo.csv"), P("dir.csv")]
    try:
        os.mknod(P("null.csv"), 0o666 | __import__("stat").S_IFCHR, os.makedev(1, 3))
        specials.append(P("null.csv"))
    except (PermissionError, OSError):
        pass  # not root, or no device nodes in this file system
    for target in specials:
        kind = snapshot(target)
        fails("score", "--ref", P("refs.npy"), "--test", P("tests.npy"), "--out", target,
              needles=(target, "not a regular file"))
        assert snapshot(target) == kind, f"{target} was replaced"

    # Outputs are complete files in place: scores, nearest, a symlink's target.
    run("score", "--ref", P("refs.npy"), "--test", P("tests.npy"), "--out", P("o.csv"),
        "--nearest", P("n.npy"))
    close(read_csv_column(P("o.csv"), "score"), want, what="atomic scores")
    assert (np.load(P("n.npy")) == arg).all()
    os.symlink("o.csv", P("link.csv"))
    run("score", "--ref", P("refs.npy"), "--test", P("tests.npy"), "--out", P("link.csv"))
    assert os.path.islink(P("link.csv")), "the link stays a link; the file it names is replaced"
    close(read_csv_column(P("o.csv"), "score"), want, what="scores through a link")
    assert leftovers(tmp) == [], leftovers(tmp)

    # A write that fails (a file-size limit standing in for a full disk) leaves the
    # existing output as it was and no temporary file.
    many = rng.normal(size=(3000, 6)).astype(np.float32)
    np.save(P("many.npy"), many)
    old = snapshot(P("o.csv"))

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    p = subprocess.run([ASDNORM, "score", "--ref", P("refs.npy"), "--test", P("many.npy"),
                        "--out", P("o.csv")], preexec_fn=small_files, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 1 and "o.csv" in p.stderr and "write error" in p.stderr, p.stderr
    assert snapshot(P("o.csv")) == old, "the existing scores survive a failed write"
    assert leftovers(tmp) == [], leftovers(tmp)

    # A model directory: a rebuild with fewer sections removes the stale file, and
    # a stale file put back is not used.
    d = P("model")
    np.save(P("rs3.npy"), np.arange(40) % 3)
    np.save(P("rs2.npy"), np.arange(40) % 2)
    np.save(P("ts.npy"), np.arange(9) % 3)
    run("index", "build", "--ref", P("refs.npy"), "--ref-sections", P("rs3.npy"), "--out", d)
    assert sorted(os.listdir(d)) == ["manifest", "section_0.asdx", "section_1.asdx",
                                     "section_2.asdx"]
    stale = open(os.path.join(d, "section_2.asdx"), "rb").read()
    run("index", "build", "--ref", P("refs.npy"), "--ref-sections", P("rs2.npy"), "--out", d)
    assert sorted(os.listdir(d)) == ["manifest", "section_0.asdx", "section_1.asdx"]
    with open(os.path.join(d, "manifest")) as f:
        assert f.read().splitlines()[1:] == ["section_0.asdx", "section_1.asdx"]
    with open(os.path.join(d, "section_2.asdx"), "wb") as f:
        f.write(stale)
    fails("score", "--index", d, "--test", P("tests.npy"), "--test-sections", P("ts.npy"),
          needles=("section_2.asdx", "manifest"))
    out, err = run("index", "info", d)
    assert out.count("references") == 2 and "section_2.asdx: not in the manifest" in err, err
    # --ref-sections into a file, not a directory: refused, the file intact.
    fails("index", "build", "--ref", P("refs.npy"), "--ref-sections", P("rs2.npy"),
          "--out", P("o.csv"), needles=("o.csv", "not a directory"))
    assert snapshot(P("o.csv")) == old


def tmpfile_supported(directory):
    """Whether the kernel and file system make unnamed O_TMPFILE files here."""
    try:
        os.close(os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o600))
        return os.access("/proc/self/fd", os.X_OK)
    except (AttributeError, OSError):
        return False


def default_signals():
    """In a child before exec: the termination signals at their default dispositions."""
    import signal
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


def test_killed_write(tmp):
    """A process killed while writing an output leaves no temporary file and the old
    output intact: the unnamed O_TMPFILE file vanishes even with SIGKILL; the named
    fallback is removed on SIGTERM, SIGINT and SIGHUP (a named file survives only
    SIGKILL). ASDNORM_TEST_STOP_WRITE stops the program halfway through the write, so
    that the kill lands there without any timing."""
    import signal
    rng = np.random.default_rng(4)
    np.save(os.path.join(tmp, "refs.npy"), rng.normal(size=(50, 4)).astype(np.float32))
    np.save(os.path.join(tmp, "tests.npy"), rng.normal(size=(30000, 4)).astype(np.float32))
    out = os.path.join(tmp, "scores.csv")
    command = [ASDNORM, "score", "--ref", os.path.join(tmp, "refs.npy"), "--test",
               os.path.join(tmp, "tests.npy"), "--out", out]
    old = b"the previous scores\n"
    anonymous = tmpfile_supported(tmp)
    cases = [(False, signal.SIGKILL), (False, signal.SIGTERM), (True, signal.SIGKILL),
             (True, signal.SIGTERM), (True, signal.SIGINT), (True, signal.SIGHUP)]
    for named, sig in cases:
        with open(out, "wb") as f:
            f.write(old)
        env = dict(os.environ, ASDNORM_TEST_STOP_WRITE="1")
        if named:
            env["ASDNORM_TEST_NO_TMPFILE"] = "1"
        # The default dispositions, whatever this process inherited (under nohup,
        # SIGHUP is ignored, and the program rightly keeps it so: below).
        p = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, preexec_fn=default_signals)
        _, status = os.waitpid(p.pid, os.WUNTRACED)
        assert os.WIFSTOPPED(status), f"not stopped mid-write: status {status:#x}"
        # Halfway: half an SVG in a temporary file, the old output as it was.
        during = leftovers(tmp)
        unnamed = anonymous and not named
        assert len(during) == (0 if unnamed else 1), (named, sig, during)
        if during:
            size = os.path.getsize(os.path.join(tmp, during[0]))
            assert size > 100000, size  # the write is under way (half of a large file)
        os.kill(p.pid, sig)
        os.kill(p.pid, signal.SIGCONT)
        p.wait(timeout=60)
        p.stderr.close()
        assert p.returncode == -sig, (named, sig, p.returncode)
        after = leftovers(tmp)
        if named and sig == signal.SIGKILL:
            assert after == during, after  # nothing can remove a name under SIGKILL
            os.remove(os.path.join(tmp, after[0]))
        else:
            assert after == [], (named, sig, after)
        assert open(out, "rb").read() == old, (named, sig)
    # Started with SIGHUP ignored (nohup), the program keeps ignoring it: a hangup in
    # the middle of the write changes nothing, and the new output replaces the old.
    with open(out, "wb") as f:
        f.write(old)
    env = dict(os.environ, ASDNORM_TEST_STOP_WRITE="1", ASDNORM_TEST_NO_TMPFILE="1")

    def ignore_hangups():
        default_signals()
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    p = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         preexec_fn=ignore_hangups)
    _, status = os.waitpid(p.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), f"not stopped mid-write: status {status:#x}"
    os.kill(p.pid, signal.SIGHUP)
    os.kill(p.pid, signal.SIGCONT)
    p.wait(timeout=60)
    p.stderr.close()
    assert p.returncode == 0, p.returncode
    assert leftovers(tmp) == []
    assert len(read_csv_column(out, "score")) == 30000
    # Without any hook: a file-size limit below the output's size kills the program with
    # SIGXFSZ in the middle of its write() (no core file: RLIMIT_CORE 0).
    import resource

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (200000, 200000))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    for named in (False, True):
        with open(out, "wb") as f:
            f.write(old)
        env = dict(os.environ, ASDNORM_TEST_NO_TMPFILE="1" if named else "0")
        p = subprocess.run(command, env=env, preexec_fn=small_files, capture_output=True)
        assert p.returncode == -signal.SIGXFSZ, (p.returncode, p.stderr)
        assert open(out, "rb").read() == old
        left = leftovers(tmp)
        if named or not anonymous:  # a name, cut at the limit: the kill came mid-write
            assert len(left) == 1, left
            assert os.path.getsize(os.path.join(tmp, left[0])) == 200000
            os.remove(os.path.join(tmp, left[0]))
        else:
            assert left == [], left
    if not anonymous:
        raise Skip(f"{tmp}: no O_TMPFILE here; only the named route was tested")
    # Not stopped, both routes write every score in place of the old file.
    for named in (False, True):
        env = dict(os.environ, ASDNORM_TEST_NO_TMPFILE="1" if named else "0")
        subprocess.run(command, env=env, check=True, capture_output=True)
        assert len(read_csv_column(out, "score")) == 30000 and os.path.getsize(out) > 200000
        assert leftovers(tmp) == []


def test_csv_rules(tmp):
    """The first CSV row is a header only when no field is a number or empty; lone
    CR line ends are read; standard input is read once; bad domains name their row."""
    rng = np.random.default_rng(16)
    refs = rng.normal(size=(20, 4)).astype(np.float32)
    tests = rng.normal(size=(6, 4)).astype(np.float32)
    P = lambda name: os.path.join(tmp, name)  # noqa: E731
    np.save(P("r.npy"), refs)
    np.save(P("t.npy"), tests)
    want, _, _ = scores_ref(refs, tests)
    rows = [",".join(repr(float(v)) for v in row) for row in tests]
    # A first row with an empty field or with numbers and text is an error naming line 1.
    for first, needle in (("1,2,,4", "empty field"), ("a,2,3,4", "mixes numbers")):
        with open(P("bad.csv"), "w") as f:
            f.write(first + "\n" + "\n".join(rows) + "\n")
        fails("score", "--ref", P("r.npy"), "--test", P("bad.csv"),
              needles=("bad.csv", "line 1", needle))
    # All names: a header; all numbers: data (none dropped).
    for text, n in (("a,b,c,d\n" + "\n".join(rows) + "\n", 6), ("\n".join(rows) + "\n", 6)):
        with open(P("ok.csv"), "w") as f:
            f.write(text)
        out = run("score", "--ref", P("r.npy"), "--test", P("ok.csv"))[0].splitlines()
        assert len(out) == n + 1
        close([float(v) for v in out[1:]], want, what="csv rows")
    # Classic Mac line ends (CR only) read as lines; an error names the right line.
    with open(P("cr.csv"), "w", newline="") as f:
        f.write("a,b,c,d\r" + "\r".join(rows) + "\r")
    out = run("score", "--ref", P("r.npy"), "--test", P("cr.csv"))[0].splitlines()
    close([float(v) for v in out[1:]], want, what="CR-only csv")
    with open(P("cr-bad.csv"), "w", newline="") as f:
        f.write("a,b,c,d\r" + rows[0] + "\r1,2,x,4\r")
    fails("score", "--ref", P("r.npy"), "--test", P("cr-bad.csv"),
          needles=("cr-bad.csv", "line 3, column 3", "'x' is not a number"))
    # Two inputs from standard input: a usage error naming both options.
    fails("score", "--ref", "-", "--test", "-", code=2, needles=("--ref -", "--test -", "once"))
    fails("score", "--ref", P("r.npy"), "--test", "-", "--ref-domains", "-", code=2,
          needles=("--test -", "--ref-domains -"))
    # A uint8 domain 5 is reported with its row, by every command that reads domains.
    dom = np.ones(20, np.uint8)
    dom[7] = 5
    np.save(P("d.npy"), dom)
    need = ("d.npy", "row 7 (0-based)", "domain 5")
    fails("score", "--ref", P("r.npy"), "--test", P("t.npy"), "--ref-domains", P("d.npy"),
          needles=need)
    fails("index", "build", "--ref", P("r.npy"), "--ref-domains", P("d.npy"), "--out",
          P("x.asdx"), needles=need)
    np.save(P("s.npy"), rng.normal(size=20))
    np.save(P("l.npy"), (np.arange(20) % 2).astype(np.uint8))
    fails("eval", "--scores", P("s.npy"), "--labels", P("l.npy"), "--domains", P("d.npy"),
          needles=need)
    assert not os.path.exists(P("x.asdx"))


def run_on_terminal(*args):
    """Run asdnorm with its stderr on a pseudo-terminal; return (seconds, stderr's text)."""
    import pty
    import time
    master, slave = pty.openpty()
    start = time.monotonic()
    p = subprocess.Popen([ASDNORM, *map(str, args)], stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert p.wait(timeout=300) == 0, b"".join(chunks)
    os.close(master)
    return time.monotonic() - start, b"".join(chunks).decode()


def test_progress(tmp):
    """A progress bar on a terminal only, and --quiet: accepted by score and index build,
    the same results, nothing on stderr."""
    rng = np.random.default_rng(5)
    P = lambda name: os.path.join(tmp, name)  # noqa: E731
    np.save(P("r.npy"), rng.normal(size=(300, 8)).astype(np.float32))
    np.save(P("t.npy"), rng.normal(size=(50, 8)).astype(np.float32))
    for quiet in ((), ("--quiet",)):
        out, err = run("score", "--ref", P("r.npy"), "--test", P("t.npy"), "--out",
                       P(f"s{len(quiet)}.npy"), *quiet)
        assert err == "", err  # not a terminal: no bar
        _, err = run("index", "build", "--ref", P("r.npy"), "--out", P(f"i{len(quiet)}.asdx"),
                     "--density", "gwrp", *quiet)
        assert err == "", err
    assert (np.load(P("s0.npy")) == np.load(P("s1.npy"))).all()
    with open(P("i0.asdx"), "rb") as a, open(P("i1.asdx"), "rb") as b:
        assert a.read() == b.read()
    fails("score", "--ref", P("r.npy"), "--test", P("t.npy"), "--quiet=1", code=2,
          needles=("'--quiet' takes no value",))
    # On a terminal: the bar of a long finalize, unless --quiet.
    np.save(P("big.npy"), rng.normal(size=(12000, 64)).astype(np.float32))
    build = ("index", "build", "--ref", P("big.npy"), "--k", "3")
    took, err = run_on_terminal(*build, "--quiet", "--out", P("q.asdx"))
    assert err == "", err
    took, err = run_on_terminal(*build, "--out", P("b.asdx"))
    if took > 1.5:  # the bar appears after half a second of work
        assert "computing the densities of 12000 references [" in err, err
        assert "%" in err and "ETA" in err and "done in" in err, err
        assert err.endswith("\n")


TESTS = {name[5:]: fn for name, fn in globals().items() if name.startswith("test_")}


def main():
    global ASDNORM, DATA
    ap = argparse.ArgumentParser()
    ap.add_argument("--asdnorm", required=True)
    ap.add_argument("--data")
    ap.add_argument("tests", nargs="*", help=f"one of {sorted(TESTS)}; default all")
    args = ap.parse_args()
    ASDNORM = os.path.abspath(args.asdnorm)
    DATA = args.data
    names = args.tests or sorted(TESTS)
    status = 0
    skipped = 0
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"asdnorm-cli-{name}-") as tmp:
            try:
                TESTS[name](tmp)
                print(f"ok   {name}")
            except Skip as e:
                print(f"skip {name}: {e}")
                skipped += 1
            except AssertionError as e:
                print(f"FAIL {name}: {e}")
                status = 1
    if status == 0 and skipped == len(names):
        return SKIP
    return status


if __name__ == "__main__":
    sys.exit(main())
