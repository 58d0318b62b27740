# SPDX-License-Identifier: MIT
"""asdnorm.dask on a LocalCluster of 2 worker processes: the densities, scores and
nearest references of a sharded bank are bitwise those of one process on the
concatenated rows (which the other tests check against a brute force), also when a
worker is killed in the middle of finalize and after a save and load."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from conftest import bf_density

distributed = pytest.importorskip("distributed", reason="dask.distributed is not importable")
da = pytest.importorskip("dask.array", reason="dask.array is not importable")

import dask  # noqa: E402

import asdnorm  # noqa: E402
import asdnorm.dask as ad  # noqa: E402

D = 8


@pytest.fixture(scope="module")
def client():
    # Short connection timeouts (passed on to the workers): a worker that asks the
    # killed one for data gives up in seconds, not after the default 30 s per try.
    with dask.config.set({"distributed.comm.timeouts.connect": "5s"}):
        cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                           dashboard_address=":0")
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def make_data(seed, m=400, n=90):
    rng = np.random.default_rng(seed)
    refs = rng.normal(0.2, 1.0, size=(m, D)).astype(np.float32)
    refs[m // 2] = refs[3]          # a duplicate in another shard
    refs[m - 1] = refs[3]
    tests = rng.normal(0.2, 1.1, size=(n, D)).astype(np.float32)
    tests[4] = refs[3]              # distance 0 to three references in three shards
    tests[5] = refs[3]              # one float step from them: under mse with a density of
    tests[5, 0] = np.nextafter(refs[3, 0], np.float32(np.inf))  # 0 its score is d / φ
    doms = rng.integers(1, 3, size=m)
    return refs, doms, tests


def one_process(refs, doms, distance, density, kw):
    ix = asdnorm.Index(D, distance)
    ix.add(refs, doms)
    ix.finalize(density, **kw)
    return ix


def assert_same(ix, one, tests, chunks=40):
    assert ix.estimator == one.estimator
    assert ix.density.tobytes() == one.density.tobytes()
    assert ix.floor.hex() == one.floor.hex()   # the bank's ratio floor on every shard
    for norm in ("ratio", "difference"):
        want_s, want_n = asdnorm.Scorer(one, norm).score(tests, return_nearest=True)
        s, n = ad.Scorer(ix, norm).score(da.from_array(tests, chunks=chunks),
                                         return_nearest=True)
        assert isinstance(s, da.Array) and isinstance(n, da.Array)  # lazy
        s, n = dask.compute(s, n)
        assert s.dtype == np.float32 and n.dtype == np.int64
        assert s.tobytes() == want_s.tobytes(), norm
        np.testing.assert_array_equal(n, want_n, err_msg=norm)
        only = ad.Scorer(ix, norm).score(da.from_array(tests, chunks=chunks)).compute()
        assert only.tobytes() == want_s.tobytes()


@pytest.mark.parametrize("distance, density, kw", [
    ("cosine", "knn", {"k": 4}),
    ("euclidean", "gwrp", {"r": 0.7}),
    ("mse", "knn", {"k": 1000}),     # clipped to M - 1: every other reference
    ("cosine", "gwrp", {"r": 1.0}),  # all M - 1 neighbours
    ("euclidean", "none", {}),
    ("euclidean", "knn", {"k": 2}),  # the three copies have density 0: the floor counts
    ("mse", "gwrp", {"r": 0.0}),     # the nearest distance: 0 for the copies
])
def test_exact_like_one_process(client, distance, density, kw):
    refs, doms, tests = make_data(len(distance) + len(density))
    ix = ad.Index(D, distance)
    ix.add(da.from_array(refs, chunks=((150, 100, 150), (D,))), domains=doms)
    assert ix.shard_sizes == [150, 100, 150] and not ix.finalized
    ix.finalize(density, **kw)
    one = one_process(refs, doms, distance, density, kw)
    if density != "none":  # the constants themselves, against the brute force
        np.testing.assert_allclose(ix.density, bf_density(distance, refs, density, **kw),
                                   rtol=1e-12, atol=1e-15)
    assert_same(ix, one, tests)


def test_added_twice_and_refinalized(client):
    refs, doms, tests = make_data(7)
    ix = ad.Index(D, "cosine")
    ix.add(da.from_array(refs[:170], chunks=85), domains=doms[:170])
    ix.add(da.from_array(refs[170:], chunks=115), domains=da.from_array(doms[170:], chunks=50))
    ix.finalize("knn", k=3)
    ix.finalize("gwrp", r=0.5)
    assert_same(ix, one_process(refs, doms, "cosine", "gwrp", {"r": 0.5}), tests)


def tie_pair():
    """Two float rows a, b and x = 0 whose Euclidean distances differ in double,
    d(x, b) < d(x, a), but round to the same float."""
    rng = np.random.default_rng(11)
    v = rng.normal(size=(20000, 2)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True).astype(np.float32)
    d = np.sqrt(v[:, 0].astype(np.float64) ** 2 + v[:, 1].astype(np.float64) ** 2)
    order = np.argsort(d, kind="stable")
    d, v = d[order], v[order]
    for i in range(len(d) - 1):
        if d[i] < d[i + 1] and np.float32(d[i]) == np.float32(d[i + 1]):
            return v[i + 1], v[i]   # a (farther), b (nearer)
    raise AssertionError("no pair")


def test_float_tie_between_shards_goes_to_the_double_minimum(client):
    a, b = tie_pair()
    far = np.full((30, 2), 40.0, np.float32) + np.arange(60, dtype=np.float32).reshape(30, 2)
    refs = np.concatenate([far[:15], a[None], far[15:], b[None]])  # a at 15, b at 31
    x = np.zeros((3, 2), np.float32)
    x[1] = [100.0, 100.0]
    for density in ("none", "knn"):
        one = asdnorm.Index(2, "euclidean").add(refs)
        one.finalize(density, k=1)
        ix = ad.Index(2, "euclidean")
        ix.add(da.from_array(refs, chunks=16))          # a in shard 0, b in shard 1
        ix.finalize(density, k=1)
        norm = "none" if density == "none" else "difference"
        want_s, want_n = asdnorm.Scorer(one, norm).score(x, return_nearest=True)
        if density == "none":
            assert want_n[0] == 31  # the double minimum, in the higher shard
        s, n = dask.compute(*ad.Scorer(ix, norm).score(da.from_array(x, chunks=2),
                                                       return_nearest=True))
        assert s.tobytes() == want_s.tobytes()
        np.testing.assert_array_equal(n, want_n)


def _pairs_done(dask_scheduler):
    return sum(1 for key, ts in dask_scheduler.tasks.items()
               if str(key).startswith("_cross_lists") and ts.state == "memory")


def _queued(dask_scheduler):
    """The asdnorm.dask tasks (their functions' names begin with _) that the scheduler ever
    put in its queue of root-ish tasks."""
    return sorted({t[0] for t in dask_scheduler.transition_log
                   if t[2] == "queued" and str(t[0]).startswith("_")})


def _scheduler_state(dask_scheduler):
    """The scheduler's unfinished tasks, the dependencies of those it runs, its workers and
    the story of those tasks (a hang's diagnostic)."""
    tasks = {str(k): (ts.state, ts.processing_on and ts.processing_on.address,
                      sorted(w.address for w in ts.who_has),
                      sorted(str(d.key) for d in ts.waiting_on or ()), ts.suspicious)
             for k, ts in dask_scheduler.tasks.items() if ts.state not in ("memory", "released")}
    running = [ts for ts in dask_scheduler.tasks.values() if ts.state == "processing"]
    deps = {str(d.key): (d.state, sorted(w.address for w in d.who_has))
            for ts in running for d in ts.dependencies}
    workers = {w.address: (w.status.name, len(w.processing), w.nanny)
               for w in dask_scheduler.workers.values()}
    keys = [ts.key for ts in running] + list(deps)
    return {"tasks": tasks, "dependencies": deps, "workers": workers,
            "story": [tuple(map(str, t)) for t in dask_scheduler.story(*keys)]}


def _worker_state(dask_worker):
    """A worker's unfinished tasks, their story and its threads' stacks (a hang's
    diagnostic)."""
    import traceback
    st = dask_worker.state
    tasks = {str(k): (ts.state, sorted(ts.who_has), ts.coming_from)
             for k, ts in st.tasks.items() if ts.state not in ("memory", "released")}
    stacks = {tid: "".join(traceback.format_stack(f))
              for tid, f in sys._current_frames().items()}
    return {"status": dask_worker.status.name, "tasks": tasks,
            "in_flight_workers": {w: sorted(map(str, k)) for w, k in
                                  st.in_flight_workers.items()},
            "story": [tuple(map(str, t)) for t in st.story(*tasks)],
            "stacks": stacks}


def _diagnostic(client):
    """The scheduler's and the workers' states and the workers' logs."""
    out = {}
    for name, call in (("scheduler", lambda: client.run_on_scheduler(_scheduler_state)),
                       ("workers", lambda: client.run(_worker_state, on_error="return")),
                       ("logs", lambda: client.get_worker_logs())):
        try:
            out[name] = call()
        except Exception as exc:  # a diagnostic of a broken cluster may fail too
            out[name] = repr(exc)
    return out


def test_worker_killed_mid_finalize(client, monkeypatch):
    monkeypatch.setattr(ad, "_MAX_BLOCK", 200)  # 12 blocks, 66 pairs: time to kill one
    rng = np.random.default_rng(5)
    refs = rng.normal(size=(2400, 16)).astype(np.float32)
    tests = rng.normal(size=(200, 16)).astype(np.float32)
    ix = ad.Index(16, "euclidean")
    ix.add(da.from_array(refs, chunks=800))
    pids = client.run(os.getpid)
    errors = []

    def run():
        try:
            ix.finalize("knn", k=6)
        except Exception as exc:  # reported below
            errors.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    deadline = time.monotonic() + 60
    while client.run_on_scheduler(_pairs_done) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert t.is_alive(), "finalize ended before a worker could be killed"
    victim = sorted(pids.values())[0]
    os.kill(victim, signal.SIGKILL)
    t.join(120)  # normally a few seconds; a hang fails with the cluster's state
    if t.is_alive():
        pytest.fail("finalize did not end within 120 s after the worker was killed; the "
                    f"cluster: {_diagnostic(client)!r}")
    assert not errors, errors
    # What the hang was (docs/scaling.md): a queued task whose dependency died with the
    # worker. asdnorm.dask's tasks never enter the queue.
    assert client.run_on_scheduler(_queued) == []
    client.wait_for_workers(2, timeout=60)
    assert victim not in client.run(os.getpid).values()  # it really died

    one = asdnorm.Index(16, "euclidean").add(refs)
    one.finalize("knn", k=6)
    assert ix.density.tobytes() == one.density.tobytes()
    s, n = dask.compute(*ad.Scorer(ix, "ratio").score(da.from_array(tests, chunks=100),
                                                      return_nearest=True))
    want_s, want_n = asdnorm.Scorer(one, "ratio").score(tests, return_nearest=True)
    assert s.tobytes() == want_s.tobytes()
    np.testing.assert_array_equal(n, want_n)


def test_save_and_load_a_bank(client, tmp_path):
    refs, doms, tests = make_data(3)
    ix = ad.Index(D, "cosine")
    ix.add(da.from_array(refs, chunks=130), domains=doms)
    with pytest.raises(asdnorm.Error) as err:
        ix.save(tmp_path / "early")
    assert err.value.status == asdnorm.Status.E_STATE
    ix.finalize("knn", k=5)
    bank = tmp_path / "bank"
    ix.save(bank)
    man = json.loads((bank / "manifest.json").read_text())
    assert [s["size"] for s in man["shards"]] == [130, 130, 130, 10]
    assert sorted(os.listdir(bank)) == ["manifest.json"] + [s["file"] for s in man["shards"]]
    # Each shard file is an ordinary index file with the shard's references.
    part = asdnorm.Index.load(bank / man["shards"][1]["file"])
    assert part.density.tobytes() == ix.density[130:260].tobytes()

    back = ad.Index.load(bank)
    assert back.shard_sizes == ix.shard_sizes and back.estimator == ix.estimator
    one = one_process(refs, doms, "cosine", "knn", {"k": 5})
    assert_same(back, one, tests)
    # A loaded bank finalizes again exactly (its shards keep the stored rows).
    back.finalize("gwrp", r=0.6)
    assert_same(back, one_process(refs, doms, "cosine", "gwrp", {"r": 0.6}), tests)

    # Under mse the bank's ratio floor is in the manifest and given to every loaded shard.
    ix = ad.Index(D, "mse").add(da.from_array(refs, chunks=150)).finalize("knn", k=2)
    ix.save(tmp_path / "mse")
    assert_same(ad.Index.load(tmp_path / "mse"), one_process(refs, None, "mse", "knn", {"k": 2}),
                tests)

    with pytest.raises(asdnorm.Error) as err:
        ad.Index.load(tmp_path / "missing")
    assert err.value.status == asdnorm.Status.E_IO


def test_refusals(client):
    refs, doms, tests = make_data(9, m=41)
    ix = ad.Index(D, "mse")
    ix.add(da.from_array(refs, chunks=20))  # 20, 20, 1
    with pytest.raises(asdnorm.Error) as err:
        ad.Scorer(ix)
    assert err.value.status == asdnorm.Status.E_STATE
    with pytest.raises(asdnorm.Error) as err:
        ix.finalize("knn", k=3)
    assert err.value.status == asdnorm.Status.E_TOO_FEW and "rechunk" in str(err.value)
    ix.finalize("none")  # one reference is enough without neighbours
    assert ix.density.tobytes() == np.zeros(41).tobytes()
    for bad in ({"density": "knn", "k": 1.5}, {"density": "gwrp", "r": 2.0}):
        with pytest.raises(asdnorm.Error) as err:
            ix.finalize(**bad)
        assert err.value.status == asdnorm.Status.E_ARG
    bad_rows = refs.copy()
    bad_rows[25, 2] = np.nan
    before = ix.shard_sizes
    with pytest.raises(asdnorm.Error) as err:
        ix.add(da.from_array(bad_rows, chunks=20))
    assert err.value.status == asdnorm.Status.E_NONFINITE
    assert ix.shard_sizes == before and ix.finalized


def test_importing_asdnorm_does_not_import_dask():
    code = "import sys, asdnorm; assert 'dask' not in sys.modules, 'dask imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
