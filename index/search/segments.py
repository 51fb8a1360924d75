"""Several segments searched as one index, with tombstones, exact BM25 statistics and size-tiered merges.

As Lucene and tantivy do: what is added goes into a small segment searched
beside the others; a removed or edited article's passages stay where they are
but no longer count (its article is simply no longer located in that segment);
and segments merge, in the background, when several of a size pile up. BM25's
statistics (the number of documents, each term's document frequency, the
average length) are always those of the live documents of every segment
together, and every score is computed from them exactly as one index of
everything computes it, so a passage scores the same whichever segment holds
it, to the bit (``tests/search/test_segments.py`` checks this property).

Passages are numbered as in the corpus: article after article in the order
the engine gives (:attr:`~.backend.Delta.order`). A merge changes no number,
so a question that reads the index before and after a merge's swap sees the
same index.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .backend import Alignment, Candidates
from .segment import EmbeddedIndex, segment_rows
from .vectors import top_k


@dataclass(frozen=True)
class MergePolicy:
    """Size-tiered: segments in one tier (sizes within a factor of ``factor``) merge when ``factor`` of them pile up.

    A merge's result lands in the next tier up, so each passage is copied about log_factor(size / floor)
    times over its life, not once per merge. The base sits in the highest tier and is merged into only
    when ``factor`` added segments of its tier have piled up; one-article segments (a feed's articles
    have some twenty passages) are the smallest tier, so a stream of adds merges every ``factor`` adds.
    """

    factor: int = 8
    floor: int = 16

    def tier(self, size: int) -> int:
        return int(math.log(max(size, self.floor) / self.floor, self.factor))

    def pick(self, sizes: Sequence[int]) -> tuple[int, ...]:
        """The segments (positions) to merge now: the smallest tier holding ``factor`` segments; () for none."""
        tiers: dict[int, list[int]] = {}
        for position, size in enumerate(sizes):
            tiers.setdefault(self.tier(size), []).append(position)
        for tier in sorted(tiers):
            if len(tiers[tier]) >= self.factor:
                return tuple(tiers[tier])
        return ()


@dataclass(frozen=True)
class _State:
    """One consistent view of the segments: what a question reads, replaced whole by an add or a merge."""

    segments: tuple[EmbeddedIndex, ...]
    number: tuple[np.ndarray, ...]
    """Per segment, per passage in it, its number in the corpus (-1 for one removed or edited since)."""
    located: Mapping[str, tuple[int, int]]
    """Every live article: (its segment, its article number there)."""
    live_docs: tuple[np.ndarray | None, ...]
    """Per segment, per document, whether it is live (None: all are)."""
    dead_vectors: tuple[int, ...]
    segment_of: np.ndarray
    local_of: np.ndarray
    documents: int
    length: int

    @classmethod
    def assembled(
        cls, segments: tuple[EmbeddedIndex, ...], number: tuple[np.ndarray, ...], located: Mapping[str, tuple[int, int]]
    ) -> _State:
        total = sum(int((n >= 0).sum()) for n in number)
        segment_of = np.zeros(total, dtype=np.int32)
        local_of = np.zeros(total, dtype=np.int64)
        live_docs: list[np.ndarray | None] = []
        dead_vectors: list[int] = []
        documents = length = 0
        for position, (segment, numbers) in enumerate(zip(segments, number, strict=True)):
            live = numbers >= 0
            rows = np.flatnonzero(live)
            segment_of[numbers[rows]] = position
            local_of[numbers[rows]] = rows
            if live.all():
                live_docs.append(None)
                dead_vectors.append(0)
                documents += segment.lexical.size
                length += segment.lexical.total_length
                continue
            doc_live = live[np.repeat(np.arange(segment.passages), np.diff(segment.doc_starts.astype(np.int64)))]
            live_docs.append(doc_live)
            dead_vectors.append(int((~live[segment.vector_passage]).sum()))
            documents += int(doc_live.sum())
            length += int(segment.lexical.lengths[doc_live].sum(dtype=np.int64))
        return cls(
            segments, number, located, tuple(live_docs), tuple(dead_vectors), segment_of, local_of, documents, length
        )


@dataclass(frozen=True)
class Merge:
    """A merged segment made from a state's segments, waiting to be swapped in."""

    sources: tuple[EmbeddedIndex, ...]
    segment: EmbeddedIndex
    origin: tuple[tuple[int, int], ...]
    """Per article of the merged segment, where it came from: (source position in ``sources``, article number)."""
    rows: tuple[np.ndarray, np.ndarray]
    """Per passage of the merged segment: its source position, and its number there."""


class SegmentedIndex:
    """Segments searched together as one :class:`~.backend.SearchIndex`; a new object per change.

    Its state is one attribute, replaced whole: a merge's swap is a single assignment, and a question
    reading the index across it sees the same passages under the same numbers.
    """

    def __init__(self, state: _State) -> None:
        self._state = state

    @classmethod
    def of(cls, segment: EmbeddedIndex, articles: Sequence[str]) -> SegmentedIndex:
        located = {article: (0, j) for j, article in enumerate(segment.article_ids)}
        return cls(_State.assembled((segment,), (np.arange(segment.passages, dtype=np.int64),), located))

    # -- changes ----------------------------------------------------------------------------------------------

    def applied(self, segment: EmbeddedIndex | None, removed: frozenset[str], order: Sequence[str]) -> SegmentedIndex:
        """A new index: this one without the ``removed`` articles, with ``segment`` added, numbered by ``order``."""
        state = self._state
        segments = state.segments + ((segment,) if segment is not None else ())
        located = dict(state.located)
        for article in removed:
            located.pop(article, None)
        if segment is not None:
            for j, article in enumerate(segment.article_ids):
                located[article] = (len(segments) - 1, j)
        return SegmentedIndex(_State.assembled(segments, _numbered(segments, located, order), located))

    def merge(self, picked: Sequence[int]) -> Merge:
        """The picked segments' live passages in one segment, in corpus order (made without blocking anything)."""
        state = self._state
        picks = [(state.segments[i], np.flatnonzero(state.number[i] >= 0)) for i in picked]
        numbers = np.concatenate([state.number[i][locals_] for i, (_, locals_) in zip(picked, picks, strict=True)])
        order = np.argsort(numbers, kind="stable")
        segment = EmbeddedIndex.gathered(picks, order)
        part = np.repeat(np.arange(len(picks)), [len(locals_) for _, locals_ in picks])[order]
        local = np.concatenate([locals_ for _, locals_ in picks])[order]
        origin = []
        for first in segment.article_starts[:-1].tolist():
            source = picks[int(part[first])][0]
            origin.append(
                (int(part[first]), int(np.searchsorted(source.article_starts, local[first], side="right") - 1))
            )
        return Merge(tuple(seg for seg, _ in picks), segment, tuple(origin), (part, local))

    def commit(self, merge: Merge) -> bool:
        """Swap ``merge`` in, if its sources are all still here; what was removed meanwhile stays removed."""
        state = self._state
        positions = []
        for source in merge.sources:
            found = next((i for i, seg in enumerate(state.segments) if seg is source), None)
            if found is None:
                return False
            positions.append(found)
        at = min(positions)
        gone = set(positions)
        kept = [i for i in range(len(state.segments)) if i not in gone]
        renumbered = {old: new for new, old in enumerate([i for i in kept if i < at])}
        renumbered.update(
            {old: new + 1 + len([i for i in kept if i < at]) for new, old in enumerate([i for i in kept if i > at])}
        )
        segments = [state.segments[i] for i in kept]
        number = [state.number[i] for i in kept]
        merged_at = len([i for i in kept if i < at])
        segments.insert(merged_at, merge.segment)
        part, local = merge.rows
        merged_number = np.empty(len(part), dtype=np.int64)
        for p in range(len(positions)):
            merged_number[part == p] = state.number[positions[p]][local[part == p]]
        number.insert(merged_at, merged_number)
        located: dict[str, tuple[int, int]] = {}
        for article, (s, j) in state.located.items():
            if s not in gone:
                located[article] = (renumbered[s], j)
        for j, (article, (p, source_article)) in enumerate(zip(merge.segment.article_ids, merge.origin, strict=True)):
            if state.located.get(article) == (positions[p], source_article):
                located[article] = (merged_at, j)
            else:  # removed or edited while the merge ran: its passages are gone here too
                first, last = merge.segment.article_starts[j], merge.segment.article_starts[j + 1]
                merged_number[first:last] = -1
        self._state = _State.assembled(tuple(segments), tuple(number), located)
        return True

    def segment_sizes(self) -> list[int]:
        """Live passages per segment (what the merge policy weighs)."""
        return [int((n >= 0).sum()) for n in self._state.number]

    @property
    def segments(self) -> tuple[EmbeddedIndex, ...]:
        return self._state.segments

    @property
    def base(self) -> EmbeddedIndex:
        """The first (largest) segment."""
        return self._state.segments[0]

    @property
    def passages(self) -> int:
        return len(self._state.segment_of)

    @property
    def nbytes(self) -> int:
        state = self._state
        return (
            sum(seg.nbytes for seg in state.segments)
            + sum(n.nbytes for n in state.number)
            + (state.segment_of.nbytes + state.local_of.nbytes)
        )

    # -- questions --------------------------------------------------------------------------------------------

    def _frequencies(self, state: _State, terms: Sequence[str]) -> dict[str, int]:
        """Each distinct term's document frequency over the live documents of every segment."""
        found: dict[str, int] = {}
        for term in terms:
            if term in found:
                continue
            total = 0
            if term:
                for segment, live in zip(state.segments, state.live_docs, strict=True):
                    number = segment.lexical.vocabulary.get(term)
                    if number is None:
                        continue
                    postings = segment.lexical.postings(number)
                    total += len(postings) if live is None else int(np.count_nonzero(live[postings]))
            found[term] = total
        return found

    def _idf(self, documents: int, frequencies: Sequence[int]) -> np.ndarray:
        f = np.array(frequencies, dtype=np.float64)
        return np.log1p((documents - f + 0.5) / (f + 0.5))

    def lexical_top(self, terms: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        state = self._state
        frequencies = self._frequencies(state, terms)
        asked = [t for t in terms if t and frequencies.get(t, 0) > 0]
        if not asked or not state.documents:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        weights = self._idf(state.documents, [frequencies[t] for t in asked]).astype(np.float32).tolist()
        average = state.length / state.documents
        numbers, scores = [], []
        for segment, passage_number in zip(state.segments, state.number, strict=True):
            mine = [
                (number, idf)
                for term, idf in zip(asked, weights, strict=True)
                if (number := segment.lexical.vocabulary.get(term)) is not None
            ]
            if not mine:
                continue
            best = segment.best_lexical(mine, average)
            best[passage_number < 0] = 0
            top = top_k(best, k)
            top = top[best[top] > 0]
            numbers.append(passage_number[top])
            scores.append(best[top])
        if not numbers:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        all_numbers, all_scores = np.concatenate(numbers), np.concatenate(scores)
        order = np.lexsort((all_numbers, -all_scores))[:k]
        return all_numbers[order].astype(np.int64), all_scores[order]

    def vector_top(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        state = self._state
        query = np.asarray(query, dtype=np.float32)
        limit = k * 4  # a passage has a vector per language version: look deeper than k to find k distinct ones
        if limit <= 0 or not len(state.segment_of):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        depth = state.segments[0].vectors.depth(limit)
        found = []
        for position, segment in enumerate(state.segments):
            vectors = segment.vectors
            stored, coarse = vectors.scan(query, depth + state.dead_vectors[position])
            rows = vectors.row_numbers(stored)
            passage = segment.vector_passage[rows].astype(np.int64)
            number = state.number[position][passage]
            live = number >= 0
            within = rows - segment.vector_starts.astype(np.int64)[passage]
            found.append((np.full(int(live.sum()), position), stored[live], coarse[live], number[live], within[live]))
        segment_at, stored, coarse, number, within = (np.concatenate(parts) for parts in zip(*found, strict=True))
        order = np.lexsort((within, number, -coarse))[:depth]  # a full build's scan: ties by row, rows by passage
        segment_at, stored, coarse, number = segment_at[order], stored[order], coarse[order], number[order]
        refined = coarse.copy()
        for position in np.unique(segment_at).tolist():
            mine = segment_at == position
            refined[mine] = state.segments[position].vectors.refine(query, stored[mine], coarse[mine])
        if state.segments[0].vectors.rescore:
            best = top_k(refined, limit)
            number, refined = number[best], refined[best]
        else:
            number, refined = number[:limit], refined[:limit]
        _, first = np.unique(number, return_index=True)
        first = np.sort(first)[:k]
        return number[first], refined[first]

    def fetch(self, passages: np.ndarray, terms: Sequence[str]) -> Candidates:
        state = self._state
        passages = np.asarray(passages, dtype=np.int64)
        held = (passages >= 0) & (passages < len(state.segment_of))
        where = np.full(len(passages), -1, dtype=np.int64)
        where[held] = state.segment_of[passages[held]]
        parts = []
        for position in np.unique(where[held]).tolist():
            at = np.flatnonzero(where == position)
            parts.append((at, state.segments[position].fetch(state.local_of[passages[at]], terms)))
        if len(parts) == 1 and len(parts[0][0]) == len(passages):
            return replace(parts[0][1], passages=passages)
        if not parts:
            empty = state.segments[0].fetch(np.zeros(0, np.int64), terms)
            return replace(empty, passages=passages)

        def joined(owner: str, *fields: str) -> dict[str, np.ndarray]:
            owners = np.concatenate([at[getattr(c, owner)] for at, c in parts])
            order = np.argsort(owners, kind="stable")
            out = {owner: owners[order]}
            for name in fields:
                out[name] = np.concatenate([getattr(c, name) for _, c in parts])[order]
            return out

        return Candidates(
            passages=passages,
            **joined("vector_owner", "vectors"),
            **joined("doc_owner", "presence"),
            **joined("sentence_owner", "sentence_spans", "sentence_vectors", "sentence_echoes"),
        )

    def idf(self, terms: Sequence[str]) -> np.ndarray:
        state = self._state
        frequencies = self._frequencies(state, terms)
        return self._idf(state.documents, [frequencies.get(t, 0) for t in terms])

    def alignment(self, passage: int, language: str) -> Alignment | None:
        state = self._state
        if not 0 <= passage < len(state.segment_of):
            return None
        return state.segments[int(state.segment_of[passage])].alignment(int(state.local_of[passage]), language)


def _numbered(
    segments: tuple[EmbeddedIndex, ...], located: Mapping[str, tuple[int, int]], order: Sequence[str]
) -> tuple[np.ndarray, ...]:
    """Per segment, each passage's corpus number, the articles taken in ``order``; -1 for passages not located."""
    if len(order) != len(located):
        raise ValueError(f"the corpus has {len(order)} articles where the index holds {len(located)}")
    counts = [np.diff(segment.article_starts).tolist() for segment in segments]
    chosen: list[list[int]] = [[] for _ in segments]
    firsts: list[list[int]] = [[] for _ in segments]
    first = 0
    for article in order:
        try:
            position, j = located[article]
        except KeyError:
            raise ValueError(f"the index does not hold the article {article!r}") from None
        chosen[position].append(j)
        firsts[position].append(first)
        first += counts[position][j]
    numbers = []
    for segment, js, begins in zip(segments, chosen, firsts, strict=True):
        number = np.full(segment.passages, -1, dtype=np.int64)
        if js:
            articles = np.array(js, dtype=np.int64)
            rows, owner = segment_rows(segment.article_starts, articles)
            number[rows] = np.array(begins, dtype=np.int64)[owner] + (rows - segment.article_starts[articles][owner])
        numbers.append(number)
    return tuple(numbers)
