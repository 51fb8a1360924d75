"""``bench/quality.py`` on a tiny corpus: its table against figures worked out by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from index import Engine, LanguageDetector, load_corpus

from .conftest import HashingEmbedder
from .search.test_engine import write_article

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import quality

QUESTIONS = """\
# at: harbour:0
- id: t1
  lang: en
  q: "When does the night ferry to the Skerran Isles sail again?"
  evidence: ["night ferry to the Skerran Isles will sail again on Friday"]
# at: bakery:1
- id: t2
  lang: en
  q: "How much does a sourdough loaf cost now?"
  evidence: ["sourdough loaf now costs four pounds"]
# unanswerable, near-topic: the ferry's captain is never named
- id: t3
  lang: en
  q: "Who captains the night ferry?"
  evidence: []
# unanswerable, off-topic
- id: t4
  lang: en
  q: "Zzyzx qwxv?"
  evidence: []
"""


def test_summarise_counts_as_worked_out_by_hand() -> None:
    asked = [
        quality.Question("a", "en", "a?", ("x",)),
        quality.Question("b", "en", "b?", ("y",)),
        quality.Question("c", "en", "c?", ("z",)),
        quality.Question("d", "en", "d?", (), "near-topic"),
        quality.Question("e", "en", "e?", (), "off-topic"),
    ]
    outcomes = [
        quality.Outcome(False, 1, True),
        quality.Outcome(False, 3, False),
        quality.Outcome(True, None),
        quality.Outcome(True, None),
        quality.Outcome(False, 2),
    ]
    row = quality.summarise("m", asked, outcomes)
    # answerable: ranks 1, 3 and a refusal -> hit@1 1/3, hit@3 2/3, refused 1/3; highlights 1 of 2
    assert (row.hit1, row.hit3, row.refused) == pytest.approx((1 / 3, 2 / 3, 1 / 3))
    assert (row.abstain, row.near, row.off, row.highlight) == pytest.approx((0.5, 1.0, 0.0, 0.5))
    # claims: a, b and e (a method without confidence claims whatever it does not refuse); a and b are right
    assert (row.claimed, row.precision, row.false_claims) == pytest.approx((2 / 3, 2 / 3, 0.5))
    assert row.cells() == ["0.333", "0.667", "0.333", "0.500", "1.000", "0.000", "0.500", "0.667", "0.667", "0.500"]


def test_a_hedged_answer_is_not_a_claim() -> None:
    asked = [quality.Question("a", "en", "a?", ("x",)), quality.Question("b", "en", "b?", ())]
    outcomes = [quality.Outcome(False, 1, claimed=False), quality.Outcome(False, None, claimed=False)]
    row = quality.summarise("m", asked, outcomes)
    assert (row.hit1, row.refused, row.claimed, row.precision, row.false_claims) == (1.0, 0.0, 0.0, None, 0.0)


def test_typing_mistakes_touch_the_two_longest_words_once_each_and_the_same_every_time() -> None:
    question = quality.Question("q1", "en", "Why was the Space with Trump delayed yesterday?", ("x",))
    mistyped = quality.with_typos(question)
    assert mistyped == quality.with_typos(question) and mistyped.evidence == question.evidence
    before, after = question.text.split(), mistyped.text.split()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert [a for a, _ in changed] == ["delayed", "yesterday?"]
    for a, b in changed:
        assert a[0] == b[0] and abs(len(a) - len(b)) <= 1
    assert quality.with_typos(quality.Question("q2", "en", "Who won?", ("x",))).text == "Who won?"


def test_the_kind_of_an_unanswerable_question_comes_from_the_comment_above_it(tmp_path: Path) -> None:
    path = tmp_path / "questions.yaml"
    path.write_text(QUESTIONS, encoding="utf-8")
    kinds = {q.id: q.kind for q in quality.load_questions(path)}
    assert kinds == {"t1": None, "t2": None, "t3": "near-topic", "t4": "off-topic"}


def test_the_refusal_threshold_refuses_three_percent_rounded_down() -> None:
    scores = [float(i) for i in range(40)]
    assert quality.refusal_threshold(scores) == 1.0  # floor(0.03 * 40) = 1 question below it
    assert quality.refusal_threshold(scores[:20]) == 0.0  # floor(0.6) = 0: none refused


def test_the_table_on_a_tiny_corpus(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    write_article(
        root,
        "harbour",
        "en",
        [
            "The night ferry to the Skerran Isles will sail again on Friday after repairs to its engine.",
            "Harbour workers repainted the quay at Port Ellery during the winter.",
        ],
    )
    write_article(
        root,
        "bakery",
        "en",
        [
            "The Ellery bakery reopened on Monday with a new oven.",
            "Its sourdough loaf now costs four pounds, up from three and a half.",
        ],
    )
    (tmp_path / "questions.yaml").write_text(QUESTIONS, encoding="utf-8")
    corpus = load_corpus(root)
    questions = quality.load_questions(tmp_path / "questions.yaml")
    embedder = HashingEmbedder()
    engine = Engine.build(corpus, embedder=embedder, detector=LanguageDetector())
    rows = {r.method: r for r in quality.measure(corpus, questions, engine, e5=embedder, use=embedder)}
    assert list(rows) == ["newsbot", "rank-bm25", "USE", "e5", "e5 + refusal", "e5 + refusal, same refused"]
    # Each answerable question shares its rare words with one passage only: every method finds it
    # first. The engine (with a stand-in encoder it answers on shared vocabulary) answers the
    # near-topic question, which shares "night ferry", and refuses the off-topic one, which shares
    # nothing; the plain peers never refuse.
    newsbot = rows["newsbot"]
    assert (newsbot.hit1, newsbot.hit3, newsbot.refused) == (1.0, 1.0, 0.0)
    assert (newsbot.abstain, newsbot.near, newsbot.off) == (0.5, 0.0, 1.0)
    for peer in ("rank-bm25", "USE", "e5"):
        assert (rows[peer].hit1, rows[peer].hit3, rows[peer].refused, rows[peer].abstain) == (1.0, 1.0, 0.0, 0.0)
    # 3 % of two answerable questions rounds down to none: the rule refuses no answerable question.
    assert rows["e5 + refusal"].refused == rows["e5 + refusal, same refused"].refused == 0.0
    table = quality.table("tiny", len(questions), list(rows.values()))
    assert "| newsbot | 1.000 | 1.000 | 0.000 | 0.500 | 0.000 | 1.000 |" in table
