# SPDX-License-Identifier: MIT
"""Lifetime traps: a scorer (or LOF model) keeps its index alive whatever the caller does
with its own references, through del, rebinding, re-initializing, pickling, copying and
threads; and objects are freed once nothing refers to them."""
import copy
import gc
import pickle
import threading
import weakref

import numpy as np
import pytest

import asdnorm
from asdnorm import baselines


def data(seed=0, m=60, n=25, d=6):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(m, d)) + 1).astype(np.float32), \
        (rng.normal(size=(n, d)) + 1).astype(np.float32)


def brute_force_ratio_k1(refs, tests):
    """Euclidean, K-NN density with K = 1, ratio: in float64 (docs/math.md §2)."""
    rr = np.linalg.norm(refs[:, None].astype(np.float64) - refs[None], axis=2)
    np.fill_diagonal(rr, np.inf)
    d = np.linalg.norm(tests[:, None].astype(np.float64) - refs[None], axis=2)
    return (d / rr.min(axis=1)).min(axis=1)


def make(refs):
    return asdnorm.Index(refs.shape[1], "euclidean").add(refs).finalize("knn", k=1)


def test_del_the_index():
    refs, tests = data(1)
    ix = make(refs)
    sc = asdnorm.Scorer(ix)
    alive = weakref.ref(ix)
    del ix
    gc.collect()
    assert alive() is sc.index                       # kept by the scorer
    np.testing.assert_allclose(sc.score(tests), brute_force_ratio_k1(refs, tests), rtol=1e-5)


def test_index_is_read_only():
    refs, tests = data(2)
    other_refs, _ = data(3)
    ix, other = make(refs), make(other_refs)
    sc = asdnorm.Scorer(ix)
    want = sc.score(tests)
    with pytest.raises(AttributeError):
        sc.index = other
    with pytest.raises(AttributeError):
        del sc.index
    del ix, other
    gc.collect()
    np.testing.assert_array_equal(sc.score(tests), want)


def test_rebinding_the_name():
    refs, tests = data(4)
    refs2, _ = data(5)
    ix = make(refs)
    sc = asdnorm.Scorer(ix)
    ix = make(refs2)                                  # the name now means another index
    gc.collect()
    np.testing.assert_allclose(sc.score(tests), brute_force_ratio_k1(refs, tests), rtol=1e-5)
    assert asdnorm.Scorer(ix).score(tests[:1])[0] == pytest.approx(
        brute_force_ratio_k1(refs2, tests[:1])[0], rel=1e-5)


def test_second_init_is_refused():
    """__init__ again would swap the C object under the scorers that use it."""
    refs, tests = data(6)
    ix = make(refs)
    sc = asdnorm.Scorer(ix)
    want = sc.score(tests)
    with pytest.raises(asdnorm.InvalidValueError) as e:
        ix.__init__(3, "mse")
    assert e.value.status == asdnorm.Status.E_STATE
    with pytest.raises(asdnorm.InvalidValueError):
        sc.__init__(make(refs[:10]), "none")
    assert ix.dim == refs.shape[1] and ix.distance == "euclidean" and sc.norm == "ratio"
    np.testing.assert_array_equal(sc.score(tests), want)


def test_pickle_scorer_with_its_index():
    refs, tests = data(7)
    ix = make(refs)
    sc = asdnorm.Scorer(ix, "difference")
    want = sc.score(tests)
    blob = pickle.dumps(sc)
    del ix, sc
    gc.collect()
    sc2 = pickle.loads(blob)
    assert sc2.norm == "difference" and sc2.index.finalized
    np.testing.assert_array_equal(sc2.score(tests), want)  # the saved bytes are exact
    # Scorers pickled together share one unpickled index, as they shared the original.
    ix = make(refs)
    a, b = pickle.loads(pickle.dumps([asdnorm.Scorer(ix), asdnorm.Scorer(ix, "none")]))
    assert a.index is b.index and a.index is not ix
    # copy / deepcopy go through the same path.
    c = copy.deepcopy(a)
    assert c.index is not a.index
    np.testing.assert_array_equal(c.score(tests), a.score(tests))
    assert copy.copy(a).index is a.index


def test_pickle_lof_model():
    refs, tests = data(8)
    ix = asdnorm.Index(refs.shape[1], "euclidean").add(refs)
    model = baselines.LOF(ix, k=5)
    want = model.score(tests)
    model2 = pickle.loads(pickle.dumps(model))
    del model, ix
    gc.collect()
    assert model2.k == 5
    np.testing.assert_array_equal(model2.score(tests), want)


def test_lof_keeps_its_index_alive():
    refs, tests = data(9)
    ix = asdnorm.Index(refs.shape[1], "euclidean").add(refs)
    model = baselines.LOF(ix, k=5)
    want = baselines.lof(refs, tests, k=5)
    with pytest.raises(AttributeError):
        model.index = asdnorm.Index(refs.shape[1])
    del ix
    gc.collect()
    np.testing.assert_array_equal(model.score(tests), want)


def test_objects_are_freed():
    refs, tests = data(10)
    ix = make(refs)
    sc = asdnorm.Scorer(ix)
    model = baselines.LOF(ix, 3)
    refs_ = [weakref.ref(o) for o in (ix, sc, model)]
    del ix, sc, model
    gc.collect()
    assert [r() for r in refs_] == [None, None, None]  # no hidden cycle keeps them


def test_threads_score_while_the_owner_lets_go():
    """Threads hold only scorers; the main thread drops the index and collects garbage
    while they score. Every result is bit-identical to a single-thread run."""
    refs, tests = data(11, m=300, n=200, d=16)
    ix = make(refs)
    want = asdnorm.Scorer(ix).score(tests)
    scorers = [asdnorm.Scorer(ix) for _ in range(3)]
    model = baselines.LOF(ix, 4)
    lof_want = model.score(tests)
    del ix
    start = threading.Barrier(5)
    results, errors = [], []

    def work(sc):
        start.wait()
        try:
            for _ in range(20):
                results.append(np.array_equal(sc.score(tests), want))
        except Exception as exc:  # reported below
            errors.append(exc)

    def lof_work():
        start.wait()
        for _ in range(5):
            results.append(np.array_equal(model.score(tests), lof_want))

    threads = [threading.Thread(target=work, args=(sc,)) for sc in scorers]
    threads.append(threading.Thread(target=lof_work))
    for t in threads:
        t.start()
    start.wait()
    del scorers                                   # the threads' arguments remain
    for _ in range(20):
        gc.collect()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 65 and all(results)


def test_index_dropped_in_another_thread():
    """The last reference to a scorer (and so its index) goes away in a worker thread."""
    refs, tests = data(12)
    box = [asdnorm.Scorer(make(refs))]
    want = box[0].score(tests)
    alive = weakref.ref(box[0].index)
    got = []

    def worker():
        sc = box.pop()
        got.append(sc.score(tests))
        del sc

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    gc.collect()
    np.testing.assert_array_equal(got[0], want)
    assert alive() is None


def test_pickle_keeps_raw_centroids():
    """A source-means index under cosine holds raw (non-unit) centroids: finalized, it
    pickles exactly; un-finalized, pickling is refused rather than normalizing them."""
    ix = asdnorm.Index(2, "cosine").add([[1, 0], [0, 1], [5, 5]], domains=[1, 1, 2])
    sm = baselines.source_means_index(ix, 1)
    np.testing.assert_array_equal(sm.vectors[0], [0.5, 0.5])
    with pytest.raises(ValueError) as e:
        pickle.dumps(sm)
    assert e.value.status == asdnorm.Status.E_STATE and "finalize" in str(e.value)
    sm.finalize("none")
    back = pickle.loads(pickle.dumps(sm))
    np.testing.assert_array_equal(back.vectors, sm.vectors)
    tests = [[1.0, 0.2], [0.3, 1.0]]
    np.testing.assert_array_equal(asdnorm.Scorer(back, "none").score(tests),
                                  asdnorm.Scorer(sm, "none").score(tests))
    # An ordinary un-finalized cosine index still pickles (as its unit rows).
    plain = pickle.loads(pickle.dumps(ix))
    np.testing.assert_allclose(plain.vectors, ix.vectors, rtol=1e-7)
