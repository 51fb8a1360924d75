"""Unit vectors held compactly, and cosine search over them.

An index of a million passages holds about seven million vectors: a passage's
(e5, 384 dimensions), its three or so sentences' and their cross-lingual
echoes (USE, 512). As float32 they would take 12 GB; as int8 codes, each row
stored relative to the collection's mean and scaled to its own largest
component, they take a quarter of that, and a cosine read back from them is
within about 0.001 of the exact one (``tests/search/test_vectors.py``).
"""

from __future__ import annotations

from typing import Literal, Protocol, cast

import numpy as np

Precision = Literal["float32", "float16", "int8"]

# Rows are converted this many at a time, so building never holds a float32 copy of a large collection.
_CHUNK = 32_768


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32, copy=False)


def index_dtype(limit: int) -> type[np.signedinteger]:
    """The narrowest signed integer type holding numbers up to ``limit``: int32 halves every row-number array."""
    return np.int32 if limit < 2**31 else np.int64


class Rows(Protocol):
    """Vectors stored at some precision, read back as float32."""

    precision: Precision
    data: np.ndarray
    """The stored array: the vectors themselves, or their int8 codes."""

    def __len__(self) -> int: ...

    @property
    def nbytes(self) -> int: ...

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The given rows as float32, one per row number."""
        ...

    def dot(self, query: np.ndarray, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Cosines of ``query`` with rows ``start:stop`` (float32), read in place."""
        ...


class DenseRows:
    """Vectors as float32 (lossless) or float16 (cosines within about 1e-4)."""

    def __init__(self, data: np.ndarray, precision: Precision) -> None:
        self.data = data
        self.precision = precision

    def __len__(self) -> int:
        return len(self.data)

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)

    def take(self, rows: np.ndarray) -> np.ndarray:
        return self.data[rows].astype(np.float32, copy=False)

    def dot(self, query: np.ndarray, start: int = 0, stop: int | None = None) -> np.ndarray:
        block = self.data[start:stop]
        # numpy multiplies float16 element by element, without BLAS: convert the block first.
        return (block if block.dtype == np.float32 else block.astype(np.float32)) @ query


class Int8Rows:
    """Vectors as int8 codes: each row minus the collection's mean, scaled so its largest component is 127.

    Unit vectors of one encoder share a large common direction (e5's cosines
    rarely fall below 0.7); subtracting the mean leaves the part that tells
    rows apart, so the 255 steps resolve it twice as finely. A row costs its
    dimension in bytes plus a float32 scale, and cosines read from it are
    within about 2e-4 (typical) to 1e-3 (worst) of float32's.

    With ``fine`` codes (half a byte per component: what rounding to int8
    left, in 16 steps) rows read back fifteen times closer, within float16's
    error: scans use the int8 codes, and :meth:`take` the refined rows, to
    rescore the few best.
    """

    precision: Precision = "int8"

    def __init__(self, codes: np.ndarray, scales: np.ndarray, mean: np.ndarray, fine: np.ndarray | None) -> None:
        self.data = codes
        self.scales = scales
        self.mean = mean
        self.fine = fine
        """(n, ceil(d / 2)) uint8, two 4-bit refinements per byte (low nibble first), or None."""

    def __len__(self) -> int:
        return len(self.data)

    @property
    def nbytes(self) -> int:
        fine = 0 if self.fine is None else self.fine.nbytes
        return int(self.data.nbytes + self.scales.nbytes + self.mean.nbytes + fine)

    def take(self, rows: np.ndarray) -> np.ndarray:
        codes = self.data[rows].astype(np.float32)
        if self.fine is not None:
            codes += _unpack_nibbles(self.fine[rows], codes.shape[-1]) / np.float32(_FINE_STEPS) - np.float32(0.5)
        return codes * self.scales[rows, None] + self.mean

    def dot(self, query: np.ndarray, start: int = 0, stop: int | None = None) -> np.ndarray:
        # q . (mean + s c) = q . mean + s (c . q); numpy has no int8 BLAS, so the codes go to float32 first.
        codes = self.data[start:stop].astype(np.float32)
        return (codes @ query) * self.scales[start:stop] + np.float32(self.mean @ query)

    def refined_dot(self, query: np.ndarray, rows: np.ndarray, coarse: np.ndarray) -> np.ndarray:
        """Cosines of ``query`` with the refined ``rows``, given their int8 cosines ``coarse`` (from :meth:`dot`).

        The refinement adds s (f / 15 - 1/2) . q to each: one product with the
        unpacked refinements, rather than rebuilding every row with :meth:`take`.
        """
        if self.fine is None:
            return coarse
        fine = _unpack_nibbles(self.fine[rows], self.data.shape[1]).astype(np.float32) @ query
        return coarse + self.scales[rows] * (fine / np.float32(_FINE_STEPS) - np.float32(0.5) * query.sum())


_FINE_STEPS = 15
"""A refinement is what rounding to int8 left, in [-0.5, 0.5], as one of 16 values k / 15 - 0.5."""


def _pack_nibbles(values: np.ndarray) -> np.ndarray:
    """(n, d) integers in 0..15 as (n, ceil(d / 2)) bytes, the even components in the low nibbles."""
    if values.shape[1] % 2:
        values = np.hstack([values, np.zeros((len(values), 1), dtype=values.dtype)])
    return (values[:, 0::2] | (values[:, 1::2] << 4)).astype(np.uint8)


def _unpack_nibbles(packed: np.ndarray, dimension: int) -> np.ndarray:
    out = np.empty((*packed.shape[:-1], packed.shape[-1] * 2), dtype=np.uint8)
    out[..., 0::2] = packed & 15
    out[..., 1::2] = packed >> 4
    return out[..., :dimension]


def store_rows(
    vectors: np.ndarray,
    precision: Precision = "float32",
    *,
    order: np.ndarray | None = None,
    refine: bool = False,
    mean: np.ndarray | None = None,
) -> Rows:
    """``vectors`` (rows taken in ``order`` if given) at ``precision``, converted chunk by chunk.

    ``refine`` keeps int8 rows' refinements too (see :class:`Int8Rows`), half a byte more per component.
    ``mean``, when given, is the reference int8 codes are taken from instead of the collection's own mean:
    rows coded against one reference read back the same in whichever collection holds them, which lets
    segments of one index be coded apart and merged by copying their codes.
    """
    n = len(vectors) if order is None else len(order)
    dimension = vectors.shape[1] if vectors.ndim == 2 else 0

    def chunks() -> list[tuple[int, int, np.ndarray]]:
        return [(a, min(a + _CHUNK, n), np.arange(a, min(a + _CHUNK, n))) for a in range(0, n, _CHUNK)]

    def rows_of(picked: np.ndarray) -> np.ndarray:
        return np.asarray(vectors[picked if order is None else order[picked]], dtype=np.float32)

    if precision in ("float32", "float16"):
        data = np.empty((n, dimension), dtype=precision)
        for a, b, picked in chunks():
            data[a:b] = rows_of(picked)
        return DenseRows(data, precision)
    if precision != "int8":
        raise ValueError(f"unknown vector precision {precision!r}: float32, float16 or int8")
    if mean is None:
        mean = collection_mean(vectors if order is None else np.asarray(vectors)[order])
    mean = np.asarray(mean, dtype=np.float32)
    codes = np.empty((n, dimension), dtype=np.int8)
    scales = np.empty(n, dtype=np.float32)
    fine = np.empty((n, (dimension + 1) // 2), dtype=np.uint8) if refine else None
    for a, b, picked in chunks():
        residual = rows_of(picked) - mean
        largest = np.abs(residual).max(axis=1) if dimension else np.zeros(b - a, np.float32)
        scale = np.where(largest > 0, largest / 127, 1).astype(np.float32)
        scaled = residual / scale[:, None]
        rounded = np.rint(scaled)
        codes[a:b] = rounded
        scales[a:b] = scale
        if fine is not None:
            steps = np.rint((scaled - rounded + 0.5) * _FINE_STEPS).clip(0, _FINE_STEPS).astype(np.uint8)
            fine[a:b] = _pack_nibbles(steps)
    return Int8Rows(codes, scales, mean, fine)


def collection_mean(vectors: np.ndarray) -> np.ndarray:
    """The mean row of ``vectors`` (float32), summed chunk by chunk in float64."""
    n = len(vectors)
    total = np.zeros(vectors.shape[1] if vectors.ndim == 2 else 0, dtype=np.float64)
    for a in range(0, n, _CHUNK):
        total += np.asarray(vectors[a : a + _CHUNK], dtype=np.float32).sum(axis=0, dtype=np.float64)
    return (total / max(n, 1)).astype(np.float32)


def concat_rows(parts: list[tuple[Rows, np.ndarray]]) -> Rows:
    """The given rows of several stores, one after the other, copied as stored (int8 codes are not coded again).

    Int8 stores must share their reference mean (see :func:`store_rows`).
    """
    first = parts[0][0]
    if isinstance(first, Int8Rows):
        stores = [(cast(Int8Rows, rows), picked) for rows, picked in parts]
        fine = None
        if first.fine is not None:
            fine = np.concatenate([cast(np.ndarray, rows.fine)[picked] for rows, picked in stores])
        return Int8Rows(
            np.concatenate([rows.data[picked] for rows, picked in stores]),
            np.concatenate([rows.scales[picked] for rows, picked in stores]),
            first.mean,
            fine,
        )
    return DenseRows(np.concatenate([rows.data[i] for rows, i in parts]), first.precision)


class VectorIndex:
    """Cosine search over unit vectors, stored at ``precision``.

    Small collections are searched exactly. Past ``exact_limit`` vectors the
    index partitions them with k-means (an inverted-file index) and scans only
    the ``probes`` lists nearest the query, which keeps a query to a few
    milliseconds at a million passages. Cosines, ``rows`` and
    ``original_order`` are read from the stored precision (refined, with
    ``rescore``). With 2 sqrt(n) lists, 48 probes found 0.97 to 0.98 of the
    exact ten best on the retrieval bench's synthetic passages at 100,000 and
    a million (32: 0.94 to 0.96), rescored int8 as well as float32.
    """

    def __init__(
        self,
        vectors: np.ndarray,
        *,
        exact_limit: int = 20_000,
        probes: int = 48,
        seed: int = 0,
        precision: Precision = "float32",
        rescore: bool = False,
        mean: np.ndarray | None = None,
        stored: Rows | None = None,
    ) -> None:
        """``mean``: the int8 reference (see :func:`store_rows`); ``stored``: rows already coded (a merge's),
        in the order of ``vectors``, which then only serve to partition them."""
        n = len(vectors)
        self.exact = n <= exact_limit
        self.probes = probes
        self.precision = precision
        # Rescoring needs the refinements, which only int8 rows have (float16 needs no rescoring).
        self.rescore = rescore and precision == "int8"
        if self.exact:
            self._store = (
                stored if stored is not None else store_rows(vectors, precision, refine=self.rescore, mean=mean)
            )
            return
        lists = max(16, int(np.sqrt(n) * 2))
        self.centroids = _kmeans(vectors, lists, seed=seed)
        assignment = _nearest_centroid(vectors, self.centroids)
        order = np.argsort(assignment, kind="stable").astype(index_dtype(n))
        # Keep one copy, sorted by list so each list is a contiguous slice; _order maps back.
        self._order = order
        self._position = np.empty_like(order)
        self._position[order] = np.arange(n, dtype=order.dtype)
        if stored is not None:
            self._store = concat_rows([(stored, order.astype(np.int64))])
        else:
            self._store = store_rows(vectors, precision, order=order, refine=self.rescore, mean=mean)
        self._bounds = np.searchsorted(assignment[order], np.arange(lists + 1))

    def __len__(self) -> int:
        return len(self._store)

    @property
    def vectors(self) -> np.ndarray:
        """The stored array (float32 or float16 vectors, or int8 codes), sorted by list past ``exact_limit``."""
        return self._store.data

    @property
    def nbytes(self) -> int:
        extra = 0 if self.exact else self._order.nbytes + self._position.nbytes + self.centroids.nbytes
        return self._store.nbytes + extra

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """The vectors (float32) of the given row numbers (as given to the constructor)."""
        return self._store.take(rows if self.exact else self._position[rows])

    def original_order(self) -> np.ndarray:
        """The vectors (float32) in the order they were given."""
        return self.rows(np.arange(len(self)))

    @property
    def stored(self) -> Rows:
        """The rows as stored, in the order given to the constructor only while the search is exact."""
        return self._store

    def stored_order(self) -> np.ndarray:
        """Per stored row, its row number as given to the constructor."""
        return np.arange(len(self)) if self.exact else self._order.astype(np.int64)

    def search(self, query: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
        """Row numbers and cosines of the ``limit`` best vectors, best first.

        With ``rescore``, the int8 scan keeps ``_RESCORED`` times ``limit``
        rows, and their refined vectors decide the ``limit`` best and their cosines.
        """
        if len(self) == 0 or limit <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        query = np.asarray(query, dtype=np.float32)
        stored, scores = self.scan(query, self.depth(limit))
        if self.rescore:
            scores = self.refine(query, stored, scores)
            best = top_k(scores, limit)
            stored, scores = stored[best], scores[best]
        return self.row_numbers(stored), scores

    def depth(self, limit: int) -> int:
        """How many rows the scan keeps for ``limit`` results (more when they are rescored)."""
        return limit * _RESCORED if self.rescore else limit

    def scan(self, query: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """Stored positions and cosines (as stored) of the ``depth`` best rows, best first (ties by position)."""
        if len(self) == 0 or depth <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self.exact:
            scores = self._store.dot(query)
            stored = top_k(scores, depth)
            return stored, scores[stored]
        nearest = top_k(self.centroids @ query, self.probes)
        # Each list is a contiguous slice: score the slices in place rather than gathering a copy.
        starts, ends = self._bounds[nearest], self._bounds[nearest + 1]
        scores = np.concatenate([self._store.dot(query, a, b) for a, b in zip(starts, ends, strict=True)])
        candidates = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)])
        best = top_k(scores, depth)
        return candidates[best], scores[best]

    def refine(self, query: np.ndarray, stored: np.ndarray, coarse: np.ndarray) -> np.ndarray:
        """The rescored cosines of scanned rows (their coarse cosines when there is no rescoring)."""
        if not self.rescore:
            return coarse
        return cast(Int8Rows, self._store).refined_dot(query, stored, coarse)

    def row_numbers(self, stored: np.ndarray) -> np.ndarray:
        """Stored positions as the row numbers given to the constructor."""
        rows = stored if self.exact else self._order[stored]
        return np.asarray(rows).astype(np.int64)


_RESCORED = 4
"""How many times the rows asked for an int8 scan keeps for rescoring: its cosines err by up to 1e-3, and the
rows that the error could bring into the best are rarely further down than that."""


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, largest first (ties by index, at the k-th place too).

    Ties at the k-th place are settled by index as well, not as partitioning leaves them: a passage
    then makes the cut the same way whichever segment, or however large an index, holds it.
    """
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    pool = None
    if len(scores) >= _SAMPLED_FROM and len(sample := scores[::_SAMPLE_STRIDE]) >= 4 * k:
        # The k-th best of a sample is reached by at least k of all scores, so only those can be among
        # the k best: partitioning them instead of every score saves most of a million-score search.
        floor = np.partition(sample, len(sample) - k)[len(sample) - k]
        pool = np.flatnonzero(scores >= floor)
    candidates = scores if pool is None else scores[pool]
    if k < len(candidates):
        kth = candidates[np.argpartition(-candidates, k - 1)[k - 1]]
        above = np.flatnonzero(candidates > kth)
        tied = np.flatnonzero(candidates == kth)[: k - len(above)]
        part = np.concatenate([above, tied])
    else:
        part = np.arange(len(candidates))
    part = part if pool is None else pool[part]
    return part[np.lexsort((part, -scores[part]))]


_SAMPLED_FROM = 100_000
_SAMPLE_STRIDE = 16


def _nearest_centroid(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Each vector's nearest centroid, a chunk at a time (a million vectors by two thousand lists is 8 GB at once)."""
    assignment = np.empty(len(vectors), dtype=np.int32)
    for a in range(0, len(vectors), _CHUNK):
        chunk = np.asarray(vectors[a : a + _CHUNK], dtype=np.float32)
        assignment[a : a + _CHUNK] = np.argmax(chunk @ centroids.T, axis=1)
    return assignment


def _kmeans(vectors: np.ndarray, k: int, *, seed: int, iterations: int = 8, sample: int = 20_000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # At least 25 training vectors a list: with 20,000 for a million vectors' 2,000 lists, lists came out uneven.
    sample = max(sample, 25 * k)
    picked = np.sort(rng.choice(len(vectors), size=min(sample, len(vectors)), replace=False))
    train = np.asarray(vectors[picked], dtype=np.float32)
    centroids = train[rng.choice(len(train), size=k, replace=False)].copy()
    for _ in range(iterations):
        assignment = np.argmax(train @ centroids.T, axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, assignment, train)
        counts = np.bincount(assignment, minlength=k)
        empty = counts == 0
        sums[empty] = train[rng.choice(len(train), size=int(empty.sum()), replace=False)]
        centroids = normalize_rows(sums)
    return centroids
