"""The evidence for one question: what each candidate passage offers, and how the candidates rank.

Each candidate is described by a few numbers: the cosine of the question with
the passage's best language version and with its best sentence
(multilingual-e5), its BM25 relative to this question's best, and the share of
the question's vocabulary (IDF-weighted) it contains. Ranking is a weighted
sum of them, fitted on our own calibration corpora by ``bench/fit_ranking.py``.

A sentence also counts for what it says beyond its article's common theme:
every sentence of a report on a vineyard is close to a question about the
vineyard, and the lead sentence closest of all. So each sentence is scored
too by its *residual* cosine, question and sentence both taken relative to the
centroid of the article's sentences, which finds the one sentence with the
asked detail (the price, the hour) within a story. Whether to answer at all
is decided elsewhere, by :mod:`index.search.gate`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .backend import Candidates, SearchIndex
from .candidates import Pool
from .query import Query
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
    """Per candidate, its best sentence's cosine (the passage's when it has no sentences)."""
    sentence_evidence: np.ndarray
    """Per candidate, its best sentence score (``sentence_scores``; the passage cosine when it has no sentences)."""
    lexical: np.ndarray
    coverage: np.ndarray
    sentence_rows: np.ndarray
    """Sentence rows of every candidate, with the candidate's position in ``sentence_owner``."""
    sentence_owner: np.ndarray
    sentence_cosines: np.ndarray
    """Per sentence row (in ``sentence_owner``'s order), its e5 cosine with the question."""
    sentence_scores: np.ndarray
    """Per sentence row, what ranks it: the cosine plus its share of the residual cosine (see the module)."""
    sentence_spans: np.ndarray
    """(rows, 2) offsets of every sentence row into its passage's original; indexed by row, never reordered."""
    sentence_echoes: np.ndarray
    """Cross-lingual vectors of every sentence row, likewise."""
    echo_cosines: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.float32))
    """Per sentence row (in ``sentence_owner``'s order), its USE cosine with the question."""
    sentence_echo: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.float32))
    """Per candidate, its best sentence's USE cosine (0 when it has no sentences)."""
    window: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.float32))
    """Per candidate, the best e5 cosine of two adjacent sentences read together (an answer spread over two)."""
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
            sentence_evidence=self.sentence_evidence[order],
            lexical=self.lexical[order],
            coverage=self.coverage[order],
            sentence_rows=self.sentence_rows[by_owner],
            sentence_owner=owner[by_owner],
            sentence_cosines=self.sentence_cosines[by_owner],
            sentence_scores=self.sentence_scores[by_owner],
            sentence_spans=self.sentence_spans,
            sentence_echoes=self.sentence_echoes,
            echo_cosines=self.echo_cosines[by_owner] if len(self.echo_cosines) else self.echo_cosines,
            sentence_echo=self.sentence_echo[order] if len(self.sentence_echo) else self.sentence_echo,
            window=self.window[order] if len(self.window) else self.window,
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


@dataclass(frozen=True, slots=True)
class CorpusFacts:
    """What the evidence needs to know of the corpus beyond the candidates."""

    index: SearchIndex
    centroids: np.ndarray
    """Per article (numbered as in ``passage_article``), the mean of its original sentences' e5 vectors."""
    passage_article: np.ndarray
    """Per passage, its article's row in ``centroids``."""
    readable_share: dict[str, float]
    """For each language, the share of passages that can be read in it (original or translation)."""


def weigh(query: Query, pool: Pool, facts: CorpusFacts, settings: Settings) -> Evidence:
    """Every candidate's evidence, unranked (the ranking stage orders it)."""
    fetched, candidates = pool.fetched, pool.passages
    count = len(candidates)
    passage_similarity = _owner_max(fetched.vectors @ query.vector, fetched.vector_owner, count)
    sentence_similarity = fetched.sentence_vectors @ query.vector
    best_sentence = _owner_max(sentence_similarity, fetched.sentence_owner, count)
    no_sentences = np.bincount(fetched.sentence_owner, minlength=count) == 0
    best_sentence[no_sentences] = passage_similarity[no_sentences]
    echo_cosines = (fetched.sentence_echoes @ query.echo).astype(np.float32)
    sentence_scores = sentence_similarity + settings.echo_weight * echo_cosines
    if settings.residual_weight and settings.sentence_weight and len(sentence_similarity):
        centroids = facts.centroids[facts.passage_article[candidates[fetched.sentence_owner]]]
        residual = residual_cosines(query.vector, fetched.sentence_vectors, centroids, centroids @ query.vector)
        sentence_scores = sentence_scores + (settings.residual_weight / settings.sentence_weight) * residual
    sentence_evidence = _owner_max(sentence_scores, fetched.sentence_owner, count)
    sentence_evidence[no_sentences] = passage_similarity[no_sentences]
    sentence_echo = _owner_max(echo_cosines, fetched.sentence_owner, count)
    sentence_echo[no_sentences] = 0.0
    return Evidence(
        question=query.vector,
        passages=candidates,
        passage_similarity=passage_similarity,
        sentence_similarity=best_sentence,
        sentence_evidence=sentence_evidence,
        lexical=pool.lexical,
        coverage=_coverage(query, facts.index, fetched),
        sentence_rows=np.arange(len(sentence_similarity), dtype=np.int64),
        sentence_owner=fetched.sentence_owner,
        sentence_cosines=sentence_similarity,
        sentence_scores=sentence_scores.astype(np.float32),
        sentence_spans=fetched.sentence_spans,
        sentence_echoes=fetched.sentence_echoes,
        echo_cosines=echo_cosines,
        sentence_echo=sentence_echo,
        window=_windows(query.vector, fetched, count, passage_similarity),
        readable=facts.readable_share.get(query.question.language, 0.0),
    )


def _coverage(query: Query, index: SearchIndex, fetched: Candidates) -> np.ndarray:
    """Per candidate, the share of the question's IDF its best language version contains.

    A word counts once, by its best form ("France" may match as "france" or as "franc").
    """
    candidates = len(fetched.passages)
    terms = query.asked_terms
    if not terms:
        return np.zeros(candidates, dtype=np.float32)
    words = list(dict.fromkeys(query.words))
    idf = index.idf(terms)
    weighted = fetched.presence * idf
    column = {term: j for j, term in enumerate(terms)}
    matched = sum(weighted[:, [column[t] for t in forms]].max(axis=1) for forms in words)
    total = sum(float(idf[[column[t] for t in forms]].max()) for forms in words)
    best = np.zeros(candidates, dtype=np.float64)
    np.maximum.at(best, fetched.doc_owner, matched)
    return (best / total).astype(np.float32) if total > 0 else best.astype(np.float32)


def _windows(query: np.ndarray, fetched: Candidates, count: int, fallback: np.ndarray) -> np.ndarray:
    """Per candidate, the best cosine of the mean vector of two adjacent sentences (its passage's if it has one)."""
    owner, vectors = fetched.sentence_owner, fetched.sentence_vectors
    best = np.array(fallback, dtype=np.float32, copy=True)
    if len(owner) < 2:
        return best
    paired = owner[1:] == owner[:-1]
    if not paired.any():
        return best
    sums = vectors[1:][paired] + vectors[:-1][paired]
    cosines = (sums @ query) / np.maximum(np.linalg.norm(sums, axis=1), 1e-6)
    windows = _owner_max(cosines.astype(np.float32), owner[1:][paired], count)
    return np.where(windows > -1.0, windows, best).astype(np.float32)


def _owner_max(scores: np.ndarray, owner: np.ndarray, groups: int) -> np.ndarray:
    """Per group, its best score (-1 for a group with no rows)."""
    best = np.full(groups, -1.0, dtype=np.float32)
    np.maximum.at(best, owner, scores)
    return best


def fused_scores(evidence: Evidence, settings: Settings) -> np.ndarray:
    """The ranking score of every candidate: a weighted sum of its evidence.

    Shared vocabulary counts as far as the corpus can be read in the question's language: asked in
    English of untranslated French reports, it would only reward passages that repeat a name.
    """
    return (
        settings.passage_weight * evidence.passage_similarity
        + settings.sentence_weight * evidence.sentence_evidence
        + settings.lexical_weight * evidence.lexical
        + settings.coverage_weight * evidence.readable * evidence.coverage
    ).astype(np.float32)


def residual_cosines(
    query: np.ndarray, sentences: np.ndarray, centroids: np.ndarray, query_centroid: np.ndarray
) -> np.ndarray:
    """Per sentence row, the cosine of question and sentence each minus the row's article centroid.

    ``centroids`` is the centroid of each row's article (unnormalised means of unit vectors) and
    ``query_centroid`` the question's dot product with it. A sentence that only shares its
    article's theme scores near zero; one that says what the question asks beyond it, high.
    """
    if not len(sentences):
        return np.zeros(0, dtype=np.float32)
    sentence_centroid = np.einsum("ij,ij->i", sentences, centroids)
    centroid_norm = np.einsum("ij,ij->i", centroids, centroids)
    cosines = sentences @ query
    numerator = cosines - query_centroid - sentence_centroid + centroid_norm
    query_norm = 1.0 - 2.0 * query_centroid + centroid_norm
    sentence_norm = 1.0 - 2.0 * sentence_centroid + centroid_norm
    # A sentence that is its whole article (or the question its centroid) has no residual to speak
    # of: it keeps its plain cosine, so a one-sentence article is neither helped nor hurt.
    degenerate = (query_norm < 1e-4) | (sentence_norm < 1e-4)
    residual = numerator / np.sqrt(np.maximum(query_norm, 1e-4) * np.maximum(sentence_norm, 1e-4))
    return np.where(degenerate, cosines, residual).astype(np.float32)
