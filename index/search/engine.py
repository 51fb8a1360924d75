"""The answer engine: builds the index, and composes the answer path's stages.

The answer path is a pipeline of small stages with typed hand-offs, each in
its own module: query (:mod:`.query`: languages, correction, analysis,
vectors) → candidates (:mod:`.candidates`) → evidence (:mod:`.evidence`) →
ranking (:mod:`.ranking`) → decision (:mod:`.decision`: answer, closest or
none) → presentation (:mod:`.presentation`: folding, highlights, results).

Every passage is indexed in every language it exists in. A question is
analysed in its own language and looked up two ways, BM25 over the analysed
terms and multilingual-e5 vectors, each way taking a passage's best language
version. The candidates are then scored by evidence
(:mod:`index.search.evidence`): how close the passage is to the question, how
close its best sentence is, and how much of the question's vocabulary it
shares. The best sentence is the highlight, carried into the translation by
sentence alignment; passages of other articles whose answering sentence says
the same thing fold into one result as corroboration; and the coverage answers
only when the answer gate (:mod:`index.search.gate`) finds the leading evidence
standing out from the corpus at large and from what questions the corpus is
not about get here.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..corpus.model import Corpus, Passage, Rendition
from ..languages import LanguageDetector
from .alignment import align
from .analysis import analyzer
from .answer import Answer, Span
from .backend import Alignment, Backend, IndexBatch, SearchIndex
from .bundle import Bundle, shipped_bundle
from .cache import EmbeddingCache, Progress, Request, embed_all
from .candidates import gather
from .decision import Decider, Decision, decide
from .embedded import EmbeddedBackend
from .evidence import CorpusFacts, Evidence, weigh
from .gate import Background, Null, probe_questions, raw_features
from .presentation import Presenter
from .query import Corrector, Query, Question, Verbatim, analysed, read_question
from .ranking import Ranker
from .semantic import Embedder, shared_alignment_encoder, shared_retrieval_encoder
from .sentences import sentence_spans
from .settings import Settings

log = logging.getLogger(__name__)


@dataclass
class BuildStats:
    seconds: float = 0.0
    texts: int = 0
    """Documents indexed (passages in each language version)."""
    embedded: int = 0
    """Texts the encoders were called on: neither shipped with the package nor in the cache."""
    cache_note: str | None = None
    """Why the per-machine cache was rebuilt, if it was."""
    shipped: int = 0
    """Texts whose vectors came with the package (:mod:`index.search.bundle`)."""
    bundle_note: str | None = None
    """Why some shipped vectors could not serve (unreadable, another encoder version, an edited article)."""
    vectors: int = 0
    """Every text the build needed a vector for."""


@dataclass
class Engine:
    """An index over one corpus; immutable once built, safe to share between threads."""

    corpus: Corpus
    embedder: Embedder
    aligner: Embedder
    detector: LanguageDetector
    settings: Settings
    backend: Backend
    index: SearchIndex
    background: Background
    """Sentences standing for the corpus at large, per language."""
    readable_share: dict[str, float]
    """For each language, the share of passages that can be read in it (original or translation)."""
    centroids: np.ndarray
    """Per article (numbered as in ``passage_article``), the mean of its original sentences' vectors."""
    passage_article: np.ndarray
    """Per passage, its article's row in ``centroids``."""
    decider: Decider
    """The decision stage's models: whether the coverage is about a question, and whether it surely answers."""
    ranker: Ranker = field(default_factory=Ranker.fitted)
    """The ranking stage's model."""
    corrector: Corrector = field(default_factory=Verbatim)
    """Corrects typing mistakes in questions (the query stage); by default none are."""
    null: Null | None = None
    """What the probe questions got on this corpus; None when the decision is not calibrated for the embedder."""
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
        backend: Backend | None = None,
        previous: Engine | None = None,
        decider: Decider | None = None,
        bundle: Bundle | None = None,
        progress: Progress | None = None,
    ) -> Engine:
        """Index ``corpus``, reusing cached embeddings for texts seen before.

        ``embedder`` finds passages (multilingual-e5 by default); ``aligner`` matches sentences across
        languages (USE by default, or ``embedder`` when only that is given, as tests do). ``backend``
        holds the index (in process by default). Given the ``previous`` engine on the same backend,
        only the articles that changed since are written to it. ``bundle`` holds vectors shipped with
        the package (by default those of the bundled corpus; :data:`index.search.bundle.EMPTY` for none),
        and ``progress(done, total)`` hears how the embedding goes.
        """
        started = time.perf_counter()
        aligner = aligner or embedder or shared_alignment_encoder()
        embedder = embedder or shared_retrieval_encoder()
        detector = detector or LanguageDetector()
        settings = settings or Settings()
        backend = backend or EmbeddedBackend()
        bundle = shipped_bundle() if bundle is None else bundle
        batch, stats = _batch(corpus, embedder, aligner, settings, cache_dir, bundle, progress)
        if previous is not None and previous.backend is backend:
            before, after = previous.corpus.article_digests, corpus.article_digests
            changed = {a for a, digest in after.items() if before.get(a) != digest}
            index = backend.update(batch, changed=changed, removed=before.keys() - after.keys())
        else:
            index = backend.build(batch)
        engine = cls.assemble(
            corpus,
            batch,
            index,
            embedder=embedder,
            aligner=aligner,
            detector=detector,
            settings=settings,
            backend=backend,
            decider=decider or Decider.fitted(),
        )
        engine.null = engine.probe_null(cache_dir, bundle)
        engine.stats = replace(stats, seconds=time.perf_counter() - started)
        return engine

    @classmethod
    def assemble(
        cls,
        corpus: Corpus,
        batch: IndexBatch,
        index: SearchIndex,
        *,
        embedder: Embedder,
        aligner: Embedder,
        detector: LanguageDetector,
        settings: Settings,
        backend: Backend,
        decider: Decider,
    ) -> Engine:
        """The engine over an index already built from ``batch`` (probes not yet asked: ``null`` is None)."""
        passages = corpus.passages
        owners = np.repeat(np.arange(len(passages)), np.diff(np.asarray(batch.sentence_starts)))
        languages = np.array([p.original.language for p in passages], dtype=object)[owners].astype(str)
        _, passage_article = np.unique(np.array(batch.articles, dtype=object).astype(str), return_inverse=True)
        passage_article = passage_article.astype(np.int64).reshape(-1)
        return cls(
            corpus=corpus,
            embedder=embedder,
            aligner=aligner,
            detector=detector,
            settings=settings,
            backend=backend,
            index=index,
            background=Background.drawn(
                batch.sentence_vectors, batch.sentence_echoes, languages, settings.background_sentences
            ),
            readable_share=_readable_share(passages),
            centroids=_centroids(
                batch.sentence_vectors, passage_article[owners], int(passage_article.max(initial=-1)) + 1
            ),
            passage_article=passage_article,
            decider=decider,
        )

    def ask(self, question: str, *, k: int = 3, language: str | None = None, hint: str | None = None) -> Answer:
        """Answer ``question``: in ``language`` if given, else in the question's own language.

        ``hint`` (a Telegram language code, or the user's chosen language)
        decides for questions too short or ambiguous to identify. The path is
        the stages in order: query, candidates, evidence, ranking, decision, presentation.
        """
        read = self.read(question, hint=hint, language=language)
        evidence = self.ranked_evidence(read)
        if evidence is None:
            return self.presenter.refusal(read)
        decision = self.decide(read, evidence)
        return self.presenter.answer(read, evidence, decision, k, self.settings.more_results)

    @property
    def presenter(self) -> Presenter:
        return Presenter(self.corpus, self.index, self.settings.corroboration_similarity)

    @property
    def facts(self) -> CorpusFacts:
        return CorpusFacts(self.index, self.centroids, self.passage_article, self.readable_share)

    def read(self, question: str, *, hint: str | None = None, language: str | None = None) -> Question:
        """The query stage's first half: languages and correction."""
        return read_question(question, self.detector, hint=hint, language=language, corrector=self.corrector)

    def query(self, question: Question, vector: np.ndarray | None = None) -> Query:
        """The query stage's second half: analysis and vectors."""
        return analysed(question, self.embed_query, self.echo_query, vector=vector)

    def weighed(self, query: Query) -> Evidence | None:
        """Candidates (stage 2) and their evidence (stage 3), unranked; None when there are none."""
        pool = gather(query, self.index, self.settings.candidates)
        return None if pool is None else weigh(query, pool, self.facts, self.settings)

    def ranked_evidence(self, question: Question, vector: np.ndarray | None = None) -> Evidence | None:
        """The ranked evidence for a question; None when there is nothing to look up."""
        if not question.searchable or not self.corpus.passages:
            return None
        evidence = self.weighed(self.query(question, vector))
        return None if evidence is None else self.ranker.rank(evidence)

    def evidence(self, question: str, *, hint: str | None = None, query: np.ndarray | None = None) -> Evidence | None:
        """Every candidate for ``question`` with its evidence, ranked: what ``ask`` decides on (for fitting).

        ``query``, the question's e5 vector when the caller has it already, saves embedding it again.
        """
        return self.ranked_evidence(self.read(question, hint=hint), query)

    def decide(self, question: Question, evidence: Evidence) -> Decision:
        """The decision stage on ranked evidence."""
        return decide(
            evidence,
            decider=self.decider,
            null=self.null,
            language=question.decided,
            leading_language=self.corpus.passages[int(evidence.passages[0])].original.language,
            background=self.background,
            echo=self.echo_query(question.text),
        )

    def embed_query(self, question: str) -> np.ndarray:
        with self._embed_lock:
            return self.embedder.embed_query(question)

    def echo_query(self, question: str) -> np.ndarray:
        """The question's cross-lingual sentence vector (the aligner's), as the gate weighs sentence echoes."""
        with self._embed_lock:
            return self.aligner.embed_query(question)

    def raw_features(self, evidence: Evidence, echo_query: np.ndarray) -> dict[str, float]:
        """What the decision measures of ranked ``evidence`` (for fitting)."""
        leading = self.corpus.passages[int(evidence.passages[0])]
        return raw_features(evidence, leading.original.language, self.background, echo_query)

    def probe_null(self, cache_dir: Path | None, bundle: Bundle | None = None) -> Null | None:
        """Ask the probe questions of this corpus, in each language: what "not about it" looks like here."""
        if not self.decider.fits(self.embedder.name, self.aligner.name) or not self.corpus.passages:
            return None
        probes = probe_questions()
        asked = [(language, text) for language, texts in probes.items() for text in texts]
        texts = [text for _, text in asked]
        bundle = shipped_bundle() if bundle is None else bundle
        queries = _query_vectors(cache_dir, self.embedder, texts, bundle)
        echoes = _query_vectors(cache_dir, self.aligner, texts, bundle)
        found: dict[str, list[dict[str, float]]] = {}
        for (language, text), vector, echo in zip(asked, queries, echoes, strict=True):
            question = Question(text, text, language, language, language, language)
            words = tuple(tuple(forms) for forms in analyzer(language).word_forms(text, query=True))
            query = Query(question, words, vector, echo)
            pool = gather(query, self.index, self.settings.candidates)
            if pool is not None:
                evidence = self.ranker.rank(weigh(query, pool, self.facts, self.settings))
                found.setdefault(language, []).append(self.raw_features(evidence, echo))
        return Null.of(found) if found else None

    def answers_from(
        self, question: str, passages: Collection[int], *, language: str | None = None, hint: str | None = None
    ) -> Answer:
        """Answer ``question`` from ``passages`` (numbers in this corpus) only, decided as :meth:`ask` decides.

        The question is looked up as usual, so the decision weighs the best of ``passages`` against
        the rest of the corpus as it would any leader; the results are the given passages alone, and
        an older passage saying the same thing folds into them as corroboration. Following a question
        asks this of the passages a change brought; only ``answer`` confidence should alert.
        """
        read = self.read(question, hint=hint, language=language)
        evidence = self.ranked_evidence(read)
        wanted = np.isin(evidence.passages, np.fromiter(passages, np.int64)) if evidence is not None else None
        if evidence is None or wanted is None or not wanted.any():
            return self.presenter.refusal(read)
        # Put the best of the given passages first (the ranking is otherwise untouched), so that the
        # decision judges it, and restore its score afterwards.
        lead = int(np.flatnonzero(wanted)[0])
        lift = np.zeros_like(evidence.fused)
        lift[lead] = float(evidence.fused[0]) - float(evidence.fused[lead]) + 1.0
        led = evidence.ranked(evidence.fused + lift)
        led = dataclasses.replace(led, fused=np.concatenate([led.fused[:1] - lift[lead], led.fused[1:]]))
        decision = self.decide(read, led)
        return self.presenter.answer_from(read, led, decision, passages, self.settings.candidates)


def _batch(
    corpus: Corpus,
    embedder: Embedder,
    aligner: Embedder,
    settings: Settings,
    cache_dir: Path | None,
    bundle: Bundle,
    progress: Progress | None,
) -> tuple[IndexBatch, BuildStats]:
    """The corpus analysed and embedded for a backend; with how many texts were embedded afresh, and why."""
    passages = corpus.passages
    docs = [(i, r) for i, p in enumerate(passages) for r in p.renditions()]
    embedded_docs = [j for j, (_, r) in enumerate(docs) if settings.embed_translations or r.method is None]

    spans = [_body_sentences(p.original) for p in passages]
    sentence_texts = [p.text[a:b] for p, found in zip(passages, spans, strict=True) for a, b in found]
    translated = [(i, lang, r) for i, p in enumerate(passages) for lang, r in sorted(p.translations.items())]
    translated_spans = [_body_sentences(r) for _, _, r in translated]
    translated_texts = [
        r.text[a:b] for (_, _, r), found in zip(translated, translated_spans, strict=True) for a, b in found
    ]

    texts = [docs[j][1].text for j in embedded_docs] + sentence_texts
    echo_texts = sentence_texts + translated_texts
    retrieval = EmbeddingCache(cache_dir, embedder.name, bundle.vectors_for(embedder.name))
    if aligner.name == embedder.name:  # one model in both roles: one cache file, written once
        caches = [retrieval]
        note = retrieval.rebuilt_reason  # read before embedding: writing the cache back clears it
        ((both, embedded),) = embed_all([Request(retrieval, texts + translated_texts, embedder.embed)], progress)
        vectors = both[: len(texts)]
        echoes = np.vstack([both[len(embedded_docs) : len(texts)], both[len(texts) :]])
    else:
        alignment = EmbeddingCache(cache_dir, aligner.name, bundle.vectors_for(aligner.name))
        caches = [retrieval, alignment]
        note = retrieval.rebuilt_reason or alignment.rebuilt_reason
        requests = [Request(retrieval, texts, embedder.embed), Request(alignment, echo_texts, aligner.embed)]
        (vectors, embedded), (echoes, echoed) = embed_all(requests, progress)
        embedded += echoed
    shipped = sum(c.from_shipped for c in caches)
    vectors = vectors.reshape(len(texts), -1)
    echoes = echoes.reshape(len(echo_texts), -1)
    sentence_echoes, translation_echoes = echoes[: len(sentence_texts)], echoes[len(sentence_texts) :]

    counts = np.array([len(found) for found in spans], dtype=np.int64)
    sentence_starts = np.r_[0, np.cumsum(counts)]
    alignments: dict[tuple[int, str], Alignment] = {}
    offset = 0
    for (passage, language, _), found in zip(translated, translated_spans, strict=True):
        first, last = sentence_starts[passage], sentence_starts[passage + 1]
        beads = align(sentence_echoes[first:last], translation_echoes[offset : offset + len(found)])
        alignments[passage, language] = Alignment(tuple(found), tuple(beads))
        offset += len(found)

    batch = IndexBatch(
        keys=tuple(f"{p.article.id}#{p.position}" for p in passages),
        articles=tuple(p.article.id for p in passages),
        doc_passage=np.array([i for i, _ in docs], dtype=np.int64),
        doc_language=tuple(r.language for _, r in docs),
        doc_original=np.array([r.method is None for _, r in docs], dtype=bool),
        doc_terms=[analyzer(r.language).terms(r.text) for _, r in docs],
        doc_text=[r.text for _, r in docs],
        vector_doc=np.array(embedded_docs, dtype=np.int64),
        vectors=vectors[: len(embedded_docs)],
        sentence_starts=sentence_starts,
        sentence_spans=np.array([s for found in spans for s in found], dtype=np.int64).reshape(-1, 2),
        sentence_vectors=vectors[len(embedded_docs) :],
        sentence_echoes=sentence_echoes,
        alignments=alignments,
    )
    bundle_note = bundle.note((embedder.name, aligner.name), corpus.article_digests)
    needed = len(texts) + len(echo_texts) - (len(sentence_texts) if len(caches) == 1 else 0)
    stats = BuildStats(0.0, len(docs), embedded, note, shipped, bundle_note, needed)
    return batch, stats


def query_model(embedder_name: str) -> str:
    """The name question vectors are cached and shipped under: an encoder embeds a question otherwise."""
    return f"{embedder_name}-queries"


def _query_vectors(cache_dir: Path | None, embedder: Embedder, texts: list[str], bundle: Bundle) -> np.ndarray:
    """Question vectors of fixed texts (the probes), cached (and shipped) beside the corpus's, under their own name."""

    def embed(batch: Sequence[str]) -> np.ndarray:
        return np.vstack([embedder.embed_query(text) for text in batch])

    name = query_model(embedder.name)
    vectors, _ = EmbeddingCache(cache_dir, name, bundle.vectors_for(name)).embed(texts, embed)
    return vectors.reshape(len(texts), -1)


def _centroids(vectors: np.ndarray, article_of_row: np.ndarray, articles: int) -> np.ndarray:
    """Per article, the mean of its rows of ``vectors`` (zeros for an article without any)."""
    sums = np.zeros((articles, vectors.shape[1] if vectors.ndim == 2 else 0), dtype=np.float64)
    if len(article_of_row):
        order = np.argsort(article_of_row, kind="stable")
        owners = article_of_row[order]
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        sums[owners[starts]] = np.add.reduceat(np.asarray(vectors, dtype=np.float64)[order], starts, axis=0)
    counts = np.bincount(article_of_row, minlength=articles).astype(np.float64)
    return (sums / np.maximum(counts, 1.0)[:, None]).astype(np.float32)


def _readable_share(passages: tuple[Passage, ...]) -> dict[str, float]:
    counts: dict[str, int] = {}
    for passage in passages:
        for rendition in passage.renditions():
            counts[rendition.language] = counts.get(rendition.language, 0) + 1
    return {language: count / len(passages) for language, count in counts.items()}


def _body_sentences(rendition: Rendition) -> list[Span]:
    """Sentences of the passage's body, as offsets into its whole text: a subheading is never highlighted."""
    offset = len(rendition.text) - len(rendition.body)
    return [(start + offset, end + offset) for start, end in sentence_spans(rendition.body)]
