"""The presentation stage: ranked evidence and a decision, turned into the :class:`Answer` a reader sees.

Passages of other articles whose answering sentence says what a better
result's does fold into it as corroboration; each result's answering
sentences are highlighted, and carried into its translation by sentence
alignment. The decision says whether the results are shown as the answer, as
the closest the coverage comes (hedged), or not at all.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from ..corpus.model import Corpus, Passage
from .alignment import counterpart
from .answer import Answer, Corroboration, Result, Span
from .backend import SearchIndex
from .decision import Decision
from .evidence import Evidence
from .query import Question


@dataclass(frozen=True, slots=True)
class Presenter:
    """What presenting needs of the corpus and the index."""

    corpus: Corpus
    index: SearchIndex
    corroboration_similarity: float
    """A sentence this close (USE cosine) to another article's answering sentence reports the same thing."""

    def refusal(self, question: Question) -> Answer:
        return Answer(question.asked, question.answer_language, False, (), question.detected, read_as=question.read_as)

    def answer(self, question: Question, evidence: Evidence, decision: Decision, k: int, more: int) -> Answer:
        """The first ``k`` results and ``more`` beyond them, or a refusal when the decision is ``none``."""
        if not decision.answered:
            return self.refusal(question)
        results = self.fold(evidence, k + more, question.answer_language)
        return Answer(
            question.asked,
            question.answer_language,
            True,
            tuple(results[:k]),
            question.detected,
            tuple(results[k:]),
            hedged=decision.hedged,
            read_as=question.read_as,
        )

    def answer_from(
        self, question: Question, evidence: Evidence, decision: Decision, passages: Collection[int], depth: int
    ) -> Answer:
        """The first of the given ``passages`` as the answer (the rest after it), older passages folded into them."""
        if not decision.answered:
            return self.refusal(question)
        given = {(self.corpus.passages[p].article.id, self.corpus.passages[p].position) for p in passages}
        folded = self.fold(evidence, depth, question.answer_language)
        results = [r for r in folded if (r.article_id, r.passage_index) in given]
        return Answer(
            question.asked,
            question.answer_language,
            True,
            tuple(results[:1]),
            question.detected,
            tuple(results[1:]),
            hedged=decision.hedged,
            read_as=question.read_as,
        )

    def fold(self, evidence: Evidence, limit: int, language: str) -> list[Result]:
        """Results in order; a passage of another article that says what a better result's answer says folds into it.

        "Says the same" is judged on the cross-lingual sentence vectors: some
        sentence of the later passage is as close to the earlier result's
        answering sentence as a translation or close paraphrase would be.
        """
        passages = self.corpus.passages
        kept: list[tuple[int, np.ndarray | None, list[int]]] = []  # candidate, its answer's echo, folded passages
        for candidate in range(len(evidence.passages)):
            if len(kept) >= limit:
                break
            number = int(evidence.passages[candidate])
            article = passages[number].article.id
            echoes = evidence.sentence_echoes[evidence.rows_of(candidate)]
            home = None
            for leader, answer, folded in kept:
                if answer is None or not len(echoes) or article == passages[int(evidence.passages[leader])].article.id:
                    continue
                if any(passages[p].article.id == article for p in folded):
                    continue
                if float(np.max(echoes @ answer)) >= self.corroboration_similarity:
                    home = folded
                    break
            if home is not None:
                home.append(number)
                continue
            sentence = evidence.best_sentence_row(candidate)
            kept.append((candidate, None if sentence is None else evidence.sentence_echoes[sentence], []))
        return [self.result(evidence, candidate, language, folded) for candidate, _, folded in kept]

    def result(self, evidence: Evidence, candidate: int, language: str, folded: list[int]) -> Result:
        number = int(evidence.passages[candidate])
        passage: Passage = self.corpus.passages[number]
        article = passage.article
        translated = passage.translations.get(language) if language != passage.original.language else None
        marked = evidence.highlighted_rows(candidate)
        first = int(evidence.rows_of(candidate)[0]) if marked else 0
        highlights = tuple(_span(evidence.sentence_spans[row]) for row in marked)
        translation_highlights: tuple[Span, ...] = ()
        if translated is not None and marked:
            alignment = self.index.alignment(number, language)
            if alignment is not None:
                mapped = counterpart(list(alignment.beads), {row - first for row in marked})
                translation_highlights = tuple(alignment.spans[i] for i in mapped)
        return Result(
            article_id=article.id,
            passage_index=passage.position,
            source=article.source,
            title=article.title,
            url=article.url,
            published=article.published.isoformat(),
            language=article.language,
            text=passage.text,
            translation=translated.text if translated else None,
            translation_method=translated.method if translated else None,
            score=float(evidence.fused[candidate]),
            highlights=highlights,
            translation_highlights=translation_highlights,
            also_reported_by=tuple(_corroboration(self.corpus.passages[p]) for p in folded),
        )


def _corroboration(passage: Passage) -> Corroboration:
    article = passage.article
    return Corroboration(article.id, passage.position, article.source, article.title, article.url, passage.text)


def _span(row: np.ndarray) -> Span:
    return int(row[0]), int(row[1])
