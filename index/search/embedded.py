"""The embedded search backend: the whole index in this process, bm25s and numpy.

The default backend. Documents (a passage in one language version) are stored
passage by passage, so a passage's best language version is a segment maximum
over contiguous rows; sentences likewise. Nothing is updated in place: every
change builds a new index beside the one answering, which is then swapped in.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from .backend import Alignment, Candidates, IndexBatch
from .lexical import LexicalIndex
from .semantic import VectorIndex, top_k


class EmbeddedBackend:
    """Builds :class:`EmbeddedIndex` objects; holds nothing itself."""

    name = "embedded"

    def build(self, batch: IndexBatch) -> EmbeddedIndex:
        return EmbeddedIndex(batch)

    def update(self, batch: IndexBatch, *, changed: Collection[str], removed: Collection[str]) -> EmbeddedIndex:
        return EmbeddedIndex(batch)  # rebuilding is what an in-process index does best: no row is shared

    def close(self) -> None:
        return None


class EmbeddedIndex:
    """BM25 over every document, exact or inverted-file vector search, sentence arrays; immutable."""

    def __init__(self, batch: IndexBatch) -> None:
        n = batch.passages
        self.lexical = LexicalIndex(batch.doc_terms)
        self.doc_starts = run_starts(batch.doc_passage, n)
        self.vectors = VectorIndex(batch.vectors)
        self.vector_passage = batch.doc_passage[batch.vector_doc]
        self.vector_starts = run_starts(self.vector_passage, n)
        self.sentence_starts = batch.sentence_starts
        self.sentence_spans = batch.sentence_spans
        self.sentence_vectors = batch.sentence_vectors
        self.sentence_echoes = batch.sentence_echoes
        self.alignments = dict(batch.alignments)

    def lexical_top(self, terms: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        scores = self.lexical.scores(terms)
        if not len(scores):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        best = np.maximum.reduceat(scores, self.doc_starts[:-1])
        top = top_k(best, k)
        top = top[best[top] > 0]
        return top.astype(np.int64), best[top]

    def vector_top(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        # A passage has a vector per language version: look deeper than k to find k distinct passages.
        rows, cosines = self.vectors.search(query, k * 4)
        passages = self.vector_passage[rows]
        _, first = np.unique(passages, return_index=True)
        first = np.sort(first)[:k]
        return passages[first].astype(np.int64), cosines[first]

    def fetch(self, passages: np.ndarray, terms: Sequence[str]) -> Candidates:
        vector_rows, vector_owner = segment_rows(self.vector_starts, passages)
        docs, doc_owner = segment_rows(self.doc_starts, passages)
        sentence_rows, sentence_owner = segment_rows(self.sentence_starts, passages)
        return Candidates(
            passages=passages,
            vector_owner=vector_owner,
            vectors=self.vectors.rows(vector_rows),
            doc_owner=doc_owner,
            presence=self.lexical.presence(terms, docs),
            sentence_owner=sentence_owner,
            sentence_spans=self.sentence_spans[sentence_rows],
            sentence_vectors=self.sentence_vectors[sentence_rows],
            sentence_echoes=self.sentence_echoes[sentence_rows],
        )

    def idf(self, terms: Sequence[str]) -> np.ndarray:
        return self.lexical.idf(terms)

    def alignment(self, passage: int, language: str) -> Alignment | None:
        return self.alignments.get((passage, language))


def run_starts(owners: np.ndarray, n: int) -> np.ndarray:
    """For rows stored group by group (``owners`` sorted), where each of the ``n`` groups begins; n + 1 entries."""
    return np.searchsorted(owners, np.arange(n + 1), side="left")


def segment_rows(starts: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of the given groups, and for each row the position of its group in ``groups``."""
    first, last = starts[groups], starts[groups + 1]
    lengths = last - first
    owner = np.repeat(np.arange(len(groups)), lengths)
    rows = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths) + np.repeat(first, lengths)
    return rows.astype(np.int64), owner
