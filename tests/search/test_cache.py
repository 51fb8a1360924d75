"""The per-machine embedding cache: corpora sharing it keep their vectors, within a bound; shipped vectors under it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.search import cache as cache_module
from index.search.cache import EmbeddingCache, Request, embed_all, text_key

from ..conftest import HashingEmbedder


def test_corpora_taking_turns_in_one_cache_do_not_evict_each_other(tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    first, second = ["a passage of the first corpus", "another one"], ["the second corpus", "its other passage"]
    EmbeddingCache(tmp_path, embedder.name).embed(first, embedder.embed)
    EmbeddingCache(tmp_path, embedder.name).embed(second, embedder.embed)
    _, computed = EmbeddingCache(tmp_path, embedder.name).embed(first, embedder.embed)
    assert computed == 0
    _, computed = EmbeddingCache(tmp_path, embedder.name).embed(second, embedder.embed)
    assert computed == 0


def test_beyond_the_bound_the_least_recently_used_go_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = HashingEmbedder(dim=4)
    monkeypatch.setattr(cache_module, "KEEP_BYTES", 2 * 4 * 4)  # room for two vectors besides the latest call's
    clock = iter(range(1000, 2000))
    monkeypatch.setattr(cache_module.time, "time", lambda: float(next(clock)))
    for text in ["oldest", "older", "recent"]:
        EmbeddingCache(tmp_path, embedder.name).embed([text], embedder.embed)
    EmbeddingCache(tmp_path, embedder.name).embed(["latest one", "and its neighbour", "and a third"], embedder.embed)
    kept = EmbeddingCache(tmp_path, embedder.name).missing(["oldest", "older", "recent", "latest one", "and a third"])
    assert list(kept.values()) == ["oldest"]


def test_shipped_vectors_serve_first_and_are_not_copied_into_the_cache(tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    shipped_vector = np.full(embedder.dim, 1 / np.sqrt(embedder.dim), dtype=np.float32)
    cache = EmbeddingCache(tmp_path, embedder.name, {text_key("shipped text"): shipped_vector})
    vectors, computed = cache.embed(["shipped text", "a new one"], embedder.embed)
    assert computed == 1 and embedder.calls == [1] and cache.from_shipped == 1
    np.testing.assert_array_equal(vectors[0], shipped_vector)
    reread = EmbeddingCache(tmp_path, embedder.name)
    assert list(reread.missing(["shipped text", "a new one"]).values()) == ["shipped text"]


def test_progress_counts_every_text_to_embed_across_encoders(tmp_path: Path) -> None:
    one, other = HashingEmbedder(), HashingEmbedder(dim=8)
    other.name = "another-encoder"
    seen: list[tuple[int, int]] = []
    texts = [f"text number {i}" for i in range(100)]
    requests = [
        Request(EmbeddingCache(None, one.name), texts, one.embed),
        Request(EmbeddingCache(None, other.name), texts[:30], other.embed),
    ]
    embed_all(requests, lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 130) and seen[-1] == (130, 130)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert len(seen) > 3  # in steps, not only at the end


def test_a_change_appends_to_the_journal_and_the_next_full_build_folds_it_in(tmp_path: Path) -> None:
    full = EmbeddingCache(tmp_path, "m")
    full.embed(["a", "b"], fake_vectors)
    file = tmp_path / "embeddings-m.npz"
    written = file.read_bytes()
    change = EmbeddingCache(tmp_path, "m", journal=True)
    vectors, computed = change.embed(["c"], fake_vectors)
    assert computed == 1 and file.read_bytes() == written  # the file is not rewritten for a change
    again = EmbeddingCache(tmp_path, "m", journal=True)
    assert again.missing(["c", "a"]) == {text_key("a"): "a"}  # a journal cache reads the journal alone
    whole = EmbeddingCache(tmp_path, "m")
    np.testing.assert_array_equal(whole.embed(["a", "b", "c"], fail)[0][2], vectors[0])
    assert not (tmp_path / "embeddings-m.log").exists() and file.read_bytes() != written


def test_a_journal_record_cut_short_by_a_kill_is_ignored_and_embedded_again(tmp_path: Path) -> None:
    EmbeddingCache(tmp_path, "m", journal=True).embed(["a", "b"], fake_vectors)
    journal = tmp_path / "embeddings-m.log"
    journal.write_bytes(journal.read_bytes()[:-7])
    cache = EmbeddingCache(tmp_path, "m", journal=True)
    assert cache.missing(["a", "b"]) == {text_key("b"): "b"}
    _, computed = cache.embed(["a", "b"], fake_vectors)
    assert computed == 1


def fake_vectors(texts: object) -> np.ndarray:
    return HashingEmbedder(8).embed(list(texts))  # type: ignore[call-overload]


def fail(texts: object) -> np.ndarray:
    raise AssertionError(f"nothing should be embedded: {texts}")
