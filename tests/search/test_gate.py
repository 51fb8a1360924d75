"""The answer gate: fresh untranslated coverage answered in every language, off-topic questions refused.

The engines here use the real encoders (the gate is fitted for them) over the bundled corpus plus
the fresh articles of ``tests/data/fresh``, which have no translations.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from index import Engine, LanguageDetector, load_corpus
from index.search.evidence import residual_cosines
from index.search.gate import FEATURES, POOLED, RAW_FEATURES, Background, GateModel, Null, probe_questions
from index.search.settings import FITTED

from ..conftest import HashingEmbedder, copy_bundled

FRESH = Path(__file__).resolve().parents[1] / "data" / "fresh"
VINEYARD = "courrier-armor-vignoble-plouzevan"
LIGHTHOUSE = "ardlow-gazette-greyhaven-lighthouse-relit"
BOTTLES = {
    "en": "How many bottles did the vineyard in Brittany produce?",
    "fr": "Combien de bouteilles le vignoble breton a-t-il produit ?",
    "nl": "Hoeveel flessen heeft de Bretonse wijngaard geproduceerd?",
    "id": "Berapa botol yang dihasilkan kebun anggur di Bretagne?",
    "de": "Wie viele Flaschen hat das Weingut in der Bretagne produziert?",
    "es": "¿Cuántas botellas produjo el viñedo bretón?",
}
OFF_TOPIC = [
    "How do I make pancakes?",
    "Wer gewann die Fußball-WM 2014?",
    "¿Cuál es la capital de Australia?",
    "Hoe laat gaat de zon morgen onder in Utrecht?",
    "Apa resep rendang yang enak?",
    "Quel est le meilleur moyen d'apprendre le piano ?",
]


def corpus_with(tmp: Path, *, bundled: bool, fresh: tuple[str, ...]) -> Path:
    target = tmp / "corpus"
    if bundled:
        copy_bundled(target)
    (target / "articles").mkdir(parents=True, exist_ok=True)
    for article in fresh:
        shutil.copy(FRESH / f"{article}.md", target / "articles" / f"{article}.md")
    return target


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory, engine: Engine, embedding_cache: Path) -> Engine:
    """The bundled, translated story plus two fresh untranslated articles on other stories."""
    directory = corpus_with(tmp_path_factory.mktemp("grown"), bundled=True, fresh=(VINEYARD, LIGHTHOUSE))
    return Engine.build(
        load_corpus(directory), cache_dir=embedding_cache, embedder=engine.embedder, aligner=engine.aligner
    )


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, engine: Engine, embedding_cache: Path) -> Engine:
    """One fresh article, nothing else."""
    directory = corpus_with(tmp_path_factory.mktemp("tiny"), bundled=False, fresh=(VINEYARD,))
    return Engine.build(
        load_corpus(directory), cache_dir=embedding_cache, embedder=engine.embedder, aligner=engine.aligner
    )


@pytest.mark.parametrize("language", sorted(BOTTLES))
def test_a_fresh_untranslated_article_answers_in_every_language(grown: Engine, language: str) -> None:
    answer = grown.ask(BOTTLES[language])
    assert answer.answered, language
    assert answer.language == language
    assert answer.results[0].article_id == VINEYARD
    found = [r for r in answer.results if "3 200 bouteilles" in r.text]
    assert found and found[0].translation is None and found[0].language == "fr"


@pytest.mark.parametrize(
    "question",
    ["Combien a coûté la restauration du phare de Greyhaven Head ?", "¿Quién encendió el faro de Greyhaven Head?"],
)
def test_a_fresh_english_article_answers_french_and_spanish(grown: Engine, question: str) -> None:
    answer = grown.ask(question)
    assert answer.answered and answer.results[0].article_id == LIGHTHOUSE
    assert answer.results[0].translation is None


@pytest.mark.parametrize("size", ["tiny", "grown", "bundled"])
def test_off_topic_questions_are_refused_on_small_and_large_corpora(
    size: str, tiny: Engine, grown: Engine, engine: Engine
) -> None:
    """On a corpus of one article the per-language background is a handful of sentences, and food
    or leisure questions sit close to a vineyard's story: there half is what the gate manages."""
    chosen = {"tiny": tiny, "grown": grown, "bundled": engine}[size]
    answered = [q for q in OFF_TOPIC if chosen.ask(q).answered]
    assert len(answered) <= (3 if size == "tiny" else 1), answered


def test_the_bundled_story_is_still_answered_beside_fresh_coverage(grown: Engine) -> None:
    answer = grown.ask("Why was the Space delayed?")
    assert answer.answered and "DDoS" in " ".join(r.text for r in answer.results)


def test_the_fitted_file_says_what_was_learned_from_what() -> None:
    data = json.loads(FITTED.read_text(encoding="utf-8"))
    gate = GateModel.from_dict(data["gate"])
    assert gate.features and set(gate.features) <= FEATURES.keys() and len(gate.weights) == len(gate.features)
    assert gate.fitted_on["commit"] and gate.fitted_on["sets"] and gate.fitted_on["command"]
    assert not any("generalisation" in str(path) or "shared" in str(path) for path in gate.fitted_on["sets"].values())
    assert {"passage_weight", "sentence_weight", "residual_weight", "coverage_weight"} <= data["ranking"].keys()


def test_a_fitted_file_naming_an_unknown_feature_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown gate features: louder"):
        GateModel.from_dict({"features": ["louder"], "weights": [1], "bias": 0, "threshold": 0, "calibrated_for": ""})


def test_the_gate_answers_at_its_threshold_and_refuses_below() -> None:
    raw = dict.fromkeys(RAW_FEATURES, 0.0) | {"passage": 0.9, "readable": 1.0}
    null = dict.fromkeys(RAW_FEATURES, 0.0) | {"passage": 0.8}
    model = GateModel(("passage_over_probes",), (10.0,), 0.0, 0.5, "e5-", "usem3-", {})
    assert model.logit(raw, null) == pytest.approx(1.0) and model.answers(raw, null)
    assert not model.answers(raw | {"passage": 0.82}, null)
    assert model.fits("e5-small-1.0", "usem3-2") and not model.fits("hashing", "usem3-2")


def test_the_null_is_per_language_with_a_pooled_fallback() -> None:
    raw = dict.fromkeys(RAW_FEATURES, 0.0)
    null = Null.of({"en": [raw | {"passage": 0.7}, raw | {"passage": 0.9}], "fr": [raw | {"passage": 0.5}]})
    assert null.get("en")["passage"] == pytest.approx(0.8)
    assert null.get("fr")["passage"] == pytest.approx(0.5)
    assert null.get("xx")["passage"] == pytest.approx((0.7 + 0.9 + 0.5) / 3) == null.means[POOLED]["passage"]


def test_the_background_is_drawn_per_language() -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(30, 4))
    languages = np.array(["en"] * 10 + ["fr"] * 20)
    background = Background.drawn(vectors, vectors, languages, per_language=5)
    assert len(background.vectors["en"]) == 5 and len(background.vectors[POOLED]) == 5
    query = vectors[0]
    french = background.vectors["fr"]
    assert all(any(np.allclose(row, v) for v in vectors[10:]) for row in french)
    assert background.margin(1.0, query, "fr") == pytest.approx(1.0 - float(np.mean(french @ query)))
    assert background.margin(1.0, query, "de") == pytest.approx(
        1.0 - float(np.mean(background.vectors[POOLED] @ query))
    )


def test_residual_cosines_match_a_direct_computation() -> None:
    rng = np.random.default_rng(2)

    def unit(rows: int) -> np.ndarray:
        found = rng.normal(size=(rows, 8))
        return found / np.linalg.norm(found, axis=1, keepdims=True)

    query, sentences = unit(1)[0], unit(5)
    centroids = unit(5) * 0.6
    expected = []
    for sentence, centroid in zip(sentences, centroids, strict=True):
        a, b = query - centroid, sentence - centroid
        expected.append(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    got = residual_cosines(query, sentences, centroids, centroids @ query)
    assert np.allclose(got, expected, atol=1e-6)


def test_every_probe_language_has_the_same_number_of_probes() -> None:
    probes = probe_questions()
    assert set(probes) == {"en", "fr", "nl", "de", "es", "id"}
    assert len({len(questions) for questions in probes.values()}) == 1


def test_the_hashing_stand_in_answers_on_shared_vocabulary(detector: LanguageDetector, tmp_path: Path) -> None:
    directory = corpus_with(tmp_path, bundled=False, fresh=(VINEYARD,))
    built = Engine.build(load_corpus(directory), embedder=HashingEmbedder(), detector=detector)
    assert built.null is None
    assert built.ask("Combien de bouteilles à Plouzévan ?").answered
    assert not built.ask("Zzyzx quux?").answered
