# SPDX-License-Identifier: MIT
"""progress= on Index.finalize, Index.add and Scorer.score: the fractions reported, an
exception in the callback canceling the C call (the index unchanged) and re-raised, and
Ctrl-C (a real SIGINT from another thread) interrupting a long finalize and score."""
import os
import signal
import threading

import numpy as np
import pytest

import asdnorm
from conftest import bf_density


def refs(m=600, d=16, seed=0):
    return (np.random.default_rng(seed).normal(size=(m, d)) + 0.5).astype(np.float32)


def assert_fractions(calls):
    """0 first, never decreasing, 1 last and only last."""
    assert calls[0] == 0.0 and calls[-1] == 1.0, calls
    assert all(isinstance(f, float) for f in calls)
    assert calls == sorted(calls) and calls.count(1.0) == 1, calls


@pytest.mark.parametrize("distance", ["cosine", "euclidean", "mse"])
@pytest.mark.parametrize("density, kw", [("knn", {"k": 3}), ("gwrp", {"r": 0.8}),
                                         ("none", {})])
def test_finalize_reports_fractions_and_gives_the_same_densities(distance, density, kw):
    y = refs()
    calls = []
    ix = asdnorm.Index(16, distance).add(y).finalize(density, progress=calls.append, **kw)
    assert_fractions(calls)
    plain = asdnorm.Index(16, distance).add(y).finalize(density, **kw)
    assert np.array_equal(ix.density, plain.density)
    if density != "none":
        np.testing.assert_allclose(ix.density, bf_density(distance, y, density, **kw),
                                   rtol=1e-6)


def test_score_reports_fractions():
    y = refs()
    ix = asdnorm.Index(16, "euclidean").add(y).finalize("knn", k=2)
    x = refs(m=2000, seed=1)
    calls = []
    got = asdnorm.Scorer(ix).score(x, progress=calls.append)
    assert_fractions(calls)
    assert np.array_equal(got, asdnorm.Scorer(ix).score(x))
    calls.clear()
    assert asdnorm.Scorer(ix).score(x[:0], progress=calls.append).shape == (0,)
    assert calls == []  # nothing to do: no call


def test_add_accepts_progress():
    calls = []
    ix = asdnorm.Index(16).add(refs(), progress=calls.append)
    assert len(ix) == 600
    # Adding to an open index is quick and reports nothing; once the library reports
    # adds to a finalized index, the fractions follow the same rules.
    if calls:
        assert_fractions(calls)


class Stop(Exception):
    pass


def stop_at(n):
    """A callback that raises at its n-th call (every call has 0 first and 1 last: n = 1
    is the first, n = 2 the second, whichever it is), or at 1 with n = 0."""
    seen = []

    def progress(fraction):
        seen.append(fraction)
        if len(seen) == n or (n == 0 and fraction == 1.0):
            raise Stop(fraction)
    return progress, seen


@pytest.mark.parametrize("n", [1, 2, 0])
def test_an_exception_in_the_callback_cancels_and_changes_nothing(n):
    y = refs(m=1500)
    # An open index stays open.
    ix = asdnorm.Index(16).add(y)
    progress, seen = stop_at(n)
    with pytest.raises(Stop) as info:
        ix.finalize("knn", k=4, progress=progress)
    assert info.value.args[0] == seen[-1] and len(seen) == (n or len(seen))
    assert not ix.finalized
    # A finalized one keeps its densities and estimator.
    ix.finalize("gwrp", r=0.5)
    before = ix.density.copy()
    progress, seen = stop_at(n)
    with pytest.raises(Stop):
        ix.finalize("knn", k=4, progress=progress)
    assert ix.estimator == ("gwrp", 0.5)
    assert np.array_equal(ix.density, before)
    # And works afterwards, with the densities of a finalize never canceled.
    ix.finalize("knn", k=4)
    assert np.array_equal(ix.density, asdnorm.Index(16).add(y).finalize("knn", k=4).density)


def test_an_exception_in_the_score_callback_is_raised():
    ix = asdnorm.Index(16).add(refs()).finalize()
    sc = asdnorm.Scorer(ix)
    progress, _ = stop_at(1)
    with pytest.raises(Stop):
        sc.score(refs(m=100, seed=3), progress=progress)
    assert sc.score(refs(m=5, seed=3)).shape == (5,)  # the scorer still works


def test_progress_must_be_callable():
    ix = asdnorm.Index(16).add(refs(m=10))
    with pytest.raises(asdnorm.InvalidTypeError, match="progress must be callable"):
        ix.finalize(progress=0.5)
    assert not ix.finalized


def test_canceled_status_maps_to_canceled_error():
    err = asdnorm.Error  # the hierarchy: E_CANCELED has its own class
    with pytest.raises(asdnorm.CanceledError) as info:
        asdnorm.check(asdnorm.Status.E_CANCELED, "x")
    assert isinstance(info.value, err)
    assert info.value.message == "canceled by the progress callback"


def test_progress_from_another_thread():
    # Off the main thread the callback still runs (on that thread, with the GIL).
    y = refs()
    calls, threads = [], set()

    def progress(f):
        calls.append(f)
        threads.add(threading.get_ident())
    t = threading.Thread(target=lambda: asdnorm.Index(16).add(y).finalize(progress=progress))
    t.start()
    t.join()
    assert_fractions(calls)
    assert threads == {t.ident}


# ---- Ctrl-C -----------------------------------------------------------------------------
# Large enough that a finalize or a score takes several seconds on one thread: the
# interrupt, sent 0.5 s in, lands in the middle of it.
BIG_M, BIG_D = 32000, 128


@pytest.fixture(scope="module")
def big():
    return np.random.default_rng(7).normal(size=(BIG_M, BIG_D)).astype(np.float32)


def interrupt_during(call, delay=0.5):
    """Run call() with a real SIGINT sent to the process from a timer thread."""
    timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        call()
    finally:
        timer.cancel()
        timer.join()


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals reach the main thread only")
def test_ctrl_c_interrupts_a_long_finalize_and_changes_nothing(big):
    ix = asdnorm.Index(BIG_D, "euclidean").add(big).set_threads(1)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        interrupt_during(lambda: ix.finalize("knn", k=5))
    assert not ix.finalized
    # The handler of SIGINT is the one before the call again.
    assert signal.getsignal(signal.SIGINT) is handler


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals reach the main thread only")
def test_ctrl_c_with_a_progress_callback(big):
    # A finalized index keeps its estimator and densities.
    ix = asdnorm.Index(BIG_D, "euclidean").add(big).set_threads(1).finalize("none")
    before = ix.density.copy()
    calls = []
    with pytest.raises(KeyboardInterrupt):
        interrupt_during(lambda: ix.finalize("knn", k=5, progress=calls.append))
    assert calls and calls[-1] < 1.0  # interrupted before the end
    assert ix.estimator == ("none", 0.0)
    assert np.array_equal(ix.density, before)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals reach the main thread only")
def test_ctrl_c_interrupts_a_long_score(big):
    ix = asdnorm.Index(BIG_D, "euclidean").add(big[:BIG_M // 2]).finalize("none")
    sc = asdnorm.Scorer(ix).set_threads(1)
    with pytest.raises(KeyboardInterrupt):
        interrupt_during(lambda: sc.score(np.concatenate([big] * 2)))
    assert sc.score(big[:3]).shape == (3,)
