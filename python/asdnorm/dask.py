# SPDX-License-Identifier: MIT
# mypy: ignore-errors
# (Why: Debian 12's dask and distributed ship no type information, and this module,
# new in 0.2, is not annotated yet; the rest of the package is checked with --strict.)
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

**Finalize** (docs/math.md §2.2, docs/scaling.md). Every block of a shard's rows
is searched in every shard (``asdnorm_index_search_double``: exact double
distances, ties to the lower position; the block's own shard searches one more
and drops the row itself, by position), the lists are merged by (distance,
global position) and the k-NN or GWRP constant is summed from the merged list
exactly as lib/index.c sums it (:func:`_density_of`), then given to each shard
(``asdnorm_index_set_density``). Only query blocks and (rows × k) lists travel.
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
import json
import math
import os

import numpy as np

import dask
import dask.array as da
from dask.sizeof import sizeof as _sizeof
from distributed import get_client, wait

from . import core
from ._lib import Error
from ._convert import as_enum
from ._lib import Density, Distance, Norm, Status, fail

__all__ = ["Index", "Scorer"]

_MANIFEST = "manifest.json"
_FORMAT = "asdnorm-dask-bank"
_FAN_IN = 8                 # lists merged per merge task
_BLOCK_ENTRIES = 1 << 22    # query rows × neighbours per finalize task (~64 MB of lists)
_MAX_BLOCK = 4096           # query rows per finalize task


# ---- the shard: what lives on a worker ------------------------------------------
class _Shard:
    """A part of the bank: ``index`` (an asdnorm.Index), ``rows`` the float32 rows that,
    added again, give exactly its stored references (the rows as added, or the stored rows
    of a loaded file), ``offset`` the global position of its first row."""

    def __init__(self, index, rows, offset):
        self.index = index
        self.rows = rows
        self.offset = offset

    def __reduce__(self):
        # Moved between workers (rarely: the scheduler keeps tasks with their shard): an
        # un-finalized index is rebuilt from the rows, which is exact; a finalized one
        # travels as its saved bytes, also exact.
        ix = self.index
        state = ix.to_bytes() if ix.finalized else None
        return (_rebuild_shard, (ix.dim, ix.distance, self.rows, ix.domains, self.offset,
                                 state))


def _rebuild_shard(dim, distance, rows, domains, offset, state):
    ix = core.Index.from_bytes(state) if state is not None else \
        core.Index(dim, distance).add(rows, domains)
    return _Shard(ix, rows, offset)


@_sizeof.register(_Shard)
def _sizeof_shard(shard):
    # What the scheduler weighs when it places a task: a shard is heavy, so the tasks
    # that read it run where it is and the small inputs travel instead.
    return 2 * shard.rows.nbytes + 16 * len(shard.index) + 1024


def _build(x, domains, dim, distance, offset):
    rows = np.require(x, dtype=np.float32, requirements=["C", "A"])
    if rows is x:
        rows = rows.copy()  # the shard owns its rows
    return _Shard(core.Index(dim, distance).add(rows, domains), rows, offset)


# ---- finalize tasks ---------------------------------------------------------------
def _query_rows(shard, a, b):
    return shard.rows[a:b].copy()


def _pair(shard, q, k, own_first):
    """The k nearest references of q's rows in this shard, (dist double, global ids).
    own_first: q's rows are this shard's rows own_first, …: search one more and drop
    each row itself (by position, as finalize excludes it)."""
    m = len(shard.index)
    kk = min(k + (own_first is not None), m)
    dist, ids = shard.index.search(q, kk, dtype=np.float64)
    if own_first is not None:
        keep = ids != np.arange(own_first, own_first + len(q))[:, None]
        keep[keep.all(axis=1), -1] = False  # itself not among them: drop the farthest
        dist = dist[keep].reshape(len(q), kk - 1)
        ids = ids[keep].reshape(len(q), kk - 1)
    return dist, ids + shard.offset


def _merge(k, *parts):
    """The k smallest of several lists per row, by (distance, global position)."""
    dist = np.concatenate([p[0] for p in parts], axis=1)
    ids = np.concatenate([p[1] for p in parts], axis=1)
    order = np.lexsort((ids, dist), axis=1)[:, :k]
    return np.take_along_axis(dist, order, axis=1), np.take_along_axis(ids, order, axis=1)


def _gwrp_terms(r, others):
    """The ranks GWRP visits one by one: lib/index.c gwrp_terms, the same operations."""
    if r == 0.0:
        return 1
    if r == 1.0:
        return others
    terms = math.ceil(45.0 * math.log(2.0) / -math.log(r))
    return others if terms >= others else int(terms)


def _density_of(dist, code, param, others):
    """The density constants of rows with ascending neighbour distances ``dist`` (n × k,
    double): lib/index.c density_row, operation for operation (cumsum and cumprod add and
    multiply in order, as its loops do), so that the result is bitwise finalize's."""
    k = dist.shape[1]
    if code == Density.KNN:
        return np.cumsum(dist, axis=1)[:, -1] / float(k)
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
    return num / den


def _merge_density(k, code, param, others, *parts):
    dist, _ = _merge(k, *parts)
    return _density_of(dist, code, param, others)


def _set_density(shard, values, density, k, r):
    shard.index.set_density(values, density=density, k=k, r=r)
    return shard


# ---- scoring tasks ------------------------------------------------------------------
def _score_part(shard, x, norm):
    scores, nearest = core.Scorer(shard.index, norm).score(x, return_nearest=True)
    return scores, nearest + shard.offset


def _merge_scores(*parts):
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


def _tie_rows(shard, merged):
    """This shard's rows and constants among the tied candidates."""
    lo, hi = shard.offset, shard.offset + len(shard.index)
    pos = sorted({j for c in merged[2].values() for j in c if lo <= j < hi})
    if not pos:
        return {}
    local = np.asarray(pos) - lo
    dens = shard.index.density[local]
    return {j: (shard.rows[j - lo], dens[t]) for t, j in enumerate(pos)}


def _resolve(merged, x, dim, distance, estimator, norm, *found):
    """Each float tie scored again against an index of its candidates alone, in global
    order: the scorer compares their double scores and keeps the lower position on
    an exact tie, as one process does."""
    _, nearest, ties = merged
    if not ties:
        return nearest
    nearest = nearest.copy()
    rows = {}
    for f in found:
        rows.update(f)
    code, param = estimator
    x = np.require(x, dtype=np.float32, requirements=["C", "A"])
    for i, cand in ties.items():
        small = core.Index(dim, distance).add(np.stack([rows[j][0] for j in cand]))
        small.set_density([rows[j][1] for j in cand], density=code, k=max(param, 1), r=param)
        _, local = core.Scorer(small, norm).score(x[i:i + 1], return_nearest=True)
        nearest[i] = cand[int(local[0])]
    return nearest


# ---- persistence tasks --------------------------------------------------------------
def _save_shard(shard, path):
    shard.index.save(path)
    return len(shard.index)


def _stored_rows(path, m, dim):
    """The stored reference vectors of a saved index (section VECT, docs/file-format.md
    §1–3): added again, they give exactly the stored references (a cosine row is stored
    with a norm in [0.5, 1), which add keeps as it is)."""
    with open(path, "rb") as f:
        head = f.read(80)
        if head[:8] != b"\x89ASDNIDX" or int.from_bytes(head[8:12], "little") not in (1, 2) \
                or head[64:68] != b"VECT":
            fail(Status.E_VERSION, f"{path}: not a version 1 or 2 index file")
        return np.fromfile(f, dtype="<f4", count=m * dim).astype(np.float32).reshape(m, dim)


def _load_shard(path, offset, size, dim, distance):
    ix = core.Index.load(path)
    if len(ix) != size or ix.dim != dim or ix.distance != distance:
        fail(Status.E_CORRUPT, f"{path}: {len(ix)} × {ix.dim} {ix.distance} references, "
                                f"the manifest says {size} × {dim} {distance}")
    return _Shard(ix, _stored_rows(path, size, dim), offset)


def _density_part(shard):
    return shard.index.density


# ---- the public classes -------------------------------------------------------------
def _check_param(density, k, r):
    """The estimator and its parameter checked by the library itself (set_density on a
    two-row index) before any work is sent out, with the library's messages."""
    probe = core.Index(1, "euclidean").add(np.zeros((2, 1), np.float32))
    probe.set_density(np.zeros(2), density=density, k=k, r=r)


class Index:
    """A reference bank split into shards that live on Dask workers.

    ``client``: a distributed.Client (default: the current one, ``get_client()``).
    Global positions are positions in the concatenation of all rows added, in order."""

    def __init__(self, dim, distance="cosine", client=None):
        if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)) \
                or dim < 1:
            fail(Status.E_ARG, f"dim must be an integer >= 1; got {dim!r}")
        as_enum(distance, Distance, "distance")
        self._dim = int(dim)
        self._distance = distance.lower()
        self._client = client
        self._shards = []    # futures of _Shard, in global order
        self._sizes = []
        self._estimator = None   # (name, param) once finalized
        self._density = None

    @property
    def client(self):
        return self._client if self._client is not None else get_client()

    # ---- building ---------------------------------------------------------------
    def add(self, x, domains=None):
        """Append references: ``x`` a dask array (n, dim) (or anything da.asarray takes);
        each chunk of rows becomes one shard, built on a worker and kept there. ``domains``:
        n labels (dask or numpy) or None. On error nothing is added. The bank becomes
        un-finalized. Returns self."""
        x = da.asarray(x)
        if x.ndim != 2 or x.shape[1] != self._dim:
            fail(Status.E_DIM, f"x must be (n, {self._dim}); got shape {x.shape}")
        if any(math.isnan(c) for c in x.chunks[0]):
            fail(Status.E_ARG, "x has unknown chunk sizes; call x.compute_chunk_sizes()")
        x = x.rechunk({1: -1})
        blocks = x.to_delayed().ravel()
        if domains is None:
            dblocks = [None] * len(blocks)
        else:
            d = da.asarray(domains)
            if d.shape != (x.shape[0],):
                fail(Status.E_DIM, f"domains must have shape ({x.shape[0]},); got {d.shape}")
            dblocks = d.rechunk((x.chunks[0],)).to_delayed().ravel()
        offset = len(self)
        parts, sizes = [], []
        for blk, dblk, m in zip(blocks, dblocks, x.chunks[0]):
            if m == 0:
                continue
            parts.append(dask.delayed(_build, pure=False)(blk, dblk, self._dim,
                                                          self._distance, offset))
            sizes.append(int(m))
            offset += m
        futures = self.client.compute(parts)
        wait(futures)
        for f in futures:
            if f.status == "error":
                f.result()  # raises the shard's error (the row is counted in its chunk)
        self._shards += futures
        self._sizes += sizes
        self._estimator = self._density = None
        return self

    def finalize(self, density="knn", k=1, r=0.9):
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
        client = self.client
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
            block = max(1, min(_MAX_BLOCK, _BLOCK_ENTRIES // (need + 1)))
            finals = []
            for a, (sa, ma) in enumerate(zip(self._shards, self._sizes)):
                for b0 in range(0, ma, block):
                    q = client.submit(_query_rows, sa, b0, min(b0 + block, ma), pure=False)
                    level = [client.submit(_pair, sb, q, need, b0 if b == a else None,
                                           pure=False)
                             for b, sb in enumerate(self._shards)]
                    while len(level) > _FAN_IN:
                        level = [client.submit(_merge, need, *level[i:i + _FAN_IN], pure=False)
                                 for i in range(0, len(level), _FAN_IN)]
                    finals.append(client.submit(_merge_density, need, code, param, m - 1,
                                                *level, pure=False))
            dens = np.concatenate(client.gather(finals))
        new, off = [], 0
        for s, size in zip(self._shards, self._sizes):
            new.append(client.submit(_set_density, s, dens[off:off + size], density=est[0],
                                     k=k, r=r, pure=False))
            off += size
        wait(new)
        for f in new:
            if f.status == "error":
                f.result()
        self._shards = new
        self._estimator = est
        self._density = dens
        return self

    # ---- queries --------------------------------------------------------------------
    def __len__(self):
        return int(sum(self._sizes))

    @property
    def dim(self):
        return self._dim

    @property
    def distance(self):
        return self._distance

    @property
    def shard_sizes(self):
        """References per shard, in global order."""
        return list(self._sizes)

    @property
    def finalized(self):
        return self._estimator is not None

    @property
    def estimator(self):
        """("knn", K after clipping) | ("gwrp", r) | ("none", 0.0), or None before finalize."""
        return self._estimator

    @property
    def density(self):
        """(M,) float64 density constants in global order (Error E_STATE before finalize)."""
        if self._density is None:
            fail(Status.E_STATE, "Index.density: the bank is not finalized")
        return self._density.copy()

    def __repr__(self):
        state = f"{self._estimator[0]}, param={self._estimator[1]:g}" if self._estimator \
            else "not finalized"
        return (f"<asdnorm.dask.Index dim={self._dim} distance={self._distance!r} "
                f"size={len(self)} shards={len(self._sizes)} {state}>")

    # ---- persistence ----------------------------------------------------------------
    def save(self, path):
        """Save a finalized bank to the directory ``path`` (created if needed): one index
        file per shard, written by the worker that holds it, then ``manifest.json``
        (atomically, last). Every worker must see ``path`` (a shared file system)."""
        if not self.finalized:
            fail(Status.E_STATE, "Index.save: the bank is not finalized")
        path = os.path.abspath(os.fspath(path))
        os.makedirs(path, exist_ok=True)
        names = [f"shard-{i:05d}.asdx" for i in range(len(self._shards))]
        futures = [self.client.submit(_save_shard, s, os.path.join(path, n), pure=False)
                   for s, n in zip(self._shards, names)]
        self.client.gather(futures)
        manifest = {"format": _FORMAT, "version": 1, "dim": self._dim,
                    "distance": self._distance, "estimator": list(self._estimator),
                    "shards": [{"file": n, "size": s} for n, s in zip(names, self._sizes)]}
        tmp = os.path.join(path, _MANIFEST + ".tmp")
        with open(tmp, "w") as f:
            json.dump(manifest, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(path, _MANIFEST))

    @classmethod
    def load(cls, path, client=None):
        """Load a bank saved by :meth:`save`: each shard is loaded by a worker."""
        path = os.path.abspath(os.fspath(path))
        try:
            with open(os.path.join(path, _MANIFEST)) as f:
                man = json.load(f)
        except OSError as exc:
            fail(Status.E_IO, f"Index.load({path!r}): {exc}")
        except ValueError as exc:
            fail(Status.E_CORRUPT, f"Index.load({path!r}): manifest: {exc}")
        if not isinstance(man, dict) or man.get("format") != _FORMAT:
            fail(Status.E_CORRUPT, f"Index.load({path!r}): not an asdnorm Dask bank")
        if man.get("version") != 1:
            fail(Status.E_VERSION, f"Index.load({path!r}): bank version {man.get('version')}")
        self = cls(man["dim"], man["distance"], client=client)
        off = 0
        for sh in man["shards"]:
            name = os.path.basename(sh["file"])
            self._shards.append(self.client.submit(_load_shard, os.path.join(path, name), off,
                                                   int(sh["size"]), self._dim, self._distance,
                                                   pure=False))
            self._sizes.append(int(sh["size"]))
            off += int(sh["size"])
        parts = self.client.gather([self.client.submit(_density_part, s, pure=False)
                                    for s in self._shards])
        self._density = np.concatenate(parts) if parts else np.zeros(0)
        self._estimator = (man["estimator"][0], float(man["estimator"][1]))
        return self


class Scorer:
    """Scores test samples against a finalized :class:`Index`: lazy dask arrays."""

    def __init__(self, index, norm="ratio"):
        if not isinstance(index, Index):
            fail(Status.E_ARG, f"Scorer: expected an asdnorm.dask.Index, got "
                                f"{type(index).__name__}")
        if not index.finalized:
            fail(Status.E_STATE, "Scorer: the bank is not finalized")
        as_enum(norm, Norm, "norm")
        self.index = index
        self.norm = norm.lower()

    def score(self, x, return_nearest=False):
        """Scores of ``x`` (n, dim), a dask array: a lazy (n,) float32 dask array, and with
        ``return_nearest`` also the (n,) int64 global positions of the references attaining
        the minimum (ties to the lower position). Each chunk of rows is scored by every
        shard where the shard lives; only the chunk and (rows × 2) results travel."""
        ix = self.index
        x = da.asarray(x)
        if x.ndim != 2 or x.shape[1] != ix.dim:
            fail(Status.E_DIM, f"x must be (n, {ix.dim}); got shape {x.shape}")
        x = x.rechunk({1: -1})
        score_parts, nearest_parts = [], []
        for blk, n in zip(x.to_delayed().ravel(), x.chunks[0]):
            parts = [dask.delayed(_score_part, pure=True)(s, blk, self.norm)
                     for s in ix._shards]
            merged = dask.delayed(_merge_scores, pure=True, nout=3)(*parts)
            score_parts.append(da.from_delayed(merged[0], (n,), dtype=np.float32))
            if return_nearest:
                found = [dask.delayed(_tie_rows, pure=True)(s, merged) for s in ix._shards]
                nearest = dask.delayed(_resolve, pure=True)(merged, blk, ix.dim, ix.distance,
                                                            ix.estimator, self.norm, *found)
                nearest_parts.append(da.from_delayed(nearest, (n,), dtype=np.int64))
        scores = da.concatenate(score_parts) if score_parts else da.zeros(0, np.float32)
        if not return_nearest:
            return scores
        nearest = da.concatenate(nearest_parts) if nearest_parts else da.zeros(0, np.int64)
        return scores, nearest
