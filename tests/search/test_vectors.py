"""Vectors stored as int8 or float16 keep their cosines, their order and the search's recall."""

from __future__ import annotations

import numpy as np
import pytest

from index.search.vectors import Int8Rows, VectorIndex, normalize_rows, store_rows, top_k


def encoder_like(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    """Unit vectors sharing a large common direction, as an encoder's do (e5's cosines rarely fall below 0.7)."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=dim)
    return normalize_rows(2.0 * common / np.linalg.norm(common) + rng.normal(size=(n, dim)) / np.sqrt(dim))


@pytest.mark.parametrize(("precision", "tolerance"), [("float32", 1e-6), ("float16", 2e-4), ("int8", 2.5e-3)])
def test_stored_rows_keep_their_cosines(precision: str, tolerance: float) -> None:
    vectors, queries = encoder_like(2000), encoder_like(20, seed=1)
    rows = store_rows(vectors, precision)  # type: ignore[arg-type]
    exact = queries @ vectors.T
    np.testing.assert_allclose(np.vstack([rows.dot(q) for q in queries]), exact, atol=tolerance)
    np.testing.assert_allclose(rows.take(np.arange(2000)) @ queries.T, exact.T, atol=tolerance)
    np.testing.assert_allclose(rows.dot(queries[0], 100, 200), exact[0, 100:200], atol=tolerance)


def test_int8_is_a_quarter_of_float32_and_finer_than_plain_scaling() -> None:
    vectors, queries = encoder_like(2000), encoder_like(50, seed=1)
    rows = store_rows(vectors, "int8")
    assert isinstance(rows, Int8Rows) and rows.data.dtype == np.int8
    assert rows.nbytes < vectors.nbytes / 3.5
    # Without the mean subtracted, the common direction would spend most of the 255 steps.
    scale = np.abs(vectors).max(axis=1, keepdims=True) / 127
    plain = np.rint(vectors / scale) * scale
    centred_error = np.abs(np.vstack([rows.dot(q) for q in queries]) - queries @ vectors.T).mean()
    plain_error = np.abs(queries @ plain.T - queries @ vectors.T).mean()
    assert centred_error < plain_error / 2


def test_rows_can_be_stored_in_another_order() -> None:
    vectors = encoder_like(300)
    order = np.random.default_rng(2).permutation(300)
    np.testing.assert_array_equal(store_rows(vectors, "float32", order=order).take(np.arange(300)), vectors[order])
    np.testing.assert_allclose(store_rows(vectors, "int8", order=order).take(np.arange(300)), vectors[order], atol=3e-3)


def test_an_unknown_precision_is_refused() -> None:
    with pytest.raises(ValueError, match="bfloat16"):
        store_rows(encoder_like(3), "bfloat16")  # type: ignore[arg-type]


@pytest.mark.parametrize("precision", ["float16", "int8"])
def test_exact_search_keeps_the_order_where_cosines_are_apart(precision: str) -> None:
    # Neighbours apart by more than the storage's error come back in exactly float32's order.
    vectors, queries = encoder_like(3000), encoder_like(30, seed=1)
    full, compact = VectorIndex(vectors), VectorIndex(vectors, precision=precision)  # type: ignore[arg-type]
    assert compact.vectors.nbytes < full.vectors.nbytes
    for query in queries:
        truth, scores = full.search(query, 20)
        found, _ = compact.search(query, 20)
        apart = np.r_[True, np.diff(scores) < -6e-3] & np.r_[np.diff(scores) < -6e-3, True]
        assert np.array_equal(found[apart], truth[apart])
        assert len(set(found[:10].tolist()) & set(truth[:10].tolist())) >= 9


def test_the_inverted_file_index_keeps_recall_on_int8() -> None:
    rng = np.random.default_rng(3)
    centres = normalize_rows(rng.normal(size=(40, 64)).astype(np.float32))
    vectors = normalize_rows(centres[rng.integers(0, 40, 5000)] + 0.08 * rng.normal(size=(5000, 64)))
    exact = VectorIndex(vectors)
    approximate = VectorIndex(vectors, exact_limit=1000, precision="int8")
    assert exact.exact and not approximate.exact
    np.testing.assert_allclose(approximate.original_order(), vectors, atol=3e-3)
    np.testing.assert_allclose(approximate.rows(np.array([7, 3])), vectors[[7, 3]], atol=3e-3)
    recall = []
    for query in normalize_rows(0.1 * rng.normal(size=(50, 64)) + centres[rng.integers(0, 40, 50)]):
        truth, _ = exact.search(query, 10)
        found, scores = approximate.search(query, 10)
        assert found.dtype == np.int64 and list(scores) == sorted(scores, reverse=True)
        np.testing.assert_allclose(scores, vectors[found] @ query, atol=3e-3)
        recall.append(len(set(truth) & set(found)) / 10)
    assert np.mean(recall) >= 0.9


def test_empty_collections_find_nothing() -> None:
    for precision in ("float32", "int8"):
        index = VectorIndex(np.zeros((0, 8), dtype=np.float32), precision=precision)  # type: ignore[arg-type]
        rows, scores = index.search(np.ones(8, dtype=np.float32), 5)
        assert len(rows) == len(scores) == 0


def test_top_k_breaks_ties_by_index() -> None:
    assert top_k(np.array([0.5, 0.9, 0.9, 0.1]), 3).tolist() == [1, 2, 0]
    assert top_k(np.array([1.0]), 0).tolist() == []


def test_refined_int8_rows_read_back_as_close_as_float16() -> None:
    vectors, queries = encoder_like(2000, dim=65), encoder_like(20, dim=65, seed=1)  # an odd dimension too
    coarse, refined = store_rows(vectors, "int8"), store_rows(vectors, "int8", refine=True)
    assert isinstance(refined, Int8Rows) and refined.fine is not None and refined.fine.shape == (2000, 33)
    assert refined.nbytes < 0.4 * vectors.nbytes
    rows = np.arange(2000)
    coarse_error = np.abs(coarse.take(rows) @ queries.T - vectors @ queries.T).max()
    refined_error = np.abs(refined.take(rows) @ queries.T - vectors @ queries.T).max()
    assert refined_error < 2e-4 < coarse_error and refined_error < coarse_error / 8
    # Scans read the int8 codes alone, refined or not.
    np.testing.assert_array_equal(refined.dot(queries[0]), coarse.dot(queries[0]))


@pytest.mark.parametrize("exact_limit", [10_000, 1000])
def test_rescoring_gives_float32s_ranking_and_cosines(exact_limit: int) -> None:
    # Rows a few 1e-4 apart: int8 alone confuses their order, the rescored search does not.
    rng = np.random.default_rng(5)
    base = encoder_like(1, dim=384)[0]
    vectors = normalize_rows(base + 0.02 * rng.normal(size=(3000, 384)))
    full = VectorIndex(vectors, exact_limit=exact_limit, probes=64)
    coarse = VectorIndex(vectors, exact_limit=exact_limit, probes=64, precision="int8")
    rescored = VectorIndex(vectors, exact_limit=exact_limit, probes=64, precision="int8", rescore=True)
    same_coarse = same_rescored = 0
    for query in normalize_rows(base + 0.02 * rng.normal(size=(20, 384))):
        truth, _ = full.search(query, 10)
        found, scores = rescored.search(query, 10)
        np.testing.assert_allclose(scores, vectors[found] @ query, atol=2e-4)
        same_rescored += found.tolist() == truth.tolist()
        same_coarse += coarse.search(query, 10)[0].tolist() == truth.tolist()
    assert same_rescored >= 18 and same_coarse < same_rescored


@pytest.mark.parametrize("n", [1000, 300_000])
def test_top_k_of_many_scores_is_the_k_best(n: int) -> None:
    # Past 100,000 scores the search partitions only those reaching a sample's k-th best: same answer.
    rng = np.random.default_rng(6)
    for scores in (rng.normal(size=n).astype(np.float32), np.r_[np.zeros(n - 30), rng.random(30)]):
        for k in (1, 10, 50, 200):
            expected = np.lexsort((np.arange(n), -scores))[:k]
            got = top_k(scores, k)
            np.testing.assert_array_equal(scores[got], scores[expected])
            if k <= 30 or scores.min() < 0:  # no ties at the cut: the same rows
                np.testing.assert_array_equal(got, expected)
