"""One segment of the embedded index: a batch's passages in numpy arrays, immutable.

Documents (a passage in one language version) are stored passage by passage,
so a passage's best language version is a segment maximum over contiguous
rows; sentences likewise. It keeps no Python object per passage: postings,
vectors, sentence offsets and alignments are flat arrays, so a million
passages fit in a few gigabytes. Vectors are int8 by default
(:mod:`index.search.vectors`): passage vectors with a 4-bit refinement, so the
vector search rescores its best candidates to float32's ranking; sentence
vectors and echoes, read only for a question's candidates, without. It keeps
nothing of the batch either: every array is copied into its compact form.

Segments are what :class:`index.search.segments.SegmentedIndex` searches
together: a base, and small ones for what was added since.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .backend import Alignment, Bead, Candidates, IndexBatch
from .lexical import LexicalIndex
from .vectors import Precision, Rows, VectorIndex, concat_rows, index_dtype, store_rows


class EmbeddedIndex:
    """One segment: BM25 postings, exact or inverted-file vector search, sentence arrays; immutable.

    Passages are numbered within the segment (article after article, as the batch gave them); which
    of them are live, and which number each has in the corpus, is the :class:`~.segments.SegmentedIndex`'s
    business. Scoring takes the whole index's BM25 statistics, so a passage scores the same in any segment.
    """

    def __init__(
        self, batch: IndexBatch, *, precision: Precision = "int8", means: Mapping[str, np.ndarray] | None = None
    ) -> None:
        n = batch.passages
        means = means or {}
        self.lexical = LexicalIndex(batch.doc_terms)
        small = index_dtype(max(len(batch.doc_passage), len(batch.sentence_spans), n) + 1)
        self.doc_starts = run_starts(batch.doc_passage, n).astype(small)
        self.vectors = VectorIndex(batch.vectors, precision=precision, rescore=True, mean=means.get("vectors"))
        self.vector_passage = np.asarray(batch.doc_passage)[batch.vector_doc].astype(small)
        self.vector_starts = run_starts(self.vector_passage, n).astype(small)
        self.sentence_starts = np.asarray(batch.sentence_starts).astype(small)
        self.sentence_spans = np.asarray(batch.sentence_spans).reshape(-1, 2).astype(np.int32)
        self.sentence_vectors: Rows = store_rows(batch.sentence_vectors, precision, mean=means.get("sentences"))
        self.sentence_echoes: Rows = store_rows(batch.sentence_echoes, precision, mean=means.get("echoes"))
        self.alignments = AlignmentTable(batch.alignments)
        self.article_ids, self.article_starts = _articles(batch.articles)
        self.precision = precision

    @classmethod
    def gathered(cls, picks: Sequence[tuple[EmbeddedIndex, np.ndarray]], order: np.ndarray) -> EmbeddedIndex:
        """One segment of some segments' passages: ``picks`` gives each segment with the passages taken from
        it (ascending), ``order`` the concatenated picks' places in the new segment (a permutation).

        Everything is carried over as stored: postings, int8 codes, sentence rows; nothing is analysed or
        coded again, so a gathered passage reads back exactly as it did.
        """
        merged = cls.__new__(cls)
        first = picks[0][0]
        n = int(sum(len(locals_) for _, locals_ in picks))
        place = np.empty(n, dtype=np.int64)  # per concatenated pick, its passage number in the new segment
        place[np.asarray(order, dtype=np.int64)] = np.arange(n)
        # The new segment's passages in order: (pick part, local passage).
        part_of = np.repeat(np.arange(len(picks)), [len(locals_) for _, locals_ in picks])
        local_of = np.concatenate([np.asarray(locals_, dtype=np.int64) for _, locals_ in picks])
        part_of, local_of = part_of[order], local_of[order]

        def rows_per(starts_of: str) -> np.ndarray:
            counts = np.empty(n, dtype=np.int64)
            for k, (seg, _) in enumerate(picks):
                mine = part_of == k
                starts = getattr(seg, starts_of).astype(np.int64)
                counts[mine] = starts[local_of[mine] + 1] - starts[local_of[mine]]
            return counts

        def gathered_rows(starts_of: str, take: str) -> Rows:
            stacked = concat_rows([(getattr(seg, take), _rows_of(getattr(seg, starts_of), ls)) for seg, ls in picks])
            return concat_rows([(stacked, _stacked_order(picks, starts_of, order))])

        docs_per, sentences_per, vectors_per = (
            rows_per("doc_starts"),
            rows_per("sentence_starts"),
            rows_per("vector_starts"),
        )
        small = index_dtype(max(int(docs_per.sum()), int(sentences_per.sum()), n) + 1)
        merged.doc_starts = np.r_[0, np.cumsum(docs_per)].astype(small)
        merged.sentence_starts = np.r_[0, np.cumsum(sentences_per)].astype(small)
        merged.vector_starts = np.r_[0, np.cumsum(vectors_per)].astype(small)
        merged.vector_passage = np.repeat(np.arange(n), vectors_per).astype(small)
        lexical_parts = []
        for k, (seg, locals_) in enumerate(picks):
            renumber = np.full(seg.lexical.size, -1, dtype=np.int64)
            old_docs, owner = segment_rows(seg.doc_starts, np.asarray(locals_, dtype=np.int64))
            new_passage = place[np.flatnonzero(np.repeat(np.arange(len(picks)), [len(x) for _, x in picks]) == k)]
            within = old_docs - seg.doc_starts.astype(np.int64)[np.asarray(locals_, dtype=np.int64)[owner]]
            renumber[old_docs] = merged.doc_starts.astype(np.int64)[new_passage[owner]] + within
            lexical_parts.append((seg.lexical, renumber))
        merged.lexical = LexicalIndex.merged(lexical_parts, int(docs_per.sum()))
        stored = gathered_rows("vector_starts", "_vector_store")
        # Past its exact limit, the inverted file partitions what the stored rows read back as.
        big = len(stored) > 20_000
        readable = stored.take(np.arange(len(stored))) if big else np.zeros((len(stored), 1), np.float32)
        merged.vectors = VectorIndex(
            readable, precision=first.vectors.precision, rescore=first.vectors.rescore, stored=stored
        )
        sentence_rows = [_rows_of(seg.sentence_starts, ls) for seg, ls in picks]
        spans = np.concatenate([seg.sentence_spans[r] for (seg, _), r in zip(picks, sentence_rows, strict=True)])
        merged.sentence_spans = spans[_stacked_order(picks, "sentence_starts", order)]
        merged.sentence_vectors = gathered_rows("sentence_starts", "sentence_vectors")
        merged.sentence_echoes = gathered_rows("sentence_starts", "sentence_echoes")
        alignments: dict[tuple[int, str], Alignment] = {}
        for number, (k, local) in enumerate(zip(part_of.tolist(), local_of.tolist(), strict=True)):
            table = picks[k][0].alignments
            for language in table.languages:
                found = table.get(local, language)
                if found is not None:
                    alignments[number, language] = found
        merged.alignments = AlignmentTable(alignments)
        article_of = np.concatenate([_owners(seg.article_starts)[np.asarray(ls, dtype=np.int64)] for seg, ls in picks])
        names = [seg.article_ids for seg, _ in picks]
        part_article = list(
            zip(
                np.repeat(np.arange(len(picks)), [len(x) for _, x in picks])[order].tolist(),
                article_of[order].tolist(),
                strict=True,
            )
        )
        merged.article_ids, merged.article_starts = _articles([names[k][a] for k, a in part_article])
        merged.precision = first.precision
        return merged

    @property
    def _vector_store(self) -> Rows:
        """The passage vectors as stored, in row order (what :meth:`gathered` copies)."""
        stored = self.vectors.stored
        if self.vectors.exact:
            return stored
        return concat_rows([(stored, _stored_positions(self.vectors, np.arange(len(self.vectors))))])

    @property
    def passages(self) -> int:
        return len(self.sentence_starts) - 1

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
            + self.article_starts.nbytes
        )

    def best_lexical(self, weights: Sequence[tuple[int, float]], average: float) -> np.ndarray:
        """Per passage, the BM25 score of its best language version (weights as ``LexicalIndex`` takes them)."""
        scores = self.lexical.weighted_scores(weights, average)
        if len(scores) == self.passages:  # one document per passage: documents are passages
            return scores
        if not len(scores):
            return np.zeros(self.passages, np.float32)
        return np.maximum.reduceat(scores, self.doc_starts[:-1])

    def fetch(self, passages: np.ndarray, terms: Sequence[str]) -> Candidates:
        """The candidates' rows, ``passages`` numbered within this segment."""
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

    def alignment(self, passage: int, language: str) -> Alignment | None:
        return self.alignments.get(passage, language)


def _articles(articles: Sequence[str]) -> tuple[tuple[str, ...], np.ndarray]:
    """The articles of passages stored article after article, and where each one's passages begin."""
    ids: list[str] = []
    starts: list[int] = []
    for number, article in enumerate(articles):
        if not ids or ids[-1] != article:
            ids.append(article)
            starts.append(number)
    starts.append(len(articles))
    return tuple(ids), np.array(starts, dtype=np.int64)


def _owners(starts: np.ndarray) -> np.ndarray:
    """Per row of groups stored one after the other, its group."""
    return np.repeat(np.arange(len(starts) - 1), np.diff(starts.astype(np.int64)))


def _rows_of(starts: np.ndarray, passages: np.ndarray) -> np.ndarray:
    """The rows of the given passages (ascending), one passage after the other."""
    rows, _ = segment_rows(starts, np.asarray(passages, dtype=np.int64))
    return rows


def _stacked_order(picks: Sequence[tuple[EmbeddedIndex, np.ndarray]], starts_of: str, order: np.ndarray) -> np.ndarray:
    """Rows of the picked passages stacked part after part, reordered passage by passage as ``order`` says."""
    counts = np.concatenate(
        [np.diff(getattr(seg, starts_of).astype(np.int64))[np.asarray(ls, dtype=np.int64)] for seg, ls in picks]
    )
    rows, _ = segment_rows(np.r_[0, np.cumsum(counts)].astype(np.int64), np.asarray(order, dtype=np.int64))
    return rows


def _stored_positions(vectors: VectorIndex, rows: np.ndarray) -> np.ndarray:
    """Where the given rows (as numbered when built) are stored."""
    if vectors.exact:
        return rows
    position = np.empty(len(vectors), dtype=np.int64)
    position[vectors.stored_order()] = np.arange(len(vectors))
    return position[rows]


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
