"""What the engine asks of a search backend, and what it hands one to index.

The engine (:mod:`index.search.engine`) keeps the concerns that make an
answer: language detection, analysis, embedding, evidence, fusion, abstention,
highlights and results. A backend keeps the index: it stores every passage in
every language version (analysed terms, verbatim text, vectors) with its
sentences, and answers five kinds of request:

* BM25 top-k for analysed terms, and vector top-k for a question vector, each
  counting a passage once, by its best language version;
* everything the evidence needs about a handful of candidate passages (their
  vectors, which question terms they contain, their sentences);
* the IDF of terms, and a passage's sentence alignment with a translation;
* building a whole new index, or updating the rows of a few articles.

Passages are numbered as in the corpus the batch was built from, and
identified across corpora by a stable key, ``"<article id>#<position>"``.
Two backends implement it: :mod:`index.search.embedded` (in process, the
default) and :mod:`index.search.milvus`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

Span = tuple[int, int]
Bead = tuple[tuple[int, ...], tuple[int, ...]]


class BackendUnavailable(RuntimeError):
    """The backend cannot be reached; the message names it and the setting to check, never a secret."""


class DeltaRefused(RuntimeError):
    """The backend cannot apply this delta to this index (not its latest, or vectors of another shape):
    the engine builds the whole batch instead."""


class BackendMisconfigured(RuntimeError):
    """The configuration names something the backend cannot use (a collection of another schema, a bad name)."""


@dataclass(frozen=True, slots=True)
class Alignment:
    """A translation's sentences and how they pair with the original's."""

    spans: tuple[Span, ...]
    """The translation's sentences, as offsets into the translation's text."""
    beads: tuple[Bead, ...]


@dataclass(frozen=True, slots=True)
class IndexBatch:
    """A whole corpus, analysed and embedded, ready to index; arrays are stored passage by passage."""

    keys: tuple[str, ...]
    """Per passage, its stable key ``"<article id>#<position>"``."""
    articles: tuple[str, ...]
    """Per passage, its article's id."""
    doc_passage: np.ndarray
    """Per document (a passage in one language version), its passage number; non-decreasing."""
    doc_language: tuple[str, ...]
    doc_original: np.ndarray
    """Per document, whether it is the verbatim original (else a translation)."""
    doc_terms: Sequence[Sequence[str]]
    """Per document, its analysed terms (stemmed, folded, stopwords gone), in text order."""
    doc_text: Sequence[str]
    vector_doc: np.ndarray
    """Per vector row, the document it embeds (translations may be left unembedded); increasing."""
    vectors: np.ndarray
    """(v, d) unit vectors of the retrieval encoder."""
    sentence_starts: np.ndarray
    """Passage i's sentences (of its original) are rows sentence_starts[i]:sentence_starts[i + 1]."""
    sentence_spans: np.ndarray
    """(s, 2) character offsets into the passage's original text."""
    sentence_vectors: np.ndarray
    """(s, d) retrieval-encoder vectors."""
    sentence_echoes: np.ndarray
    """(s, d') cross-lingual sentence vectors, which say whether two sentences report the same thing."""
    alignments: Mapping[tuple[int, str], Alignment]
    """By (passage, translation language)."""

    @property
    def passages(self) -> int:
        return len(self.keys)

    def doc_starts(self) -> np.ndarray:
        """Where each passage's documents begin; passages + 1 entries."""
        return np.searchsorted(self.doc_passage, np.arange(self.passages + 1), side="left")


def fingerprint(batch: IndexBatch) -> str:
    """A digest of everything a backend stores of ``batch``: equal digests, equal indexes.

    A backend that keeps its index outside the process compares it with what it holds, to reuse
    an index a restart would otherwise write again row by row. It is the combination of each
    article's digest (:func:`article_fingerprints`), so a change can carry it over: take the
    changed articles' digests away, add their new ones (:func:`combined_fingerprint`).
    """
    return combined_fingerprint(article_fingerprints(batch))


FINGERPRINT_MODULUS = 2**256


def combined_fingerprint(digests: Mapping[str, int]) -> str:
    """One digest of every article's: their sum modulo 2**256 (order-free, so a change updates it), and the count."""
    return f"{sum(digests.values()) % FINGERPRINT_MODULUS:064x}-{len(digests)}"


def article_fingerprints(batch: IndexBatch) -> dict[str, int]:
    """Per article, a digest of everything a backend stores of it: keys, terms, texts, vectors, sentences,
    alignments (numbered within the article, so the digest does not depend on the rest of the batch)."""
    doc_starts = batch.doc_starts()
    vector_of = np.full(len(batch.doc_passage), -1, dtype=np.int64)
    vector_of[np.asarray(batch.vector_doc, dtype=np.int64)] = np.arange(len(batch.vector_doc))
    aligned: dict[int, list[tuple[str, Alignment]]] = {}
    for (number, language), alignment in batch.alignments.items():
        aligned.setdefault(number, []).append((language, alignment))
    found: dict[str, int] = {}
    first = 0
    while first < batch.passages:
        article = batch.articles[first]
        last = first
        while last < batch.passages and batch.articles[last] == article:
            last += 1
        digest = hashlib.sha256()
        digest.update(article.encode("utf-8", "surrogatepass") + b"\x1d")
        d0, d1 = int(doc_starts[first]), int(doc_starts[last])
        s0, s1 = int(batch.sentence_starts[first]), int(batch.sentence_starts[last])
        for passage in range(first, last):
            digest.update(batch.keys[passage].encode("utf-8", "surrogatepass") + b"\x1e")
            digest.update(repr(int(doc_starts[passage + 1] - doc_starts[passage])).encode())
            digest.update(repr(int(batch.sentence_starts[passage + 1] - batch.sentence_starts[passage])).encode())
        for d in range(d0, d1):
            terms = "\x1f".join(batch.doc_terms[d])
            parts = (batch.doc_language[d], str(bool(batch.doc_original[d])), terms, batch.doc_text[d])
            digest.update("\x1e".join(parts).encode("utf-8", "surrogatepass") + b"\x1d")
        rows = vector_of[d0:d1]
        embedded = rows[rows >= 0]
        digest.update(np.ascontiguousarray(rows >= 0).tobytes())
        if len(embedded):
            vectors = np.asarray(batch.vectors[int(embedded[0]) : int(embedded[-1]) + 1], dtype=np.float32)
            digest.update(repr(vectors.shape).encode() + np.ascontiguousarray(vectors).tobytes())
        for array in (batch.sentence_spans, batch.sentence_vectors, batch.sentence_echoes):
            block = np.asarray(array[s0:s1])
            digest.update(repr((block.shape[1:], str(block.dtype))).encode() + np.ascontiguousarray(block).tobytes())
        for passage in range(first, last):
            for language, alignment in sorted(aligned.get(passage, ())):
                digest.update(repr((passage - first, language, alignment)).encode())
        found[article] = int.from_bytes(digest.digest(), "big")
        first = last
    return found


@dataclass(frozen=True, slots=True)
class Delta:
    """A change to an index: what an add, an edit, a removal or a feed poll brought, and nothing else."""

    batch: IndexBatch
    """The passages of the added and edited articles, in corpus order (numbered from 0 within the batch)."""
    removed: frozenset[str]
    """Articles whose passages leave the index: the removed ones, and the edited ones (their new text in ``batch``)."""
    order: Sequence[str]
    """Every article of the corpus after the change, in its order: passages are numbered article after article."""


@dataclass(frozen=True, slots=True)
class Candidates:
    """What the evidence needs about some candidate passages; every ``*_owner`` is a position in ``passages``.

    Rows of one passage are contiguous and sentences are in text order.
    """

    passages: np.ndarray
    vector_owner: np.ndarray
    vectors: np.ndarray
    """Retrieval vectors of every embedded language version."""
    doc_owner: np.ndarray
    presence: np.ndarray
    """(documents, terms) booleans: does this language version contain the asked term?"""
    sentence_owner: np.ndarray
    sentence_spans: np.ndarray
    sentence_vectors: np.ndarray
    sentence_echoes: np.ndarray


class SearchIndex(Protocol):
    """One built index, as one engine sees it: immutable numbering, safe to share between threads."""

    def lexical_top(self, terms: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Passage numbers and BM25 scores of the ``k`` best passages by their best language, best first.

        A term repeated in ``terms`` counts again; passages that match no term are left out.
        """
        ...

    def vector_top(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Passage numbers and cosines of the ``k`` passages whose best language version is nearest, best first."""
        ...

    def fetch(self, passages: np.ndarray, terms: Sequence[str]) -> Candidates:
        """The candidates' vectors, sentences, and which of ``terms`` each language version contains.

        A passage the index no longer holds (removed meanwhile) comes back with no rows.
        """
        ...

    def idf(self, terms: Sequence[str]) -> np.ndarray:
        """Lucene's IDF of each term over all documents, log(1 + (N - n + 0.5) / (n + 0.5))."""
        ...

    def alignment(self, passage: int, language: str) -> Alignment | None:
        """How the passage's translation into ``language`` pairs with its original, if it has one."""
        ...


class Backend(Protocol):
    """Where indexes live; builds them whole or updates them article by article."""

    name: str

    def build(self, batch: IndexBatch) -> SearchIndex:
        """A new index of the whole batch; questions on earlier indexes are unaffected until it is returned."""
        ...

    def update(self, batch: IndexBatch, *, changed: Collection[str], removed: Collection[str]) -> SearchIndex:
        """The index of ``batch`` (a whole corpus), writing only the rows of the ``changed`` and ``removed`` articles.

        A backend that cannot update in place builds anew.
        """
        ...

    def close(self) -> None:
        """Release connections or processes the backend holds."""
        ...


class DeltaBackend(Backend, Protocol):
    """A backend that takes changes as they are: its cost is what changed, not the corpus."""

    def apply(self, index: SearchIndex, delta: Delta) -> SearchIndex:
        """The index after ``delta``; ``index`` (an engine may still answer from it) is unchanged."""
        ...
