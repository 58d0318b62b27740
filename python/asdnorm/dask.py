# SPDX-License-Identifier: MIT
"""One reference bank across many machines on Dask, with the results of one process::

    import dask.array as da
    import asdnorm.dask as ad
    ix = ad.Index(128, distance="cosine")          # uses distributed.get_client()
    ix.add(refs, domains=doms)                       # one shard per chunk of rows
    ix.finalize(density="knn", k=16)                 # exact global density constants
    scores, nearest = ad.Scorer(ix, norm="ratio").score(tests, return_nearest=True)
    ix.save("bank/"); ix2 = ad.Index.load("bank/")

Each chunk of rows becomes a *shard*: an :class:`asdnorm.Index` that lives on a
worker (a distributed future) and never leaves it. Global positions are the rows'
positions in the concatenation of everything added, in order.

**Finalize** (docs/math.md §2.2, docs/scaling.md). The rows are cut into blocks;
a task per block gives its rows' nearest other rows of the block, a task per pair
of blocks both blocks' rows' nearest rows of the other block
(``asdnorm_index_neighbours``: finalize's own search, each pair of rows computed
once, exact double distances, ties to the lower position; a shard cut only to have
enough pair tasks lists its own rows in one task); each row's lists
are merged (the k smallest distances: equal distances are equal values, so which
of them finalize lists does not change the sum) and the k-NN or GWRP constant is
summed from the merged list exactly as lib/index.c sums it (:func:`_density_of`), then
given to each shard (``asdnorm_index_set_density``) with the bank's ratio floor
(``asdnorm_index_set_floor``, summed across the shards in the library's order).
Only blocks of rows and (rows × k) lists travel.
The constants equal one process's bitwise. k-NN needs K' = min(K, M − 1)
neighbours per reference; GWRP needs the L = ⌈45 ln 2 / −ln r⌉ (at most M − 1)
nearest, the ranks finalize visits before it gives the remaining weight to the
L-th distance: r = 0.9 needs 297, r = 0.99 needs 3,104, r = 1 all M − 1.

**Scoring** (§2.3): every shard scores every test chunk; the minimum over shards
is the score. Each shard's float score is its double minimum rounded, and
rounding is monotonic, so the float minimum over shards is the global double
minimum rounded: scores are bitwise those of one process. The nearest reference
is the one attaining the double minimum, ties to the lower position: where
shards tie in float their doubles may still differ, so for those samples only
the tied candidates (their rows and constants) are gathered into a small index,
with ``asdnorm_index_set_density``, and scored again there, which compares the
doubles exactly as one process does. ``nearest`` is therefore exact too.

Importing :mod:`asdnorm` does not import this module or Dask.
"""
from __future__ import annotations

import json
import math
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

import dask.array.core
from dask.array.core import Array
from dask.delayed import delayed
from dask.sizeof import sizeof as _sizeof
import distributed
from distributed import Client, Future
from distributed.comm.addressing import get_address_host

from . import core
from ._convert import as_enum
from ._lib import Density, Distance, Norm, PathArg, Status, fail

F32Array = npt.NDArray[np.float32]
F64Array = npt.NDArray[np.float64]
I64Array = npt.NDArray[np.int64]
Estimator = Tuple[str, float]
#: per sample with a float tie between shards: the tied candidates' global positions
Ties = Dict[int, List[int]]
Merged = Tuple[F32Array, I64Array, Ties]


# ---- Dask, typed: the functions used here under the types they have (dask.array and
# distributed's client are not annotated, so mypy would see their results as Any) ------
asarray: Callable[..., Array] = dask.array.core.asarray
concatenate: Callable[..., Array] = dask.array.core.concatenate
from_array: Callable[..., Array] = dask.array.core.from_array
from_delayed: Callable[..., Array] = dask.array.core.from_delayed
get_client: Callable[[], Client] = distributed.get_client
_rechunk: Callable[..., Array] = Array.rechunk
_to_delayed: Callable[[Array], Any] = Array.to_delayed
_client_submit: Callable[..., Future] = Client.submit
_client_gather: Callable[..., List[Any]] = Client.gather
_client_compute: Callable[..., List[Future]] = Client.compute
_wait: Callable[[Sequence[Future]], Any] = distributed.wait
_result: Callable[[Future], Any] = Future.result


_nthreads: Callable[[Client], Dict[str, int]] = Client.nthreads


class _Tasks:
    """Submits the tasks of one operation to ``client``: each is run once, even when its
    arguments repeat (pure=False), and each carries a *loose* restriction to the hosts of
    the cluster's workers (``where``), which changes no placement (every worker of those
    hosts qualifies, and any other when none is left) but keeps the task out of the
    scheduler's queue of root-ish tasks.

    Why: distributed's scheduler queues a task whose group is larger than twice the
    cluster's threads and whose dependencies' groups have fewer than 5 live tasks (the
    blocks of a few shards, the last pairs of a finalize); when a dependency of a queued
    task is lost with its worker, the scheduler neither re-waits the queued task nor keeps
    the dependency, and then runs it without it: the worker waits for the missing
    dependency forever (dask/distributed#8702, fixed in #8703; Debian 12's 2022.12.1 has
    it). A task with restrictions is never root-ish, so it is never queued. A worker that
    joins later on a new host gets none of these tasks while a worker of the listed hosts
    is alive; a restarted worker on the same host does."""

    def __init__(self, client: Client) -> None:
        self.client = client
        hosts = sorted({get_address_host(w) for w in _nthreads(client)})
        self.where: Dict[str, Any] = \
            {"workers": hosts, "allow_other_workers": True} if hosts else {}

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return _client_submit(self.client, fn, *args, pure=False, **self.where)

    def compute(self, parts: Sequence[Any]) -> List[Future]:
        return _client_compute(self.client, list(parts), **self.where)


def _gather(client: Client, futures: Sequence[Future]) -> List[Any]:
    return _client_gather(client, list(futures))


def _wait_all(futures: Sequence[Future]) -> None:
    """Wait for the futures, then raise the first one's error, if any."""
    _wait(futures)
    for f in futures:
        if f.status == "error":
            _result(f)

__all__ = ["Index", "Scorer"]

_MANIFEST = "manifest.json"
_FORMAT = "asdnorm-dask-bank"
_FAN_IN = 8                 # lists merged per merge task
_BLOCK_ENTRIES = 1 << 22    # rows × neighbours of a block's list (at most 64 MB)
_MAX_BLOCK = 32768          # rows per block of finalize
_MIN_BLOCKS = 4             # blocks of finalize at least (each shard cut alike)
_EPSILON = 1e-12            # ASDNORM_EPSILON of asdnorm.h


# ---- the shard: what lives on a worker ------------------------------------------
class _Shard:
    """A part of the bank: ``index`` (an asdnorm.Index), ``rows`` the float32 rows that,
    added again, give exactly its stored references (the rows as added, or the stored rows
    of a loaded file), ``offset`` the global position of its first row."""

    def __init__(self, index: core.Index, rows: F32Array, offset: int,
                 floor: Optional[float] = None) -> None:
        self.index = index
        self.rows = rows
        self.offset = offset
        self.floor = floor   # the bank's ratio floor, given to the finalized index
        if floor is not None:
            index.set_floor(floor)

    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...]]:
        # Moved between workers (rarely: the scheduler keeps tasks with their shard): an
        # un-finalized index is rebuilt from the rows, which is exact; a finalized one
        # travels as its saved bytes, also exact.
        ix = self.index
        state = ix.to_bytes() if ix.finalized else None
        return (_rebuild_shard, (ix.dim, ix.distance, self.rows, ix.domains, self.offset,
                                 state, self.floor))


def _rebuild_shard(dim: int, distance: str, rows: F32Array,
                   domains: npt.NDArray[np.uint8], offset: int,
                   state: Optional[bytes], floor: Optional[float]) -> _Shard:
    if state is None:
        return _Shard(core.Index(dim, distance).add(rows, domains), rows, offset)
    return _Shard(core.Index.from_bytes(state), rows, offset, floor)


def _sizeof_shard(shard: _Shard) -> int:
    # What the scheduler weighs when it places a task: a shard is heavy, so the tasks
    # that read it run where it is and the small inputs travel instead.
    return 2 * shard.rows.nbytes + 16 * len(shard.index) + 1024


_register: Callable[[type], Callable[[Callable[[_Shard], int]], Any]] = _sizeof.register
_register(_Shard)(_sizeof_shard)


def _build(x: npt.NDArray[Any], domains: Optional[npt.ArrayLike], dim: int, distance: str,
           offset: int) -> _Shard:
    rows = np.require(x, dtype=np.float32, requirements=["C", "A"])
    if rows is x:
        rows = rows.copy()  # the shard owns its rows
    return _Shard(core.Index(dim, distance).add(rows, domains), rows, offset)


# ---- finalize tasks ---------------------------------------------------------------
# A block's lists: per row, the distances of its nearest rows of one block, ascending.
# Only the distances are kept: the k smallest of a row's distances are the same values
# whichever of several equal distances one process's finalize lists (ties go to the lower
# position there), so their sum in ascending order is finalize's, bitwise.


def _block_rows(shard: _Shard, a: int, b: int) -> F32Array:
    return shard.rows[a:b].copy()


def _self_lists(rows: F32Array, dim: int, distance: str, need: int) -> F64Array:
    """Each row's nearest other rows of its own block (finalize's lists, each pair once)."""
    return core.Index(dim, distance).add(rows).neighbours(min(need, len(rows) - 1))[0]


def _shard_lists(shard: _Shard, dim: int, distance: str, need: int) -> F64Array:
    """Each row's nearest other rows of its shard."""
    return _self_lists(shard.rows, dim, distance, need)


def _rows_of(lists: F64Array, a: int, b: int) -> F64Array:
    return lists[a:b]


def _cross_lists(rows_a: F32Array, rows_b: F32Array, dim: int, distance: str,
                 need: int) -> Tuple[F64Array, F64Array]:
    """Each row of block a's nearest rows of block b and the other way round: the two
    blocks in one index, searched across its split, each pair computed once. A block
    smaller than ``need`` is searched whole from the other side (its lists are shorter,
    and the merge takes the ``need`` nearest of all of them)."""
    na, nb = len(rows_a), len(rows_b)
    if need <= min(na, nb):
        both = core.Index(dim, distance).add(np.concatenate([rows_a, rows_b]))
        dist = both.neighbours(need, split=na)[0]
        return dist[:na], dist[na:]
    ia = core.Index(dim, distance).add(rows_a)
    ib = core.Index(dim, distance).add(rows_b)
    return (ib.search(rows_a, min(need, nb), dtype=np.float64)[0],
            ia.search(rows_b, min(need, na), dtype=np.float64)[0])


def _side(pair: Tuple[F64Array, F64Array], i: int) -> F64Array:
    return pair[i]


def _merge(k: int, *parts: F64Array) -> F64Array:
    """The k smallest of several lists per row, ascending."""
    dist = np.concatenate(parts, axis=1)
    if dist.shape[1] > k:
        dist = np.partition(dist, k - 1, axis=1)[:, :k]
    out: F64Array = np.sort(dist, axis=1)
    return out


def _gwrp_terms(r: float, others: int) -> int:
    """The ranks GWRP visits one by one: lib/index.c gwrp_terms, the same operations."""
    if r == 0.0:
        return 1
    if r == 1.0:
        return others
    terms = math.ceil(45.0 * math.log(2.0) / -math.log(r))
    return others if terms >= others else int(terms)


def _density_of(dist: F64Array, code: Density, param: float, others: int) -> F64Array:
    """The density constants of rows with ascending neighbour distances ``dist`` (n × k,
    double): lib/index.c density_row, operation for operation (cumsum and cumprod add and
    multiply in order, as its loops do), so that the result is bitwise finalize's."""
    k = dist.shape[1]
    if code == Density.KNN:
        out: F64Array = np.cumsum(dist, axis=1)[:, -1] / float(k)
        return out
    w = np.full(k, param)
    w[0] = 1.0
    w = np.cumprod(w)                      # 1, r, r·r, … as w *= r computes them
    num = np.cumsum(dist * w, axis=1)[:, -1]
    den = float(np.cumsum(w)[-1])
    w_end = float(w[-1]) * param
    if k < others and w_end > 0.0:
        tail = w_end * (1.0 - math.pow(param, float(others - k))) / (1.0 - param)
        num = num + tail * dist[:, k - 1]
        den = den + tail
    out = num / den
    return out


def _merge_density(k: int, code: Density, param: float, others: int,
                   *parts: F64Array) -> F64Array:
    return _density_of(_merge(k, *parts), code, param, others)


def _set_density(shard: _Shard, values: F64Array, density: str, k: int, r: float,
                 floor: Optional[float]) -> _Shard:
    """The constants given to the shard, with finalize's estimator and parameter, and the
    bank's ratio floor."""
    shard.index.set_density(values, density=density, k=k, r=r)
    return _Shard(shard.index, shard.rows, shard.offset, floor)


# The ratio floor φ = ε · S of the whole bank (docs/math.md §2.3), computed as
# lib/index.c asdnorm__ratio_floor computes it, operation for operation: the centroid's
# sums coordinate by coordinate over the references in order, then V's sum reference by
# reference, each row's squares summed in order of the coordinates. A shard continues the
# running sums of the shards before it (cumsum adds in order), so the sums are one
# process's bitwise. Only the D sums and one number travel.
def _centroid_sums(shard: _Shard, before: F64Array) -> F64Array:
    run = np.cumsum(np.vstack([before[None, :], shard.rows.astype(np.float64)]), axis=0)
    out: F64Array = run[-1]
    return out


def _spread_sum(shard: _Shard, mean: F64Array, before: float) -> float:
    t = shard.rows.astype(np.float64) - mean
    rows = np.cumsum(t * t, axis=1)[:, -1]
    return float(np.cumsum(np.concatenate([[before], rows]))[-1])


# ---- scoring tasks ------------------------------------------------------------------
def _score_part(shard: _Shard, x: npt.NDArray[Any], norm: str) -> Tuple[F32Array, I64Array]:
    scores, nearest = core.Scorer(shard.index, norm).score(x, return_nearest=True)
    return scores, nearest + shard.offset


def _merge_scores(*parts: Tuple[F32Array, I64Array]) -> Merged:
    """Minimum over shards (given in global order): scores, provisional nearest (the
    lowest shard attaining the float minimum), and per sample the candidates where
    shards tie in float: {sample: [global positions, ascending]}."""
    s = np.stack([p[0] for p in parts])
    nn = np.stack([p[1] for p in parts])
    best = s.min(axis=0)
    eq = s == best
    first = eq.argmax(axis=0)
    cols = np.arange(s.shape[1])
    nearest = nn[first, cols]
    ties = {int(i): nn[eq[:, i], i].tolist() for i in np.flatnonzero(eq.sum(axis=0) > 1)}
    return best, nearest, ties


def _tie_rows(shard: _Shard, merged: Merged) -> Dict[int, Tuple[F32Array, float]]:
    """This shard's rows and constants among the tied candidates."""
    lo, hi = shard.offset, shard.offset + len(shard.index)
    pos = sorted({j for c in merged[2].values() for j in c if lo <= j < hi})
    if not pos:
        return {}
    local = np.asarray(pos) - lo
    dens = shard.index.density[local]
    return {j: (shard.rows[j - lo], float(dens[t])) for t, j in enumerate(pos)}


def _resolve(merged: Merged, x: npt.NDArray[Any], dim: int, distance: str,
             estimator: Estimator, floor: Optional[float], norm: str,
             *found: Dict[int, Tuple[F32Array, float]]) -> I64Array:
    """Each float tie scored again against an index of its candidates alone, in global
    order: the scorer compares their double scores and keeps the lower position on
    an exact tie, as one process does."""
    _, nearest, ties = merged
    if not ties:
        return nearest
    nearest = nearest.copy()
    rows: Dict[int, Tuple[F32Array, float]] = {}
    for f in found:
        rows.update(f)
    code, param = estimator
    x = np.require(x, dtype=np.float32, requirements=["C", "A"])
    for i, cand in ties.items():
        small = core.Index(dim, distance).add(np.stack([rows[j][0] for j in cand]))
        small.set_density([rows[j][1] for j in cand], density=code, k=max(int(param), 1),
                          r=param)
        if floor is not None:
            small.set_floor(floor)
        _, local = core.Scorer(small, norm).score(x[i:i + 1], return_nearest=True)
        nearest[i] = cand[int(local[0])]
    return nearest


# ---- persistence tasks --------------------------------------------------------------
def _save_shard(shard: _Shard, path: str) -> int:
    shard.index.save(path)
    return len(shard.index)


def _stored_rows(path: str, m: int, dim: int) -> F32Array:
    """The stored reference vectors of a saved index (section VECT, docs/file-format.md
    §1–3): added again, they give exactly the stored references (a cosine row is stored
    with a norm in [0.5, 1), which add keeps as it is)."""
    with open(path, "rb") as f:
        head = f.read(80)
        if head[:8] != b"\x89ASDNIDX" or int.from_bytes(head[8:12], "little") not in (1, 2) \
                or head[64:68] != b"VECT":
            fail(Status.E_VERSION, f"{path}: not a version 1 or 2 index file")
        return np.fromfile(f, dtype="<f4", count=m * dim).astype(np.float32).reshape(m, dim)


def _load_shard(path: str, offset: int, size: int, dim: int, distance: str,
                floor: Optional[float]) -> _Shard:
    ix = core.Index.load(path)
    if len(ix) != size or ix.dim != dim or ix.distance != distance:
        fail(Status.E_CORRUPT, f"{path}: {len(ix)} × {ix.dim} {ix.distance} references, "
                                f"the manifest says {size} × {dim} {distance}")
    return _Shard(ix, _stored_rows(path, size, dim), offset, floor)


def _density_part(shard: _Shard) -> F64Array:
    return shard.index.density


# ---- the public classes -------------------------------------------------------------
def _check_param(density: Union[str, Density], k: int, r: float) -> None:
    """The estimator and its parameter checked by the library itself (set_density on a
    two-row index) before any work is sent out, with the library's messages."""
    probe = core.Index(1, "euclidean").add(np.zeros((2, 1), np.float32))
    probe.set_density(np.zeros(2), density=density, k=k, r=r)


class Index:
    """A reference bank split into shards that live on Dask workers.

    ``client``: a distributed.Client (default: the current one, ``get_client()``).
    Global positions are positions in the concatenation of all rows added, in order."""

    def __init__(self, dim: int, distance: str = "cosine",
                 client: Optional[Client] = None) -> None:
        if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)) \
                or dim < 1:
            fail(Status.E_ARG, f"dim must be an integer >= 1; got {dim!r}")
        as_enum(distance, Distance, "distance")
        self._dim = int(dim)
        self._distance = distance.lower()
        self._client = client
        self._shards: List[Future] = []    # futures of _Shard, in global order
        self._sizes: List[int] = []
        self._estimator: Optional[Estimator] = None   # (name, param) once finalized
        self._density: Optional[F64Array] = None
        self._floor: Optional[float] = None   # the bank's ratio floor (None: cosine's)

    @property
    def client(self) -> Client:
        return self._client if self._client is not None else get_client()

    # ---- building ---------------------------------------------------------------
    def add(self, x: npt.ArrayLike, domains: Optional[npt.ArrayLike] = None) -> "Index":
        """Append references: ``x`` a dask array (n, dim) (or anything da.asarray takes);
        each chunk of rows becomes one shard, built on a worker and kept there. ``domains``:
        n labels (dask or numpy) or None. On error nothing is added. The bank becomes
        un-finalized. Returns self."""
        xs = asarray(x)
        if xs.ndim != 2 or xs.shape[1] != self._dim:
            fail(Status.E_DIM, f"x must be (n, {self._dim}); got shape {xs.shape}")
        if any(math.isnan(c) for c in xs.chunks[0]):
            fail(Status.E_ARG, "x has unknown chunk sizes; call x.compute_chunk_sizes()")
        xs = _rechunk(xs, {1: -1})
        blocks = _to_delayed(xs).ravel()
        if domains is None:
            dblocks = [None] * len(blocks)
        else:
            d = asarray(domains)
            if d.shape != (xs.shape[0],):
                fail(Status.E_DIM, f"domains must have shape ({xs.shape[0]},); got {d.shape}")
            dblocks = _to_delayed(_rechunk(d, (xs.chunks[0],))).ravel()
        offset = len(self)
        parts, sizes = [], []
        for blk, dblk, m in zip(blocks, dblocks, xs.chunks[0]):
            if m == 0:
                continue
            parts.append(delayed(_build)(blk, dblk, self._dim, self._distance,
                                                     offset))
            sizes.append(int(m))
            offset += m
        futures = _Tasks(self.client).compute(parts)
        _wait_all(futures)  # a shard's error names the row (counted in its chunk)
        self._shards += futures
        self._sizes += sizes
        self._estimator = self._density = self._floor = None
        return self

    def finalize(self, density: Union[str, Density] = "knn", k: int = 1,
                 r: float = 0.9) -> "Index":
        """The density constants of all references, exactly as one process on the
        concatenated rows computes them ("none" | "knn" with ``k`` | "gwrp" with ``r``).
        Every shard needs at least 2 references for "knn" and "gwrp". Returns self."""
        code = as_enum(density, Density, "density")
        m = len(self)
        if m == 0:
            fail(Status.E_TOO_FEW, "Index.finalize: the bank is empty")
        _check_param(density, k, r)
        if code != Density.NONE and min(self._sizes) < 2:
            fail(Status.E_TOO_FEW, f"Index.finalize: a shard has {min(self._sizes)} "
                                    "reference(s); every shard needs 2 for knn and gwrp "
                                    "(rechunk the rows)")
        tasks = _Tasks(self.client)
        est: Estimator
        if code == Density.NONE:
            dens, est = np.zeros(m), ("none", 0.0)
        else:
            param = float(k) if code == Density.KNN else float(r)
            if code == Density.KNN:
                need = min(int(param), m - 1)
                est = ("knn", float(need))
            else:
                need = _gwrp_terms(param, m - 1)
                est = ("gwrp", param)
            dens = np.concatenate(_gather(tasks.client, self._lists(tasks, need, code,
                                                                    param)))
        floor = self._bank_floor(tasks)
        new, off = [], 0
        for s, size in zip(self._shards, self._sizes):
            new.append(tasks.submit(_set_density, s, dens[off:off + size], est[0], k, r,
                                    floor))
            off += size
        _wait_all(new)
        self._shards = new
        self._floor = floor
        self._estimator = est
        self._density = dens
        return self

    def _bank_floor(self, tasks: _Tasks) -> Optional[float]:
        """φ of the whole bank under euclidean and mse (under cosine S = 1: every shard's
        own φ is the bank's already, and None is returned)."""
        if self._distance == "cosine":
            return None
        m = float(len(self))
        sums: Any = np.zeros(self._dim)
        for shard in self._shards:
            sums = tasks.submit(_centroid_sums, shard, sums)
        mean = _gather(tasks.client, [sums])[0] / m
        total: Any = 0.0
        for shard in self._shards:
            total = tasks.submit(_spread_sum, shard, mean, total)
        v = float(_gather(tasks.client, [total])[0]) / m
        scale = 1.0 if not v > 0.0 else math.sqrt(v) if self._distance == "euclidean" \
            else v / float(self._dim)
        return _EPSILON * scale

    def _lists(self, tasks: _Tasks, need: int, code: Density, param: float) -> List[Future]:
        """The futures of the density constants of the blocks, in global order. The rows
        are cut into blocks (at least _MIN_BLOCKS in all, so that the pairs of blocks
        keep every worker busy); a task per block gives its own lists
        (``asdnorm_index_neighbours``), a task per pair of blocks both blocks' lists
        against each other (each pair of rows computed once); each block's lists are
        merged and its constants summed as finalize sums them. A shard that is cut only
        for that balance (it fits in one block) gets the lists among its rows from one
        task instead of its blocks' own and pair tasks: each search call costs a little per
        row it lists (docs/scaling.md), and a row is then in fewer calls."""
        limit = max(2, min(_MAX_BLOCK, _BLOCK_ENTRIES // (need + 1)))
        per = -(-_MIN_BLOCKS // len(self._shards))
        dim, distance = self._dim, self._distance
        blocks: List[Future] = []   # rows, in global order
        shard_of: List[int] = []    # the shard of each block, -1 for a block on its own
        parts: List[List[Future]] = []
        full: Dict[int, Future] = {}                      # a whole shard's rows
        cut: Dict[int, List[Tuple[int, int, int]]] = {}   # its blocks: (block, a, b)
        for s, (shard, size) in enumerate(zip(self._shards, self._sizes)):
            cuts = min(max(per, -(-size // limit)), size // 2)
            bounds = [size * c // cuts for c in range(cuts + 1)]
            whole = cuts > 1 and size <= limit and len(self._shards) > 1
            own = tasks.submit(_shard_lists, shard, dim, distance, need) if whole else None
            if whole:
                cut[s] = []
            for a, b in zip(bounds, bounds[1:]):
                if whole:
                    cut[s].append((len(blocks), a, b))
                blocks.append(tasks.submit(_block_rows, shard, a, b))
                shard_of.append(s if whole else -1)
                parts.append([tasks.submit(_rows_of, own, a, b)] if whole else [])
        for i, rows_i in enumerate(blocks):
            if shard_of[i] < 0:
                parts[i].append(tasks.submit(_self_lists, rows_i, dim, distance, need))
            against = set()   # the later whole shards block i was searched against at once
            for j in range(i + 1, len(blocks)):
                si, sj = shard_of[i], shard_of[j]
                if si >= 0 and si == sj:
                    continue   # in the shard's own lists
                if si >= 0 and sj >= 0:
                    # Two whole shards: block i against all of shard sj in one task (the
                    # same pairs as against each of its blocks, the same balance, and a
                    # row of block i in one call instead of one per block of sj).
                    if sj not in against:
                        against.add(sj)
                        if sj not in full:   # cut when a block first needs it
                            full[sj] = tasks.submit(_block_rows, self._shards[sj], 0,
                                                    self._sizes[sj])
                        pair = tasks.submit(_cross_lists, rows_i, full[sj], dim, distance,
                                            need)
                        parts[i].append(tasks.submit(_side, pair, 0))
                        other = tasks.submit(_side, pair, 1)
                        for jb, a, b in cut[sj]:
                            parts[jb].append(tasks.submit(_rows_of, other, a, b))
                    continue
                pair = tasks.submit(_cross_lists, rows_i, blocks[j], dim, distance, need)
                parts[i].append(tasks.submit(_side, pair, 0))
                parts[j].append(tasks.submit(_side, pair, 1))
        finals = []
        for level in parts:
            while len(level) > _FAN_IN:
                level = [tasks.submit(_merge, need, *level[t:t + _FAN_IN])
                         for t in range(0, len(level), _FAN_IN)]
            finals.append(tasks.submit(_merge_density, need, code, param, len(self) - 1,
                                       *level))
        return finals

    # ---- queries --------------------------------------------------------------------
    def __len__(self) -> int:
        return int(sum(self._sizes))

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def distance(self) -> str:
        return self._distance

    @property
    def shard_sizes(self) -> List[int]:
        """References per shard, in global order."""
        return list(self._sizes)

    @property
    def finalized(self) -> bool:
        return self._estimator is not None

    @property
    def estimator(self) -> Optional[Estimator]:
        """("knn", K after clipping) | ("gwrp", r) | ("none", 0.0), or None before finalize."""
        return self._estimator

    @property
    def floor(self) -> float:
        """The ratio normalization's density floor φ = ε · S of the whole bank (docs/math.md
        §2.3), which every shard scores with (Error E_STATE before finalize)."""
        if self._density is None:
            fail(Status.E_STATE, "Index.floor: the bank is not finalized")
        return _EPSILON if self._floor is None else self._floor

    @property
    def density(self) -> F64Array:
        """(M,) float64 density constants in global order (Error E_STATE before finalize)."""
        if self._density is None:
            fail(Status.E_STATE, "Index.density: the bank is not finalized")
        return self._density.copy()

    def __repr__(self) -> str:
        state = f"{self._estimator[0]}, param={self._estimator[1]:g}" if self._estimator \
            else "not finalized"
        return (f"<asdnorm.dask.Index dim={self._dim} distance={self._distance!r} "
                f"size={len(self)} shards={len(self._sizes)} {state}>")

    # ---- persistence ----------------------------------------------------------------
    def save(self, path: PathArg) -> None:
        """Save a finalized bank to the directory ``path`` (created if needed): one index
        file per shard, written by the worker that holds it, then ``manifest.json``
        (atomically, last). Every worker must see ``path`` (a shared file system)."""
        if not self.finalized:
            fail(Status.E_STATE, "Index.save: the bank is not finalized")
        where = os.path.abspath(os.fsdecode(path))
        os.makedirs(where, exist_ok=True)
        names = [f"shard-{i:05d}.asdx" for i in range(len(self._shards))]
        tasks = _Tasks(self.client)
        futures = [tasks.submit(_save_shard, s, os.path.join(where, n))
                   for s, n in zip(self._shards, names)]
        _gather(tasks.client, futures)
        manifest = {"format": _FORMAT, "version": 1, "dim": self._dim,
                    "distance": self._distance, "estimator": list(self._estimator or ()),
                    "floor": None if self._floor is None else self._floor.hex(),
                    "shards": [{"file": n, "size": s} for n, s in zip(names, self._sizes)]}
        tmp = os.path.join(where, _MANIFEST + ".tmp")
        with open(tmp, "w") as f:
            json.dump(manifest, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(where, _MANIFEST))

    @classmethod
    def load(cls, path: PathArg, client: Optional[Client] = None) -> "Index":
        """Load a bank saved by :meth:`save`: each shard is loaded by a worker."""
        where = os.path.abspath(os.fsdecode(path))
        try:
            with open(os.path.join(where, _MANIFEST)) as f:
                man = json.load(f)
        except OSError as exc:
            fail(Status.E_IO, f"Index.load({where!r}): {exc}")
        except ValueError as exc:
            fail(Status.E_CORRUPT, f"Index.load({where!r}): manifest: {exc}")
        if not isinstance(man, dict) or man.get("format") != _FORMAT:
            fail(Status.E_CORRUPT, f"Index.load({where!r}): not an asdnorm Dask bank")
        if man.get("version") != 1:
            fail(Status.E_VERSION, f"Index.load({where!r}): bank version {man.get('version')}")
        self = cls(man["dim"], man["distance"], client=client)
        floor = man.get("floor")
        self._floor = None if floor is None else float.fromhex(floor)
        tasks, off = _Tasks(self.client), 0
        for sh in man["shards"]:
            name = os.path.basename(sh["file"])
            self._shards.append(tasks.submit(_load_shard, os.path.join(where, name), off,
                                             int(sh["size"]), self._dim, self._distance,
                                             self._floor))
            self._sizes.append(int(sh["size"]))
            off += int(sh["size"])
        parts = _gather(tasks.client, [tasks.submit(_density_part, s) for s in self._shards])
        self._density = np.concatenate(parts) if parts else np.zeros(0)
        self._estimator = (man["estimator"][0], float(man["estimator"][1]))
        return self


class Scorer:
    """Scores test samples against a finalized :class:`Index`: lazy dask arrays."""

    def __init__(self, index: Index, norm: str = "ratio") -> None:
        if not isinstance(index, Index):
            fail(Status.E_ARG, f"Scorer: expected an asdnorm.dask.Index, got "
                                f"{type(index).__name__}")
        if not index.finalized:
            fail(Status.E_STATE, "Scorer: the bank is not finalized")
        as_enum(norm, Norm, "norm")
        self.index = index
        self.norm = norm.lower()

    def score(self, x: npt.ArrayLike, return_nearest: bool = False
              ) -> Union[Array, Tuple[Array, Array]]:
        """Scores of ``x`` (n, dim), a dask array: a lazy (n,) float32 dask array, and with
        ``return_nearest`` also the (n,) int64 global positions of the references attaining
        the minimum (ties to the lower position). Each chunk of rows is scored by every
        shard where the shard lives; only the chunk and (rows × 2) results travel."""
        ix = self.index
        xs = asarray(x)
        if xs.ndim != 2 or xs.shape[1] != ix.dim:
            fail(Status.E_DIM, f"x must be (n, {ix.dim}); got shape {xs.shape}")
        xs = _rechunk(xs, {1: -1})
        score_parts, nearest_parts = [], []
        for blk, n in zip(_to_delayed(xs).ravel(), xs.chunks[0]):
            parts = [delayed(_score_part, pure=True)(s, blk, self.norm) for s in ix._shards]
            merged = delayed(_merge_scores, pure=True, nout=3)(*parts)
            score_parts.append(from_delayed(merged[0], (n,), dtype=np.float32))
            if return_nearest:
                found = [delayed(_tie_rows, pure=True)(s, merged) for s in ix._shards]
                nearest = delayed(_resolve, pure=True)(merged, blk, ix.dim, ix.distance,
                                                       ix.estimator, ix._floor, self.norm,
                                                       *found)
                nearest_parts.append(from_delayed(nearest, (n,), dtype=np.int64))
        scores = concatenate(score_parts) if score_parts else \
            from_array(np.zeros(0, np.float32))
        if not return_nearest:
            return scores
        nearest_all = concatenate(nearest_parts) if nearest_parts else \
            from_array(np.zeros(0, np.int64))
        return scores, nearest_all
