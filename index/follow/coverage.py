"""New coverage for followed questions: which follows an indexed change answers, article by article.

For each new or changed article, its passages are matched against every followed question
(:class:`.matching.QuestionVectors`); each question that comes close is asked of that
article's passages alone with :meth:`index.Engine.answers_from`, which applies the same
answer gate as any question. An article gives a follow at most one finding (its best
passage). A finding whose passage reports what an article the follower already has reports
(the engine folds such passages together: "also reported by") is not news: it is recorded
as seen, never sent.

Only an ``answer`` alerts. When the engine is not sure the article answers the question
(``closest``), the article is kept as *possibly related*: listed under /following, never sent.
The passage an alert quotes is the one an answer would quote: the best of the article's
passages that is not just its headline repeated, one with an answering sentence first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from ..search.answer import Answer
from ..search.backend import Candidates
from ..search.engine import Engine
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
    related: list[tuple[Follow, str]] = field(default_factory=list)
    """(follow, article) pairs the engine was not sure answer the question (``closest``): never alerted."""
    close: int = 0
    """Questions that came close to some new passage, and were asked in full."""


def probe_vectors(fetched: Candidates) -> np.ndarray:
    """What new passages are matched by: their sentences' vectors, as the gate weighs the best sentence above
    all; a passage without sentences by its own vectors (every language version)."""
    bare = np.bincount(fetched.sentence_owner, minlength=len(fetched.passages)) == 0
    return np.vstack([fetched.sentence_vectors, fetched.vectors[bare[fetched.vector_owner]]])


def _flat(text: str) -> str:
    return " ".join(text.casefold().split()).strip(" .:!?")


def quoting(answer: Answer, title: str) -> Answer:
    """``answer`` with the passage an alert should quote first: not the headline repeated as a passage,
    and one with an answering sentence (bold in the alert) before one without."""
    results = (*answer.results, *answer.more)
    candidates = [r for r in results if _flat(r.text) != _flat(title)] or list(results)
    lead = next((r for r in candidates if r.highlights), candidates[0])
    rest = tuple(r for r in results if r is not lead)
    return dataclasses.replace(answer, results=(lead,), more=rest)


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
    numbers: dict[str, list[int]] = {}
    for number, passage in enumerate(engine.corpus.passages):
        if passage.article.id in articles:
            numbers.setdefault(passage.article.id, []).append(number)
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
            answer = engine.answers_from(members[0].question, passages, language=language, hint=hint)
            if not answer.answered or not answer.results:
                continue
            if answer.confidence != "answer":
                report.related += [(follow, article_id) for follow in members]
                continue
            answer = quoting(answer, engine.corpus.passages[passages[0]].article.title)
            corroborated = {c.article_id for c in answer.results[0].also_reported_by}
            for follow in members:
                if corroborated & known[follow.id]:
                    report.corroborations.append((follow, article_id))
                else:
                    report.findings.append(Finding(follow, article_id, answer))
                known[follow.id].add(article_id)
    return report
