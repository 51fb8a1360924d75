"""The answer engine: hybrid cross-lingual retrieval, answering sentences, corroboration, abstention.

Every passage is indexed in every language it exists in. A question is
analysed in its own language and looked up two ways, BM25 over the analysed
terms and multilingual-e5 vectors, each way taking a passage's best language
version. The candidates are then scored by evidence
(:mod:`index.search.evidence`): how close the passage is to the question, how
close its best sentence is, and how much of the question's vocabulary it
shares. The best sentence is the highlight, carried into the translation by
sentence alignment; passages of other articles whose answering sentence says
the same thing fold into one result as corroboration; and the coverage answers
only when the leading evidence stands out from how the question scores against
the corpus at large.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..corpus.model import Corpus, Passage, Rendition
from ..languages import SUPPORTED, Detection, LanguageDetector
from .alignment import align, counterpart
from .analysis import analyzer
from .answer import Answer, Corroboration, Result, Span
from .cache import EmbeddingCache
from .evidence import Evidence, answer_probability, fused_scores
from .lexical import LexicalIndex
from .semantic import Embedder, VectorIndex, shared_alignment_encoder, shared_retrieval_encoder, top_k
from .sentences import sentence_spans

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Settings:
    """Tuning knobs; the weights are fitted by ``bench/fit_ranking.py`` on our own calibration corpora."""

    candidates: int = 50
    """How deep each ranking goes before the evidence is weighed."""
    embed_translations: bool = True
    """Embed translations too, not just originals: a passage counts by its best language version."""
    passage_weight: float = 0.5
    sentence_weight: float = 1.5
    lexical_weight: float = 0.0
    """BM25, relative to this question's best (fitted to nothing: coverage does its work better)."""
    coverage_weight: float = 0.2
    answer_bias: float = -33.7523
    answer_weights: tuple[float, ...] = (42.1856, -2.9898, 0.5018, 0.3207, -1.1398, 4.4481, -0.9664)
    """Logistic weights of :func:`index.search.evidence.answer_features`; empty means always answer."""
    min_answer_probability: float = 0.4298
    calibrated_for: str = "e5-small-"
    """The embedder (name prefix) the abstention model was fitted with. With any other, the coverage
    answers when the leading passages share vocabulary with the question, as a plain search would."""
    background_sentences: int = 256
    """How many sentences of the corpus, drawn once at random, stand for "the corpus at large"."""
    corroboration_similarity: float = 0.6
    """A sentence this close (USE cosine) to another article's answering sentence reports the same thing:
    on the calibration corpus, pairs above it were the same fact in two outlets, pairs below mostly not."""
    more_results: int = 9


@dataclass
class BuildStats:
    seconds: float = 0.0
    texts: int = 0
    embedded: int = 0
    cache_note: str | None = None


@dataclass(frozen=True, slots=True)
class _Sentences:
    """Sentences of every passage's original, stored passage by passage."""

    spans: np.ndarray
    """(n, 2) character offsets into the passage's original text."""
    starts: np.ndarray
    """Passage i's sentences are rows starts[i]:starts[i + 1]."""
    vectors: np.ndarray
    """Retrieval (e5) vectors, one row per sentence."""
    echoes: np.ndarray
    """Cross-lingual (USE) vectors, for corroboration and alignment."""

    def of(self, passage: int) -> range:
        return range(int(self.starts[passage]), int(self.starts[passage + 1]))


@dataclass(frozen=True, slots=True)
class _Alignment:
    spans: list[tuple[int, int]]
    """The translation's sentences."""
    beads: list[tuple[tuple[int, ...], tuple[int, ...]]]


@dataclass
class Engine:
    """An index over one corpus; immutable once built, safe to share between threads."""

    corpus: Corpus
    embedder: Embedder
    aligner: Embedder
    detector: LanguageDetector
    settings: Settings
    lexical: LexicalIndex
    vectors: VectorIndex
    """One e5 vector per embedded language version of a passage."""
    doc_passage: np.ndarray
    """For each lexical document (a passage in one language), its passage number."""
    passage_starts: np.ndarray
    """Where each passage's documents begin (they are stored contiguously)."""
    vector_passage: np.ndarray
    """For each embedded text, its passage number (stored contiguously too)."""
    vector_starts: np.ndarray
    sentences: _Sentences
    background: np.ndarray
    """Sentence vectors standing for the corpus at large."""
    alignments: dict[tuple[int, str], _Alignment]
    readable_share: dict[str, float]
    """For each language, the share of passages that can be read in it (original or translation)."""
    stats: BuildStats = field(default_factory=BuildStats)
    _embed_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def build(
        cls,
        corpus: Corpus,
        *,
        cache_dir: Path | None = None,
        embedder: Embedder | None = None,
        aligner: Embedder | None = None,
        detector: LanguageDetector | None = None,
        settings: Settings | None = None,
    ) -> Engine:
        """Index ``corpus``, reusing cached embeddings for texts seen before.

        ``embedder`` finds passages (multilingual-e5 by default); ``aligner`` matches sentences across
        languages (USE by default, or ``embedder`` when only that is given, as tests do).
        """
        started = time.perf_counter()
        aligner = aligner or embedder or shared_alignment_encoder()
        embedder = embedder or shared_retrieval_encoder()
        detector = detector or LanguageDetector()
        settings = settings or Settings()
        passages = corpus.passages
        docs = [(i, r) for i, p in enumerate(passages) for r in p.renditions()]
        doc_passage = np.array([i for i, _ in docs], dtype=np.int64)
        lexical = LexicalIndex([analyzer(r.language).terms(r.text) for _, r in docs])
        embedded_docs = [(i, r) for i, r in docs if settings.embed_translations or r.method is None]
        vector_passage = np.array([i for i, _ in embedded_docs], dtype=np.int64)

        spans = [_body_sentences(p.original) for p in passages]
        sentence_texts = [p.text[a:b] for p, found in zip(passages, spans, strict=True) for a, b in found]
        translated = [(i, lang, r) for i, p in enumerate(passages) for lang, r in sorted(p.translations.items())]
        translated_spans = [_body_sentences(r) for _, _, r in translated]
        translated_texts = [
            r.text[a:b] for (_, _, r), found in zip(translated, translated_spans, strict=True) for a, b in found
        ]

        texts = [r.text for _, r in embedded_docs] + sentence_texts
        echo_texts = sentence_texts + translated_texts
        if aligner.name == embedder.name:  # one model in both roles: one cache file, written once
            cache = EmbeddingCache(cache_dir, embedder.name)
            note = cache.rebuilt_reason  # read before embedding: writing the cache back clears it
            both, embedded = cache.embed(texts + translated_texts, embedder.embed)
            vectors = both[: len(texts)]
            echoes = np.vstack([both[len(embedded_docs) : len(texts)], both[len(texts) :]])
        else:
            cache = EmbeddingCache(cache_dir, embedder.name)
            echo_cache = EmbeddingCache(cache_dir, aligner.name)
            note = cache.rebuilt_reason or echo_cache.rebuilt_reason
            vectors, embedded = cache.embed(texts, embedder.embed)
            echoes, echoed = echo_cache.embed(echo_texts, aligner.embed)
            embedded += echoed
        vectors = vectors.reshape(len(texts), -1)
        doc_vectors, sentence_vectors = vectors[: len(embedded_docs)], vectors[len(embedded_docs) :]
        echoes = echoes.reshape(len(echo_texts), -1)
        sentence_echoes, translation_echoes = echoes[: len(sentence_texts)], echoes[len(sentence_texts) :]

        counts = np.array([len(found) for found in spans], dtype=np.int64)
        sentences = _Sentences(
            spans=np.array([s for found in spans for s in found], dtype=np.int64).reshape(-1, 2),
            starts=np.r_[0, np.cumsum(counts)],
            vectors=sentence_vectors,
            echoes=sentence_echoes,
        )
        alignments: dict[tuple[int, str], _Alignment] = {}
        offset = 0
        for (passage, language, _), found in zip(translated, translated_spans, strict=True):
            rows = sentences.of(passage)
            beads = align(sentences.echoes[rows.start : rows.stop], translation_echoes[offset : offset + len(found)])
            alignments[passage, language] = _Alignment(found, beads)
            offset += len(found)

        drawn = min(settings.background_sentences, len(sentence_texts))
        sample = np.random.default_rng(0).choice(len(sentence_texts), size=drawn, replace=False)
        stats = BuildStats(time.perf_counter() - started, len(docs), embedded, note)
        return cls(
            corpus=corpus,
            embedder=embedder,
            aligner=aligner,
            detector=detector,
            settings=settings,
            lexical=lexical,
            vectors=VectorIndex(doc_vectors),
            doc_passage=doc_passage,
            passage_starts=_run_starts(doc_passage, len(passages)),
            vector_passage=vector_passage,
            vector_starts=_run_starts(vector_passage, len(passages)),
            sentences=sentences,
            background=sentences.vectors[np.sort(sample)],
            alignments=alignments,
            readable_share=_readable_share(passages),
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
        evidence = self._looked_up(question, detection)
        if evidence is None or not self._answerable(evidence):
            return Answer(question, answer_language, False, (), detection.detected)
        results = self._fold(evidence, k + self.settings.more_results, answer_language)
        return Answer(question, answer_language, True, tuple(results[:k]), detection.detected, tuple(results[k:]))

    def evidence(self, question: str, *, hint: str | None = None) -> Evidence | None:
        """Every candidate for ``question`` with its evidence, ranked: what ``ask`` decides on (for fitting)."""
        question = " ".join(question.split())
        return self._looked_up(question, self.detector.detect(question, hint))

    def _looked_up(self, question: str, detection: Detection) -> Evidence | None:
        """The ranked evidence for a whitespace-normalised question; None when there is nothing to look up."""
        if not any(ch.isalnum() for ch in question) or not self.corpus.passages:
            return None
        language = _analysis_language(detection)
        return self._evidence(question, analyzer(language).word_forms(question, query=True), language)

    def embed_query(self, question: str) -> np.ndarray:
        with self._embed_lock:
            return self.embedder.embed_query(question)

    def _evidence(self, question: str, words: list[tuple[str, ...]], language: str) -> Evidence | None:
        """Candidates from both rankings, each with its evidence and fused score, best first."""
        settings = self.settings
        terms = [term for forms in words for term in forms]
        # Documents are stored passage by passage, so a passage's best language is a segment maximum.
        doc_scores = self.lexical.scores(terms)
        lexical = np.maximum.reduceat(doc_scores, self.passage_starts[:-1]) if len(doc_scores) else doc_scores
        lexical_top = [int(p) for p in top_k(lexical, settings.candidates) if lexical[p] > 0]

        query = self.embed_query(question)
        rows, _ = self.vectors.search(query, settings.candidates * 4)
        semantic_top = list(dict.fromkeys(self.vector_passage[rows].tolist()))[: settings.candidates]
        candidates = np.array(list(dict.fromkeys(semantic_top + lexical_top)), dtype=np.int64)
        if not len(candidates):
            return None

        passage_similarity = _segment_max(self.vectors.rows, query, self.vector_starts, candidates)
        sentence_rows, sentence_owner = _segment_rows(self.sentences.starts, candidates)
        sentence_similarity = self.sentences.vectors[sentence_rows] @ query
        best_sentence = np.full(len(candidates), -1.0, dtype=np.float32)
        np.maximum.at(best_sentence, sentence_owner, sentence_similarity)
        no_sentences = np.diff(self.sentences.starts)[candidates] == 0
        best_sentence[no_sentences] = passage_similarity[no_sentences]
        top_lexical = float(lexical.max(initial=0.0))
        coverage = self._coverage(words, candidates)
        evidence = Evidence(
            question=query,
            passages=candidates,
            passage_similarity=passage_similarity,
            sentence_similarity=best_sentence,
            lexical=lexical[candidates] / top_lexical if top_lexical > 0 else np.zeros(len(candidates), np.float32),
            coverage=coverage,
            sentence_rows=sentence_rows,
            sentence_owner=sentence_owner,
            sentence_scores=sentence_similarity,
            background=self.background @ query if len(self.background) else np.zeros(1, np.float32),
            readable=self.readable_share.get(language, 0.0),
        )
        return evidence.ranked(fused_scores(evidence, settings))

    def _coverage(self, words: list[tuple[str, ...]], passages: np.ndarray) -> np.ndarray:
        """Per passage, the share of the question's IDF its best language version contains.

        A word counts once, by its best form ("France" may match as "france" or as "franc").
        """
        words = list(dict.fromkeys(words))
        terms = sorted({term for forms in words for term in forms})
        if not terms:
            return np.zeros(len(passages), dtype=np.float32)
        docs, owner = _segment_rows(self.passage_starts, passages)
        idf = self.lexical.idf(terms)
        weighted = self.lexical.presence(terms, docs) * idf
        column = {term: j for j, term in enumerate(terms)}
        matched = sum(weighted[:, [column[t] for t in forms]].max(axis=1) for forms in words)
        total = sum(float(idf[[column[t] for t in forms]].max()) for forms in words)
        best = np.zeros(len(passages), dtype=np.float64)
        np.maximum.at(best, owner, matched)
        return (best / total).astype(np.float32) if total > 0 else best.astype(np.float32)

    def _answerable(self, evidence: Evidence) -> bool:
        settings = self.settings
        if not self.embedder.name.startswith(settings.calibrated_for):
            return bool(np.max(evidence.coverage[:5]) > 0)
        if not settings.answer_weights:
            return True
        return answer_probability(evidence, settings) >= settings.min_answer_probability

    def _fold(self, evidence: Evidence, limit: int, language: str) -> list[Result]:
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
            rows = self.sentences.of(number)
            echoes = self.sentences.echoes[rows.start : rows.stop]
            home = None
            for leader, answer, folded in kept:
                if answer is None or not len(echoes) or article == passages[int(evidence.passages[leader])].article.id:
                    continue
                if any(passages[p].article.id == article for p in folded):
                    continue
                if float(np.max(echoes @ answer)) >= self.settings.corroboration_similarity:
                    home = folded
                    break
            if home is not None:
                home.append(number)
                continue
            sentence = evidence.best_sentence_row(candidate)
            kept.append((candidate, None if sentence is None else self.sentences.echoes[sentence], []))
        return [self._result(evidence, candidate, language, folded) for candidate, _, folded in kept]

    def _result(self, evidence: Evidence, candidate: int, language: str, folded: list[int]) -> Result:
        number = int(evidence.passages[candidate])
        passage: Passage = self.corpus.passages[number]
        article = passage.article
        translated = passage.translations.get(language) if language != passage.original.language else None
        marked = evidence.highlighted_rows(candidate)
        rows = self.sentences.of(number)
        highlights = tuple(_span(self.sentences.spans[row]) for row in marked)
        translation_highlights: tuple[Span, ...] = ()
        if translated is not None and marked:
            alignment = self.alignments.get((number, language))
            if alignment is not None:
                mapped = counterpart(alignment.beads, {row - rows.start for row in marked})
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


def _readable_share(passages: tuple[Passage, ...]) -> dict[str, float]:
    counts: dict[str, int] = {}
    for passage in passages:
        for rendition in passage.renditions():
            counts[rendition.language] = counts.get(rendition.language, 0) + 1
    return {language: count / len(passages) for language, count in counts.items()}


def _corroboration(passage: Passage) -> Corroboration:
    article = passage.article
    return Corroboration(article.id, passage.position, article.source, article.title, article.url, passage.text)


def _body_sentences(rendition: Rendition) -> list[Span]:
    """Sentences of the passage's body, as offsets into its whole text: a subheading is never highlighted."""
    offset = len(rendition.text) - len(rendition.body)
    return [(start + offset, end + offset) for start, end in sentence_spans(rendition.body)]


def _span(row: np.ndarray) -> Span:
    return int(row[0]), int(row[1])


def _analysis_language(detection: Detection) -> str:
    """Analyse a question in the language it looks like, even an unsupported one (no stemming then)."""
    return detection.detected or detection.language


def _run_starts(owners: np.ndarray, n: int) -> np.ndarray:
    """For rows stored group by group (``owners`` sorted), where each of the ``n`` groups begins; n + 1 entries."""
    return np.searchsorted(owners, np.arange(n + 1), side="left")


def _segment_rows(starts: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of the given groups, and for each row the position of its group in ``groups``."""
    first, last = starts[groups], starts[groups + 1]
    lengths = last - first
    owner = np.repeat(np.arange(len(groups)), lengths)
    rows = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths) + np.repeat(first, lengths)
    return rows.astype(np.int64), owner


def _segment_max(vectors_of, query: np.ndarray, starts: np.ndarray, groups: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Per group, the best cosine of its rows with ``query`` (-1 for a group with no rows)."""
    rows, owner = _segment_rows(starts, groups)
    best = np.full(len(groups), -1.0, dtype=np.float32)
    if len(rows):
        np.maximum.at(best, owner, vectors_of(rows) @ query)
    return best
