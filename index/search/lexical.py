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
        average = float(length.mean()) if self.size else 1.0
        # BM25's length normalisation, k1 (1 - b + b |d| / avgdl), per document.
        self._norm = (k1 * (1 - b + b * length / (average or 1.0))).astype(np.float32)

    @property
    def nbytes(self) -> int:
        arrays = (self._docs, self._counts, self._indptr, self._norm)
        return sum(a.nbytes for a in arrays) + self.vocabulary.nbytes

    def _numbers(self, terms: Sequence[str]) -> list[int]:
        found = (self.vocabulary.get(t) for t in terms if t)
        return [n for n in found if n is not None]

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """The BM25 score of every document for the query ``terms`` (zeros when none match)."""
        scores = np.zeros(self.size, dtype=np.float32)
        numbers = self._numbers(terms)
        if not numbers or self.size == 0:
            return scores
        # A term's postings name each document once, so adding its weights by fancy index is exact; a term
        # repeated in the query counts again, as in BM25. Term by term, nothing the size of every posting
        # asked for is gathered, and the sums stay float32 (np.bincount would make a float64 copy of both).
        for number, idf in zip(numbers, self._idf_of(np.array(numbers)).astype(np.float32).tolist(), strict=True):
            first, last = int(self._indptr[number]), int(self._indptr[number + 1])
            docs = self._docs[first:last]
            counts = self._counts[first:last].astype(np.float32)
            scores[docs] += np.float32(idf) * counts / (counts + self._norm[docs])
        return scores

    def presence(self, terms: Sequence[str], docs: np.ndarray) -> np.ndarray:
        """A boolean matrix: does document ``docs[i]`` contain ``terms[j]``?"""
        out = np.zeros((len(docs), len(terms)), dtype=bool)
        for j, term in enumerate(terms):
            number = self.vocabulary.get(term) if term else None
            if number is None:
                continue
            postings = self._docs[self._indptr[number] : self._indptr[number + 1]]  # ascending
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
