"""The answer engine: hybrid cross-lingual retrieval with abstention.

Every passage is indexed in every language it exists in. A question is
analysed in its own language and scored two ways, BM25 over the analysed
terms and cosine over multilingual sentence embeddings; each way scores
passages by their best-matching language version, and the two are fused
(cosine plus max-scaled BM25; reciprocal-rank fusion is kept as a measured
alternative).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..corpus.model import Corpus, Passage
from ..languages import SUPPORTED, Detection, LanguageDetector
from .analysis import analyzer
from .answer import Answer, Result
from .cache import EmbeddingCache
from .lexical import LexicalIndex
from .semantic import Embedder, UniversalSentenceEncoder, VectorIndex, normalize_rows, top_k

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Settings:
    """Tuning knobs, each measured on the development questions (see README)."""

    candidates: int = 50
    """How deep each ranking goes before fusion."""
    fusion: str = "score"
    """"rrf" (reciprocal-rank fusion) or "score" (cosine plus max-scaled BM25), see README."""
    rrf_k: int = 60
    """The reciprocal-rank-fusion constant (the usual 60)."""
    lexical_weight: float = 0.2
    semantic_weight: float = 1.0
    min_similarity: float = 0.30
    """A leading passage this close (cosine) to the question answers it..."""
    min_shared_rare_terms: float = 0.95
    """...and so does one sharing terms with the question whose IDF adds up to this share of the
    largest possible IDF of one term (in practice two or more rare terms: names, figures)."""
    abstention_depth: int = 5
    embed_translations: bool = False
    """Embed translations too, not just originals (measured worse with USE; see README)."""
    duplicate_similarity: float = 0.85
    """Passages of different articles this close are near-duplicates (corroboration)."""
    duplicates_per_page: int = 2
    more_results: int = 9


@dataclass(frozen=True, slots=True)
class _Scored:
    passage: int
    fused: float
    similarity: float
    lexical: float


@dataclass
class BuildStats:
    seconds: float = 0.0
    texts: int = 0
    embedded: int = 0
    cache_note: str | None = None


@dataclass
class Engine:
    """An index over one corpus; immutable once built, safe to share between threads."""

    corpus: Corpus
    embedder: Embedder
    detector: LanguageDetector
    settings: Settings
    lexical: LexicalIndex
    vectors: VectorIndex
    doc_passage: np.ndarray
    """For each lexical document (a passage in one language), its passage number."""
    passage_starts: np.ndarray
    """Where each passage's documents begin (they are stored contiguously)."""
    vector_passage: np.ndarray
    """For each embedded text, its passage number."""
    passage_vectors: np.ndarray
    stats: BuildStats = field(default_factory=BuildStats)
    _embed_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def build(
        cls,
        corpus: Corpus,
        *,
        cache_dir: Path | None = None,
        embedder: Embedder | None = None,
        detector: LanguageDetector | None = None,
        settings: Settings | None = None,
    ) -> Engine:
        """Index ``corpus``, reusing cached embeddings for texts seen before."""
        started = time.perf_counter()
        embedder = embedder or UniversalSentenceEncoder()
        detector = detector or LanguageDetector()
        settings = settings or Settings()
        docs = [(i, r) for i, p in enumerate(corpus.passages) for r in p.renditions()]
        doc_passage = np.array([i for i, _ in docs], dtype=np.int64)
        passage_starts = np.flatnonzero(np.r_[True, doc_passage[1:] != doc_passage[:-1]]) if len(docs) else doc_passage
        lexical = LexicalIndex([analyzer(r.language).terms(r.text) for _, r in docs])
        embedded_docs = [(i, r) for i, r in docs if settings.embed_translations or r.method is None]
        vector_passage = np.array([i for i, _ in embedded_docs], dtype=np.int64)
        cache = EmbeddingCache(cache_dir, embedder.name)
        note = cache.rebuilt_reason
        vectors, embedded = cache.embed([r.text for _, r in embedded_docs], embedder.embed)
        passage_vectors = _mean_by_group(vectors, vector_passage, len(corpus.passages))
        stats = BuildStats(time.perf_counter() - started, len(docs), embedded, note)
        return cls(
            corpus=corpus,
            embedder=embedder,
            detector=detector,
            settings=settings,
            lexical=lexical,
            vectors=VectorIndex(vectors),
            doc_passage=doc_passage,
            passage_starts=passage_starts,
            vector_passage=vector_passage,
            passage_vectors=passage_vectors,
            stats=stats,
        )

    def ask(self, question: str, *, k: int = 3, language: str | None = None, hint: str | None = None) -> Answer:
        """Answer ``question``: in ``language`` if given, else in the question's own language.

        ``hint`` (a Telegram language code, or the user's chosen language)
        decides for questions too short or ambiguous to identify.
        """
        question = " ".join(question.split())
        detection = self.detector.detect(question, hint)
        answer_language = language if language in SUPPORTED else detection.language
        if not question:
            return Answer(question, answer_language, False, (), detection.detected)
        words = analyzer(_analysis_language(detection)).word_forms(question, query=True)
        ranked = self._rank(question, words)
        answered = bool(ranked) and self._answerable(words, ranked)
        if not answered:
            return Answer(question, answer_language, False, (), detection.detected)
        ordered = self._spread_duplicates(ranked, k)
        results = tuple(self._result(s, answer_language) for s in ordered[: k + self.settings.more_results])
        return Answer(question, answer_language, True, results[:k], detection.detected, results[k:])

    def embed_query(self, question: str) -> np.ndarray:
        with self._embed_lock:
            return self.embedder.embed([question])[0]

    def _rank(self, question: str, words: list[tuple[str, ...]]) -> list[_Scored]:
        settings = self.settings
        n_passages = len(self.corpus.passages)
        if n_passages == 0:
            return []
        terms = [term for forms in words for term in forms]
        # Documents are stored passage by passage, so a passage's best language is a segment maximum.
        doc_scores = self.lexical.scores(terms)
        one_doc_each = len(self.passage_starts) == len(doc_scores)
        lexical = doc_scores if one_doc_each else np.maximum.reduceat(doc_scores, self.passage_starts)
        lexical_top = [int(p) for p in top_k(lexical, settings.candidates) if lexical[p] > 0]

        query = self.embed_query(question)
        rows, sims = self.vectors.search(query, settings.candidates * 8)
        similarity: dict[int, float] = {}
        for row, sim in zip(self.vector_passage[rows].tolist(), sims.tolist(), strict=True):
            similarity.setdefault(row, sim)
        semantic_top = list(similarity)[: settings.candidates]

        candidates = list(dict.fromkeys(semantic_top + lexical_top))
        missing = [p for p in candidates if p not in similarity]
        if missing:
            similarity.update(zip(missing, (self.passage_vectors[missing] @ query).tolist(), strict=True))
        fused = self._fuse(candidates, similarity, lexical, semantic_top, lexical_top)
        order = sorted(fused, key=lambda p: (-fused[p], -similarity[p], p))
        return [_Scored(p, fused[p], similarity[p], float(lexical[p])) for p in order]

    def _fuse(
        self,
        candidates: list[int],
        similarity: dict[int, float],
        lexical: np.ndarray,
        semantic_top: list[int],
        lexical_top: list[int],
    ) -> dict[int, float]:
        settings = self.settings
        if settings.fusion == "rrf":
            fused: dict[int, float] = {}
            for weight, ranking in ((settings.lexical_weight, lexical_top), (settings.semantic_weight, semantic_top)):
                for rank, passage in enumerate(ranking):
                    fused[passage] = fused.get(passage, 0.0) + weight / (settings.rrf_k + rank + 1)
            return fused
        # Score fusion: cosine plus BM25 scaled by the best BM25 of this query, so
        # a lexical list that only matched names weighs little against a strong one.
        top_lexical = float(lexical.max()) if len(lexical) else 0.0
        scale = settings.lexical_weight / top_lexical if top_lexical > 0 else 0.0
        return {p: settings.semantic_weight * similarity[p] + scale * float(lexical[p]) for p in candidates}

    def _answerable(self, question_words: list[tuple[str, ...]], ranked: list[_Scored]) -> bool:
        """Whether a leading candidate is close enough to the question to quote.

        A passage counts when it is close in meaning, or when it shares rare
        terms with the question (IDF mass of about two rare terms: names,
        figures). Cosine alone misses questions that are little more than a
        name ("Who is Linda Yaccarino?") and confuses short off-topic
        questions with passages in the same register; shared rare terms
        settle both.
        """
        settings = self.settings
        leading = ranked[: settings.abstention_depth]
        if any(s.similarity >= settings.min_similarity for s in leading):
            return True
        # The best lexical matches count too: a name-only question may rank them low on meaning.
        by_terms = sorted(ranked, key=lambda s: -s.lexical)[: settings.abstention_depth]
        leading = leading + [s for s in by_terms if s.lexical > 0 and s not in leading]
        words = set(question_words)
        terms = sorted({term for forms in words for term in forms})
        if not terms:
            return False
        passages = np.array([s.passage for s in leading])
        # Documents are stored passage by passage, so each passage's documents are one sorted run.
        first = np.searchsorted(self.doc_passage, passages, side="left")
        last = np.searchsorted(self.doc_passage, passages, side="right")
        docs = np.concatenate([np.arange(a, b) for a, b in zip(first, last, strict=True)])
        weighted = self.lexical.presence(terms, docs) * self.lexical.idf(terms)  # per document: one language version
        column = {term: j for j, term in enumerate(terms)}
        # A word counts once, by its best form ("France" may match as "france" or as "franc").
        shared = sum(weighted[:, [column[t] for t in forms]].max(axis=1) for forms in words)
        return bool(shared.max(initial=0.0) >= settings.min_shared_rare_terms * self.lexical.unseen_idf)

    def _spread_duplicates(self, ranked: list[_Scored], page: int) -> list[_Scored]:
        """Keep near-duplicates from different articles, but at most a few on the first page.

        Walks down the ranking filling the first page; a passage with too many
        near-twins (from other articles) already there waits until after it.
        """
        settings = self.settings
        first_page: list[_Scored] = []
        deferred: list[_Scored] = []
        position = 0
        while len(first_page) < page and position < len(ranked):
            candidate = ranked[position]
            position += 1
            article = self.corpus.passages[candidate.passage].article.id
            others = [s.passage for s in first_page if self.corpus.passages[s.passage].article.id != article]
            twins = 0
            if others:
                similarity = self.passage_vectors[others] @ self.passage_vectors[candidate.passage]
                twins = int(np.count_nonzero(similarity >= settings.duplicate_similarity))
            (deferred if twins + 1 > settings.duplicates_per_page else first_page).append(candidate)
        return first_page + deferred + ranked[position:]

    def _result(self, scored: _Scored, language: str) -> Result:
        passage: Passage = self.corpus.passages[scored.passage]
        article = passage.article
        translated = passage.translations.get(language) if language != passage.original.language else None
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
            score=scored.fused,
        )


def _analysis_language(detection: Detection) -> str:
    """Analyse a question in the language it looks like, even an unsupported one (no stemming then)."""
    return detection.detected or detection.language


def _mean_by_group(vectors: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    if len(groups) == n and np.array_equal(groups, np.arange(n)):
        return vectors  # one vector per passage already (the usual case): share it, don't copy
    if n == 0 or vectors.size == 0:
        return np.zeros((n, vectors.shape[1] if vectors.ndim == 2 else 1), dtype=np.float32)
    sums = np.zeros((n, vectors.shape[1]), dtype=np.float32)
    np.add.at(sums, groups, vectors)
    return normalize_rows(sums)
