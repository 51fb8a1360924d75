"""The embeddings shipped with the package: used on a first start, checked at load, recomputed only where stale."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from index import Corpus, Engine, LanguageDetector, load_corpus
from index.search import bundle as bundle_module
from index.search.bundle import EMPTY, REGENERATE, SHIPPED, read_bundle, shipped_bundle
from index.search.cache import text_key
from index.search.semantic import (
    MultilingualE5,
    UniversalSentenceEncoder,
    shared_alignment_encoder,
    shared_retrieval_encoder,
)
from index.search.sentences import sentence_spans
from index.search.shipping import ship_embeddings

from ..conftest import HashingEmbedder
from .test_engine import write_article


class StandIn:
    """An encoder with a real encoder's name that only records what it is asked (random unit vectors back)."""

    def __init__(self, name: str, dimension: int) -> None:
        self.name = name
        self.dimension = dimension
        self.asked: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.asked.extend(texts)
        vectors = np.random.default_rng(len(self.asked)).normal(size=(len(texts), self.dimension)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


class Counting:
    """A real encoder, its calls counted."""

    def __init__(self, inner: MultilingualE5 | UniversalSentenceEncoder) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        return self.inner.embed(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


def test_the_shipped_file_covers_everything_the_engine_embeds_for_the_bundled_corpus(
    bundled: Corpus, detector: LanguageDetector
) -> None:
    """Fails when corpus/ (or what the engine embeds) changed without the shipped file being regenerated."""
    assert shipped_bundle().problems == (), f"the shipped embeddings are unusable; run `{REGENERATE}`"
    e5 = StandIn(MultilingualE5().name, MultilingualE5.dimension)  # names only: no model is loaded
    use = StandIn(UniversalSentenceEncoder().name, 512)
    engine = Engine.build(bundled, embedder=e5, aligner=use, detector=detector)
    missing = len(set(e5.asked)) + len(set(use.asked))
    assert missing == 0, f"{missing} texts of the bundled corpus are not in {SHIPPED.name}: run `{REGENERATE}`"
    assert engine.stats.embedded == 0 and engine.stats.bundle_note is None
    assert engine.stats.shipped == engine.stats.vectors > 1000


def test_the_shipped_vectors_are_the_real_encoders(bundled: Corpus) -> None:
    """A file made with another model, or garbled in writing, would pass the coverage test above: compare a few."""
    original = bundled.passages[0].original
    start, end = sentence_spans(original.body)[0]
    for encoder, text in (
        (shared_retrieval_encoder(), original.text),
        (shared_alignment_encoder(), original.body[start:end]),
    ):
        shipped = shipped_bundle().vectors_for(encoder.name)[text_key(text)]
        cosine = float(shipped @ encoder.embed([text])[0])
        assert cosine > 0.999, (encoder.name, cosine)


def test_a_first_start_calls_no_encoder_for_the_bundled_corpus(
    bundled: Corpus, detector: LanguageDetector, tmp_path: Path
) -> None:
    e5, use = Counting(shared_retrieval_encoder()), Counting(shared_alignment_encoder())
    engine = Engine.build(bundled, cache_dir=tmp_path / "empty", embedder=e5, aligner=use, detector=detector)
    assert (e5.calls, use.calls) == (0, 0)
    assert engine.stats.embedded == 0 and engine.stats.shipped == engine.stats.vectors
    assert not (tmp_path / "empty").exists()  # nothing computed, so nothing to write to the machine's cache
    assert engine.ask("Why was the Space delayed?", k=1).results[0].article_id  # and it answers


# --- a bundle of a small corpus, made with the hashing stand-in ------------------------------------


@pytest.fixture()
def small(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    write_article(root, "one", "en", ["First paragraph about Musk. It has two sentences.", "Second about Trump."])
    write_article(root, "two", "nl", ["Een alinea over het interview."])
    return root


def shipped_for(root: Path, path: Path, name: str = "hashing-1") -> HashingEmbedder:
    embedder = HashingEmbedder()
    embedder.name = name
    ship_embeddings(load_corpus(root), path, embedder=embedder)
    return embedder


def test_a_changed_passage_recomputes_only_that_passage(
    small: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "shipped.npz"
    embedder = shipped_for(small, path)
    unchanged = Engine.build(load_corpus(small), embedder=embedder, bundle=read_bundle(path))
    assert unchanged.stats.embedded == 0 and unchanged.stats.bundle_note is None
    write_article(
        small, "one", "en", ["First paragraph about Musk. It has two sentences.", "Harris, not Trump. She spoke later."]
    )
    embedder.calls.clear()
    with caplog.at_level(logging.WARNING):
        changed = Engine.build(load_corpus(small), embedder=embedder, bundle=read_bundle(path))
    assert embedder.calls == [3]  # the new passage and its two sentences, in one call
    assert changed.stats.embedded == 3
    assert changed.stats.bundle_note is not None and "one" in changed.stats.bundle_note
    assert REGENERATE in caplog.text and "two" not in changed.stats.bundle_note


@pytest.mark.parametrize("damage", ["truncate", "garbage", "tamper", "missing"])
def test_a_corrupt_file_is_ignored_with_a_warning_and_everything_recomputed(
    small: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    path = tmp_path / "shipped.npz"
    embedder = shipped_for(small, path)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a bundle at all")
    elif damage == "missing":
        path.unlink()
    else:
        with np.load(path) as arrays:
            contents = {name: arrays[name].copy() for name in arrays.files}
        contents["vectors_0"][0, 0] += 0.5
        np.savez_compressed(path, **contents)  # same checksum over different vectors
    with caplog.at_level(logging.WARNING):
        damaged = read_bundle(path)
    assert damaged.problems and caplog.records
    assert damaged.vectors_for(embedder.name) == {}
    engine = Engine.build(load_corpus(small), embedder=embedder, bundle=damaged)
    cold = Engine.build(load_corpus(small), embedder=HashingEmbedder(), bundle=EMPTY)
    assert engine.stats.embedded == cold.stats.embedded > 0
    assert engine.stats.bundle_note is not None and str(path) in engine.stats.bundle_note


def test_another_encoder_version_is_recomputed_with_a_warning(
    small: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "shipped.npz"
    shipped_for(small, path, name="hashing-1")
    newer = HashingEmbedder()
    newer.name = "hashing-2"
    with caplog.at_level(logging.WARNING):
        engine = Engine.build(load_corpus(small), embedder=newer, bundle=read_bundle(path))
    cold = Engine.build(load_corpus(small), embedder=HashingEmbedder(), bundle=EMPTY)
    assert engine.stats.shipped == 0 and engine.stats.embedded == cold.stats.embedded > 0
    assert "hashing-1, not hashing-2" in caplog.text
    other = Engine.build(load_corpus(small), embedder=HashingEmbedder(), bundle=read_bundle(path))
    assert other.stats.bundle_note is None  # another encoder altogether: nothing to say


def test_the_regenerated_file_is_compact_and_readable(small: Path, tmp_path: Path) -> None:
    path = tmp_path / "shipped.npz"
    embedder = shipped_for(small, path)
    loaded = read_bundle(path)
    assert loaded.problems == ()
    vectors = loaded.vectors_for(embedder.name)
    text = "Een alinea over het interview."
    np.testing.assert_allclose(vectors[text_key(text)], embedder.embed([text])[0], atol=2e-3)
    with np.load(path) as arrays:
        assert arrays["vectors_0"].dtype == np.float16


def test_the_shipped_file_is_read_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    shipped_bundle.cache_clear()
    reads: list[Path] = []
    real = bundle_module.read_bundle
    monkeypatch.setattr(bundle_module, "read_bundle", lambda path: reads.append(path) or real(path))
    try:
        assert shipped_bundle() is shipped_bundle()
        assert reads == [SHIPPED]
    finally:
        shipped_bundle.cache_clear()
