"""Building and updating a Milvus index, and moving the alias (or the Lite pointer) to it.

:class:`MilvusBackend` implements :class:`index.search.backend.Backend`: ``build`` writes a new pair of
collections and moves the alias once it is whole, ``update`` upserts and deletes one article's rows, and
old pairs are dropped after ``drop_delay`` seconds (see the package docstring).
"""

from __future__ import annotations

import calendar
import logging
import re
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain
from typing import Any

import grpc
import numpy as np

from ..backend import (
    BackendMisconfigured,
    Delta,
    DeltaRefused,
    IndexBatch,
    article_fingerprints,
    combined_fingerprint,
)
from .connection import DataType, MilvusException, _Connection, _unreachable
from .queries import MilvusIndex, _Live
from .schema import (
    _COLLECTION_NAME,
    EMPTY,
    POINTER_FIELDS,
    SCHEMA,
    _check_documents,
    _chunks,
    _create,
    _create_documents,
    _create_sentences,
    _dims,
    _document_rows,
    _field_types,
    _fingerprint_row,
    _literal,
    _literals,
    _load,
    _misfit,
    _sentence_rows,
    _sentences,
    _stored_fingerprint,
)

log = logging.getLogger(__name__)

WRITERS = 4
"""Insert requests in flight at once while building."""


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

    def apply(self, index: object, delta: Delta) -> MilvusIndex:
        """``index`` after ``delta``: upserts the added and edited articles' rows, deletes the removed ones'
        and the edited ones' rows that no longer exist; nothing else is written or read but their old rows."""
        with self._lock:
            live = self._live
            if not isinstance(index, MilvusIndex) or live is None or index.live is not live:
                raise DeltaRefused("the Milvus index given is not the one this backend wrote last")
            if delta.batch.passages and _dims(delta.batch) != live.dims:
                raise DeltaRefused("the delta's vectors are of another shape than the collection's")
            self._live = None  # until the delta is whole: a failed one leaves rows the frequencies do not count
            applied = self._apply(live, index, delta)
            self._live = applied.live
            return applied

    def _apply(self, live: _Live, index: MilvusIndex, delta: Delta) -> MilvusIndex:
        batch, name = delta.batch, live.name
        fresh = set(batch.articles)
        touched = sorted(delta.removed | fresh)
        old = self._old_rows(name, touched)
        frequencies = Counter(live.frequencies)
        for terms, _ in old:
            frequencies.subtract(set(terms.split()) - {EMPTY})
        for terms in batch.doc_terms:
            frequencies.update({t for t in terms if t})
        frequencies = Counter({t: n for t, n in frequencies.items() if n > 0})
        digests = {a: d for a, d in live.digests.items() if a not in delta.removed and a not in fresh}
        digests.update(article_fingerprints(batch))
        doc_rows = list(_document_rows(batch, range(len(batch.doc_passage)))) if batch.passages else []
        sentence_rows = list(_sentence_rows(batch, range(batch.passages))) if batch.passages else []
        self._write(_sentences(name), iter([_fingerprint_row("", live.dims)]), upsert=True)
        self._write(name, iter(doc_rows), upsert=True)
        self._write(_sentences(name), iter(sentence_rows), upsert=True)
        self._delete_others(name, touched, [r["id"] for r in doc_rows])
        self._delete_others(_sentences(name), touched, [r["id"] for r in sentence_rows])
        mode = "flat" if self._pointer_mode else "auto"
        self._write(
            _sentences(name),
            iter([_fingerprint_row(f"{combined_fingerprint(digests)} {mode}", live.dims)]),
            upsert=True,
        )
        # The new numbering: article after article in the corpus's order, kept articles' keys as they were.
        kept: dict[str, list[str]] = {}
        for key in index.keys:
            kept.setdefault(key.rsplit("#", 1)[0], []).append(key)
        for key in batch.keys:
            kept[key.rsplit("#", 1)[0]] = []
        for key, article in zip(batch.keys, batch.articles, strict=True):
            kept[article].append(key)
        keys = tuple(key for article in delta.order for key in kept[article])
        per_passage = np.diff(batch.doc_starts()) if batch.passages else np.zeros(0, np.int64)
        embedded = np.bincount(batch.doc_passage[batch.vector_doc], minlength=batch.passages)
        counts = (
            index._documents - len(old) + len(batch.doc_passage),
            index._vectors - sum(1 for _, e in old if e) + len(batch.vector_doc),
            max(index._most_docs, int(per_passage.max(initial=1))),
            max(index._most_vectors, int(embedded.max(initial=1))),
        )
        applied = _Live(name, live.dims, frequencies, digests)
        return MilvusIndex.derived(index, keys, counts, frequencies, applied)

    def _old_rows(self, name: str, articles: Sequence[str]) -> list[tuple[str, bool]]:
        """The analysed terms of the articles' document rows, and whether each is embedded."""
        found: list[tuple[str, bool]] = []
        conn = self.connection
        for group in _chunks(iter(articles), 100):
            expression = f"article_id in {_literals(group)}"
            rows = conn.call(
                lambda c, e=expression: c.query(
                    name, filter=e, output_fields=["terms", "embedded"], timeout=conn.write_timeout
                )
            )
            found.extend((str(r["terms"]), bool(r["embedded"])) for r in rows)
        return found

    def close(self) -> None:
        with self._lock:
            retiring, self._retiring = self._retiring, {}
            for name, timer in retiring.items():
                timer.cancel()
                self._drop_now(name)
            self.connection.close()

    def _build(self, batch: IndexBatch) -> MilvusIndex:
        previous = self.check()
        digests = article_fingerprints(batch)
        digest = self._digest(digests)
        dims = _dims(batch)
        conn = self.connection
        if previous is not None and conn.call(lambda c: _stored_fingerprint(c, previous)) == digest:
            # What a restart finds: the live pair already holds this corpus, so only its loading is left.
            conn.call(lambda c: _load(c, previous))
            self._drop_orphans(keep={previous})
            log.info("Milvus collection %s already indexes this corpus; reusing it", previous)
            return self._indexed(previous, batch, dims, digests)
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
        return self._indexed(name, batch, dims, digests)

    def _digest(self, digests: dict[str, int]) -> str:
        """What the pair records of itself: the batch's fingerprint, and which vector index it was given."""
        return f"{combined_fingerprint(digests)} {'flat' if self._pointer_mode else 'auto'}"

    def _indexed(self, name: str, batch: IndexBatch, dims: tuple[int, int], digests: dict[str, int]) -> MilvusIndex:
        frequencies = _document_frequencies(batch.doc_terms)
        live = _Live(name, dims, frequencies, digests)
        index = MilvusIndex(self.connection, name, batch, frequencies, live)
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
        digests = article_fingerprints(batch)
        self._write(_sentences(name), iter([_fingerprint_row(self._digest(digests), live.dims)]), upsert=True)
        return MilvusIndex(self.connection, name, batch, frequencies, _Live(name, live.dims, frequencies, digests))

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


def _document_frequencies(documents: Sequence[Sequence[str]]) -> Counter[str]:
    counts: Counter[str] = Counter(chain.from_iterable(set(d) for d in documents))
    counts.pop("", None)
    return counts
