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
the decision (:mod:`index.search.decision`) says how sure the answer is. Typing
mistakes are read first, against the corpus's own vocabulary (:mod:`.spelling`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np

from ..corpus.credits import is_credit_line
from ..corpus.model import Corpus, Passage, Rendition
from ..languages import LanguageDetector
from .alignment import align
from .analysis import analyzer
from .answer import Answer, Span
from .backend import Alignment, Backend, Delta, DeltaRefused, IndexBatch, SearchIndex
from .bundle import Bundle, shipped_bundle
from .cache import EmbeddingCache, Progress, Request, embed_all
from .candidates import gather
from .decision import Decider, Decision, decide
from .embedded import EmbeddedBackend
from .evidence import CorpusFacts, Evidence, weigh
from .gate import Background, Null, probe_questions, raw_features
from .growth import LanguageSums, SharedRows, article_starts, combined, mix_moved, readable_counts
from .presentation import Presenter
from .query import Corrector as QueryCorrector
from .query import Query, Question, Verbatim, analysed, read_question
from .ranking import Ranker
from .semantic import Embedder, shared_alignment_encoder, shared_retrieval_encoder
from .sentences import sentence_spans
from .settings import Settings
from .spelling import Corrector

log = logging.getLogger(__name__)

MIX_MOVED = 0.05
"""How far a language's share of the corpus's sentences may move before the probes are asked again."""


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
    corrector: QueryCorrector = field(default_factory=Verbatim)
    """Corrects typing mistakes in questions in the query stage; none are there (the speller reads them first)."""
    null: Null | None = None
    """What the probe questions got on this corpus; None when the gate is not calibrated for the embedder."""
    stats: BuildStats = field(default_factory=BuildStats)
    sums: LanguageSums = field(default_factory=LanguageSums)
    """The background's running sums (per language, every original sentence), so a change updates it."""
    readable_counts: dict[str, int] = field(default_factory=dict)
    """Per language, how many passages can be read in it (``readable_share`` times the passages)."""
    centroid_rows: SharedRows | None = None
    """The buffer ``centroids`` is a view of, shared with the engines made from this one by a change."""
    speller: Corrector | None = None
    """The corpus's vocabulary, to read a question's typing mistakes as the words meant; None reads it as typed."""
    credits: np.ndarray | None = None
    """Per passage, whether it is a credit line (:mod:`index.corpus.credits`): never a candidate answer."""
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
        decider = decider or Decider.fitted()
        if (
            previous is not None
            and previous.backend is backend
            and hasattr(backend, "apply")
            and corpus.articles
            and previous.corpus.articles
        ):
            try:
                engine = cls._changed(previous, corpus, cache_dir, bundle, progress, decider)
            except DeltaRefused as refused:  # not the backend's latest index: the whole batch it is
                log.info("index updated whole rather than by a delta: %s", refused)
            else:
                engine.stats = replace(engine.stats, seconds=time.perf_counter() - started)
                return engine
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
            decider=decider,
        )
        engine.null = engine.probe_null(cache_dir, bundle)
        engine.stats = replace(stats, seconds=time.perf_counter() - started)
        log.info(
            "index built whole on %s: %d articles, %d passages, as the corpus on disk holds them",
            backend.name,
            len(corpus.articles),
            len(corpus.passages),
        )
        return engine

    @classmethod
    def _changed(
        cls,
        previous: Engine,
        corpus: Corpus,
        cache_dir: Path | None,
        bundle: Bundle,
        progress: Progress | None,
        decider: Decider,
    ) -> Engine:
        """The engine over ``corpus``, from ``previous`` and what changed since: the cost of the change alone.

        Only the added and edited articles are analysed and embedded; the backend takes them as a
        :class:`~.backend.Delta`; centroids, the background's sums and the readable counts are updated,
        and the probes' null is kept unless the corpus's language mix moved by more than
        :data:`MIX_MOVED` (then they are asked again).
        """
        before, after = previous.corpus.article_digests, corpus.article_digests
        fresh = {a for a, digest in after.items() if before.get(a) != digest}
        gone = (fresh & before.keys()) | (before.keys() - after.keys())
        ids = [a.id for a in corpus.articles]
        starts = article_starts(corpus)
        fresh_rows = [j for j, article in enumerate(ids) if article in fresh]
        numbers = [i for j in fresh_rows for i in range(int(starts[j]), int(starts[j + 1]))]
        passages = [corpus.passages[i] for i in numbers]
        if passages:
            batch, stats = _batch(
                corpus, previous.embedder, previous.aligner, previous.settings, cache_dir, bundle, progress, passages
            )
        else:  # only removals: nothing to analyse or embed
            batch, stats = _empty_batch(), BuildStats()
        old_starts = article_starts(previous.corpus)
        old_row = {a.id: j for j, a in enumerate(previous.corpus.articles)}
        gone_numbers = np.array(
            [
                i
                for a in sorted(gone, key=old_row.__getitem__)
                for i in range(old_starts[old_row[a]], old_starts[old_row[a] + 1])
            ],
            dtype=np.int64,
        )
        gone_passages = [previous.corpus.passages[int(i)] for i in gone_numbers]
        index = previous.backend.apply(previous.index, Delta(batch, frozenset(gone), ids))  # type: ignore[attr-defined]

        sums = previous.sums
        if len(gone_numbers):
            held = previous.index.fetch(gone_numbers, [])
            languages = np.array([gone_passages[o].original.language for o in held.sentence_owner.tolist()], dtype=str)
            sums = sums.changed(held.sentence_vectors, held.sentence_echoes, languages, -1)
        owners = np.repeat(np.arange(len(passages)), np.diff(np.asarray(batch.sentence_starts)))
        languages = np.array([p.original.language for p in passages], dtype=str)[owners] if len(passages) else owners
        sums = sums.changed(batch.sentence_vectors, batch.sentence_echoes, languages.astype(str), 1)
        counts = combined(previous.readable_counts, readable_counts(passages), readable_counts(gone_passages, -1))

        # Centroids: the previous engine's rows are shared (they never change); fresh articles' are appended.
        shared = previous.centroid_rows or SharedRows(previous.centroids)
        article_rows = np.zeros(len(ids), dtype=np.int64)
        kept = [j for j, article in enumerate(ids) if article not in fresh]
        if kept:
            firsts = np.array([int(old_starts[old_row[ids[j]]]) for j in kept], dtype=np.int64)
            article_rows[np.array(kept, dtype=np.int64)] = previous.passage_article[firsts]
        made = np.zeros((0, shared.buffer.shape[1]), dtype=np.float32)
        if fresh_rows:
            batch_article = np.repeat(np.arange(len(fresh_rows)), np.diff(starts)[fresh_rows])
            made = _centroids(batch.sentence_vectors, batch_article[owners], len(fresh_rows))
        shared, first = shared.appended(made)
        article_rows[np.array(fresh_rows, dtype=np.int64)] = first + np.arange(len(fresh_rows))
        passage_article = np.repeat(article_rows, np.diff(starts)).astype(np.int64)
        centroids = shared.buffer[: first + len(fresh_rows)]

        # Credit lines: kept articles' flags carried over, fresh articles' read from their batch.
        credits = np.zeros(len(corpus.passages), dtype=bool)
        if previous.credits is not None and kept:
            for j in kept:
                old = old_row[ids[j]]
                credits[int(starts[j]) : int(starts[j + 1])] = previous.credits[
                    int(old_starts[old]) : int(old_starts[old + 1])
                ]
        if passages:
            credits[np.asarray(numbers, dtype=np.int64)] = _credits(batch, len(passages))
        # The vocabulary only grows between full builds (/reload): a removed article's words stay known.
        speller = previous.speller
        if speller is not None and passages:
            speller.add_texts(
                [
                    *((r.text, r.language) for p in passages for r in p.renditions()),
                    *((a.title, a.language) for a in corpus.articles if a.id in fresh),
                ]
            )

        engine = cls(
            corpus=corpus,
            embedder=previous.embedder,
            aligner=previous.aligner,
            detector=previous.detector,
            settings=previous.settings,
            backend=previous.backend,
            index=index,
            background=sums.background(),
            readable_share={language: count / len(corpus.passages) for language, count in counts.items()},
            centroids=centroids,
            passage_article=passage_article,
            decider=decider,
            null=previous.null,
            stats=stats,
            sums=sums,
            readable_counts=counts,
            centroid_rows=shared,
            speller=speller,
            credits=credits,
        )
        if previous.null is None or mix_moved(previous.sums.counts, sums.counts, MIX_MOVED):
            engine.null = engine.probe_null(cache_dir, bundle)
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
        sums = LanguageSums().changed(batch.sentence_vectors, batch.sentence_echoes, languages, 1)
        counts = readable_counts(passages)
        articles = int(passage_article.max(initial=-1)) + 1
        # Room after the rows for the articles later changes add (see SharedRows).
        shared = SharedRows(_centroids(batch.sentence_vectors, passage_article[owners], articles))
        return cls(
            corpus=corpus,
            embedder=embedder,
            aligner=aligner,
            detector=detector,
            settings=settings,
            backend=backend,
            index=index,
            background=sums.background(),
            readable_share={language: count / len(passages) for language, count in counts.items()},
            centroids=shared.buffer[: shared.used],
            passage_article=passage_article,
            decider=decider,
            sums=sums,
            readable_counts=counts,
            centroid_rows=shared,
            speller=Corrector.of_texts(
                [
                    *zip(batch.doc_text, batch.doc_language, strict=True),
                    *((a.title, a.language) for a in corpus.articles),
                ]
            ),
            credits=_credits(batch, len(passages)),
        )

    def ask(
        self, question: str, *, k: int = 3, language: str | None = None, hint: str | None = None, spell: bool = True
    ) -> Answer:
        """Answer ``question``: in ``language`` if given, else in the question's own language.

        ``hint`` (a Telegram language code, or the user's chosen language)
        decides for questions too short or ambiguous to identify. The path is
        the stages in order: query, candidates, evidence, ranking, decision, presentation.
        ``spell``: read typing mistakes as the corpus words meant (see :meth:`_spelled`).
        """
        read = self.read(question, hint=hint, language=language)
        if spell and (spelled := self._spelled(read, hint, partial(self.ask, k=k, language=language))):
            return spelled
        evidence = self.ranked_evidence(read)
        if evidence is None:
            return self.presenter.refusal(read)
        decision = self.decide(read, evidence)
        return self.presenter.answer(read, evidence, decision, k, self.settings.more_results)

    def _spelled(self, read: Question, hint: str | None, ask: Callable[..., Answer]) -> Answer | None:
        """The answer when reading typing mistakes decides it; None to answer the question as ``read``.

        A question with no word the corpus or an answer language knows ("asdf qwerty", "x") is about
        nothing the coverage holds: refused. One with typing mistakes is answered as corrected
        (``ask(text, hint=hint, spell=False)``), with ``read_as`` set when the correction changed the answer.
        """
        if self.speller is None:
            return None
        correction = self.speller.correct(read.asked, read.decided)
        if not self.speller.knows_any(correction.text):
            return self.presenter.refusal(read)
        if not correction.changed:
            return None
        corrected, typed = ask(correction.text, hint=hint, spell=False), ask(read.asked, hint=hint, spell=False)
        changed = _outcome(corrected) != _outcome(typed)
        return replace(corrected, question=read.asked, read_as=correction.text if changed else None)

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
        pool = gather(query, self.index, self.settings.candidates, excluded=self.credits)
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
            pool = gather(query, self.index, self.settings.candidates, excluded=self.credits)
            if pool is not None:
                evidence = self.ranker.rank(weigh(query, pool, self.facts, self.settings))
                found.setdefault(language, []).append(self.raw_features(evidence, echo))
        return Null.of(found) if found else None

    def answers_from(
        self,
        question: str,
        passages: Collection[int],
        *,
        language: str | None = None,
        hint: str | None = None,
        query: np.ndarray | None = None,
        spell: bool = True,
    ) -> Answer:
        """Answer ``question`` from ``passages`` (numbers in this corpus) only, decided as :meth:`ask` decides.

        The question is looked up as usual, so the decision weighs the best of ``passages`` against
        the rest of the corpus as it would any leader; the results are the given passages alone, and
        an older passage saying the same thing folds into them as corroboration. Following a question
        asks this of the passages a change brought; only ``answer`` confidence should alert. ``query``, the
        question's e5 vector when the caller keeps it (a followed question's is), saves embedding it again.
        """
        read = self.read(question, hint=hint, language=language)
        again = partial(self.answers_from, passages=passages, language=language)
        if spell and (spelled := self._spelled(read, hint, again)):
            return spelled
        evidence = self.ranked_evidence(read, query)
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
    only: Sequence[Passage] | None = None,
) -> tuple[IndexBatch, BuildStats]:
    """The corpus (or ``only`` these passages of it) analysed and embedded for a backend; with how many texts
    were embedded afresh, and why."""
    passages = corpus.passages if only is None else only
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
    journal = only is not None  # a change reads and appends to the journal only, never the whole file
    retrieval = EmbeddingCache(cache_dir, embedder.name, bundle.vectors_for(embedder.name), journal=journal)
    if aligner.name == embedder.name:  # one model in both roles: one cache file, written once
        caches = [retrieval]
        note = retrieval.rebuilt_reason  # read before embedding: writing the cache back clears it
        ((both, embedded),) = embed_all([Request(retrieval, texts + translated_texts, embedder.embed)], progress)
        vectors = both[: len(texts)]
        echoes = np.vstack([both[len(embedded_docs) : len(texts)], both[len(texts) :]])
    else:
        alignment = EmbeddingCache(cache_dir, aligner.name, bundle.vectors_for(aligner.name), journal=journal)
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


def _empty_batch() -> IndexBatch:
    none = np.zeros(0, dtype=np.int64)
    rows = np.zeros((0, 0), dtype=np.float32)
    return IndexBatch(
        (),
        (),
        none,
        (),
        none.astype(bool),
        [],
        [],
        none,
        rows,
        np.zeros(1, np.int64),
        none.reshape(0, 2),
        rows,
        rows,
        {},
    )


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



def _body_sentences(rendition: Rendition) -> list[Span]:
    """Sentences of the passage's body, as offsets into its whole text: a subheading is never highlighted."""
    offset = len(rendition.text) - len(rendition.body)
    return [(start + offset, end + offset) for start, end in sentence_spans(rendition.body)]



def _credits(batch: IndexBatch, passages: int) -> np.ndarray:
    """Per passage, whether its original is a credit line ("With Agence France-Presse")."""
    credits = np.zeros(passages, dtype=bool)
    for text, passage, original in zip(batch.doc_text, batch.doc_passage, batch.doc_original, strict=True):
        if original and is_credit_line(text):
            credits[int(passage)] = True
    return credits


def _outcome(answer: Answer) -> tuple[object, ...]:
    """What a reader sees of an answer: whether and how sure it answers, and the passages and sentences quoted."""
    shown = tuple((r.article_id, r.passage_index, r.highlights) for r in answer.results)
    return answer.answered, answer.hedged, shown
