"""The answer path's stages, each alone: query, candidates, evidence, ranking, decision, presentation.

A tiny corpus and the hashing stand-in encoder keep these fast; the decision is tested with models
written here, so what each stage does is checked apart from what was fitted.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from index import Engine, LanguageDetector, load_corpus
from index.search.candidates import gather
from index.search.decision import Decider, Decision, decide
from index.search.evidence import weigh
from index.search.gate import Background, GateModel, Null
from index.search.query import Verbatim, analysed, read_question
from index.search.ranking import Ranker, feature_matrix, feature_names

from ..conftest import HashingEmbedder
from .test_engine import write_article

FERRY = "The night ferry to the Skerran Isles will sail again on Friday after repairs to its engine."
QUAY = "Harbour workers repainted the quay at Port Ellery during the winter. The paint was blue."
BAKERY = "The Ellery bakery reopened on Monday with a new oven. Its sourdough loaf now costs four pounds."


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, detector: LanguageDetector) -> Engine:
    root = tmp_path_factory.mktemp("stages") / "corpus"
    write_article(root, "harbour", "en", [FERRY, QUAY])
    write_article(root, "bakery", "en", [BAKERY])
    return Engine.build(load_corpus(root), embedder=HashingEmbedder(), detector=detector)


def number(engine: Engine, text: str) -> int:
    return next(i for i, p in enumerate(engine.corpus.passages) if p.text == text)


class Fixer:
    """A corrector that reads "fery" as "ferry", as the typo corrector would."""

    def correct(self, question: str, language: str) -> tuple[str, bool]:
        fixed = question.replace("fery", "ferry")
        return fixed, fixed != question


def test_the_query_stage_settles_languages_and_reads_a_corrected_question(detector: LanguageDetector) -> None:
    plain = read_question("  When does the  night ferry sail? ", detector)
    assert (plain.asked, plain.text, plain.read_as) == ("When does the night ferry sail?",) * 2 + (None,)
    assert plain.answer_language == "en" and plain.searchable
    fixed = read_question("When does the night fery sail?", detector, corrector=Fixer(), language="fr")
    assert fixed.asked == "When does the night fery sail?"
    assert fixed.text == fixed.read_as == "When does the night ferry sail?"
    assert fixed.answer_language == "fr"
    assert not read_question("?!", detector).searchable
    assert Verbatim().correct("teh fery", "en") == ("teh fery", False)


def test_the_query_stage_analyses_and_embeds_what_was_read(detector: LanguageDetector) -> None:
    embedder = HashingEmbedder()
    question = read_question("When does the night fery sail?", detector, corrector=Fixer())
    query = analysed(question, embedder.embed_query, embedder.embed_query)
    assert any("ferry" in forms for forms in query.words)
    assert np.allclose(query.vector, embedder.embed_query("When does the night ferry sail?"))
    assert query.asked_terms == sorted(set(query.terms))


def test_candidates_come_from_both_rankings_with_bm25_relative_to_the_best(small: Engine) -> None:
    query = small.query(small.read("When will the night ferry to the Skerran Isles sail?"))
    pool = gather(query, small.index, 10)
    assert pool is not None
    assert set(pool.passages.tolist()) == {0, 1, 2}  # three passages: the vectors bring every one
    ferry = int(np.flatnonzero(pool.passages == number(small, FERRY))[0])
    assert pool.lexical[ferry] == pytest.approx(1.0) and pool.lexical.max() == pytest.approx(1.0)
    assert len(pool.fetched.passages) == len(pool.passages)


def test_the_evidence_stage_describes_every_candidate(small: Engine) -> None:
    query = small.query(small.read("The sourdough loaf of the Ellery bakery?"))
    pool = gather(query, small.index, 10)
    assert pool is not None
    evidence = weigh(query, pool, small.facts, small.settings)
    count = len(pool.passages)
    for values in (evidence.passage_similarity, evidence.sentence_evidence, evidence.coverage, evidence.window):
        assert values.shape == (count,)
    bakery = int(np.flatnonzero(evidence.passages == number(small, BAKERY))[0])
    # The bakery passage holds the most of the asked words ("Ellery" is in the quay's too, the rest only there).
    assert evidence.coverage[bakery] > 0.5 > np.delete(evidence.coverage, bakery).max()
    # The bakery passage has two sentences: read together they are one window, closer than neither alone.
    own = pool.fetched.sentence_vectors[pool.fetched.sentence_owner == bakery]
    assert len(own) == 2
    pair = own.sum(axis=0)
    assert evidence.window[bakery] == pytest.approx(float(pair @ query.vector / np.linalg.norm(pair)), abs=1e-5)
    assert len(evidence.echo_cosines) == len(evidence.sentence_owner)


def test_the_ranking_stage_orders_by_its_weighted_features(small: Engine) -> None:
    query = small.query(small.read("How much does the sourdough loaf at the bakery cost?"))
    pool = gather(query, small.index, 10)
    assert pool is not None
    evidence = weigh(query, pool, small.facts, small.settings)
    by_coverage = Ranker(("coverage",), (1.0,)).rank(evidence)
    bakery = number(small, BAKERY)
    assert int(by_coverage.passages[0]) == bakery
    assert by_coverage.fused[0] == pytest.approx(float(evidence.coverage.max()))
    against = Ranker(("coverage",), (-1.0,)).rank(evidence)
    assert int(against.passages[-1]) == bakery
    gaps = feature_matrix(evidence, ["passage_gap", "passage_centred"])
    assert gaps[:, 0].max() == pytest.approx(0.0) and gaps[:, 1].mean() == pytest.approx(0.0, abs=1e-7)
    assert set(feature_names()) >= {"echo", "echo_gap", "window_centred"}
    with pytest.raises(ValueError, match="unknown ranking features"):
        Ranker.from_dict({"features": ["loudness"], "weights": [1.0]})


def gate(feature: str, threshold: float) -> GateModel:
    return GateModel((feature,), (1.0,), 0.0, threshold, "", "", {})


@pytest.mark.parametrize(
    ("passage", "score_margin", "expected"),
    [(0.1, 0.5, "none"), (0.5, 0.0, "closest"), (0.5, 0.3, "answer")],
)
def test_the_decision_stage_has_three_outcomes(passage: float, score_margin: float, expected: str) -> None:
    decider = Decider(gate("passage_over_probes", 0.2), gate("score_margin", 0.2))
    raw = {"passage": passage, "score_margin": score_margin}
    decision = decider.decide(raw, {"passage": 0.0})
    assert decision.confidence == expected
    assert decision.answered == (expected != "none") and decision.hedged == (expected == "closest")


def test_without_calibration_the_decision_answers_on_shared_vocabulary(small: Engine) -> None:
    decider = Decider(gate("passage_over_probes", 0.0), gate("score_margin", 0.0))
    background = Background({}, {})
    for question, expected in (("sourdough loaf price", "answer"), ("zzyzx qwxv", "none")):
        evidence = small.ranked_evidence(small.read(question))
        assert evidence is not None
        decision = decide(
            evidence, decider=decider, null=None, language="en", leading_language="en",
            background=background, echo=np.zeros(1),
        )  # fmt: skip
        assert decision.confidence == expected


def test_the_presentation_stage_hedges_refuses_and_reports_the_reading(small: Engine) -> None:
    question = read_question("How much does the sourdough loaf cost?", small.detector)
    evidence = small.ranked_evidence(question)
    assert evidence is not None
    hedged = small.presenter.answer(question, evidence, Decision("closest"), 2, 1)
    assert hedged.answered and hedged.hedged and hedged.confidence == "closest"
    assert len(hedged.results) == 2 and len(hedged.more) == 1
    assert hedged.results[0].highlights  # the answering sentence is marked
    sure = small.presenter.answer(question, evidence, Decision("answer"), 3, 0)
    assert sure.confidence == "answer" and sure.results[0].text == hedged.results[0].text
    refused = small.presenter.answer(question, evidence, Decision("none"), 3, 0)
    assert refused.confidence == "none" and refused.results == ()
    fixed = read_question("How much does the night fery cost?", small.detector, corrector=Fixer())
    assert small.presenter.refusal(fixed).read_as == "How much does the night ferry cost?"


def test_answers_from_reports_the_same_confidence_as_ask(small: Engine) -> None:
    """A follow alert asks ``answers_from``: it must be as sure as ``ask`` of the same leader, hedge included."""
    null = Null({"*": {name: 0.0 for name in ("passage", "score_margin")}})
    question = "How much does the sourdough loaf cost?"
    for sure_threshold, expected in ((-1e9, "answer"), (1e9, "closest")):
        decider = Decider(gate("passage_over_probes", -1e9), gate("score_margin", sure_threshold))
        engine = dataclasses.replace(small, decider=decider, null=null)
        asked = engine.ask(question)
        assert asked.confidence == expected
        found = engine.answers_from(question, [number(small, BAKERY)])
        assert found.confidence == expected and found.results[0].text == BAKERY
