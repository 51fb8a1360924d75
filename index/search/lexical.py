"""BM25 over analysed texts, on compact posting lists.

A posting is a document number (int32) and the term's count in it (uint8,
wider only if some count needs it): five bytes, where a precomputed score
matrix (bm25s) takes eight, and the vocabulary is one sorted UTF-8 buffer
rather than a dict of Python strings. A query's scores are computed from its
terms' postings and each document's length, so scoring still costs the length
of those posting lists, not the size of the collection.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence

import numpy as np

from .vectors import index_dtype

K1 = 1.2
B = 0.75


class Vocabulary:
    """Terms in code-point order, UTF-8 in one buffer; a term's number is its rank.

    About a term's length plus eight bytes each, where a dict entry with its
    string and number objects takes a hundred or more; a look-up is a binary
    search (some microseconds), which a query does a few dozen times at most.
    """

    def __init__(self, terms: Iterable[str]) -> None:
        encoded = sorted(t.encode("utf-8", "surrogatepass") for t in terms)  # UTF-8 order is code-point order
        self._blob = b"".join(encoded)
        offsets = array("q", [0])
        total = 0
        for term in encoded:
            total += len(term)
            offsets.append(total)
        self._offsets = offsets

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, number: int) -> bytes:
        return self._blob[self._offsets[number] : self._offsets[number + 1]]

    def get(self, term: str) -> int | None:
        """The term's number, None when no document has it."""
        key = term.encode("utf-8", "surrogatepass")
        number = bisect_left(self, key)
        return number if number < len(self) and self[number] == key else None

    def terms(self) -> list[str]:
        return [self[i].decode("utf-8", "surrogatepass") for i in range(len(self))]

    @property
    def nbytes(self) -> int:
        return len(self._blob) + self._offsets.itemsize * len(self._offsets)


class LexicalIndex:
    """BM25 (Lucene's IDF, always positive) over documents given as term lists.

    ``documents`` is read once, in order, so it may be a lazy sequence that
    analyses each text as it is asked for: the index never needs every
    document's term list at once.
    """

    def __init__(self, documents: Iterable[Sequence[str]], *, k1: float = K1, b: float = B) -> None:
        numbers: dict[str, int] = {}
        tokens = array("i")  # every document's term numbers, one document after the other
        actual = array("i")  # how many of them each document has
        lengths = array("i")
        for document in documents:
            tokens.extend([numbers.setdefault(t, len(numbers)) for t in document])
            actual.append(len(document))
            # bm25s indexed a document without terms as one empty token, so it counts as length 1 in the
            # average: kept, so scores stay what they were and what the Milvus backend reproduces.
            lengths.append(max(len(document), 1))
        self.size = len(lengths)
        self.vocabulary = Vocabulary(numbers)
        # Renumber terms by rank, so a term's postings are found by its number in the sorted vocabulary.
        rank = np.empty(len(numbers), dtype=np.int64)
        rank[[numbers[t] for t in self.vocabulary.terms()]] = np.arange(len(numbers))
        del numbers
        length = np.frombuffer(lengths, dtype=np.int32)
        width = max(self.size, 1)
        # One sort of (term, document) keys gives every posting list, its documents ascending.
        keys = rank[np.frombuffer(tokens, dtype=np.int32)] * width if len(tokens) else np.zeros(0, np.int64)
        del tokens
        keys += np.repeat(np.arange(self.size, dtype=np.int64), np.frombuffer(actual, dtype=np.int32))
        keys.sort()
        first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, np.int64)
        counts = np.diff(np.r_[first, len(keys)])
        keys = keys[first]
        self._docs = (keys % width).astype(index_dtype(self.size))
        self._counts = counts.astype(np.uint8 if counts.max(initial=0) < 256 else np.uint32)
        self._indptr = np.searchsorted(keys // width, np.arange(len(self.vocabulary) + 1))
        del keys, counts, first
        self._length = length.copy()
        self.k1, self.b = k1, b
        self.total_length = int(length.sum(dtype=np.int64))
        self._norms: tuple[float, np.ndarray] | None = None

    @classmethod
    def _of(
        cls,
        vocabulary: Vocabulary,
        docs: np.ndarray,
        counts: np.ndarray,
        indptr: np.ndarray,
        length: np.ndarray,
        *,
        k1: float = K1,
        b: float = B,
    ) -> LexicalIndex:
        """An index from its arrays (what :meth:`merged` computes)."""
        index = cls.__new__(cls)
        index.size = len(length)
        index.vocabulary = vocabulary
        index._docs, index._counts, index._indptr = docs, counts, indptr
        index._length = length
        index.k1, index.b = k1, b
        index.total_length = int(length.sum(dtype=np.int64))
        index._norms = None
        return index

    @classmethod
    def merged(cls, parts: Sequence[tuple[LexicalIndex, np.ndarray]], size: int) -> LexicalIndex:
        """One index of ``size`` documents from the ``parts``: each index with, per document, its new number
        (-1 to leave it out). Postings are carried over (nothing is analysed again): a merge costs its postings.
        """
        terms_of = [part.vocabulary.terms() for part, _ in parts]
        vocabulary = Vocabulary({t for terms in terms_of for t in terms})
        number = {term: i for i, term in enumerate(vocabulary.terms())}
        length = np.ones(size, dtype=np.int32)
        keys_all, counts_all = [], []
        width = max(size, 1)
        for (part, renumber), terms in zip(parts, terms_of, strict=True):
            renumber = np.asarray(renumber, dtype=np.int64)
            rank = np.array([number[t] for t in terms], dtype=np.int64)
            term_of = np.repeat(rank, np.diff(part._indptr))
            new = renumber[part._docs.astype(np.int64)]
            kept = new >= 0
            keys_all.append(term_of[kept] * width + new[kept])
            counts_all.append(part._counts[kept].astype(np.uint32))
            length[renumber[renumber >= 0]] = part._length[renumber >= 0]
        keys = np.concatenate(keys_all) if keys_all else np.zeros(0, np.int64)
        counts = np.concatenate(counts_all) if counts_all else np.zeros(0, np.uint32)
        order = np.argsort(keys, kind="stable")
        keys, counts = keys[order], counts[order]
        return cls._of(
            vocabulary,
            (keys % width).astype(index_dtype(size)),
            counts.astype(np.uint8 if counts.max(initial=0) < 256 else np.uint32),
            np.searchsorted(keys // width, np.arange(len(vocabulary) + 1)),
            length,
            k1=parts[0][0].k1 if parts else K1,
            b=parts[0][0].b if parts else B,
        )

    @property
    def lengths(self) -> np.ndarray:
        """Per document, its length as BM25 counts it (a document without terms counting as one)."""
        return self._length

    @property
    def average_length(self) -> float:
        """The mean document length (a document without terms counting as one), as a full build computes it."""
        return self.total_length / self.size if self.size else 1.0

    def norm(self, average: float) -> np.ndarray:
        """BM25's length normalisation, k1 (1 - b + b |d| / avgdl), per document, for the collection's ``average``.

        Kept for the last average asked: a segment of a larger collection is normalised by the whole's.
        """
        cached = self._norms
        if cached is not None and cached[0] == average:
            return cached[1]
        norm = (self.k1 * (1 - self.b + self.b * self._length / (average or 1.0))).astype(np.float32)
        self._norms = (average, norm)
        return norm

    @property
    def nbytes(self) -> int:
        arrays = (self._docs, self._counts, self._indptr, self._length)
        norms = 0 if self._norms is None else self._norms[1].nbytes
        return sum(a.nbytes for a in arrays) + self.vocabulary.nbytes + norms

    def _numbers(self, terms: Sequence[str]) -> list[int]:
        found = (self.vocabulary.get(t) for t in terms if t)
        return [n for n in found if n is not None]

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """The BM25 score of every document for the query ``terms`` (zeros when none match)."""
        numbers = self._numbers(terms)
        weights = self._idf_of(np.array(numbers, dtype=np.int64)).astype(np.float32).tolist()
        return self.weighted_scores(list(zip(numbers, weights, strict=True)), self.average_length)

    def weighted_scores(self, weights: Sequence[tuple[int, float]], average: float) -> np.ndarray:
        """BM25 scores of every document for (term number, IDF) pairs, in query order, normalised by ``average``.

        The IDF and the average length are the whole collection's, which a segment is given, so a document
        scores what it would in one index of everything.
        """
        scores = np.zeros(self.size, dtype=np.float32)
        if not weights or self.size == 0:
            return scores
        norm = self.norm(average)
        # A term's postings name each document once, so adding its weights by fancy index is exact; a term
        # repeated in the query counts again, as in BM25. Term by term, nothing the size of every posting
        # asked for is gathered, and the sums stay float32 (np.bincount would make a float64 copy of both).
        for number, idf in weights:
            first, last = int(self._indptr[number]), int(self._indptr[number + 1])
            docs = self._docs[first:last]
            counts = self._counts[first:last].astype(np.float32)
            scores[docs] += np.float32(idf) * counts / (counts + norm[docs])
        return scores

    def term_numbers(self, terms: Sequence[str]) -> list[int | None]:
        """Each term's number here, None when no document has it."""
        return [self.vocabulary.get(t) if t else None for t in terms]

    def postings(self, number: int) -> np.ndarray:
        """The documents holding term ``number``, ascending."""
        return self._docs[int(self._indptr[number]) : int(self._indptr[number + 1])]

    def presence(self, terms: Sequence[str], docs: np.ndarray) -> np.ndarray:
        """A boolean matrix: does document ``docs[i]`` contain ``terms[j]``?"""
        out = np.zeros((len(docs), len(terms)), dtype=bool)
        for j, term in enumerate(terms):
            number = self.vocabulary.get(term) if term else None
            if number is None:
                continue
            postings = self._docs[self._indptr[number] : self._indptr[number + 1]]  # ascending
            if not len(postings):  # a merged segment may keep a term whose documents all went
                continue
            at = np.minimum(np.searchsorted(postings, docs), len(postings) - 1)
            out[:, j] = postings[at] == docs
        return out

    def idf(self, terms: Sequence[str]) -> np.ndarray:
        """Lucene's IDF of each term, log(1 + (N - n + 0.5) / (n + 0.5)) with n its document frequency."""
        frequencies = np.array([self.document_frequency(t) for t in terms], dtype=np.float64)
        return np.log1p((self.size - frequencies + 0.5) / (frequencies + 0.5))

    def _idf_of(self, numbers: np.ndarray) -> np.ndarray:
        frequencies = (self._indptr[numbers + 1] - self._indptr[numbers]).astype(np.float64)
        return np.log1p((self.size - frequencies + 0.5) / (frequencies + 0.5))

    @property
    def unseen_idf(self) -> float:
        """The IDF of a term no document contains: the most any single term can weigh."""
        return float(np.log1p((self.size + 0.5) / 0.5))

    def document_frequency(self, term: str) -> int:
        """How many documents contain ``term``."""
        number = self.vocabulary.get(term) if term else None
        if number is None:
            return 0
        return int(self._indptr[number + 1] - self._indptr[number])
