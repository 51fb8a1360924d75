"""BM25 over analysed texts, on bm25s's precomputed sparse score matrix."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import bm25s
import numpy as np

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG

K1 = 1.2
B = 0.75


class LexicalIndex:
    """BM25 (Lucene's IDF, always positive) over documents given as term lists.

    Scoring a query sums precomputed per-term score columns, so it costs the
    length of the query terms' posting lists, not the size of the collection.
    """

    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float = K1, b: float = B) -> None:
        self.size = len(documents)
        self._bm25 = bm25s.BM25(k1=k1, b=b, method="lucene")
        # bm25s needs at least one token per document to build its matrix.
        self._bm25.index([list(d) or [""] for d in documents], show_progress=False)

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """The BM25 score of every document for the query ``terms`` (zeros when none match)."""
        ids = self._bm25.get_tokens_ids([t for t in terms if t])
        if not ids or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        # Gather the query terms' posting lists (a term repeated in the query counts
        # again, as in BM25) and sum them per document in one vectorised pass.
        matrix = self._bm25.scores
        indptr, indices, data = matrix["indptr"], matrix["indices"], matrix["data"]
        spans = [slice(indptr[t], indptr[t + 1]) for t in ids]
        docs = np.concatenate([indices[s] for s in spans])
        weights = np.concatenate([data[s] for s in spans])
        return np.bincount(docs, weights=weights, minlength=self.size).astype(np.float32)

    def presence(self, terms: Sequence[str], docs: np.ndarray) -> np.ndarray:
        """A boolean matrix: does document ``docs[i]`` contain ``terms[j]``?"""
        matrix = self._bm25.scores
        indptr, indices = matrix["indptr"], matrix["indices"]
        out = np.zeros((len(docs), len(terms)), dtype=bool)
        for j, term in enumerate(terms):
            token = self._bm25.vocab_dict.get(term)
            if token is not None:
                out[:, j] = np.isin(docs, indices[indptr[token] : indptr[token + 1]])
        return out

    def idf(self, terms: Sequence[str]) -> np.ndarray:
        """Lucene's IDF of each term, log(1 + (N - n + 0.5) / (n + 0.5)) with n its document frequency."""
        frequencies = np.array([self.document_frequency(t) for t in terms], dtype=np.float64)
        return np.log1p((self.size - frequencies + 0.5) / (frequencies + 0.5))

    @property
    def unseen_idf(self) -> float:
        """The IDF of a term no document contains: the most any single term can weigh."""
        return float(np.log1p((self.size + 0.5) / 0.5))

    def document_frequency(self, term: str) -> int:
        """How many documents contain ``term``."""
        token = self._bm25.vocab_dict.get(term)
        if token is None:
            return 0
        indptr = self._bm25.scores["indptr"]
        return int(indptr[token + 1] - indptr[token])
