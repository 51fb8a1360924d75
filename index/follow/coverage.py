"""New coverage for followed questions: which follows an indexed change answers, article by article.

For each new or changed article, its passages are matched against every followed question
(:class:`.matching.QuestionVectors`); each question that comes close is asked of that
article's passages alone with :meth:`index.Engine.answers_from`, which applies the same
answer gate as any question. An article gives a follow at most one finding (its best
passage). A finding whose passage reports what an article the follower already has reports
(the engine folds such passages together: "also reported by") is not news: it is recorded
as seen, never sent.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from ..search.answer import Answer
from ..search.backend import Candidates
from ..search.engine import Engine
from ..search.growth import article_starts
from .matching import DEFAULT_THRESHOLD, QuestionVectors
from .store import Follow, FollowStore


@dataclass(frozen=True, slots=True)
class Finding:
    """``article_id`` answers ``follow``'s question: ``answer.results[0]`` is its passage."""

    follow: Follow
    article_id: str
    answer: Answer


@dataclass
class CoverageReport:
    findings: list[Finding] = field(default_factory=list)
    corroborations: list[tuple[Follow, str]] = field(default_factory=list)
    """(follow, article) pairs left unsent: the article reports what the follower already has."""
    close: int = 0
    """Questions that came close to some new passage, and were asked in full."""


def probe_vectors(fetched: Candidates) -> np.ndarray:
    """What new passages are matched by: their sentences' vectors, as the gate weighs the best sentence above
    all; a passage without sentences by its own vectors (every language version)."""
    bare = np.bincount(fetched.sentence_owner, minlength=len(fetched.passages)) == 0
    return np.vstack([fetched.sentence_vectors, fetched.vectors[bare[fetched.vector_owner]]])


def find_new_coverage(
    engine: Engine,
    store: FollowStore,
    vectors: QuestionVectors,
    articles: Collection[str],
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> CoverageReport:
    """What ``articles`` (new or changed, indexed by ``engine``) bring the active follows."""
    report = CoverageReport()
    if not len(vectors) or not articles:
        return report
    # Where the articles' passages are, from the passage table's arrays: no walk over every passage held.
    starts = article_starts(engine.corpus)
    numbers = {
        article.id: list(range(int(starts[j]), int(starts[j + 1])))
        for j, article in enumerate(engine.corpus.articles)
        if article.id in articles
    }
    known: dict[int, set[str]] = {}
    for article_id in sorted(numbers):
        passages = numbers[article_id]
        close = vectors.close_to(probe_vectors(engine.index.fetch(np.array(passages, dtype=np.int64), [])), threshold)
        if not close:
            continue
        report.close += len(close)
        follows = store.follows_of_questions(close)
        fresh = [f.id for f in follows if f.id not in known]
        known.update(store.known_articles(fresh))
        groups: dict[tuple[int, str, str | None], list[Follow]] = {}
        for follow in follows:
            if article_id not in known[follow.id]:
                groups.setdefault((follow.question_id, follow.language, follow.hint), []).append(follow)
        for (_, language, hint), members in groups.items():
            # The question's vector is in the matrix already (embedded from the text as followed, which asking
            # embeds once its spacing is normalised): asking does not embed it again.
            question = members[0].question
            query = vectors.vector_of(members[0].question_id) if " ".join(question.split()) == question else None
            answer = engine.answers_from(members[0].question, passages, language=language, hint=hint, query=query)
            if not answer.answered or not answer.results:
                continue
            corroborated = {c.article_id for c in answer.results[0].also_reported_by}
            for follow in members:
                if corroborated & known[follow.id]:
                    report.corroborations.append((follow, article_id))
                else:
                    report.findings.append(Finding(follow, article_id, answer))
                known[follow.id].add(article_id)
    return report
