"""The answer engine: ranking, language, abstention, duplicates, the answer object, the cache.

Tests that ask the engine run on both search backends: the embedded one and Milvus (Lite), which must give
the same answers. The Milvus ones are skipped only where pymilvus or milvus-lite is not installed.
"""

from __future__ import annotations

import shutil
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from index import Answer, Corpus, Engine, LanguageDetector, load_corpus
from index.search.backend import Backend
from index.search.cache import EmbeddingCache
from index.search.embedded import EmbeddedBackend

from ..conftest import DATA, RESULT_FIELDS, HashingEmbedder

# Questions of our own (not the shared dev set), each with a phrase that the
# passage answering it contains in its original language.
EVIDENCE = [
    ("en", "How many followers does Musk have on X?", ["193 millions", "190 juta"]),
    ("de", "Wann hat Musk den Kauf von Twitter abgeschlossen?", ["L’achat de Twitter est officialisé"]),
    ("es", "¿Qué dijo Anthony Lim sobre los ataques DDoS?", ["kata Anthony Lim", "Mr Lim menambahkan"]),
    ("fr", "Combien d'auditeurs pendant les tests ?", ["8 millions d’auditeurs", "8 juta pendengar"]),
    ("id", "Apa kata Trump tentang Uni Eropa?", ["Niet zo slecht als China", "elle est mauvaise"]),
    ("nl", "Wat zei Linda Yaccarino over de brief van de EU?", ["Linda Yaccarino"]),
    ("en", "Who is Linda Yaccarino?", ["Linda Yaccarino"]),
    ("en", "Who did Trump call incompetent?", ["Elle est incompétente"]),
    ("de", "Was wollte Trump mit dem Bildungsministerium machen?", ["Departemen Pendidikan"]),
]


def normalized(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def calibration() -> list[dict[str, object]]:
    return yaml.safe_load((DATA / "calibration.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("language", "question", "evidence"), EVIDENCE, ids=[q for _, q, _ in EVIDENCE])
def test_the_answering_passage_is_in_the_top_three(
    engine: Engine, language: str, question: str, evidence: list[str]
) -> None:
    answer = engine.ask(question)
    assert answer.answered and answer.language == language
    # A corroborating passage folded into a result is found at that result's rank.
    texts = [normalized(t) for r in answer.results for t in (r.text, *(c.text for c in r.also_reported_by))]
    assert any(normalized(e) in t for t in texts for e in evidence), texts


def test_never_hides_an_answer_and_rarely_claims_one_it_does_not_have(engine: Engine) -> None:
    """Our own calibration questions: no answerable one refused, and at most 15% of the rest claimed.

    A refusal hides an answer, so ``none`` is kept for questions about nothing the coverage holds, and
    refuses no answerable question of any corpus the decision was fitted on. Questions the coverage does
    not answer may be shown the closest passages, under a hedge, but are rarely claimed as answered.
    """
    answered = {str(item["q"]): engine.ask(str(item["q"])) for item in calibration()}
    refused = [q for q, a in answered.items() if not a.answered]
    assert all(answered[q].results == () and answered[q].confidence == "none" for q in refused)
    unanswerable = [str(item["q"]) for item in calibration() if not item["answerable"]]
    answerable = [str(item["q"]) for item in calibration() if item["answerable"]]
    claimed = [q for q in unanswerable if answered[q].confidence == "answer"]
    wrongly_refused = [q for q in answerable if q in refused]
    assert len(claimed) <= 0.15 * len(unanswerable), claimed
    assert wrongly_refused == []


def test_results_come_in_the_askers_language_with_the_original(engine: Engine) -> None:
    answer = engine.ask("Pourquoi la conversation a-t-elle été retardée ?")
    assert answer.language == "fr"
    for result in answer.results:
        if result.language == "fr":
            assert result.translation is None and result.translation_method is None
        else:
            assert result.translation and result.translation_method == "reviewed"
            assert result.translation != result.text
        passage = next(
            p
            for p in engine.corpus.passages
            if p.article.id == result.article_id and p.position == result.passage_index
        )
        assert result.text == passage.text


def test_a_chosen_language_overrides_the_questions(engine: Engine) -> None:
    answer = engine.ask("Why was the Space delayed?", language="de")
    assert answer.language == "de"
    assert all(r.translation is not None for r in answer.results)


def test_a_passage_reached_through_several_languages_counts_once(engine: Engine) -> None:
    answer = engine.ask("Iron Dome", k=10, hint="en")
    keys = [(r.article_id, r.passage_index) for r in answer.results + answer.more]
    assert len(keys) == len(set(keys))


def test_unsupported_language_is_answered_in_english(engine: Engine) -> None:
    answer = engine.ask("Perché la conversazione tra Trump e Musk è stata ritardata?")
    assert answer.language == "en" and answer.unsupported_language == "it"


@pytest.mark.parametrize("question", ["", "   ", "\u200b", "?!"])
def test_empty_questions_are_not_answered(engine: Engine, question: str) -> None:
    assert not engine.ask(question).answered


def test_json_has_exactly_the_documented_fields(engine: Engine) -> None:
    data = engine.ask("How late did the conversation start?", k=2).to_json()
    assert set(data) == {"question", "language", "answered", "confidence", "results"}
    assert len(data["results"]) == 2
    for result in data["results"]:
        assert set(result) == RESULT_FIELDS
        assert isinstance(result["passage_index"], int) and isinstance(result["score"], float)


def test_without_translations_the_original_is_found_and_never_passed_off_as_translated(
    corpus_copy: Path, detector: LanguageDetector, tmp_path: Path
) -> None:
    shutil.rmtree(corpus_copy / "translations")
    engine = Engine.build(load_corpus(corpus_copy), cache_dir=tmp_path / "cache", detector=detector)
    answer = engine.ask("How many simultaneous listeners did Musk say the system was tested with?")
    assert answer.answered
    assert any("8 juta pendengar" in r.text or "8 millions" in r.text for r in answer.results)
    for result in answer.results:
        assert result.translation is None and result.translation_method is None
        assert result.missing_translation("en")


# --- near-duplicates and the cache, on small corpora with a fast stand-in embedder --------------


def write_article(root: Path, article_id: str, language: str, paragraphs: list[str]) -> None:
    (root / "articles").mkdir(parents=True, exist_ok=True)
    front = (
        f'---\nid: {article_id}\ntitle: "{article_id}"\nsource: "Source {article_id}"\nurl: ""\n'
        f"published: 2024-08-13\nlanguage: {language}\n---\n"
    )
    (root / "articles" / f"{article_id}.md").write_text(front + "\n\n".join(paragraphs) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    pytest.importorskip("pymilvus", reason="the Milvus client is not installed")
    lite = pytest.importorskip("index.search.milvus_lite", reason="Milvus Lite is not installed")
    server = lite.LiteServer(tmp_path_factory.mktemp("milvus") / "engine.db")
    server.start()
    yield server
    server.close()


@pytest.fixture(params=["embedded", "milvus"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Each backend in turn; a Milvus one gets a collection of its own on the module's Milvus Lite server."""
    if request.param == "embedded":
        yield EmbeddedBackend()
        return
    from index.search.milvus import MilvusBackend

    server = request.getfixturevalue("milvus_server")
    made = MilvusBackend(server.uri, collection=f"engine_{abs(hash(request.node.nodeid)) % 10**9}")
    yield made
    made.close()


@pytest.fixture(scope="module", params=["embedded", "milvus"])
def engine(
    request: pytest.FixtureRequest, bundled: Corpus, detector: LanguageDetector, embedding_cache: Path
) -> Iterator[Engine]:
    """The real engine over the bundled corpus, on each backend."""
    if request.param == "embedded":
        yield Engine.build(bundled, cache_dir=embedding_cache, detector=detector)
        return
    from index.search.milvus import MilvusBackend

    made = MilvusBackend(request.getfixturevalue("milvus_server").uri, collection="engine_bundled")
    yield Engine.build(bundled, cache_dir=embedding_cache, detector=detector, backend=made)
    made.close()


SPACE = "The broadcast on X Spaces was delayed for forty minutes by a DDoS attack, Musk said."


def test_passages_saying_the_same_fold_into_one_result_with_their_sources(
    tmp_path: Path, detector: LanguageDetector, backend: Backend
) -> None:
    """Four outlets carry the same sentence: one result names the other three; the page goes to other facts."""
    for i in range(4):
        write_article(
            tmp_path, f"wire-copy-{i}", "en", [SPACE, f"Unrelated paragraph number {i} about the weather in spring."]
        )
    write_article(
        tmp_path,
        "own-report",
        "en",
        ["Why the X Spaces broadcast was late: engineers at the company doubted that story of a DDoS attack."],
    )
    engine = Engine.build(load_corpus(tmp_path), embedder=HashingEmbedder(), detector=detector, backend=backend)
    answer = engine.ask("Why was the X Spaces broadcast delayed by a DDoS attack?", k=3)
    first, *rest = answer.results
    assert first.text == SPACE and first.article_id.startswith("wire-copy")
    folded = {c.article_id: c for c in first.also_reported_by}
    assert set(folded) == {f"wire-copy-{i}" for i in range(4)} - {first.article_id}
    for article_id, corroboration in folded.items():
        article = next(a for a in engine.corpus.articles if a.id == article_id)
        assert (corroboration.source, corroboration.title, corroboration.url) == (article.source, article.title, "")
        assert corroboration.passage_index == 0 and corroboration.text == SPACE
    assert "own-report" in [r.article_id for r in rest]
    shown = [r for r in answer.results + answer.more if r.text == SPACE]
    assert shown == [first]  # a folded passage is not also a result of its own
    assert first.to_json()["also_reported_by"] == [c.to_json() for c in first.also_reported_by]


def test_passages_of_one_article_never_corroborate_each_other(
    tmp_path: Path, detector: LanguageDetector, backend: Backend
) -> None:
    write_article(tmp_path, "repeats", "en", [SPACE, SPACE.replace("forty", "about forty")])
    engine = Engine.build(load_corpus(tmp_path), embedder=HashingEmbedder(), detector=detector, backend=backend)
    answer = engine.ask("Why was the X Spaces broadcast delayed by a DDoS attack?", k=3)
    assert len(answer.results) == 2 and all(not r.also_reported_by for r in answer.results)


def test_an_added_then_removed_article_is_found_then_gone_and_earlier_engines_still_answer(
    tmp_path: Path, detector: LanguageDetector, backend: Backend
) -> None:
    """A change builds on the previous engine (the Milvus backend then writes only that article's rows)."""
    write_article(tmp_path, "space", "en", [SPACE, "The weather in spring was mild."])
    embedder = HashingEmbedder()
    first = Engine.build(load_corpus(tmp_path), embedder=embedder, detector=detector, backend=backend)
    flood = "The river Maas flooded the old town of Venlo after three days of rain."
    write_article(tmp_path, "flood", "en", [flood])
    second = Engine.build(load_corpus(tmp_path), embedder=embedder, detector=detector, backend=backend, previous=first)
    question = "Which town did the river Maas flood after the rain?"
    assert second.ask(question, k=1).results[0].text == flood
    assert first.ask("Why was the X Spaces broadcast delayed by a DDoS attack?", k=1).results[0].text == SPACE

    (tmp_path / "articles" / "flood.md").unlink()
    third = Engine.build(load_corpus(tmp_path), embedder=embedder, detector=detector, backend=backend, previous=second)
    assert all(r.article_id == "space" for r in third.ask(question, k=3).results)
    assert third.ask("Why was the X Spaces broadcast delayed by a DDoS attack?", k=1).results[0].text == SPACE


def test_the_cache_reuses_vectors_and_embeds_only_what_changed(tmp_path: Path, detector: LanguageDetector) -> None:
    root = tmp_path / "corpus"
    write_article(root, "one", "en", ["First paragraph about Musk.", "Second paragraph about Trump."])
    cache = tmp_path / "cache"
    embedder = HashingEmbedder()
    first = Engine.build(load_corpus(root), cache_dir=cache, embedder=embedder, detector=detector)
    assert first.stats.embedded == 2
    again = Engine.build(load_corpus(root), cache_dir=cache, embedder=embedder, detector=detector)
    assert again.stats.embedded == 0
    np.testing.assert_array_equal(again.index.base.vectors.vectors, first.index.base.vectors.vectors)
    write_article(root, "one", "en", ["First paragraph about Musk.", "A changed paragraph about Harris."])
    changed = Engine.build(load_corpus(root), cache_dir=cache, embedder=embedder, detector=detector)
    assert changed.stats.embedded == 1
    assert changed.corpus.digest != first.corpus.digest


@pytest.mark.parametrize("damage", ["truncate", "garbage", "tamper"])
def test_a_corrupt_cache_is_rebuilt_not_trusted(tmp_path: Path, detector: LanguageDetector, damage: str) -> None:
    root = tmp_path / "corpus"
    write_article(root, "one", "en", ["First paragraph about Musk.", "Second paragraph about Trump."])
    cache = tmp_path / "cache"
    embedder = HashingEmbedder()
    good = Engine.build(load_corpus(root), cache_dir=cache, embedder=embedder, detector=detector)
    (path,) = cache.glob("embeddings-*.npz")
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a cache at all")
    else:
        with np.load(path) as arrays:
            keys, vectors, checksum = arrays["keys"], arrays["vectors"].copy(), arrays["checksum"]
        vectors[0, 0] += 1.0
        np.savez(path, keys=keys, vectors=vectors, checksum=checksum)
    rebuilt = Engine.build(load_corpus(root), cache_dir=cache, embedder=embedder, detector=detector)
    assert rebuilt.stats.cache_note is not None and "rebuilding" in rebuilt.stats.cache_note
    assert rebuilt.stats.embedded == 2
    np.testing.assert_allclose(rebuilt.index.base.vectors.vectors, good.index.base.vectors.vectors)
    assert EmbeddingCache(cache, embedder.name).rebuilt_reason is None  # the file is whole again


def test_answers_are_deterministic(engine: Engine) -> None:
    a: Answer = engine.ask("Wat zei Trump over de aanslag op zijn leven?")
    b: Answer = engine.ask("Wat zei Trump over de aanslag op zijn leven?")
    assert a == b


def test_the_inverted_file_index_finds_what_exact_search_finds() -> None:
    from index.search.semantic import VectorIndex, normalize_rows

    rng = np.random.default_rng(3)
    centres = normalize_rows(rng.normal(size=(40, 64)).astype(np.float32))
    vectors = normalize_rows(centres[rng.integers(0, 40, 5000)] + 0.08 * rng.normal(size=(5000, 64)).astype(np.float32))
    exact = VectorIndex(vectors)
    approximate = VectorIndex(vectors, exact_limit=1000)
    assert exact.exact and not approximate.exact
    np.testing.assert_array_equal(approximate.original_order(), vectors)
    recall = []
    for query in normalize_rows(0.1 * rng.normal(size=(50, 64)).astype(np.float32) + centres[rng.integers(0, 40, 50)]):
        truth, _ = exact.search(query, 10)
        found, scores = approximate.search(query, 10)
        assert list(scores) == sorted(scores, reverse=True)
        np.testing.assert_allclose(scores, vectors[found] @ query, rtol=1e-5)
        recall.append(len(set(truth) & set(found)) / 10)
    assert np.mean(recall) >= 0.9


def test_the_missions_example_is_answered_by_the_passage_that_answers_it(engine: Engine) -> None:
    """ "Why was the Space delayed?": a leading result says it was a DDoS attack, and highlights that sentence.

    The fitted ranker puts a passage saying the event "was stopped abruptly" first for the English
    question and the cyber-attack passage second (it was first before the ranker was fitted on
    cross-lingual data); the Spanish question gets the cyber-attack passage first.
    """
    for question, depth in (("Why was the Space delayed?", 2), ("¿Por qué se retrasó la conversación en X?", 1)):
        leading = engine.ask(question).results[:depth]
        marked = [normalized(" ".join(r.text[a:b] for a, b in r.highlights)) for r in leading]
        assert any("ddos" in m or "cyberattaque" in m for m in marked), (question, marked)


def test_confidence_follows_answered_and_hedged() -> None:
    from index.search.answer import Answer

    assert Answer("q", "en", False, ()).confidence == "none"
    assert Answer("q", "en", True, ()).confidence == "answer"
    assert Answer("q", "en", True, (), hedged=True).confidence == "closest"
    assert Answer("q", "en", True, (), hedged=True).to_json()["confidence"] == "closest"
