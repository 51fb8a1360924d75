"""find_new_coverage's rules with a stand-in engine: one finding per article and follow, corroborations held back."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from index import Answer, Result
from index.follow import Database, FollowStore, QuestionVectors, find_new_coverage
from index.search.answer import Corroboration


class StandInEngine:
    """Two new articles, two passages each, every sentence close to the followed question; B reports what A does."""

    def __init__(self) -> None:
        article = {name: SimpleNamespace(id=name) for name in ("A", "B")}
        passages = [SimpleNamespace(article=article[n]) for n in ("A", "A", "B", "B")]
        self.corpus = SimpleNamespace(passages=passages, articles=(article["A"], article["B"]))
        self.index = SimpleNamespace(fetch=self.fetch)
        self.asked: list[tuple[str, tuple[int, ...]]] = []
        self.queries: list[Any] = []

    def fetch(self, passages: np.ndarray, terms: Any) -> Any:
        vectors = np.tile(np.array([1.0, 0.0], np.float32), (len(passages), 1))
        return SimpleNamespace(
            passages=passages,
            sentence_owner=np.arange(len(passages)),
            sentence_vectors=vectors,
            vectors=vectors,
            vector_owner=np.arange(len(passages)),
        )

    def answers_from(
        self, question: str, passages: Collection[int], *, language: str, hint: Any, query: Any = None
    ) -> Answer:
        self.asked.append((question, tuple(passages)))
        self.queries.append(query)
        article = self.corpus.passages[next(iter(passages))].article.id
        also = (Corroboration("A", 0, "Ouest", "t", "", "x"),) if article == "B" else ()
        first = Result(article, 0, "s", "t", "", "2026-11-20", "fr", "x", None, None, 1.0, also_reported_by=also)
        second = Result(article, 1, "s", "t", "", "2026-11-20", "fr", "y", None, None, 0.9)
        return Answer(question, language, True, (first,), None, (second,))


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
    assert all(np.array_equal(q, [1.0, 0.0]) for q in engine.queries)  # its kept vector: not embedded again

    far = find_new_coverage(engine, store, vectors, {"A"}, threshold=1.5)  # type: ignore[arg-type]
    assert far.findings == [] and far.close == 0  # nobody close: nothing asked in full
    assert len(engine.asked) == 2
