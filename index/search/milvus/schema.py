"""Milvus collections and their schemas: the documents and sentences of a pair, their rows, checks of a found one.

What each field holds is in the package docstring (:mod:`index.search.milvus`). Here are the constants of
the layout, the functions that create a pair's collections, turn an :class:`~index.search.backend.IndexBatch`
into rows, and refuse a collection of another schema, plus the small expression helpers both the builder
and the queries use.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..backend import BackendMisconfigured, IndexBatch
from ..lexical import K1, B
from .connection import DataType, Function, FunctionType, T

log = logging.getLogger(__name__)

SCHEMA = "newsbot passages 1"
"""The documents collection's description: marks our collections and their layout version."""
EMPTY = "\ue000"
"""Stands for a document with no terms: bm25s indexes such a document as one empty token (length 1),
so Milvus must count one token too for the average length, and so the scores, to match."""
MAX_VARCHAR = 65_535
"""Milvus's VARCHAR limit, in bytes."""
BLOCK = 1000
"""Rows prepared at a time for inserts."""
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


def _sentences(name: str) -> str:
    return f"{name}_sentences"


def _dims(batch: IndexBatch) -> tuple[int, int]:
    """The retrieval and cross-lingual vectors' dimensions (Milvus wants at least 2)."""
    dim = int(batch.vectors.shape[1]) if batch.vectors.ndim == 2 else 0
    if dim == 0 and batch.sentence_vectors.ndim == 2:
        dim = int(batch.sentence_vectors.shape[1])
    echo = int(batch.sentence_echoes.shape[1]) if batch.sentence_echoes.ndim == 2 else 0
    return max(dim, 2), max(echo, 2)


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
