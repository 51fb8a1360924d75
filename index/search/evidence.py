"""The evidence for one question: what each candidate passage offers, how it ranks, whether to answer.

Each candidate is described by a few numbers that mean the same on any
corpus: the cosine of the question with the passage's best language version
and with its best sentence (multilingual-e5), its BM25 relative to this
question's best, and the share of the question's vocabulary (IDF-weighted) it
contains. Ranking is a weighted sum of them. Whether to answer at all is a
logistic model over the leading candidate's evidence set against how the
question scores on sentences drawn from the whole corpus, so it does not hang
on one corpus's raw score distribution. The weights are fitted on our own
calibration corpora by ``bench/fit_ranking.py``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .settings import Settings

# A second sentence is highlighted too when it is this close to the best one.
_SECOND_SENTENCE_MARGIN = 0.01


@dataclass(frozen=True, slots=True)
class Evidence:
    """Candidate passages (by number) and their evidence, one entry per candidate."""

    question: np.ndarray
    passages: np.ndarray
    passage_similarity: np.ndarray
    sentence_similarity: np.ndarray
    lexical: np.ndarray
    coverage: np.ndarray
    sentence_rows: np.ndarray
    """Sentence rows of every candidate, with the candidate's position in ``sentence_owner``."""
    sentence_owner: np.ndarray
    sentence_scores: np.ndarray
    sentence_spans: np.ndarray
    """(rows, 2) offsets of every sentence row into its passage's original; indexed by row, never reordered."""
    sentence_echoes: np.ndarray
    """Cross-lingual vectors of every sentence row, likewise."""
    background: np.ndarray
    """The question's cosine with each background sentence."""
    readable: float = 1.0
    """The share of passages readable in the question's language: only there does shared vocabulary tell."""
    fused: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.float32))

    def ranked(self, fused: np.ndarray) -> Evidence:
        """The same evidence with candidates in order of ``fused`` (ties: passage number)."""
        order = np.lexsort((self.passages, -fused))
        position = np.empty_like(order)
        position[order] = np.arange(len(order))
        owner = position[self.sentence_owner]
        by_owner = np.argsort(owner, kind="stable")
        return Evidence(
            question=self.question,
            passages=self.passages[order],
            passage_similarity=self.passage_similarity[order],
            sentence_similarity=self.sentence_similarity[order],
            lexical=self.lexical[order],
            coverage=self.coverage[order],
            sentence_rows=self.sentence_rows[by_owner],
            sentence_owner=owner[by_owner],
            sentence_scores=self.sentence_scores[by_owner],
            sentence_spans=self.sentence_spans,
            sentence_echoes=self.sentence_echoes,
            background=self.background,
            readable=self.readable,
            fused=fused[order],
        )

    def _sentences_of(self, candidate: int) -> slice:
        first, last = np.searchsorted(self.sentence_owner, [candidate, candidate + 1])
        return slice(int(first), int(last))

    def rows_of(self, candidate: int) -> np.ndarray:
        """The candidate's sentence rows, in text order."""
        return self.sentence_rows[self._sentences_of(candidate)]

    def best_sentence_row(self, candidate: int) -> int | None:
        """The sentence row of the candidate's answering sentence, None when it has no sentences."""
        span = self._sentences_of(candidate)
        if span.start == span.stop:
            return None
        return int(self.sentence_rows[span][int(np.argmax(self.sentence_scores[span]))])

    def highlighted_rows(self, candidate: int) -> list[int]:
        """The candidate's answering sentence(s), in text order: the best, and a near-tie if it leaves most unmarked."""
        span = self._sentences_of(candidate)
        scores, rows = self.sentence_scores[span], self.sentence_rows[span]
        if len(rows) == 0:
            return []
        order = np.argsort(-scores, kind="stable")
        marked = [int(order[0])]
        if len(order) >= 4 and scores[order[1]] >= scores[order[0]] - _SECOND_SENTENCE_MARGIN:
            marked.append(int(order[1]))
        return sorted(int(rows[i]) for i in marked)


def fused_scores(evidence: Evidence, settings: Settings) -> np.ndarray:
    """The ranking score of every candidate: a weighted sum of its evidence.

    Shared vocabulary counts as far as the corpus can be read in the question's language: asked in
    English of untranslated French reports, it would only reward passages that repeat a name.
    """
    return (
        settings.passage_weight * evidence.passage_similarity
        + settings.sentence_weight * evidence.sentence_similarity
        + settings.lexical_weight * evidence.lexical
        + settings.coverage_weight * evidence.readable * evidence.coverage
    ).astype(np.float32)


def answer_features(evidence: Evidence) -> np.ndarray:
    """What the abstention model sees, from the leading candidate (``evidence`` must be ranked).

    The best sentence's cosine, and the same relative to the question's
    cosines with sentences drawn from the whole corpus and with the sentences
    of every candidate: how far the best evidence stands out. Then the share
    of the question's vocabulary the leading passage contains, which says
    something where the corpus can be read in the question's language
    (originals or translations in it): hence the interaction terms.
    """
    sentence = float(evidence.sentence_similarity[0])
    candidates = float(np.mean(evidence.sentence_scores)) if len(evidence.sentence_scores) else sentence
    coverage = float(evidence.coverage[0])
    readable = evidence.readable
    return np.array(
        [
            sentence,
            sentence - float(np.mean(evidence.background)),
            sentence - candidates,
            coverage,
            readable,
            readable * coverage,
            readable * sentence,
        ],
        dtype=np.float64,
    )


def answer_probability(evidence: Evidence, settings: Settings) -> float:
    """The abstention model's probability that the coverage answers the question."""
    logit = settings.answer_bias + float(np.dot(settings.answer_weights, answer_features(evidence)))
    return float(1.0 / (1.0 + np.exp(-logit)))
