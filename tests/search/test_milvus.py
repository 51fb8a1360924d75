"""The Milvus backend against the embedded one, on Milvus Lite run as its own process.

Batches are synthetic (terms drawn from a small vocabulary, random unit
vectors), so every difference is the backend's. One Lite server serves the
module; tests that stop a server start their own.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("pymilvus", reason="the milvus extra is not installed")
lite_module = pytest.importorskip("index.search.milvus_lite")
try:
    lite_module.binary()
except lite_module.LiteUnavailable as missing:  # pragma: no cover - depends on the installation
    pytest.skip(f"Milvus Lite is not available: {missing}", allow_module_level=True)

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from pymilvus import DataType, MilvusClient  # noqa: E402

from index.search.backend import (  # noqa: E402
    Alignment,
    BackendMisconfigured,
    BackendUnavailable,
    Delta,
    IndexBatch,
    fingerprint,
)
from index.search.embedded import EmbeddedBackend  # noqa: E402
from index.search.milvus import FINGERPRINT_ROW, MilvusBackend, MilvusIndex  # noqa: E402
from index.search.milvus_lite import LiteServer  # noqa: E402

DIM, ECHO_DIM = 16, 8
VOCABULARY = [f"t{i}" for i in range(60)]
ZIPF = (1 / np.arange(1, 61)) / (1 / np.arange(1, 61)).sum()

# Per article: original language, passages, translation languages. The second translation of every
# passage is left unembedded, as translations may be; one translation has no terms at all.
ARTICLES: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "a1": ("fr", 3, ("en", "nl")),
    "a2": ("id", 2, ("en",)),
    "a3": ("nl", 2, ("fr", "en")),
}


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def make_batch(
    articles: dict[str, tuple[str, int, tuple[str, ...]]] = ARTICLES,
    *,
    seed: int = 0,
    marker: str | None = None,
    reseed: dict[str, int] | None = None,
) -> IndexBatch:
    """A corpus of ``articles``; ``reseed`` gives an article other content (its own seed) than ``seed`` would."""
    keys: list[str] = []
    owners: list[str] = []
    doc_passage: list[int] = []
    languages: list[str] = []
    original: list[bool] = []
    terms: list[list[str]] = []
    texts: list[str] = []
    vector_doc: list[int] = []
    vectors: list[np.ndarray] = []
    starts = [0]
    spans: list[tuple[int, int]] = []
    sentence_vectors: list[np.ndarray] = []
    echoes: list[np.ndarray] = []
    alignments: dict[tuple[int, str], Alignment] = {}
    for article, (language, count, translations) in articles.items():
        rng = np.random.default_rng([seed, (reseed or {}).get(article, 0), *article.encode()])
        for position in range(count):
            passage = len(keys)
            keys.append(f"{article}#{position}")
            owners.append(article)
            for j, version in enumerate((language, *translations)):
                doc = len(doc_passage)
                doc_passage.append(passage)
                languages.append(version)
                original.append(j == 0)
                drawn = (
                    []
                    if (article == "a2" and position == 1 and j == 1)
                    else list(rng.choice(VOCABULARY, size=int(rng.integers(3, 25)), p=ZIPF))
                )
                terms.append([*drawn, marker] if marker else drawn)
                texts.append(f"{article} {position} {version}: " + " ".join(terms[-1]))
                vector = _unit(rng, 1, DIM)[0]
                if j < 2:
                    vector_doc.append(doc)
                    vectors.append(vector)
                if j > 0:
                    alignments[passage, version] = Alignment(((0, 5), (6, 12)), (((0,), (0,)), ((1,), (1,))))
            sentences = int(rng.integers(0, 4))
            for s in range(sentences):
                spans.append((s * 10, s * 10 + 9))
                sentence_vectors.append(_unit(rng, 1, DIM)[0])
                echoes.append(_unit(rng, 1, ECHO_DIM)[0])
            starts.append(starts[-1] + sentences)
    return IndexBatch(
        keys=tuple(keys),
        articles=tuple(owners),
        doc_passage=np.array(doc_passage, dtype=np.int64),
        doc_language=tuple(languages),
        doc_original=np.array(original, dtype=bool),
        doc_terms=terms,
        doc_text=texts,
        vector_doc=np.array(vector_doc, dtype=np.int64),
        vectors=np.array(vectors, dtype=np.float32).reshape(-1, DIM),
        sentence_starts=np.array(starts, dtype=np.int64),
        sentence_spans=np.array(spans, dtype=np.int64).reshape(-1, 2),
        sentence_vectors=np.array(sentence_vectors, dtype=np.float32).reshape(-1, DIM),
        sentence_echoes=np.array(echoes, dtype=np.float32).reshape(-1, ECHO_DIM),
        alignments=alignments,
    )


def embedded() -> EmbeddedBackend:
    """The embedded backend with float32 vectors (its compact int8 ones move cosines by about 0.001)."""
    return EmbeddedBackend(precision="float32")


def exact_vector_top(batch: IndexBatch, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each passage by its nearest embedded version, by exact float32 cosine; ties by passage number."""
    cosines = batch.vectors @ query
    best: dict[int, float] = {}
    for row, passage in enumerate(batch.doc_passage[batch.vector_doc].tolist()):
        best[passage] = max(best.get(passage, -np.inf), float(cosines[row]))
    order = sorted(best.items(), key=lambda item: (-item[1], item[0]))[:k]
    return np.array([p for p, _ in order], dtype=np.int64), np.array([c for _, c in order], dtype=np.float32)


def queries(seed: int, n: int = 30, *, repeats: bool = False) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    found = []
    for _ in range(n):
        drawn = list(rng.choice(VOCABULARY, size=int(rng.integers(1, 6)), p=ZIPF))
        if repeats:
            drawn += drawn[:1]
        found.append([*drawn, "unknown"] if rng.random() < 0.2 else drawn)
    return found


def assert_same_top(got: tuple[np.ndarray, np.ndarray], want: tuple[np.ndarray, np.ndarray]) -> None:
    """Same scores rank by rank; the same passages, except among ties at the cut (either may be kept)."""
    got_ids, got_scores = got
    want_ids, want_scores = want
    assert got_ids.dtype == np.int64 and got_scores.dtype == np.float32
    assert len(got_ids) == len(want_ids)
    np.testing.assert_allclose(got_scores, want_scores, rtol=1e-5, atol=1e-6)
    if len(want_ids):
        clear = ~np.isclose(want_scores, want_scores[-1], rtol=1e-5, atol=1e-6)
        assert set(got_ids[clear].tolist()) == set(want_ids[clear].tolist())


def assert_same_candidates(got: Any, want: Any) -> None:
    for field in ("passages", "vector_owner", "doc_owner", "presence", "sentence_owner", "sentence_spans"):
        np.testing.assert_array_equal(getattr(got, field), getattr(want, field), err_msg=field)
    for field in ("vectors", "sentence_vectors", "sentence_echoes"):
        assert getattr(got, field).shape == getattr(want, field).shape, field
        np.testing.assert_allclose(getattr(got, field), getattr(want, field), rtol=1e-6, err_msg=field)


def unit_query(seed: int) -> np.ndarray:
    return _unit(np.random.default_rng(seed), 1, DIM)[0]


def count(client: MilvusClient, collection: str, article: str) -> int:
    rows = client.query(collection, filter=f'article_id == "{article}"', output_fields=["count(*)"])
    return int(rows[0]["count(*)"])


@pytest.fixture(scope="module")
def lite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiteServer]:
    server = LiteServer(tmp_path_factory.mktemp("milvus") / "tests.db")
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def client(lite: LiteServer) -> Iterator[MilvusClient]:
    milvus = MilvusClient(uri=lite.uri, alias="newsbot-tests")
    yield milvus
    milvus.close()


@pytest.fixture
def backend(lite: LiteServer, request: pytest.FixtureRequest) -> Iterator[MilvusBackend]:
    # A collection setting per test: tests share the server, never each other's collections.
    made = MilvusBackend(lite.uri, collection=f"t_{request.node.name.replace('[', '_').strip(']')}"[:60])
    yield made
    made.close()


# -- parity ------------------------------------------------------------------------------------------------------


def test_lexical_top_matches_bm25s(backend: MilvusBackend) -> None:
    batch = make_batch()
    milvus, reference = backend.build(batch), embedded().build(batch)
    for k in (1, 3, 10, 50):
        for terms in queries(seed=k):
            assert_same_top(milvus.lexical_top(terms, k), reference.lexical_top(terms, k))
    # A repeated term counts again; exact here, where the search's depth covers the whole corpus.
    for terms in queries(seed=7, repeats=True):
        assert_same_top(milvus.lexical_top(terms, 50), reference.lexical_top(terms, 50))
    assert len(milvus.lexical_top([], 5)[0]) == 0
    assert len(milvus.lexical_top(["unknown"], 5)[0]) == 0


def test_vector_top_matches_exact_cosines(backend: MilvusBackend) -> None:
    batch = make_batch()
    milvus, reference = backend.build(batch), embedded().build(batch)
    for seed in range(20):
        query = unit_query(seed)
        for k in (1, 3, 7, 20):
            assert_same_top(milvus.vector_top(query, k), exact_vector_top(batch, query, k))
            assert_same_top(milvus.vector_top(query, k), reference.vector_top(query, k))


def test_milvus_lite_gets_an_exact_vector_index(backend: MilvusBackend, client: MilvusClient) -> None:
    """Lite's AUTOINDEX is an IVF_FLAT that ignores nprobe (recall@10 0.86 at 100k passages): FLAT there."""
    index = backend.build(make_batch())
    assert client.describe_index(index.name, "vector")["index_type"] == "FLAT"


def test_fetch_idf_and_alignments_match(backend: MilvusBackend) -> None:
    batch = make_batch()
    milvus, reference = backend.build(batch), embedded().build(batch)
    terms = ["t0", "t3", "t17", "unknown"]
    for passages in ([0], [4, 1], [6, 0, 3, 2], list(range(batch.passages))[::-1], [2, 2]):
        chosen = np.array(passages, dtype=np.int64)
        assert_same_candidates(milvus.fetch(chosen, terms), reference.fetch(chosen, terms))
    every = [*VOCABULARY, "unknown"]
    np.testing.assert_allclose(milvus.idf(every), reference.idf(every))
    for passage in range(batch.passages):
        for language in ("en", "fr", "nl", "id", "de"):
            assert milvus.alignment(passage, language) == reference.alignment(passage, language)


def test_an_empty_corpus(backend: MilvusBackend) -> None:
    index = backend.build(make_batch({}))
    assert len(index.lexical_top(["t0"], 5)[0]) == 0
    assert len(index.vector_top(unit_query(0), 5)[0]) == 0
    fetched = index.fetch(np.zeros(0, dtype=np.int64), ["t0"])
    assert fetched.vectors.shape == (0, DIM) and fetched.presence.shape == (0, 1)


# -- build, alias, update ----------------------------------------------------------------------------------------


def test_alias_swap_under_questions(lite: LiteServer, client: MilvusClient) -> None:
    """Questions run on the old index while the new one is built and swapped in: no errors, no mixed answers."""
    backend = MilvusBackend(lite.uri, collection="swap", drop_delay=5.0)
    batches = {"gen_a": make_batch(marker="gen_a"), "gen_b": make_batch(seed=1, marker="gen_b")}
    query_terms = ["gen_a", "gen_b", "t1", "t4"]
    vector = unit_query(3)
    references = {generation: embedded().build(batch) for generation, batch in batches.items()}
    expected = {
        generation: (index.lexical_top(query_terms, 5)[0].tolist(), index.vector_top(vector, 5)[0].tolist())
        for generation, index in references.items()
    }
    first = backend.build(batches["gen_a"])
    indexes: dict[str, MilvusIndex] = {"gen_a": first}
    errors: list[str] = []
    answered = {"gen_a": 0, "gen_b": 0}
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            for generation, index in list(indexes.items()):  # the new index, and the old one while still in use
                try:
                    lexical = index.lexical_top(query_terms, 5)
                    vectors = index.vector_top(vector, 5)
                    fetched = index.fetch(lexical[0], ["gen_a", "gen_b"])
                except Exception as error:
                    errors.append(f"{generation}: {error!r}")
                    continue
                marks = {("gen_a", "gen_b")[int(np.argmax(row))] for row in fetched.presence}
                if marks != {generation} or not fetched.presence.any(axis=1).all():
                    errors.append(f"{generation}: fetched {marks}")
                if (lexical[0].tolist(), vectors[0].tolist()) != expected[generation]:
                    errors.append(f"{generation}: found {lexical[0].tolist()}, {vectors[0].tolist()}")
                answered[generation] += 1

    def wait_for(condition: Any) -> None:
        deadline = time.monotonic() + 30
        while not condition() and not errors and time.monotonic() < deadline:
            time.sleep(0.02)

    thread = threading.Thread(target=ask)
    thread.start()
    try:
        wait_for(lambda: answered["gen_a"] >= 3)
        second = backend.build(batches["gen_b"])  # questions go on meanwhile
        assert backend.live_collection() == second.name != first.name
        indexes["gen_b"] = second
        after_swap = answered["gen_a"]
        wait_for(lambda: answered["gen_b"] >= 3 and answered["gen_a"] >= after_swap + 3)
        del indexes["gen_a"]  # the questions on the old index are over
    finally:
        stop.set()
        thread.join()
    assert not errors, errors[:5]
    assert answered["gen_a"] >= after_swap + 3 and answered["gen_b"] >= 3
    # The old pair is dropped once the questions under way had time to finish; its index then says so.
    pair = (first.name, f"{first.name}_sentences")
    deadline = time.monotonic() + 30
    while any(client.has_collection(name) for name in pair) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(client.has_collection(name) for name in pair)
    with pytest.raises(BackendUnavailable, match="no longer exists"):
        first.lexical_top(["t1"], 3)
    backend.close()


class _Spy:
    """Records the rows each write touches."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.written: list[tuple[str, str, list[str]]] = []
        self.fail_on: str | None = None

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name not in ("insert", "upsert", "delete"):
            return method

        def spied(collection: str, data: Any = None, **kwargs: Any) -> Any:
            ids = [row["id"] for row in data] if data is not None else list(kwargs.get("ids", []))
            self.written.append((name, collection, ids))
            if name == self.fail_on:
                raise RuntimeError(f"injected failure of {name}")
            return method(collection, data, **kwargs) if data is not None else method(collection, **kwargs)

        return spied


def test_update_writes_only_the_changed_articles(backend: MilvusBackend, client: MilvusClient) -> None:
    before = make_batch()
    old = backend.build(before)
    sentences = f"{old.name}_sentences"
    a1_rows = client.query(old.name, filter='article_id == "a1"', output_fields=["id", "terms", "vector"])
    # a2 rewritten with one passage and one translation fewer, a3 removed, a4 added; a1 untouched.
    articles = {"a1": ARTICLES["a1"], "a2": ("id", 1, ()), "a4": ("de", 2, ("en",))}
    after = make_batch(articles, reseed={"a2": 5})
    spy = _Spy(backend.connection._connected())
    backend.connection._client = spy
    new = backend.update(after, changed={"a2", "a4"}, removed={"a3"})

    assert new.name == old.name  # in place: no new collection
    for _, _, ids in spy.written:
        assert ids and all(i.split("#")[0] in ("a2", "a3", "a4") or i == FINGERPRINT_ROW for i in ids), ids
    deleted = {i for method, _, ids in spy.written if method == "delete" for i in ids}
    assert {"a2#1#id", "a2#0#en", "a3#0#nl", "a3#1#en"} <= deleted
    docs_per_article = {a: int(np.sum([after.articles[p] == a for p in after.doc_passage])) for a in articles}
    for article, docs in docs_per_article.items():
        assert count(client, old.name, article) == docs
    assert count(client, old.name, "a3") == 0
    assert count(client, sentences, "a3") == 0
    assert count(client, sentences, "a2") == int(after.sentence_starts[4] - after.sentence_starts[3])
    assert client.query(old.name, filter='article_id == "a1"', output_fields=["id", "terms", "vector"]) == a1_rows

    reference = embedded().build(after)
    for terms in queries(seed=11):
        assert_same_top(new.lexical_top(terms, 10), reference.lexical_top(terms, 10))
    for seed in range(5):
        assert_same_top(new.vector_top(unit_query(seed), 4), reference.vector_top(unit_query(seed), 4))
    np.testing.assert_allclose(new.idf(VOCABULARY), reference.idf(VOCABULARY))
    everything = np.arange(after.passages)
    assert_same_candidates(new.fetch(everything, ["t0", "t2"]), reference.fetch(everything, ["t0", "t2"]))

    # The old index keeps its numbering: it skips passages it does not know, and a3's rows are gone.
    numbers, _ = old.lexical_top(["t0", "t1", "t2"], 20)
    assert all(before.keys[n].split("#")[0] in ("a1", "a2") for n in numbers)
    gone = np.array([before.keys.index("a3#0")], dtype=np.int64)
    assert len(old.fetch(gone, ["t0"]).doc_owner) == 0
    assert len(old.vector_top(unit_query(1), 7)[0]) <= 7

    # A second update carries the document frequencies over again.
    again = make_batch(articles, reseed={"a2": 6})
    newer = backend.update(again, changed={"a2"}, removed=set())
    np.testing.assert_allclose(newer.idf(VOCABULARY), embedded().build(again).idf(VOCABULARY))


def test_a_restart_reuses_the_collection_holding_the_corpus(lite: LiteServer, client: MilvusClient) -> None:
    """A new process on the same corpus finds its index written: no collection is made, no row written."""
    batch = make_batch()
    first = MilvusBackend(lite.uri, collection="reuse", drop_delay=0)
    built = first.build(batch)
    first.close()
    collections = set(client.list_collections())

    restarted = MilvusBackend(lite.uri, collection="reuse", drop_delay=0)
    spy = _Spy(restarted.connection._connected())
    restarted.connection._client = spy
    reused = restarted.build(batch)
    assert reused.name == built.name and spy.written == []
    assert set(client.list_collections()) == collections
    reference = embedded().build(batch)
    for terms in queries(seed=3):
        assert_same_top(reused.lexical_top(terms, 5), reference.lexical_top(terms, 5))
    assert_same_top(reused.vector_top(unit_query(4), 5), reference.vector_top(unit_query(4), 5))
    everything = np.arange(batch.passages)
    assert_same_candidates(reused.fetch(everything, ["t0", "t5"]), reference.fetch(everything, ["t0", "t5"]))

    # Updated in place, the pair records the corpus it now holds: the next start with it reuses it,
    # one with the corpus as it was builds afresh.
    changed = make_batch(reseed={"a2": 9})
    updated = restarted.update(changed, changed={"a2"}, removed=set())
    assert updated.name == built.name
    restarted.close()
    again = MilvusBackend(lite.uri, collection="reuse", drop_delay=0)
    try:
        assert again.build(changed).name == built.name
        fresh = again.build(batch)
        assert fresh.name != built.name and again.live_collection() == fresh.name
        assert_same_top(fresh.lexical_top(["t0", "t1"], 5), reference.lexical_top(["t0", "t1"], 5))
    finally:
        again.close()


def test_a_half_done_update_is_never_reused(lite: LiteServer) -> None:
    batch = make_batch()
    backend = MilvusBackend(lite.uri, collection="halfway", drop_delay=0)
    try:
        built = backend.build(batch)
        failing = _Spy(backend.connection._connected())
        backend.connection._client = failing
        failing.fail_on = "delete"  # the update dies after its upserts
        with pytest.raises(RuntimeError, match="injected"):
            backend.update(make_batch(reseed={"a2": 9}), changed={"a2"}, removed=set())
        backend.connection._client = failing._client
        assert backend.build(batch).name != built.name  # its rows are neither corpus's: written afresh
    finally:
        backend.close()


def test_a_delta_killed_halfway_is_never_reused_and_a_whole_one_is(lite: LiteServer) -> None:
    """A delta that dies between its writes leaves a pair no corpus matches (the next start rebuilds); one that
    completes leaves the pair a restart over the new corpus reuses, as a full build's."""
    backend = MilvusBackend(lite.uri, collection="delta_halfway", drop_delay=0)
    try:
        built = backend.build(make_batch())
        failing = _Spy(backend.connection._connected())
        backend.connection._client = failing
        failing.fail_on = "delete"  # the delta dies after its upserts
        changed = make_batch({"a2": ARTICLES["a2"]}, reseed={"a2": 9})
        with pytest.raises(RuntimeError, match="injected"):
            backend.apply(built, Delta(changed, frozenset({"a2"}), list(ARTICLES)))
        backend.connection._client = failing._client
        rebuilt = backend.build(make_batch())
        assert rebuilt.name != built.name  # written afresh
        applied = backend.apply(rebuilt, Delta(changed, frozenset({"a2"}), list(ARTICLES)))
        restarted = MilvusBackend(lite.uri, collection="delta_halfway", drop_delay=0)
        try:
            assert restarted.build(make_batch(reseed={"a2": 9})).name == applied.name  # reused: they agree
        finally:
            restarted.close()
    finally:
        backend.close()


def test_the_fingerprint_changes_with_anything_a_backend_stores() -> None:
    batch = make_batch()
    assert fingerprint(batch) == fingerprint(make_batch())
    assert fingerprint(batch) != fingerprint(make_batch(reseed={"a3": 1}))
    terms = [list(t) for t in batch.doc_terms]
    terms[2] = [*terms[2], "t1"]
    vectors = batch.vectors.copy()
    vectors[1, 0] += 1e-3
    echoes = batch.sentence_echoes.copy()
    echoes[0, 0] += 1e-3
    other_alignment = dict(batch.alignments)
    first = next(iter(other_alignment))
    other_alignment[first] = Alignment(((0, 4), (6, 12)), (((0,), (0,)), ((1,), (1,))))
    for changed in (
        {"doc_terms": terms},
        {"doc_text": [*batch.doc_text[:-1], batch.doc_text[-1] + "!"]},
        {"vectors": vectors},
        {"sentence_echoes": echoes},
        {"alignments": other_alignment},
        {"doc_language": (*batch.doc_language[:-1], "de")},
    ):
        assert fingerprint(dataclasses.replace(batch, **changed)) != fingerprint(batch), changed


def test_update_without_a_built_index_builds(backend: MilvusBackend) -> None:
    batch = make_batch()
    index = backend.update(batch, changed={"a1"}, removed=set())
    assert backend.live_collection() == index.name
    assert_same_top(index.lexical_top(["t0"], 5), embedded().build(batch).lexical_top(["t0"], 5))


# -- failures ----------------------------------------------------------------------------------------------------


def recovered(call: Any) -> Any:
    """``call()`` once Milvus answers again: at once, or (on a loaded machine, with a one-second timeout,
    a restarted Lite can be slow to take its first connection) within a few calls."""
    for _ in range(10):
        try:
            return call()
        except BackendUnavailable:
            time.sleep(0.5)
    return call()


def test_milvus_stopped_and_restarted_under_an_index(tmp_path: Path) -> None:
    server = LiteServer(tmp_path / "restart.db")
    server.start()
    backend = MilvusBackend(server.uri, collection="restart", timeout=1)
    try:
        batch = make_batch()
        index = backend.build(batch)
        terms, vector = ["t0", "t3"], unit_query(2)
        lexical, nearest = index.lexical_top(terms, 5), index.vector_top(vector, 5)
        for kill in (True, False):  # a crash, then an orderly stop
            server.stop(kill=kill)
            started = time.monotonic()
            with pytest.raises(BackendUnavailable, match=r"search\.milvus\.uri"):
                index.lexical_top(terms, 5)
            assert time.monotonic() - started < 5
            with pytest.raises(BackendUnavailable):
                index.fetch(np.array([0, 1]), terms)
            with pytest.raises(BackendUnavailable):
                backend.build(batch)
            server.start()
            assert_same_top(recovered(lambda: index.lexical_top(terms, 5)), lexical)  # nothing lost
            assert_same_top(index.vector_top(vector, 5), nearest)
        rebuilt = backend.build(batch)
        assert_same_top(rebuilt.lexical_top(terms, 5), lexical)
    finally:
        backend.close()
        server.close()


def test_milvus_killed_and_restarted_while_questions_run(tmp_path: Path) -> None:
    """Four threads ask without pause while Milvus dies and comes back: each question is answered right or
    gets BackendUnavailable, never another error or a wrong answer, and all are answered right after."""
    server = LiteServer(tmp_path / "load.db")
    server.start()
    backend = MilvusBackend(server.uri, collection="under_load", timeout=1)
    outcomes: list[str] = []
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        batch = make_batch()
        index = backend.build(batch)
        reference = embedded().build(batch)
        asked = [(terms, unit_query(seed)) for seed, terms in enumerate(queries(seed=5, n=8))]
        expected = [(reference.lexical_top(t, 5)[0].tolist(), reference.vector_top(v, 5)[0].tolist()) for t, v in asked]

        def ask(offset: int) -> None:
            turn = offset
            while not stop.is_set():
                terms, vector = asked[turn % len(asked)]
                try:
                    got = (index.lexical_top(terms, 5)[0].tolist(), index.vector_top(vector, 5)[0].tolist())
                    index.fetch(np.array(got[0][:2], dtype=np.int64), terms)
                except BackendUnavailable:
                    outcomes.append("unavailable")
                except Exception as error:  # anything else is a bug
                    outcomes.append(f"error: {error!r} {error}")
                else:
                    outcomes.append("right" if got == expected[turn % len(asked)] else f"wrong: {terms}")
                turn += 1

        threads += [threading.Thread(target=ask, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        server.stop(kill=True)
        time.sleep(2.0)
        server.start()
        recovered(lambda: index.lexical_top(asked[0][0], 5))
        settled = len(outcomes)
        time.sleep(2.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        backend.close()
        server.close()
    assert not [o for o in outcomes if o not in ("right", "unavailable")], outcomes[:5]
    assert "unavailable" in outcomes[:settled] and outcomes.count("right") > 20
    assert set(outcomes[settled + 8 :]) == {"right"}  # once back, every question (a few in flight aside)


def test_a_lite_file_uri_runs_and_restarts_its_own_server(tmp_path: Path) -> None:
    backend = MilvusBackend(str(tmp_path / "own.db"), collection="own", timeout=1)
    server = backend.connection.lite_server()
    assert server is not None and server.running()
    index = backend.build(make_batch())
    want = index.lexical_top(["t0"], 3)
    assert server.pid is not None
    os.kill(server.pid, signal.SIGKILL)
    time.sleep(0.2)
    with pytest.raises(BackendUnavailable):
        index.lexical_top(["t0"], 3)
    assert server.running()  # started again by the failed call
    assert_same_top(recovered(lambda: index.lexical_top(["t0"], 3)), want)
    backend.close()
    assert not server.running()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "uri",
    [
        f"http://127.0.0.1:{_closed_port()}",
        f"http://user:hunter2@127.0.0.1:{_closed_port()}",
        "unix:/nonexistent/milvus.sock",
    ],
)
def test_an_unreachable_uri_names_the_setting_not_the_token(uri: str) -> None:
    with pytest.raises(BackendUnavailable) as raised:
        MilvusBackend(uri, token="s3cret-token", timeout=1)
    message = str(raised.value)
    assert "search.milvus.uri" in message
    assert "s3cret-token" not in message and "hunter2" not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_a_bad_lite_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match=r"search\.milvus\.uri"):
        MilvusBackend(str(tmp_path / ("x" * 40 + ".db")))


def create_someone_elses_collection(client: MilvusClient, name: str) -> None:
    """A collection of another schema than ours, as another application would make."""
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=4)
    indexes = client.prepare_index_params()
    indexes.add_index("embedding", index_type="AUTOINDEX", metric_type="IP")
    client.create_collection(name, schema=schema, index_params=indexes)


def test_a_collection_of_another_schema_names_the_setting(lite: LiteServer, client: MilvusClient) -> None:
    create_someone_elses_collection(client, "someone_elses")
    with pytest.raises(BackendMisconfigured, match=r"search\.milvus\.collection 'someone_elses'"):
        MilvusBackend(lite.uri, collection="someone_elses")
    assert client.has_collection("someone_elses")  # left alone

    # Our pointer, but naming a collection that is not ours.
    ours = MilvusBackend(lite.uri, collection="pointing")
    ours.build(make_batch())
    client.upsert("pointing", [{"id": "live", "target": "someone_elses", "placeholder": [0.0, 0.0]}])
    with pytest.raises(BackendMisconfigured, match=r"search\.milvus\.collection 'pointing'"):
        ours.build(make_batch())
    ours.close()

    with pytest.raises(BackendMisconfigured, match=r"search\.milvus\.collection"):
        MilvusBackend(lite.uri, collection="not-a-name")


def test_the_bot_reports_a_collection_of_another_schema_as_a_configuration_problem(
    lite: LiteServer, client: MilvusClient
) -> None:
    from bot._backends import open_backend
    from bot._config import ConfigError, MilvusSettings

    create_someone_elses_collection(client, "their_news")
    with pytest.raises(ConfigError, match=r"search\.milvus\.collection 'their_news'"):
        open_backend("milvus", MilvusSettings(uri=lite.uri, collection="their_news"), None)


# -- deltas ------------------------------------------------------------------------------------------------------

_DELTA_RUNS = iter(range(10_000))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["add", "edit", "remove"]), st.integers(0, 50)), min_size=1, max_size=5))
def test_any_sequence_of_deltas_answers_as_a_full_build(lite: LiteServer, steps: list[tuple[str, int]]) -> None:
    """Adds, edits and removals applied as deltas (upserts, deletes) leave Milvus where a full build puts it."""
    articles = dict(ARTICLES)
    reseed: dict[str, int] = {}
    backend = MilvusBackend(lite.uri, collection=f"deltas_{next(_DELTA_RUNS)}", drop_delay=0)
    try:
        index = backend.build(make_batch(articles))
        for kind, seed in steps:
            if kind == "remove" and len(articles) > 1:
                gone = sorted(articles)[seed % len(articles)]
                del articles[gone]
                reseed.pop(gone, None)
                delta = Delta(make_batch({}), frozenset({gone}), list(articles))
            else:
                target = sorted(articles)[seed % len(articles)] if kind == "edit" else f"n{seed % 7}"
                if target not in articles:
                    articles[target] = (["en", "fr", "nl"][seed % 3], 1 + seed % 3, (("de",) if seed % 2 else ()))
                reseed[target] = seed + 1
                changed = make_batch({target: articles[target]}, reseed=reseed)
                delta = Delta(changed, frozenset({target}), list(articles))
            index = backend.apply(index, delta)
        full = make_batch(articles, reseed=reseed)
        built = embedded().build(full)
        for i, terms in enumerate(queries(7, 8)):
            assert_same_top(index.lexical_top(terms, 5), built.lexical_top(terms, 5))
            assert_same_top(index.vector_top(unit_query(i), 4), built.vector_top(unit_query(i), 4))
            np.testing.assert_allclose(index.idf(terms), built.idf(terms), rtol=1e-9)
        every = np.arange(full.passages, dtype=np.int64)
        assert_same_candidates(index.fetch(every, ["t0", "t1"]), built.fetch(every, ["t0", "t1"]))
        assert fingerprint(full).split("-")[0] in backend.connection.call(
            lambda c: str(c.get(f"{index.name}_sentences", ids=[FINGERPRINT_ROW], output_fields=["passage_key"]))
        )
    finally:
        backend.close()
