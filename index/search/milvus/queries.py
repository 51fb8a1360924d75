"""Questions against a Milvus index: BM25 and vector top-k, fetching candidates' evidence, IDF, alignments.

A :class:`MilvusIndex` queries the concrete collections it was built on, never the alias, so one question
sees one batch however the alias moves meanwhile.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..backend import Alignment, Candidates, IndexBatch
from ..lexical import K1
from .connection import _Connection
from .schema import _chunks, _dims, _literals, _sentences

ALIGNMENTS_KEPT = 10_000
"""How many language versions' alignments an index keeps from its latest fetches."""
_UNKNOWN = object()
MAX_TOP = 16_384
"""Milvus's limit on a search's ``limit``."""


class MilvusIndex:
    """One index, as the engine sees it: queries the collections it was built on, numbers passages as its batch."""

    def __init__(
        self, connection: _Connection, name: str, batch: IndexBatch, frequencies: Mapping[str, int], live: _Live
    ) -> None:
        self.connection = connection
        self.name = name
        self.live = live
        self.keys = batch.keys
        self._number = {key: i for i, key in enumerate(batch.keys)}
        self._frequencies = frequencies
        self._documents = len(batch.doc_passage)
        self._vectors = len(batch.vector_doc)
        self._alignments: dict[tuple[int, str], Alignment | None] = {}
        starts = batch.doc_starts()
        # The most versions a passage has: the k best passages' best versions are then among the
        # (k - 1) * most + 1 best documents, so a search that deep finds them all.
        self._most_docs = int(np.diff(starts).max(initial=1)) or 1
        embedded_per_passage = np.bincount(batch.doc_passage[batch.vector_doc], minlength=batch.passages)
        self._most_vectors = int(embedded_per_passage.max(initial=1)) or 1
        dims = _dims(batch)
        self._dim, self._echo_dim = dims

    @classmethod
    def derived(
        cls,
        previous: MilvusIndex,
        keys: tuple[str, ...],
        counts: tuple[int, int, int, int],
        frequencies: Mapping[str, int],
        live: _Live,
    ) -> MilvusIndex:
        """An index on the same collections after a delta: ``keys`` numbers its passages; ``counts`` are its
        documents, embedded documents, and the most documents and embedded ones a passage has."""
        index = cls.__new__(cls)
        index.connection, index.name, index.live = previous.connection, previous.name, live
        index.keys = keys
        index._number = {key: i for i, key in enumerate(keys)}
        index._frequencies = frequencies
        index._documents, index._vectors, index._most_docs, index._most_vectors = counts
        index._alignments = {}
        index._dim, index._echo_dim = previous._dim, previous._echo_dim
        return index

    def lexical_top(self, terms: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        counts = Counter(t for t in terms if t)
        if not counts or k <= 0 or not self._documents:
            return _no_passages()  # (Milvus's BM25 on an empty collection divides by an average length of 0)
        depth = min(MAX_TOP, (k - 1) * self._most_docs + 1)
        query = " ".join(counts)
        conn, name = self.connection, self.name
        hits = conn.call(
            lambda c: c.search(
                name,
                data=[query],
                anns_field="sparse",
                limit=depth,
                output_fields=["passage_key"],
                search_params={"metric_type": "BM25"},
                timeout=conn.timeout,
            ),
            index=True,
        )[0]
        ids = [str(h["id"]) for h in hits]
        scores = {str(h["id"]): float(h["distance"]) for h in hits}
        keys = {str(h["id"]): str(h["entity"]["passage_key"]) for h in hits}
        # Milvus counts a query term once however often it is repeated; the protocol counts each
        # repetition. Add the repeats' scores, from Milvus, for the documents already found.
        for term, count in counts.items():
            if count == 1 or not ids:
                continue
            extra = conn.call(
                lambda c, t=term: c.search(
                    name,
                    data=[t],
                    anns_field="sparse",
                    limit=len(ids),
                    filter=f"id in {_literals(ids)}",
                    search_params={"metric_type": "BM25"},
                    timeout=conn.timeout,
                ),
                index=True,
            )[0]
            for h in extra:
                scores[str(h["id"])] += (count - 1) * float(h["distance"])
        # Milvus's BM25 keeps the classic (k1 + 1) numerator that Lucene (and bm25s) dropped.
        return self._best_by_passage(((s / (K1 + 1), keys[i]) for i, s in scores.items()), k, positive=True)

    def vector_top(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if k <= 0 or not self._vectors:
            return _no_passages()
        depth = min(MAX_TOP, (k - 1) * self._most_vectors + 1)
        vector = np.asarray(query, dtype=np.float32).reshape(-1).tolist()
        conn, name = self.connection, self.name
        hits = conn.call(
            lambda c: c.search(
                name,
                data=[vector],
                anns_field="vector",
                limit=depth,
                filter="embedded == true",
                output_fields=["passage_key"],
                search_params={"metric_type": "IP"},
                timeout=conn.timeout,
            ),
            index=True,
        )[0]
        ranked = [(float(h["distance"]), str(h["entity"]["passage_key"])) for h in hits]
        return self._best_by_passage(ranked, k, positive=False)

    def fetch(self, passages: np.ndarray, terms: Sequence[str]) -> Candidates:
        passages = np.asarray(passages, dtype=np.int64)
        owners: dict[str, list[int]] = {}
        for position, passage in enumerate(passages.tolist()):
            owners.setdefault(self.keys[passage], []).append(position)
        conn, name = self.connection, self.name
        docs: list[dict[str, Any]] = []
        sentences: list[dict[str, Any]] = []
        for group in _chunks(iter(owners), 200):
            expression = f"passage_key in {_literals(group)}"
            # The two collections are asked at once: a fetch then waits for the slower query, not both.
            asked_sentences = conn.pool().submit(
                conn.call,
                lambda c, e=expression: c.query(
                    _sentences(name),
                    filter=e,
                    output_fields=["passage_key", "position", "start", "end", "vector", "echo"],
                    timeout=conn.timeout,
                    strict_float32=True,
                ),
                index=True,
            )
            try:
                docs += conn.call(
                    lambda c, e=expression: c.query(
                        name,
                        filter=e,
                        output_fields=["passage_key", "rank", "terms", "embedded", "vector", "language", "alignment"],
                        timeout=conn.timeout,
                        strict_float32=True,  # vectors as slices of one float32 array, not lists of Python floats
                    ),
                    index=True,
                )
            finally:
                sentences += asked_sentences.result()
        doc_rows = sorted(
            ((o, int(r["rank"]), r) for r in docs for o in owners.get(str(r["passage_key"]), ())),
            key=lambda x: (x[0], x[1]),
        )
        sentence_rows = sorted(
            ((o, int(r["position"]), r) for r in sentences for o in owners.get(str(r["passage_key"]), ())),
            key=lambda x: (x[0], x[1]),
        )
        # The engine asks for the alignments of the results it shows, all among these candidates:
        # keep the ones that came along, so that costs no further round trip.
        if len(self._alignments) > ALIGNMENTS_KEPT:
            self._alignments.clear()
        for _, _, row in doc_rows:
            self._alignments[self._number[str(row["passage_key"])], str(row["language"])] = _alignment(row["alignment"])
        asked = list(terms)
        presence = np.zeros((len(doc_rows), len(asked)), dtype=bool)
        for i, (_, _, row) in enumerate(doc_rows):
            held = set(str(row["terms"]).split())
            presence[i] = [t in held for t in asked]
        embedded = [(o, r) for o, _, r in doc_rows if r["embedded"]]
        return Candidates(
            passages=passages,
            vector_owner=np.array([o for o, _ in embedded], dtype=np.int64),
            vectors=_matrix([r["vector"] for _, r in embedded], self._dim),
            doc_owner=np.array([o for o, _, _ in doc_rows], dtype=np.int64),
            presence=presence,
            sentence_owner=np.array([o for o, _, _ in sentence_rows], dtype=np.int64),
            sentence_spans=np.array(
                [(int(r["start"]), int(r["end"])) for _, _, r in sentence_rows], dtype=np.int64
            ).reshape(-1, 2),
            sentence_vectors=_matrix([r["vector"] for _, _, r in sentence_rows], self._dim),
            sentence_echoes=_matrix([r["echo"] for _, _, r in sentence_rows], self._echo_dim),
        )

    def idf(self, terms: Sequence[str]) -> np.ndarray:
        frequencies = np.array([self._frequencies.get(t, 0) for t in terms], dtype=np.float64)
        return np.log1p((self._documents - frequencies + 0.5) / (frequencies + 0.5))

    def alignment(self, passage: int, language: str) -> Alignment | None:
        kept = self._alignments.get((passage, language), _UNKNOWN)
        if kept is not _UNKNOWN:
            return kept
        conn, name = self.connection, self.name
        row_id = f"{self.keys[passage]}#{language}"
        rows = conn.call(
            lambda c: c.get(name, ids=[row_id], output_fields=["alignment"], timeout=conn.timeout), index=True
        )
        return _alignment(rows[0].get("alignment") if rows else None)

    def _best_by_passage(
        self, ranked: Iterable[tuple[float, str]], k: int, *, positive: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each known passage once, by its best document; best first, ties by passage number as bm25s/numpy do."""
        best: dict[int, float] = {}
        for score, key in ranked:
            number = self._number.get(key)  # a key this index does not know was added after it: skip it
            if number is None or (positive and score <= 0):
                continue
            if score > best.get(number, -np.inf):
                best[number] = score
        order = sorted(best.items(), key=lambda x: (-x[1], x[0]))[:k]
        return (
            np.array([p for p, _ in order], dtype=np.int64),
            np.array([s for _, s in order], dtype=np.float32),
        )


class _Live:
    """What the backend remembers of the collection it last wrote: for updates."""

    def __init__(
        self, name: str, dims: tuple[int, int], frequencies: Counter[str], digests: Mapping[str, int] | None = None
    ) -> None:
        self.name = name
        self.dims = dims
        self.frequencies = frequencies
        self.digests: Mapping[str, int] = digests or {}
        """Per article, its fingerprint (:func:`~index.search.backend.article_fingerprints`), for deltas."""


def _matrix(rows: Sequence[Any], dim: int) -> np.ndarray:
    if not rows:
        return np.zeros((0, dim), dtype=np.float32)
    return np.stack([np.asarray(row, dtype=np.float32) for row in rows])


def _alignment(found: Any) -> Alignment | None:
    """An :class:`Alignment` from a row's JSON field (empty for an original)."""
    if not found:
        return None
    return Alignment(
        spans=tuple((int(a), int(b)) for a, b in found["spans"]),
        beads=tuple((tuple(int(i) for i in left), tuple(int(j) for j in right)) for left, right in found["beads"]),
    )


def _no_passages() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
