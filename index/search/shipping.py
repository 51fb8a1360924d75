"""Making the shipped embeddings: every vector an index of the bundled corpus asks its encoders for.

The texts are not listed here: the engine is built over the corpus with no
shipped vectors and no cache, through encoders that record what they are
asked, so the file covers exactly what :func:`index.search.engine._batch`
embeds, whatever that becomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..corpus.model import Corpus
from .bundle import EMPTY, write_bundle
from .cache import Progress, text_key
from .engine import Engine, query_model
from .semantic import Embedder, shared_alignment_encoder, shared_retrieval_encoder


class RecordingEmbedder:
    """An encoder that keeps every vector it hands out, by text key."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.vectors: dict[str, np.ndarray] = {}
        self.queries: dict[str, np.ndarray] = {}
        """Question vectors handed out (the engine's probe questions), by text key."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.inner.embed(texts)
        self.vectors.update(zip((text_key(t) for t in texts), vectors, strict=True))
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        vector = self.inner.embed_query(text)
        self.queries[text_key(text)] = vector
        return vector


@dataclass(frozen=True)
class ShippedReport:
    path: Path
    bytes: int
    vectors: dict[str, int]
    """Vectors written, per encoder."""


def ship_embeddings(
    corpus: Corpus,
    path: Path,
    *,
    embedder: Embedder | None = None,
    aligner: Embedder | None = None,
    progress: Progress | None = None,
) -> ShippedReport:
    """Embed ``corpus`` afresh with the engine's encoders (by default the real ones) and write them to ``path``."""
    aligner = aligner or embedder or shared_alignment_encoder()  # as Engine.build chooses
    embedder = embedder or shared_retrieval_encoder()
    recorders: dict[str, RecordingEmbedder] = {}
    retrieval = recorders.setdefault(embedder.name, RecordingEmbedder(embedder))
    alignment = recorders.setdefault(aligner.name, RecordingEmbedder(aligner))  # one model in both roles: one recorder
    Engine.build(corpus, embedder=retrieval, aligner=alignment, bundle=EMPTY, progress=progress)
    models = {name: recorder.vectors for name, recorder in recorders.items()}
    models |= {query_model(name): recorder.queries for name, recorder in recorders.items() if recorder.queries}
    size = write_bundle(path, models, corpus.article_digests)
    return ShippedReport(path, size, {name: len(vectors) for name, vectors in models.items()})
