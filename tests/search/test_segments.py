"""The segmented embedded index: after any adds, edits, removals and merges, the same answers as a full build.

The property behind "an added article costs what it adds": a delta (a small
segment, tombstones) and the merges that follow must leave every score,
every order and every fetched row exactly where one index built from scratch
over the same corpus puts them.
"""

from __future__ import annotations

import threading

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.search.backend import Alignment, Delta, IndexBatch
from index.search.embedded import EmbeddedBackend, SegmentedIndex
from index.search.segments import MergePolicy
from index.search.vectors import normalize_rows

LANGUAGES = ("en", "fr", "nl")
TERMS = [f"t{i}" for i in range(30)]


def article(seed: int) -> list[dict]:
    """An article's passages: documents (original, some translations) with terms and vectors, sentences."""
    rng = np.random.default_rng(seed)
    passages = []
    for _ in range(int(rng.integers(1, 5))):
        versions = ["en", *rng.choice(LANGUAGES[1:], size=int(rng.integers(0, 3)), replace=False).tolist()]
        sentences = int(rng.integers(0, 4))
        passages.append(
            {
                "docs": [(v, [str(t) for t in rng.choice(TERMS, size=int(rng.integers(0, 8)))]) for v in versions],
                "vectors": normalize_rows(rng.normal(size=(len(versions), 16)).astype(np.float32)),
                "spans": [(10 * s, 10 * s + 9) for s in range(sentences)],
                "sentences": normalize_rows(rng.normal(size=(sentences, 16)).astype(np.float32)),
                "echoes": normalize_rows(rng.normal(size=(sentences, 12)).astype(np.float32)),
            }
        )
    return passages


def batch_of(corpus: dict[str, list[dict]], ids: list[str]) -> IndexBatch:
    """The batch of the given articles, in that order, as the engine would hand it."""
    keys, articles, doc_passage, languages, terms = [], [], [], [], []
    vectors, spans, sentences, echoes, starts, alignments = [], [], [], [], [0], {}
    for article_id in ids:
        for position, passage in enumerate(corpus[article_id]):
            number = len(keys)
            keys.append(f"{article_id}#{position}")
            articles.append(article_id)
            for language, drawn in passage["docs"]:
                doc_passage.append(number)
                languages.append(language)
                terms.append(drawn)
                if language != "en":
                    alignments[number, language] = Alignment(((0, 3), (4, 9)), (((0,), (0, 1)),))
            vectors.append(passage["vectors"])
            spans += passage["spans"]
            sentences.append(passage["sentences"])
            echoes.append(passage["echoes"])
            starts.append(starts[-1] + len(passage["spans"]))
    return IndexBatch(
        keys=tuple(keys),
        articles=tuple(articles),
        doc_passage=np.array(doc_passage, dtype=np.int64),
        doc_language=tuple(languages),
        doc_original=np.array([lang == "en" for lang in languages], dtype=bool),
        doc_terms=terms,
        doc_text=[" ".join(t) for t in terms],
        vector_doc=np.arange(len(doc_passage), dtype=np.int64),
        vectors=np.vstack(vectors) if vectors else np.zeros((0, 16), np.float32),
        sentence_starts=np.array(starts, dtype=np.int64),
        sentence_spans=np.array(spans, dtype=np.int64).reshape(-1, 2),
        sentence_vectors=np.vstack(sentences) if sentences else np.zeros((0, 16), np.float32),
        sentence_echoes=np.vstack(echoes) if echoes else np.zeros((0, 12), np.float32),
        alignments=alignments,
    )


def assert_same_order_but_ties(numbers: np.ndarray, expected: np.ndarray, scores: np.ndarray) -> None:
    """The same passages in the same order, but where scores tie to within float rounding (1e-6), in any order;
    a tie cut at the last place may keep either passage."""
    assert len(numbers) == len(expected)
    start = 0
    while start < len(expected):
        end = start + 1
        while end < len(expected) and abs(float(scores[end]) - float(scores[start])) <= 1e-6:
            end += 1
        if end < len(expected):
            assert set(numbers[start:end].tolist()) == set(expected[start:end].tolist())
        start = end


def assert_same(changed: SegmentedIndex, built: SegmentedIndex, seed: int) -> None:
    """Every request a question makes gives the same answer, to the bit where a full build's is exact."""
    rng = np.random.default_rng(seed)
    assert changed.passages == built.passages
    for _ in range(6):
        terms = [str(t) for t in rng.choice([*TERMS, "unseen"], size=int(rng.integers(1, 5)))]
        numbers, scores = changed.lexical_top(terms, 7)
        expected_numbers, expected_scores = built.lexical_top(terms, 7)
        np.testing.assert_array_equal(numbers, expected_numbers)
        np.testing.assert_allclose(scores, expected_scores, rtol=0, atol=1e-6)
        np.testing.assert_allclose(changed.idf(terms), built.idf(terms), rtol=0, atol=1e-9)
        query = normalize_rows(rng.normal(size=(1, 16)).astype(np.float32))[0]
        numbers, cosines = changed.vector_top(query, 5)
        expected_numbers, expected_cosines = built.vector_top(query, 5)
        np.testing.assert_allclose(cosines, expected_cosines, rtol=0, atol=1e-6)
        assert_same_order_but_ties(numbers, expected_numbers, expected_cosines)
        if built.passages:
            asked = rng.choice(built.passages, size=min(4, built.passages), replace=False)
            got, expected = changed.fetch(asked, terms), built.fetch(asked, terms)
            for field in ("vector_owner", "doc_owner", "presence", "sentence_owner", "sentence_spans"):
                np.testing.assert_array_equal(getattr(got, field), getattr(expected, field))
            for field in ("vectors", "sentence_vectors", "sentence_echoes"):
                np.testing.assert_allclose(getattr(got, field), getattr(expected, field), rtol=0, atol=1e-6)
            for number in asked.tolist():
                for language in LANGUAGES:
                    assert changed.alignment(number, language) == built.alignment(number, language)


operations = st.lists(
    st.tuples(st.sampled_from(["add", "edit", "remove", "merge"]), st.integers(0, 10_000)), min_size=1, max_size=12
)


def replay(steps: list[tuple[str, int]], precision: str) -> tuple[SegmentedIndex, SegmentedIndex]:
    """The index after ``steps`` applied one by one, and one built from scratch over the same corpus."""
    corpus = {f"a{i:03d}": article(i) for i in range(0, 12, 2)}
    backend = EmbeddedBackend(precision, policy=MergePolicy(factor=2, floor=2), background=False)  # type: ignore[arg-type]
    index = backend.build(batch_of(corpus, sorted(corpus)))
    for kind, seed in steps:
        if kind == "merge":
            backend.merge_now()
            continue
        ids = sorted(corpus)
        target = f"a{seed % 24:03d}"
        if kind == "remove" and ids:
            target = ids[seed % len(ids)]
            del corpus[target]
            fresh: list[str] = []
        elif kind == "edit" and ids:
            target = ids[seed % len(ids)]
            corpus[target] = article(seed + 1000)
            fresh = [target]
        else:
            removed = target in corpus
            corpus[target] = article(seed)
            fresh = [target]
            if removed:
                kind = "edit"
        removed_ids = frozenset([target]) if kind in ("remove", "edit") else frozenset()
        delta = Delta(batch_of(corpus, sorted(fresh)), removed_ids, sorted(corpus))
        index = backend.apply(index, delta)
    # int8 codes against one reference: the full build shares the backend (its mean); float32 needs none.
    rebuilt = (backend if precision == "int8" else EmbeddedBackend(precision)).build(batch_of(corpus, sorted(corpus)))  # type: ignore[arg-type]
    return index, rebuilt


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations, st.integers(0, 2**16))
def test_any_sequence_of_changes_answers_as_a_full_build(steps: list[tuple[str, int]], seed: int) -> None:
    changed, built = replay(steps, "float32")
    assert_same(changed, built, seed)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations, st.integers(0, 2**16))
def test_int8_segments_read_back_as_a_full_build_on_the_same_backend(steps: list[tuple[str, int]], seed: int) -> None:
    changed, built = replay(steps, "int8")
    assert_same(changed, built, seed)


def test_small_segments_pile_up_then_merge_into_one() -> None:
    corpus = {f"a{i:03d}": article(i) for i in range(4)}
    backend = EmbeddedBackend("float32", policy=MergePolicy(factor=3, floor=2), background=False)
    index = backend.build(batch_of(corpus, sorted(corpus)))
    for i in range(10, 13):
        corpus[f"a{i:03d}"] = article(i)
        index = backend.apply(index, Delta(batch_of(corpus, [f"a{i:03d}"]), frozenset(), sorted(corpus)))
    assert len(index.segments) == 4
    assert backend.merge_now() >= 1 and len(index.segments) < 4 and backend.merges
    assert_same(index, EmbeddedBackend("float32").build(batch_of(corpus, sorted(corpus))), 3)


def test_a_merge_under_a_stream_of_questions_changes_no_answer() -> None:
    """Questions asked while merges are made and swapped in all get the answers of the full build."""
    corpus = {f"a{i:03d}": article(i) for i in range(20)}
    backend = EmbeddedBackend("float32", policy=MergePolicy(factor=2, floor=2), background=False)
    index = backend.build(batch_of(corpus, sorted(corpus)))
    for i in range(40, 56):
        corpus[f"a{i:03d}"] = article(i)
        removed = frozenset({"a003"}) if i == 41 else frozenset()
        corpus.pop("a003") if removed else None
        index = backend.apply(index, Delta(batch_of(corpus, [f"a{i:03d}"]), removed, sorted(corpus)))
    built = EmbeddedBackend("float32").build(batch_of(corpus, sorted(corpus)))
    queries = [normalize_rows(np.random.default_rng(q).normal(size=(1, 16)).astype(np.float32))[0] for q in range(8)]
    expected = [
        (built.vector_top(q, 5)[0].tolist(), built.lexical_top([TERMS[i], TERMS[i + 1]], 5)[0].tolist())
        for i, q in enumerate(queries)
    ]
    mismatches: list[int] = []
    asked = [0]
    done = threading.Event()

    def ask() -> None:
        while not done.is_set() or asked[0] < 50:
            i = asked[0] % len(queries)
            got = (
                index.vector_top(queries[i], 5)[0].tolist(),
                index.lexical_top([TERMS[i], TERMS[i + 1]], 5)[0].tolist(),
            )
            if got != expected[i]:
                mismatches.append(i)
            asked[0] += 1

    asker = threading.Thread(target=ask)
    asker.start()
    merged = backend.merge_now()
    done.set()
    asker.join()
    assert merged >= 1 and asked[0] >= 50
    assert mismatches == []
    assert_same(index, built, 5)


def test_questions_never_take_the_lock_a_merge_or_a_delta_holds() -> None:
    corpus = {f"a{i:03d}": article(i) for i in range(6)}
    backend = EmbeddedBackend("float32", background=False)
    index = backend.build(batch_of(corpus, sorted(corpus)))
    answered: list[int] = []
    with backend._lock:  # what a merge's swap or a delta holds
        asker = threading.Thread(target=lambda: answered.append(len(index.lexical_top(["t1", "t2"], 5)[0])))
        asker.start()
        asker.join(timeout=60)
        assert not asker.is_alive() and answered
