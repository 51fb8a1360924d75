"""The Milvus search backend: the index in a Milvus server or cluster, or in Milvus Lite, through pymilvus.

Implements :class:`index.search.backend.Backend`. Milvus never analyses text
here: every document is indexed as the terms *our* analysers produced
(stemmed, folded, stopwords gone, in its own language), joined by spaces, under
Milvus's ``whitespace`` tokenizer. Both backends therefore see the same terms
in every language (Milvus has no Indonesian stemmer, and Lite 3.x ignores
stemmer filters), and Milvus's BM25 function gives bm25s's Lucene scores
times (k1 + 1), which :meth:`MilvusIndex.lexical_top` divides out.

Collections, for ``search.milvus.collection = news``
-----------------------------------------------------

``news_<UTC time>_<random>`` (one per build), a row per document (a passage in
one language version):

==============  =====================================================================
``id``          VARCHAR primary key, ``"<article id>#<position>#<language>"``
``passage_key`` VARCHAR ``"<article id>#<position>"``, the passage's stable key (INVERTED index)
``article_id``  VARCHAR (INVERTED index): what updates and removals select by
``language``    VARCHAR, the version's language, for filtering
``original``    BOOL, the verbatim original (else a translation)
``rank``        INT32, the version's place among its passage's versions (they come back in order)
``terms``       VARCHAR, the analysed terms joined by spaces; ``whitespace`` analyzer
``sparse``      SPARSE_FLOAT_VECTOR, output of a BM25 function over ``terms``;
                SPARSE_INVERTED_INDEX, metric BM25, ``bm25_k1`` 1.2, ``bm25_b`` 0.75
``embedded``    BOOL: does ``vector`` hold the version's embedding? (translations may be unembedded)
``vector``      FLOAT_VECTOR (the retrieval encoder's dimension), zeros when not embedded;
                AUTOINDEX, metric IP (vectors are unit length, so IP is the cosine)
``text``        VARCHAR, the verbatim text
``alignment``   JSON, for a translation: its sentences' spans and their beads with the original's
==============  =====================================================================

``news_<…>_sentences``, a row per sentence of a passage's original:
``id`` (``"<passage key>#<sentence>"``), ``passage_key``, ``article_id``,
``position``, ``start``/``end`` (character offsets), ``vector`` (retrieval
encoder) and ``echo`` (cross-lingual encoder), both AUTOINDEX/IP. Sentences
live in their own collection so that they count in neither the BM25
statistics (N, average length) nor the vector searches.

``news`` names the live pair. On a Milvus server it is an **alias** of the
document collection (its sentences collection is found by name). Milvus Lite
2.5 implements no aliases (nor renames or collection properties), so there
``news`` is a one-row pointer collection (``id``, ``target``, a 2-d
placeholder vector Milvus requires) whose row is upserted instead.

Build, update, questions
------------------------

``build`` creates a new pair, inserts everything, flushes, then moves the
alias (or pointer), and drops the previous pair ``drop_delay`` seconds later,
when questions already under way on it are done. An index object queries the
concrete collections it was built on, never the alias: a question's
lexical, vector and fetch calls then all see one batch, however the alias
moves meanwhile, and never a half-built one.

``update`` upserts the rows of the changed articles into the live pair and
deletes their rows that no longer exist and the removed articles' rows,
nothing else. The index it returns numbers passages as its batch does;
earlier index objects keep their numbering, skip keys they do not know and
tolerate rows that vanished.

Searches ask Milvus for (k - 1) * V + 1 documents, V the most language
versions a passage has, and keep each passage's best: the k best passages are
surely among them (exactly so on Lite, whose AUTOINDEX is a flat scan; a
server's HNSW is approximate). Milvus counts a query term once however often it
is repeated, where the protocol counts every repetition: the repeats' scores are
added from one more search per repeated term, over the documents found (a
document outside that first set is not considered, so only then can the
ranking differ from bm25s's). ``fetch`` asks both
collections at once for the candidates' rows, vectors as float32 slices, and
keeps the alignments that come along for :meth:`MilvusIndex.alignment`.

IDF is computed in the client, from document frequencies counted in the
batch at build (N is the batch's document count), and carried over by an
update: the changed and removed articles' old rows are read back from Milvus
(subtracted), their new ones added. It costs no round trip per question; a
``TEXT_MATCH`` count per term would cost one, and Milvus Lite 2.5.1 rejected
our ``TEXT_MATCH`` expressions anyway.

Failure: a Milvus that cannot be reached raises
:class:`~index.search.backend.BackendUnavailable` naming ``search.milvus.uri``
(never the token), and drops its gRPC channel (whose own reconnection backs
off for minutes), so the first call after Milvus is back opens a new one and
works. A collection name that exists with another schema raises
:class:`BackendMisconfigured` naming ``search.milvus.collection``. When the URI
is a file path, this backend runs Milvus Lite itself
(:mod:`index.search.milvus_lite`), restarts it if it dies, and stops it on
:meth:`MilvusBackend.close`.
"""

from __future__ import annotations

import calendar
import json
import logging
import math
import re
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import grpc
import numpy as np

try:
    from pymilvus import DataType, Function, FunctionType, MilvusClient
    from pymilvus.exceptions import ConnectionNotExistException, MilvusException, MilvusUnavailableException
except ImportError as missing:  # pragma: no cover - depends on the installation
    raise ImportError("search.backend milvus needs pymilvus: pip install -e '.[milvus]'") from missing

from ..backend import Alignment, BackendMisconfigured, BackendUnavailable, Candidates, IndexBatch, fingerprint
from ..lexical import K1, B

log = logging.getLogger(__name__)

# pymilvus configures its own handlers (when imported, above) and logs every failed RPC at ERROR;
# this module reports failures itself, once and in words that name the setting.
for _name in ("pymilvus", "pymilvus.milvus_client"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)

T = TypeVar("T")

SCHEMA = "newsbot passages 1"
"""The documents collection's description: marks our collections and their layout version."""
EMPTY = "\ue000"
"""Stands for a document with no terms: bm25s indexes such a document as one empty token (length 1),
so Milvus must count one token too for the average length, and so the scores, to match."""
MAX_VARCHAR = 65_535
"""Milvus's VARCHAR limit, in bytes."""
WRITE_RETRIES = 7
"""How often pymilvus retries a write that finds Milvus unreachable (backing off 0.01 s to 3 s: about 4 s)."""
WRITERS = 4
"""Insert requests in flight at once while building."""
ALIGNMENTS_KEPT = 10_000
"""How many language versions' alignments an index keeps from its latest fetches."""
_UNKNOWN = object()
BLOCK = 1000
"""Rows prepared at a time for inserts."""
MAX_TOP = 16_384
"""Milvus's limit on a search's ``limit``."""
_COLLECTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,200}$")

DOCUMENT_FIELDS = {
    "id": "VARCHAR",
    "passage_key": "VARCHAR",
    "article_id": "VARCHAR",
    "language": "VARCHAR",
    "original": "BOOL",
    "rank": "INT32",
    "terms": "VARCHAR",
    "sparse": "SPARSE_FLOAT_VECTOR",
    "embedded": "BOOL",
    "vector": "FLOAT_VECTOR",
    "text": "VARCHAR",
    "alignment": "JSON",
}
SENTENCE_FIELDS = {
    "id": "VARCHAR",
    "passage_key": "VARCHAR",
    "article_id": "VARCHAR",
    "position": "INT32",
    "start": "INT64",
    "end": "INT64",
    "vector": "FLOAT_VECTOR",
    "echo": "FLOAT_VECTOR",
}
POINTER_FIELDS = {"id": "VARCHAR", "target": "VARCHAR", "placeholder": "FLOAT_VECTOR"}
FINGERPRINT_ROW = "#fingerprint"
"""The id of the sentences collection's one row that is no sentence: it holds the fingerprint of what the pair
indexes (:func:`index.search.backend.fingerprint`). A sentence's id starts with an article id, never empty."""


class MilvusBackend:
    """Indexes in Milvus; ``uri`` is ``http://host:19530``, ``unix:/path.sock`` or a Milvus Lite file path."""

    name = "milvus"

    def __init__(
        self,
        uri: str,
        *,
        token: str | None = None,
        collection: str = "news",
        timeout: float = 5.0,
        write_timeout: float = 300.0,
        drop_delay: float = 30.0,
        rows_per_insert: int = 500,
    ) -> None:
        if not _COLLECTION_NAME.match(collection):
            raise BackendMisconfigured(
                f"search.milvus.collection {collection!r} is not a valid Milvus collection name "
                "(letters, digits and '_', not starting with a digit)"
            )
        self.collection = collection
        self.drop_delay = drop_delay
        self.rows_per_insert = rows_per_insert
        self.connection = _Connection(uri, token, timeout=timeout, write_timeout=write_timeout)
        self._lock = threading.Lock()  # one build or update at a time
        self._live: _Live | None = None
        self._retiring: dict[str, threading.Timer] = {}
        self._pointer_mode: bool | None = None
        try:
            self.check()
        except BaseException:
            self.connection.close()
            raise

    # -- the Backend protocol --------------------------------------------------------------------------------

    def build(self, batch: IndexBatch) -> MilvusIndex:
        with self._lock:
            return self._build(batch)

    def update(self, batch: IndexBatch, *, changed: Collection[str], removed: Collection[str]) -> MilvusIndex:
        with self._lock:
            live = self._live
            if live is None or live.dims != _dims(batch):
                # Nothing this process built to update, or vectors of another shape: only a new pair will do.
                return self._build(batch)
            self._live = None  # until the update is whole: a failed one leaves rows the frequencies do not count
            index = self._update(live, batch, set(changed), set(removed))
            self._live = index.live
            return index

    def close(self) -> None:
        with self._lock:
            retiring, self._retiring = self._retiring, {}
            for name, timer in retiring.items():
                timer.cancel()
                self._drop_now(name)
            self.connection.close()

    # -- building and updating -------------------------------------------------------------------------------

    def _build(self, batch: IndexBatch) -> MilvusIndex:
        previous = self.check()
        digest = self._digest(batch)
        dims = _dims(batch)
        conn = self.connection
        if previous is not None and conn.call(lambda c: _stored_fingerprint(c, previous)) == digest:
            # What a restart finds: the live pair already holds this corpus, so only its loading is left.
            conn.call(lambda c: _load(c, previous))
            self._drop_orphans(keep={previous})
            log.info("Milvus collection %s already indexes this corpus; reusing it", previous)
            return self._indexed(previous, batch, dims)
        name = f"{self.collection}_{time.strftime('%Y%m%d_%H%M%S', time.gmtime())}_{secrets.token_hex(3)}"
        self._drop_orphans(keep={previous, name} if previous else {name})
        try:
            conn.call(lambda c: _create_documents(c, name, dims[0], exact=bool(self._pointer_mode)))
            conn.call(lambda c: _create_sentences(c, _sentences(name), dims[0], dims[1]))
            self._write(name, _document_rows(batch, range(len(batch.doc_passage))), upsert=False)
            self._write(_sentences(name), _sentence_rows(batch, range(batch.passages)), upsert=False)
            self._write(_sentences(name), iter([_fingerprint_row(digest, dims)]), upsert=True)
            conn.call(lambda c: c.flush(name, timeout=conn.write_timeout))
            conn.call(lambda c: c.flush(_sentences(name), timeout=conn.write_timeout))
            self._point(name)
        except BaseException:
            self._drop_now(name)
            raise
        if previous is not None and previous != name:
            self._retire(previous)
        return self._indexed(name, batch, dims)

    def _digest(self, batch: IndexBatch) -> str:
        """What the pair records of itself: the batch's fingerprint, and which vector index it was given."""
        return f"{fingerprint(batch)} {'flat' if self._pointer_mode else 'auto'}"

    def _indexed(self, name: str, batch: IndexBatch, dims: tuple[int, int]) -> MilvusIndex:
        frequencies = _document_frequencies(batch.doc_terms)
        index = MilvusIndex(self.connection, name, batch, frequencies, _Live(name, dims, frequencies))
        self._live = index.live
        return index

    def _update(self, live: _Live, batch: IndexBatch, changed: set[str], removed: set[str]) -> MilvusIndex:
        name = live.name
        touched = sorted(changed | removed)
        passages = [p for p in range(batch.passages) if batch.articles[p] in changed]
        docs = [d for d, p in enumerate(batch.doc_passage.tolist()) if batch.articles[p] in changed]
        # Read the old rows' terms first, to carry the document frequencies over exactly.
        frequencies = Counter(live.frequencies)
        for terms in self._old_terms(name, touched):
            frequencies.subtract(set(terms.split()) - {EMPTY})
        for d in docs:
            frequencies.update(set(t for t in batch.doc_terms[d] if t))
        frequencies = Counter({t: n for t, n in frequencies.items() if n > 0})
        doc_rows = list(_document_rows(batch, docs))
        sentence_rows = list(_sentence_rows(batch, passages))
        # Until the update is whole the pair matches no corpus: a crash halfway leaves it for a rebuild.
        self._write(_sentences(name), iter([_fingerprint_row("", live.dims)]), upsert=True)
        self._write(name, iter(doc_rows), upsert=True)
        self._write(_sentences(name), iter(sentence_rows), upsert=True)
        self._delete_others(name, touched, [r["id"] for r in doc_rows])
        self._delete_others(_sentences(name), touched, [r["id"] for r in sentence_rows])
        self._write(_sentences(name), iter([_fingerprint_row(self._digest(batch), live.dims)]), upsert=True)
        return MilvusIndex(self.connection, name, batch, frequencies, _Live(name, live.dims, frequencies))

    # -- configuration ---------------------------------------------------------------------------------------

    def check(self) -> str | None:
        """Connect, and verify ``search.milvus.collection`` is ours or free; the live collection's name, if any."""
        conn = self.connection
        if self._pointer_mode is None:
            self._pointer_mode = not conn.call(_aliases_supported)
        if self._pointer_mode:
            return conn.call(lambda c: _pointer_target(c, self.collection))
        return conn.call(lambda c: _alias_target(c, self.collection))

    def live_collection(self) -> str | None:
        """The collection that ``search.milvus.collection`` designates now (from the alias or pointer)."""
        return self.check()

    def _point(self, name: str) -> None:
        collection, conn = self.collection, self.connection
        if self._pointer_mode:
            conn.call(lambda c: _set_pointer(c, collection, name))
            return

        def move(client: Any) -> None:
            if _alias_target(client, collection) is None:
                client.create_alias(name, collection, timeout=conn.write_timeout)
            else:
                client.alter_alias(name, collection, timeout=conn.write_timeout)

        conn.call(move)

    # -- writing ---------------------------------------------------------------------------------------------

    def _write(self, name: str, rows: Iterator[dict[str, Any]], *, upsert: bool) -> None:
        """Insert (or upsert) ``rows`` in chunks, a few requests in flight at once.

        Milvus (Lite, here) spends more time on an insert than we spend preparing the next one, and
        handles several at once: four in flight built twice as fast as one at a time. The threads are
        the write's own, so a reload never queues questions' requests behind its inserts.
        """
        conn = self.connection
        write = "upsert" if upsert else "insert"
        pending: deque[Future[Any]] = deque()
        with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="milvus-write") as pool:
            try:
                for chunk in _chunks(rows, self.rows_per_insert):
                    if len(pending) >= WRITERS:  # rows wait here, not in memory by the hundred thousand
                        pending.popleft().result()
                    pending.append(
                        pool.submit(
                            conn.call, lambda c, chunk=chunk: getattr(c, write)(name, chunk, timeout=conn.write_timeout)
                        )
                    )
                while pending:
                    pending.popleft().result()
            finally:
                for future in pending:
                    future.cancel()

    def _old_terms(self, name: str, articles: Sequence[str]) -> list[str]:
        found: list[str] = []
        conn = self.connection
        for group in _chunks(iter(articles), 100):
            expression = f"article_id in {_literals(group)}"
            rows = conn.call(
                lambda c, e=expression: c.query(name, filter=e, output_fields=["terms"], timeout=conn.write_timeout)
            )
            found.extend(str(r["terms"]) for r in rows)
        return found

    def _delete_others(self, name: str, articles: Sequence[str], keep: Sequence[str]) -> None:
        """Delete the rows of ``articles`` whose id is not in ``keep`` (the rows just upserted)."""
        conn = self.connection
        kept = set(keep)
        for article in articles:
            # Ask which rows exist rather than send every kept id in the expression: it stays short.
            rows = conn.call(
                lambda c, a=article: c.query(
                    name, filter=f"article_id == {_literal(a)}", output_fields=["id"], timeout=conn.write_timeout
                )
            )
            stale = [str(r["id"]) for r in rows if str(r["id"]) not in kept]
            for group in _chunks(iter(stale), 500):
                conn.call(lambda c, g=group: c.delete(name, ids=g, timeout=conn.write_timeout))

    # -- dropping old collections ----------------------------------------------------------------------------

    def _retire(self, name: str) -> None:
        if self.drop_delay <= 0:
            self._drop_now(name)
            return
        timer = threading.Timer(self.drop_delay, self._drop_retired, args=(name,))
        timer.daemon = True
        self._retiring[name] = timer
        timer.start()

    def _drop_retired(self, name: str) -> None:
        with self._lock:
            if self._retiring.pop(name, None) is not None:
                self._drop_now(name)

    def _drop_now(self, name: str) -> None:
        conn = self.connection

        def drop(client: Any, target: str) -> None:
            if client.has_collection(target, timeout=conn.write_timeout):
                client.drop_collection(target, timeout=conn.write_timeout)

        for target in (name, _sentences(name)):
            try:
                conn.call(lambda c, t=target: drop(c, t))
            except Exception as error:  # a later build drops it as an orphan
                log.warning("Could not drop Milvus collection %s: %s", target, error)

    def _drop_orphans(self, *, keep: set[str], min_age: float = 3600.0) -> None:
        """Drop this setting's collections that no alias, pointer or pending drop refers to, at least an hour old.

        They are left by builds that crashed or drops that failed; the age keeps a build under way elsewhere
        (another process on the same collection setting) safe.
        """
        pattern = re.compile(rf"^{re.escape(self.collection)}_(\d{{8}}_\d{{6}})_[0-9a-f]{{6}}(_sentences)?$")
        keep_all = keep | set(self._retiring)
        for name in self.connection.call(lambda c: c.list_collections()):
            match = pattern.match(name)
            if not match or name.removesuffix("_sentences") in keep_all:
                continue
            made = calendar.timegm(time.strptime(match.group(1), "%Y%m%d_%H%M%S"))
            if time.time() - made >= min_age:
                self._drop_now(name.removesuffix("_sentences"))


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


# -- the connection ----------------------------------------------------------------------------------------------


class _Connection:
    """One pymilvus client, made on first use and again after it failed; every call maps failures to our errors."""

    def __init__(self, uri: str, token: str | None, *, timeout: float, write_timeout: float) -> None:
        self.uri = uri
        # pymilvus retries a call that finds Milvus unreachable until its timeout when that is an int,
        # else a number of times. Questions: whole seconds, so a question fails within its timeout.
        # Writes (builds) may take minutes: a float deadline, and a few retries (about 4 s) when down.
        self.timeout = max(1, math.ceil(timeout))
        self.write_timeout = float(write_timeout)
        self._token = token or ""
        self._alias = f"newsbot-{secrets.token_hex(8)}"  # our own connection: closing it closes no one else's
        self._client: Any = None
        self._lite: Any = None
        self._lock = threading.Lock()
        self._closed = False
        self._down_logged = False
        self._pool: ThreadPoolExecutor | None = None

    def call(self, action: Callable[[Any], T], *, index: bool = False, again: bool = True) -> T:
        """``action(client)``; failures to reach Milvus become :class:`BackendUnavailable`.

        ``index`` marks a question's call on an index's own collections: one dropped since (a newer
        index replaced it) is then unavailable too, rather than a programming error. ``again``: a call
        whose channel another thread closed meanwhile is sent once more, on the new channel.
        """
        connected = self._connected()
        client = _Timed(connected, self.timeout) if index else _Timed(connected, self.write_timeout, WRITE_RETRIES)
        try:
            result = action(client)
        except Exception as error:
            if again and _closed_channel(error) and self._client is not connected:
                # Another thread's failure replaced the channel under this call: ask once more on the new one.
                return self.call(action, index=index, again=False)
            unreachable = _unreachable(error)
            if not unreachable and not (index and _gone(error)):
                raise
            if self._lite is not None and not self._lite.running():
                self._restart_lite()
            if not unreachable:
                raise BackendUnavailable(
                    "A Milvus collection this index uses no longer exists (a newer index replaced it); "
                    "the next question uses the new one"
                ) from None
            self._log_down(error)
            # A new channel next time: gRPC's own reconnection backs off for up to two minutes, so
            # the old one could go on failing long after Milvus is back.
            self._forget(connected)
            raise BackendUnavailable(
                f"Milvus at {_safe(self.uri)} is unreachable ({_reason(error)}); "
                "check search.milvus.uri and that Milvus is running"
            ) from None
        if self._down_logged:
            log.info("Milvus at %s answers again", _safe(self.uri))
            self._down_logged = False
        return result

    def close(self) -> None:
        with self._lock:
            self._closed = True
            client, self._client = self._client, None
            if client is not None:
                try:
                    client.close()
                except Exception as error:  # closing a connection to a server that is gone
                    log.debug("Closing the Milvus client: %s", error)
            lite, self._lite = self._lite, None
            if lite is not None:
                lite.close()
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    def pool(self) -> ThreadPoolExecutor:
        """Threads for queries a call sends at once."""
        with self._lock:
            if self._closed:
                raise BackendUnavailable("The Milvus backend was closed")
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="milvus")
            return self._pool

    def _forget(self, client: Any) -> None:
        with self._lock:
            if self._client is not client:
                return  # another thread already did
            self._client = None
        try:
            client.close()
        except Exception as error:
            log.debug("Closing the Milvus client: %s", error)

    def lite_server(self) -> Any:
        """The Milvus Lite server this connection runs (file-path URIs only), else None."""
        return self._lite

    def _connected(self) -> Any:
        with self._lock:
            if self._closed:
                raise BackendUnavailable("The Milvus backend was closed")
            if self._client is not None:
                return self._client
            uri = self.uri
            if _is_file(uri):
                uri = self._start_lite()
            try:
                self._client = MilvusClient(uri=uri, token=self._token, timeout=self.timeout, alias=self._alias)
            except Exception as error:
                self._log_down(error)
                raise BackendUnavailable(
                    f"Cannot connect to Milvus at {_safe(self.uri)} ({_reason(error)}); "
                    "check search.milvus.uri and that Milvus is running"
                ) from None
            return self._client

    def _start_lite(self) -> str:
        from ..milvus_lite import LiteServer, LiteUnavailable

        try:
            if self._lite is None:
                self._lite = LiteServer(self.uri)
            return str(self._lite.start())
        except LiteUnavailable as error:
            raise BackendUnavailable(f"search.milvus.uri {self.uri!r}: {error}") from None

    def _restart_lite(self) -> None:
        with self._lock:
            if self._lite is None or self._lite.running():
                return
            log.warning("Milvus Lite (%s) stopped; starting it again", self.uri)
            try:
                self._lite.start()
            except Exception as error:
                log.warning("Milvus Lite would not start again: %s", error)

    def _log_down(self, error: BaseException) -> None:
        if not self._down_logged:
            log.warning("Milvus at %s is unreachable: %s", _safe(self.uri), _reason(error))
            self._down_logged = True


class _Timed:
    """The client, with a timeout on every call that names none: without one, pymilvus retries for minutes."""

    def __init__(self, client: Any, timeout: float, retries: int | None = None) -> None:
        self._client = client
        self._timeout = timeout
        self._retries = retries

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", self._timeout)
            if self._retries is not None:
                kwargs.setdefault("retry_times", self._retries)
            return method(*args, **kwargs)

        return timed


def _unreachable(error: BaseException) -> bool:
    """Whether ``error`` says the server could not be reached or did not answer, rather than refused the request."""

    if isinstance(error, grpc.RpcError):
        code = error.code() if callable(getattr(error, "code", None)) else None
        return code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED)
    if isinstance(error, ConnectionNotExistException | MilvusUnavailableException):
        return True
    if isinstance(error, MilvusException):
        text = f"{error.message} {error.code}".lower()
        signs = (
            "unavailable",
            "fail connecting",
            "failed to connect",
            "connection refused",
            "retry timeout",
            "deadline",
            "socket closed",
            "connection reset",
            "not connected",
            "server unavailable",
        )
        return any(sign in text for sign in signs) or _closed_channel(error)
    return isinstance(error, ConnectionError | TimeoutError)


def _closed_channel(error: BaseException) -> bool:
    """Whether ``error`` says the call went out on a gRPC channel that was closed meanwhile."""
    text = str(getattr(error, "message", error)).lower()
    return "closed channel" in text or "channel closed" in text  # gRPC words it both ways


def _gone(error: BaseException) -> bool:
    """Whether ``error`` says the collection does not exist (dropped after a newer build)."""

    if not isinstance(error, MilvusException):
        return False
    text = str(error.message).lower()
    return "collection not found" in text or "can't find collection" in text or "not exist" in text


def _reason(error: BaseException) -> str:
    """A short reason, without the gRPC debug dump pymilvus puts in its messages."""

    text = str(error.message) if isinstance(error, MilvusException) else str(error)
    for sign in ("Connection refused", "Retry timeout", "Deadline Exceeded", "failed to connect", "Socket closed"):
        if sign.lower() in text.lower():
            return sign.lower()
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return first[:160]


def _safe(uri: str) -> str:
    """The URI without user information or query (where credentials could hide)."""
    parts = urlsplit(uri)
    if not parts.scheme or not parts.netloc:
        return uri
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _is_file(uri: str) -> bool:
    """A Milvus Lite database: a path, not ``http(s)://``, ``tcp://`` or ``unix:``."""
    return not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", uri)


# -- schemas -----------------------------------------------------------------------------------------------------


def _create_documents(client: Any, name: str, dim: int, *, exact: bool) -> None:
    """The documents collection; ``exact`` gives its vectors a FLAT (exhaustive) index rather than AUTOINDEX.

    Milvus Lite (the servers without aliases) makes AUTOINDEX an IVF_FLAT whose search ignores
    ``nprobe``: recall@10 0.44 on 150k clustered vectors, 0.86 in the 100k-passage bench. FLAT
    there is exact, at 6 ms a search over 150k vectors of 64 dimensions. A server's AUTOINDEX is HNSW.
    """

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False, description=SCHEMA)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=1024)
    schema.add_field("passage_key", DataType.VARCHAR, max_length=1024)
    schema.add_field("article_id", DataType.VARCHAR, max_length=1024)
    schema.add_field("language", DataType.VARCHAR, max_length=32)
    schema.add_field("original", DataType.BOOL)
    schema.add_field("rank", DataType.INT32)
    schema.add_field(
        "terms",
        DataType.VARCHAR,
        max_length=MAX_VARCHAR,
        enable_analyzer=True,
        analyzer_params={"tokenizer": "whitespace"},
    )
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("embedded", DataType.BOOL)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("alignment", DataType.JSON)
    schema.add_function(
        Function(
            name="terms_bm25",
            function_type=FunctionType.BM25,
            input_field_names=["terms"],
            output_field_names=["sparse"],
        )
    )
    indexes = client.prepare_index_params()
    indexes.add_index(
        "sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={"bm25_k1": K1, "bm25_b": B}
    )
    indexes.add_index("vector", index_type="FLAT" if exact else "AUTOINDEX", metric_type="IP")
    indexes.add_index("passage_key", index_type="INVERTED")
    indexes.add_index("article_id", index_type="INVERTED")
    _create(client, name, schema, indexes)


def _create_sentences(client: Any, name: str, dim: int, echo_dim: int) -> None:

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False, description=f"{SCHEMA} sentences")
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=1024)
    schema.add_field("passage_key", DataType.VARCHAR, max_length=1024)
    schema.add_field("article_id", DataType.VARCHAR, max_length=1024)
    schema.add_field("position", DataType.INT32)
    schema.add_field("start", DataType.INT64)
    schema.add_field("end", DataType.INT64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("echo", DataType.FLOAT_VECTOR, dim=echo_dim)
    indexes = client.prepare_index_params()
    indexes.add_index("vector", index_type="AUTOINDEX", metric_type="IP")
    indexes.add_index("echo", index_type="AUTOINDEX", metric_type="IP")
    indexes.add_index("passage_key", index_type="INVERTED")
    indexes.add_index("article_id", index_type="INVERTED")
    _create(client, name, schema, indexes)


def _create(client: Any, name: str, schema: Any, indexes: Any) -> None:
    """Create and load a collection, without pymilvus's half-second polls for each index on an empty collection."""
    # Session consistency: this client's own writes are visible to its next reads (an update's
    # index sees its rows), without waiting for the cluster-wide timestamp on every question.
    client.create_collection(name, schema=schema, consistency_level="Session")
    client.create_index(name, indexes, sync=False)
    client.load_collection(name)


def _field_types(description: Mapping[str, Any]) -> dict[str, str]:
    return {str(f["name"]): getattr(f["type"], "name", str(f["type"])) for f in description.get("fields", [])}


def _misfit(setting: str, what: str, found: Mapping[str, str], expected: Mapping[str, str]) -> BackendMisconfigured:
    missing = sorted(set(expected) - set(found))
    other = sorted(f for f in found if expected.get(f) not in (None, found[f]))
    extra = sorted(set(found) - set(expected))
    details = "; ".join(
        part
        for part in (
            f"missing {', '.join(missing)}" if missing else "",
            f"other types for {', '.join(other)}" if other else "",
            f"unexpected {', '.join(extra)}" if extra else "",
        )
        if part
    )
    return BackendMisconfigured(
        f"search.milvus.collection {setting!r}: {what} has another schema than newsbot's ({details}); "
        "choose another collection name, or drop that collection if it is an old newsbot one"
    )


def _check_documents(client: Any, setting: str, name: str) -> None:
    description = client.describe_collection(name)
    found = _field_types(description)
    if found != DOCUMENT_FIELDS or description.get("description") != SCHEMA:
        raise _misfit(setting, f"collection {name!r}", found, DOCUMENT_FIELDS)


def _aliases_supported(client: Any) -> bool:
    """Milvus Lite 2.5 answers UNIMPLEMENTED to every alias call; a server lists them."""

    try:
        client.list_aliases(collection_name="")
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.UNIMPLEMENTED:
            return False
        raise
    return True


def _alias_target(client: Any, setting: str) -> str | None:
    """The collection the alias points at; None when there is no alias (and no collection) of that name."""

    aliases: list[str] = []
    try:
        described = client.describe_alias(setting)
        target = str(described.get("collection_name") or "")
    except MilvusException as error:
        if _unreachable(error):
            raise
        target = ""  # no such alias
    if target:
        _check_documents(client, setting, target)
        return target
    if client.has_collection(setting):
        aliases = list(client.list_aliases(collection_name=setting).get("aliases", []))
        raise BackendMisconfigured(
            f"search.milvus.collection {setting!r} is an existing collection, not newsbot's alias"
            + (f" (its aliases: {', '.join(aliases)})" if aliases else "")
            + "; choose another collection name, or drop that collection"
        )
    return None


def _create_pointer(client: Any, setting: str) -> None:

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False, description=f"{SCHEMA} pointer")
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("target", DataType.VARCHAR, max_length=512)
    schema.add_field("placeholder", DataType.FLOAT_VECTOR, dim=2)  # Milvus loads no collection without a vector
    indexes = client.prepare_index_params()
    indexes.add_index("placeholder", index_type="AUTOINDEX", metric_type="IP")
    _create(client, setting, schema, indexes)


def _pointer_target(client: Any, setting: str) -> str | None:
    """The collection the pointer names (checking both are ours); None before the first build."""
    if not client.has_collection(setting):
        return None
    description = client.describe_collection(setting)
    found = _field_types(description)
    if found != POINTER_FIELDS:
        raise _misfit(setting, f"collection {setting!r}", found, POINTER_FIELDS)
    rows = client.get(setting, ids=["live"], output_fields=["target"])
    target = str(rows[0]["target"]) if rows else ""
    if not target or not client.has_collection(target):
        return None
    _check_documents(client, setting, target)
    return target


def _set_pointer(client: Any, setting: str, name: str) -> None:
    if not client.has_collection(setting):
        _create_pointer(client, setting)
    client.upsert(setting, [{"id": "live", "target": name, "placeholder": [0.0, 0.0]}])


# -- rows --------------------------------------------------------------------------------------------------------


class _Live:
    """What the backend remembers of the collection it last wrote: for updates."""

    def __init__(self, name: str, dims: tuple[int, int], frequencies: Counter[str]) -> None:
        self.name = name
        self.dims = dims
        self.frequencies = frequencies


def _sentences(name: str) -> str:
    return f"{name}_sentences"


def _dims(batch: IndexBatch) -> tuple[int, int]:
    """The retrieval and cross-lingual vectors' dimensions (Milvus wants at least 2)."""
    dim = int(batch.vectors.shape[1]) if batch.vectors.ndim == 2 else 0
    if dim == 0 and batch.sentence_vectors.ndim == 2:
        dim = int(batch.sentence_vectors.shape[1])
    echo = int(batch.sentence_echoes.shape[1]) if batch.sentence_echoes.ndim == 2 else 0
    return max(dim, 2), max(echo, 2)


def _document_frequencies(documents: Sequence[Sequence[str]]) -> Counter[str]:
    counts: Counter[str] = Counter(chain.from_iterable(set(d) for d in documents))
    counts.pop("", None)
    return counts


def _document_rows(batch: IndexBatch, docs: Sequence[int]) -> Iterator[dict[str, Any]]:
    dim = _dims(batch)[0]
    rank = np.arange(len(batch.doc_passage)) - batch.doc_starts()[batch.doc_passage]
    vector_of = np.full(len(batch.doc_passage), -1, dtype=np.int64)
    vector_of[batch.vector_doc] = np.arange(len(batch.vector_doc))
    zeros = [0.0] * dim
    chosen = np.asarray(docs, dtype=np.int64)
    for block in np.array_split(chosen, max(1, -(-len(chosen) // BLOCK))):
        if not len(block):
            continue
        # Whole blocks of vectors become lists at once: row by row, numpy's conversions cost more than the insert.
        rows = vector_of[block]
        vectors = _padded(batch.vectors[rows[rows >= 0]], dim).tolist()
        embedded = iter(vectors)
        for d, row, place in zip(block.tolist(), rows.tolist(), rank[block].tolist(), strict=True):
            passage = int(batch.doc_passage[d])
            key, language = batch.keys[passage], batch.doc_language[d]
            original = bool(batch.doc_original[d])
            alignment = None if original else batch.alignments.get((passage, language))
            yield {
                "id": f"{key}#{language}",
                "passage_key": key,
                "article_id": batch.articles[passage],
                "language": language,
                "original": original,
                "rank": place,
                "terms": _fit(
                    " ".join(t for t in batch.doc_terms[d] if t) or EMPTY, what=f"terms of {key} ({language})"
                ),
                "embedded": row >= 0,
                "vector": next(embedded) if row >= 0 else zeros,
                "text": _fit(batch.doc_text[d], what=f"text of {key} ({language})"),
                "alignment": {
                    "spans": [list(span) for span in alignment.spans],
                    "beads": [[list(a), list(b)] for a, b in alignment.beads],
                }
                if alignment is not None
                else {},
            }


def _sentence_rows(batch: IndexBatch, passages: Sequence[int]) -> Iterator[dict[str, Any]]:
    dim, echo_dim = _dims(batch)
    starts = batch.sentence_starts
    chosen = np.asarray(passages, dtype=np.int64)
    for block in np.array_split(chosen, max(1, -(-len(chosen) // BLOCK))):
        if not len(block):
            continue
        counts = starts[block + 1] - starts[block]
        owners = np.repeat(block, counts)
        rows = (
            np.arange(int(counts.sum()))
            - np.repeat(np.cumsum(counts) - counts, counts)
            + np.repeat(starts[block], counts)
        )
        spans = batch.sentence_spans[rows].tolist()
        vectors = _padded(batch.sentence_vectors[rows], dim).tolist()
        echoes = _padded(batch.sentence_echoes[rows], echo_dim).tolist()
        positions = (rows - starts[owners]).tolist()
        for i, (passage, position) in enumerate(zip(owners.tolist(), positions, strict=True)):
            key = batch.keys[passage]
            yield {
                "id": f"{key}#{position}",
                "passage_key": key,
                "article_id": batch.articles[passage],
                "position": position,
                "start": spans[i][0],
                "end": spans[i][1],
                "vector": vectors[i],
                "echo": echoes[i],
            }


def _fingerprint_row(digest: str, dims: tuple[int, int]) -> dict[str, Any]:
    """The sentences collection's record of what the pair indexes; an empty digest matches no corpus."""
    dim, echo_dim = dims
    return {
        "id": FINGERPRINT_ROW,
        "passage_key": f"{FINGERPRINT_ROW} {digest}",  # no passage's key: questions never fetch it
        "article_id": "",  # no article's: updates never delete it
        "position": -1,
        "start": 0,
        "end": 0,
        "vector": [0.0] * max(dim, 2),
        "echo": [0.0] * max(echo_dim, 2),
    }


def _stored_fingerprint(client: Any, name: str) -> str:
    """The fingerprint the pair ``name`` records, "" when it records none (older, or updated halfway)."""
    if not client.has_collection(_sentences(name)):
        return ""
    rows = client.get(_sentences(name), ids=[FINGERPRINT_ROW], output_fields=["passage_key"])
    return str(rows[0]["passage_key"]).removeprefix(f"{FINGERPRINT_ROW} ") if rows else ""


def _load(client: Any, name: str) -> None:
    """Load both collections of a pair into memory (a server releases them on restart); a no-op when loaded."""
    client.load_collection(name)
    client.load_collection(_sentences(name))


def _padded(vectors: np.ndarray, dim: int) -> np.ndarray:
    """Rows as float32 of ``dim`` columns: Milvus wants at least 2, and a test encoder may give 1."""
    values = np.asarray(vectors, dtype=np.float32)
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    if values.shape[1] < dim:
        values = np.pad(values, ((0, 0), (0, dim - values.shape[1])))
    return values


def _fit(text: str, *, what: str) -> str:
    """``text`` cut (at a space where possible) to Milvus's VARCHAR limit; a passage that long is a corpus error."""
    encoded = text.encode()
    if len(encoded) <= MAX_VARCHAR:
        return text
    log.warning("The %s exceed Milvus's %d-byte limit; indexing the first %d bytes", what, MAX_VARCHAR, MAX_VARCHAR)
    cut = encoded[:MAX_VARCHAR].decode(errors="ignore")
    space = cut.rfind(" ")
    return cut[:space] if space > 0 else cut


def _matrix(rows: Sequence[Any], dim: int) -> np.ndarray:
    if not rows:
        return np.zeros((0, dim), dtype=np.float32)
    return np.stack([np.asarray(row, dtype=np.float32) for row in rows])


def _chunks(items: Iterator[T] | Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _literal(text: str) -> str:
    """A Milvus expression string literal."""
    return json.dumps(text, ensure_ascii=False)


def _literals(texts: Iterable[str]) -> str:
    return "[" + ", ".join(_literal(t) for t in texts) + "]"


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
