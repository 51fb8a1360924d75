"""find_new_coverage's rules with a stand-in engine: one finding per article and follow, corroborations held back."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from index import Answer, Result
from index.follow import Database, FollowStore, QuestionVectors, find_new_coverage
from index.follow.store import DueAlert
from index.search.answer import Corroboration


class StandInEngine:
    """Two new articles, two passages each, every sentence close to the followed question; B reports what A does."""

    def __init__(self) -> None:
        article = {name: SimpleNamespace(id=name, title=f"Headline {name}") for name in ("A", "B")}
        self.corpus = SimpleNamespace(passages=[SimpleNamespace(article=article[n]) for n in ("A", "A", "B", "B")])
        self.index = SimpleNamespace(fetch=self.fetch)
        self.asked: list[tuple[str, tuple[int, ...]]] = []
        self.hedged = False
        self.headline_first = False

    def fetch(self, passages: np.ndarray, terms: Any) -> Any:
        vectors = np.tile(np.array([1.0, 0.0], np.float32), (len(passages), 1))
        return SimpleNamespace(
            passages=passages,
            sentence_owner=np.arange(len(passages)),
            sentence_vectors=vectors,
            vectors=vectors,
            vector_owner=np.arange(len(passages)),
        )

    def answers_from(self, question: str, passages: Collection[int], *, language: str, hint: Any) -> Answer:
        self.asked.append((question, tuple(passages)))
        article = self.corpus.passages[next(iter(passages))].article.id
        also = (Corroboration("A", 0, "Ouest", "t", "", "x"),) if article == "B" else ()
        first = Result(article, 0, "s", "t", "", "2026-11-20", "fr", "x", None, None, 1.0, also_reported_by=also)
        second = Result(article, 1, "s", "t", "", "2026-11-20", "fr", "y", None, None, 0.9)
        if self.headline_first:  # the headline, repeated as a passage, ranks first; the answer is second
            first = Result(article, 0, "s", "t", "", "2026-11-20", "fr", f"Headline {article}.", None, None, 1.0)
            second = Result(article, 1, "s", "t", "", "2026-11-20", "fr", "It was 3 200. Then more.", None, None, 0.9,
                            highlights=((0, 13),))  # fmt: skip
        return Answer(question, language, True, (first,), None, (second,), hedged=self.hedged)


def test_an_article_answers_a_follow_once_and_a_corroboration_is_not_news(tmp_path: Path) -> None:
    store = FollowStore(Database(tmp_path / "db"))
    vectors = QuestionVectors()
    follows = []
    for chat_id in (1, 2):
        _, follow = store.follow(
            chat_id=chat_id,
            user_id=chat_id,
            question="Q?",
            language="fr",
            hint=None,
            vector=np.array([1.0, 0.0]),
            model="m",
        )
        assert follow is not None
        follows.append(follow)
        vectors.add(follow.question_id, np.array([1.0, 0.0], np.float32))
    engine = StandInEngine()
    report = find_new_coverage(engine, store, vectors, {"A", "B"}, threshold=0.9)  # type: ignore[arg-type]
    assert sorted((f.follow.chat_id, f.article_id) for f in report.findings) == [(1, "A"), (2, "A")]
    assert sorted((f.chat_id, a) for f, a in report.corroborations) == [(1, "B"), (2, "B")]
    assert len(engine.asked) == 2  # once per article for the shared question, not once per follower

    far = find_new_coverage(engine, store, vectors, {"A"}, threshold=1.5)  # type: ignore[arg-type]
    assert far.findings == [] and far.close == 0  # nobody close: nothing asked in full
    assert len(engine.asked) == 2


def follow_one(store: FollowStore, vectors: QuestionVectors, chat_id: int = 1) -> Any:
    _, follow = store.follow(
        chat_id=chat_id,
        user_id=chat_id,
        question="Q?",
        language="fr",
        hint=None,
        vector=np.array([1.0, 0.0]),
        model="m",
    )
    assert follow is not None
    vectors.add(follow.question_id, np.array([1.0, 0.0], np.float32))
    return follow


def test_only_an_answer_alerts_and_a_closest_finding_is_kept_as_possibly_related(tmp_path: Path) -> None:
    store = FollowStore(Database(tmp_path / "db"))
    vectors = QuestionVectors()
    follow = follow_one(store, vectors)
    engine = StandInEngine()
    engine.hedged = True  # the engine is not sure: "closest"
    report = find_new_coverage(engine, store, vectors, {"A"}, threshold=0.9)  # type: ignore[arg-type]
    assert report.findings == [] and [(f.id, a) for f, a in report.related] == [(follow.id, "A")]
    store.record_related([(f.id, f.chat_id, a) for f, a in report.related])
    assert store.related_of(1) == [(follow.id, "A")] and store.related_of(2) == []

    engine.hedged = False  # the article, changed, now answers: it alerts, and is no longer "possibly related"
    report = find_new_coverage(engine, store, vectors, {"A"}, threshold=0.9)  # type: ignore[arg-type]
    assert [(f.follow.id, f.article_id) for f in report.findings] == [(follow.id, "A")] and report.related == []
    store.record_due([DueAlert(follow.id, 1, "A", "text")])
    assert store.related_of(1) == []
    store.unfollow(follow.id, 1)
    assert store.db.query("SELECT COUNT(*) FROM related") == [(0,)]


def test_an_alert_quotes_the_answering_passage_not_the_headline_repeated(tmp_path: Path) -> None:
    store = FollowStore(Database(tmp_path / "db"))
    vectors = QuestionVectors()
    follow_one(store, vectors)
    engine = StandInEngine()
    engine.headline_first = True
    (finding,) = find_new_coverage(engine, store, vectors, {"A"}, threshold=0.9).findings  # type: ignore[arg-type]
    lead = finding.answer.results[0]
    assert lead.text.startswith("It was 3 200") and lead.highlights == ((0, 13),)
    assert [r.text for r in finding.answer.more] == ["Headline A."]
