"""The embedded index: compact alignments, nothing of the batch kept, the same answers at every precision."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

from index.search.backend import Alignment, IndexBatch
from index.search.embedded import AlignmentTable, EmbeddedBackend, EmbeddedIndex
from index.search.vectors import normalize_rows

LANGUAGES = ("en", "fr", "nl")


def make_batch(passages: int = 60, seed: int = 0, *, translated: bool = True) -> IndexBatch:
    """Passages with an original and (some) translations, each document a few terms, sentences with vectors."""
    rng = np.random.default_rng(seed)
    doc_passage, languages, terms, texts = [], [], [], []
    starts, spans, alignments = [0], [], {}
    for p in range(passages):
        extra = rng.choice(LANGUAGES[1:], size=int(rng.integers(0, 3)), replace=False) if translated else []
        versions = ["en", *extra]
        for language in versions:
            doc_passage.append(p)
            languages.append(str(language))
            drawn = [f"t{int(t)}" for t in rng.integers(0, 40, size=int(rng.integers(0, 8)))]
            terms.append(drawn)
            texts.append(" ".join(drawn))
        sentences = int(rng.integers(0, 4))
        spans += [(10 * s, 10 * s + 9) for s in range(sentences)]
        starts.append(starts[-1] + sentences)
        for language in versions[1:]:
            alignments[p, str(language)] = Alignment(((0, 5), (6, 9)), (((0,), (0, 1)), ((), ())))
    documents = len(doc_passage)
    sentences = starts[-1]
    return IndexBatch(
        keys=tuple(f"a{p // 10}#{p % 10}" for p in range(passages)),
        articles=tuple(f"a{p // 10}" for p in range(passages)),
        doc_passage=np.array(doc_passage, dtype=np.int64),
        doc_language=tuple(languages),
        doc_original=np.array([lang == "en" for lang in languages]),
        doc_terms=terms,
        doc_text=texts,
        vector_doc=np.arange(documents, dtype=np.int64),
        vectors=normalize_rows(rng.normal(size=(documents, 32)).astype(np.float32)),
        sentence_starts=np.array(starts, dtype=np.int64),
        sentence_spans=np.array(spans, dtype=np.int64).reshape(-1, 2),
        sentence_vectors=normalize_rows(rng.normal(size=(sentences, 32)).astype(np.float32)),
        sentence_echoes=normalize_rows(rng.normal(size=(sentences, 48)).astype(np.float32)),
        alignments=alignments,
    )


def test_alignments_come_back_exactly() -> None:
    rng = np.random.default_rng(1)
    alignments: dict[tuple[int, str], Alignment] = {}
    for passage in rng.choice(500, size=80, replace=False).tolist():
        for language in rng.choice(["de", "en", "es"], size=int(rng.integers(1, 3)), replace=False).tolist():
            spans = tuple((int(a), int(a) + 7) for a in rng.integers(0, 900, size=int(rng.integers(0, 5))))
            beads = tuple(
                (tuple(range(i, i + int(rng.integers(0, 3)))), tuple(range(i, i + int(rng.integers(0, 3)))))
                for i in range(int(rng.integers(0, 4)))
            )
            alignments[passage, language] = Alignment(spans, beads)
    table = AlignmentTable(alignments)
    assert len(table) == len(alignments)
    for (passage, language), alignment in alignments.items():
        assert table.get(passage, language) == alignment
    assert table.get(10_000, "de") is None and table.get(0, "fi") is None
    assert all(table.get(p, "de") is None for p in range(500) if (p, "de") not in alignments)
    assert AlignmentTable({}).get(0, "en") is None


def test_the_index_keeps_nothing_of_the_batch() -> None:
    batch = make_batch()
    arrays = [batch.vectors, batch.sentence_vectors, batch.sentence_echoes, batch.sentence_spans, batch.doc_passage]
    for precision in ("float32", "int8"):
        index = EmbeddedIndex(batch, precision=precision)
        held = [index.vectors.vectors, index.sentence_vectors.data, index.sentence_echoes.data, index.sentence_spans]
        assert not any(np.shares_memory(a, b) for a in arrays for b in held)
    # So the batch's arrays go when the batch does, while the index lives on.
    alive = weakref.ref(batch.sentence_vectors)
    del batch, arrays
    gc.collect()
    assert alive() is None and index.lexical.size > 0


@pytest.mark.parametrize("translated", [True, False])
def test_every_precision_finds_the_same(translated: bool) -> None:
    batch = make_batch(translated=translated)
    exact, compact = EmbeddedBackend("float32").build(batch), EmbeddedBackend().build(batch)
    tolerance = 6e-3  # int8 of random 32-dimensional vectors: coarser than an encoder's 384 dimensions (2e-3)
    rng = np.random.default_rng(4)
    for _ in range(10):
        query = normalize_rows(rng.normal(size=(1, 32)).astype(np.float32))[0]
        terms = [f"t{int(t)}" for t in rng.integers(0, 45, size=3)]
        got, want = compact.lexical_top(terms, 8), exact.lexical_top(terms, 8)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        found, cosines = compact.vector_top(query, 8)
        truth, exact_cosines = exact.vector_top(query, 8)
        np.testing.assert_allclose(cosines, exact_cosines, atol=tolerance)
        assert len(set(found.tolist()) & set(truth.tolist())) >= 7
        chosen = np.unique(np.r_[found, truth])
        a, b = compact.fetch(chosen, terms), exact.fetch(chosen, terms)
        for field in ("passages", "vector_owner", "doc_owner", "presence", "sentence_owner", "sentence_spans"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
        for field in ("vectors", "sentence_vectors", "sentence_echoes"):
            np.testing.assert_allclose(getattr(a, field), getattr(b, field), atol=tolerance, err_msg=field)
        np.testing.assert_array_equal(b.vectors, batch.vectors[np.isin(batch.doc_passage, chosen)])


def test_a_passage_counts_by_its_best_language_version() -> None:
    batch = make_batch()
    index = EmbeddedBackend("float32").build(batch)
    terms = ["t1", "t2", "t3"]
    best: dict[int, float] = {}
    for d, p in enumerate(batch.doc_passage.tolist()):
        score = float(index.base.lexical.scores(terms)[d])
        best[p] = max(best.get(p, 0.0), score)
    expected = sorted((p for p in best if best[p] > 0), key=lambda p: (-best[p], p))[:10]
    got, scores = index.lexical_top(terms, 10)
    assert got.tolist() == expected
    np.testing.assert_allclose(scores, [best[p] for p in expected], rtol=1e-6)
    assert index.alignment(0, "zz") is None


def test_the_default_precision_is_int8_and_smaller() -> None:
    batch = make_batch(200)
    compact, full = EmbeddedBackend().build(batch), EmbeddedBackend("float32").build(batch)
    assert compact.base.vectors.precision == "int8" and compact.base.sentence_vectors.data.dtype == np.int8
    assert compact.nbytes < full.nbytes
