"""The embedded search backend: the whole index in this process, in numpy arrays.

The default backend. Documents (a passage in one language version) are stored
passage by passage, so a passage's best language version is a segment maximum
over contiguous rows; sentences likewise. Nothing is updated in place: every
change builds a new index beside the one answering, which is then swapped in.

It keeps no Python object per passage: postings, vectors, sentence offsets
and alignments are flat arrays, so a million passages fit in a few gigabytes.
Vectors are int8 by default (:mod:`index.search.vectors`): passage vectors
with a 4-bit refinement, so the vector search rescores its best candidates to
float32's ranking; sentence vectors and echoes, read only for a question's
candidates, without. It keeps nothing of the batch either: every array is
copied into its compact form, so the batch can be freed once the index is built.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np

from .backend import Alignment, Bead, Candidates, IndexBatch
from .lexical import LexicalIndex
from .vectors import Precision, Rows, VectorIndex, index_dtype, store_rows, top_k


class EmbeddedBackend:
    """Builds :class:`EmbeddedIndex` objects; holds nothing itself.

    ``precision`` is how vectors are stored. int8 (the default) takes a
    quarter of float32's memory (sentence vectors and echoes) or 0.38 of it
    (passage vectors, refined); the vector search keeps float32's ranking and
    the evidence's cosines stay within about 0.001. On the dev set it gives
    the same figures as float32 (``tests/search/test_embedded.py`` compares
    the two on random batches).
    """

    name = "embedded"

    def __init__(self, precision: Precision = "int8") -> None:
        self.precision: Precision = precision

    def build(self, batch: IndexBatch) -> EmbeddedIndex:
        return EmbeddedIndex(batch, precision=self.precision)

    def update(self, batch: IndexBatch, *, changed: Collection[str], removed: Collection[str]) -> EmbeddedIndex:
        # Rebuilding is what an in-process index does best: no row is shared.
        return EmbeddedIndex(batch, precision=self.precision)

    def close(self) -> None:
        return None


class EmbeddedIndex:
    """BM25 over every document, exact or inverted-file vector search, sentence arrays; immutable."""

    def __init__(self, batch: IndexBatch, *, precision: Precision = "int8") -> None:
        n = batch.passages
        self.lexical = LexicalIndex(batch.doc_terms)
        small = index_dtype(max(len(batch.doc_passage), len(batch.sentence_spans), n) + 1)
        self.doc_starts = run_starts(batch.doc_passage, n).astype(small)
        # With one document per passage (no translations), documents are passages: no segment maximum needed.
        self._one_doc_each = len(batch.doc_passage) == n
        self.vectors = VectorIndex(batch.vectors, precision=precision, rescore=True)
        self.vector_passage = np.asarray(batch.doc_passage)[batch.vector_doc].astype(small)
        self.vector_starts = run_starts(self.vector_passage, n).astype(small)
        self.sentence_starts = np.asarray(batch.sentence_starts).astype(small)
        self.sentence_spans = np.asarray(batch.sentence_spans).reshape(-1, 2).astype(np.int32)
        self.sentence_vectors: Rows = store_rows(batch.sentence_vectors, precision)
        self.sentence_echoes: Rows = store_rows(batch.sentence_echoes, precision)
        self.alignments = AlignmentTable(batch.alignments)

    @property
    def nbytes(self) -> int:
        """The memory the index's arrays take (the process's overhead aside)."""
        arrays = (self.doc_starts, self.vector_passage, self.vector_starts, self.sentence_starts, self.sentence_spans)
        return (
            self.lexical.nbytes
            + self.vectors.nbytes
            + self.sentence_vectors.nbytes
            + self.sentence_echoes.nbytes
            + self.alignments.nbytes
            + sum(a.nbytes for a in arrays)
        )

    def lexical_top(self, terms: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        scores = self.lexical.scores(terms)
        if not len(scores):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        best = scores if self._one_doc_each else np.maximum.reduceat(scores, self.doc_starts[:-1])
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
            sentence_spans=self.sentence_spans[sentence_rows].astype(np.int64),
            sentence_vectors=self.sentence_vectors.take(sentence_rows),
            sentence_echoes=self.sentence_echoes.take(sentence_rows),
        )

    def idf(self, terms: Sequence[str]) -> np.ndarray:
        return self.lexical.idf(terms)

    def alignment(self, passage: int, language: str) -> Alignment | None:
        return self.alignments.get(passage, language)


class AlignmentTable:
    """Every translation's sentence alignment, in flat arrays looked up by (passage, language).

    A dict of :class:`Alignment` objects costs some 600 bytes per translated
    passage in tuples and ints; this costs about 60, and rebuilds the one
    asked for.
    """

    def __init__(self, alignments: Mapping[tuple[int, str], Alignment]) -> None:
        self.languages = tuple(sorted({language for _, language in alignments}))
        code = {language: i for i, language in enumerate(self.languages)}
        ordered = sorted(alignments.items(), key=lambda item: (item[0][0], code[item[0][1]]))
        keys = [passage * len(self.languages) + code[language] for (passage, language), _ in ordered]
        self._keys = np.array(keys, dtype=np.int64)
        spans: list[tuple[int, int]] = []
        span_starts, bead_starts, sides, numbers = [0], [0], [], []
        for _, found in ordered:
            spans.extend(found.spans)
            span_starts.append(len(spans))
            for source, target in found.beads:
                sides.extend((len(source), len(target)))
                numbers.extend((*source, *target))
            bead_starts.append(len(sides) // 2)
        self._spans = np.array(spans, dtype=np.int32).reshape(-1, 2)
        self._span_starts = np.array(span_starts, dtype=np.int64)
        self._bead_starts = np.array(bead_starts, dtype=np.int64)
        self._sides = np.array(sides, dtype=np.int32).reshape(-1, 2)
        """Per bead, how many source and target sentences it holds."""
        self._numbers = np.array(numbers, dtype=np.int32)
        """Every bead's source then target sentence numbers, bead after bead."""
        self._number_starts = np.r_[0, np.cumsum(self._sides.sum(axis=1))].astype(np.int64)

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def nbytes(self) -> int:
        arrays = (self._keys, self._spans, self._span_starts, self._bead_starts, self._sides, self._numbers)
        return sum(a.nbytes for a in arrays) + self._number_starts.nbytes

    def get(self, passage: int, language: str) -> Alignment | None:
        if language not in self.languages:
            return None
        key = passage * len(self.languages) + self.languages.index(language)
        row = int(np.searchsorted(self._keys, key))
        if row == len(self._keys) or self._keys[row] != key:
            return None
        first, last = self._span_starts[row], self._span_starts[row + 1]
        spans = tuple((int(a), int(b)) for a, b in self._spans[first:last].tolist())
        beads: list[Bead] = []
        for bead in range(int(self._bead_starts[row]), int(self._bead_starts[row + 1])):
            sources, _ = self._sides[bead].tolist()
            numbers = self._numbers[self._number_starts[bead] : self._number_starts[bead + 1]].tolist()
            beads.append((tuple(numbers[:sources]), tuple(numbers[sources:])))
        return Alignment(spans, tuple(beads))


def run_starts(owners: np.ndarray, n: int) -> np.ndarray:
    """For rows stored group by group (``owners`` sorted), where each of the ``n`` groups begins; n + 1 entries."""
    return np.searchsorted(owners, np.arange(n + 1), side="left")


def segment_rows(starts: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of the given groups, and for each row the position of its group in ``groups``."""
    first, last = starts[groups].astype(np.int64), starts[groups + 1].astype(np.int64)
    lengths = last - first
    owner = np.repeat(np.arange(len(groups)), lengths)
    rows = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths) + np.repeat(first, lengths)
    return rows.astype(np.int64), owner
