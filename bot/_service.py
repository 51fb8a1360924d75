"""The answering service shared by the Telegram bot and the console.

It owns the current engine and swaps it atomically whenever the corpus
changes (a reload, an added or a removed article): the change builds a
complete new index while the old one keeps answering, and a corpus with
problems never replaces a working one. It also keeps the statistics behind
/stats.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index import (
    SUPPORTED,
    Answer,
    Article,
    Change,
    Corpus,
    CorpusError,
    Engine,
    FillReport,
    LibreTranslate,
    PreparedArticle,
    Problem,
    TranslationPlan,
    Upload,
    add_article,
    article_path,
    load_and_translate,
    load_corpus,
    prepare_article,
    take_out_article,
    untranslated_passages,
)
from index.curation import add_articles
from index.follow import Database
from index.intake.address import address_key, corpus_addresses
from index.intake.upload import CAPTION, FieldSyntax
from index.search.backend import Backend, BackendUnavailable
from index.search.semantic import Embedder
from index.translation.deepl import DeepL
from index.translation.libretranslate import Translator
from index.translation.openai_chat import OPENAI_URL, OpenAIChat
from index.translation.quoted import QuotedTranslations
from index.translation.store import TranslationStore

from ._backends import open_backend
from ._config import Config, Translation
from ._progress import Reporter

ReporterFactory = Callable[[str], Reporter]
"""Makes the progress reporter of one long step (``"embedding"``, ``"translating"``), by its label."""

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReloadReport:
    seconds: float
    articles: int
    passages: int
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    translation: FillReport | None = None
    """What machine translation did on the way; None when it is off."""
    untranslated: int = 0
    """Passages still without a translation into at least one answer language."""
    stale: int = 0
    """Machine translations set aside because their article was edited."""
    alerted: int | None = None
    """Followers the new coverage alerted; None when nobody follows anything (bot/_alerts.py)."""


@dataclass(frozen=True, slots=True)
class AddReport:
    """An article added from an upload: how it was read and split, and the reload that followed."""

    prepared: PreparedArticle
    reload: ReloadReport


@dataclass(frozen=True, slots=True)
class BatchReport:
    """Articles added together (a feed poll's), and the one reload that followed; None when none was added."""

    added: tuple[PreparedArticle, ...]
    skipped: tuple[tuple[PreparedArticle, str], ...]
    """Articles left out because the corpus gained their id or address meanwhile, and why."""
    reload: ReloadReport | None


@dataclass(frozen=True, slots=True)
class RemoveReport:
    article: Article
    backup: Path
    """Where the article's files were moved."""
    reload: ReloadReport


@dataclass
class Stats:
    started: float = field(default_factory=time.time)
    questions: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))
    last_reload: str | None = None
    loop_lag_max_ms: float = 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(np.fromiter(self.latencies_ms, dtype=float), q)) if self.latencies_ms else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "questions": self.questions,
            "latencies_ms": list(self.latencies_ms),
            "last_reload": self.last_reload,
            "loop_lag_max_ms": self.loop_lag_max_ms,
        }

    def restore(self, saved: dict[str, object]) -> None:
        """Carry counters over from a previous run (uptime restarts)."""
        self.questions = int(saved.get("questions", 0))  # type: ignore[call-overload]
        self.latencies_ms.extend(float(x) for x in saved.get("latencies_ms", []))  # type: ignore[attr-defined]
        self.last_reload = saved.get("last_reload")  # type: ignore[assignment]
        self.loop_lag_max_ms = float(saved.get("loop_lag_max_ms", 0.0))  # type: ignore[arg-type]


class AnswerService:
    """Answers questions with the current engine; changes and reloads the corpus without downtime."""

    def __init__(
        self,
        engine: Engine,
        *,
        corpus_dir: Path,
        cache_dir: Path | None,
        translation: TranslationPlan | None = None,
        languages: tuple[str, ...] = SUPPORTED,
        max_upload_bytes: int = 1_000_000,
        progress: ReporterFactory | None = None,
    ) -> None:
        self._engine = engine
        self.progress = progress
        self.corpus_dir = corpus_dir
        self.cache_dir = cache_dir
        self.translation = translation
        self.languages = languages
        self.max_upload_bytes = max_upload_bytes
        self.stats = Stats()
        self._reload_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._untranslated: tuple[Corpus, int] | None = None
        self.quoted: QuotedTranslations | None = None
        """Translation of passages as answers quote them (``translation.mode: quoted``); set by the bot."""
        self.on_indexed: Callable[[Engine, set[str]], int | None] | None = None
        """Called with the new engine and the articles it added or changed: alerts for followed questions."""

    @classmethod
    def open(
        cls,
        corpus_dir: Path,
        cache_dir: Path | None,
        *,
        backend: Backend | None = None,
        progress: ReporterFactory | None = None,
        **options: Any,
    ) -> AnswerService:
        """Load and index ``corpus_dir``; raises CorpusError when it has problems, BackendUnavailable
        when the search backend cannot be reached."""
        corpus = load_corpus(corpus_dir)
        with _reporting(progress, "embedding the corpus") as reporter:
            engine = Engine.build(corpus, cache_dir=cache_dir, backend=backend, progress=reporter)
        engine.ask("warm up")  # loads the sentence encoder now, not on the first user's question
        return cls(engine, corpus_dir=corpus_dir, cache_dir=cache_dir, progress=progress, **options)

    def close(self) -> None:
        """Release the search backend's connections (and a Milvus Lite server this process started)."""
        self._engine.backend.close()

    @property
    def engine(self) -> Engine:
        return self._engine

    def ask(self, question: str, *, k: int, language: str | None = None, hint: str | None = None) -> Answer:
        """Answer one question with whichever engine is current when it starts."""
        engine = self._engine  # one read: a concurrent reload cannot mix two indexes
        started = time.perf_counter()
        try:
            answer = engine.ask(question, k=k, language=language, hint=hint)
        except BackendUnavailable as exc:
            # The index is intact wherever it lives; the asker gets an apology and the next question tries again.
            log.warning("search backend unavailable: %s", exc)
            fallback = language if language in SUPPORTED else engine.detector.detect(question, hint).language
            return Answer(question, fallback, False, (), unavailable=True)
        elapsed = (time.perf_counter() - started) * 1000
        with self._stats_lock:
            self.stats.questions += 1
            self.stats.latencies_ms.append(elapsed)
        return answer

    def reload(self) -> ReloadReport:
        """Re-read the corpus, translate its gaps, re-index and swap; raises CorpusError and keeps the old index."""
        with self._reload_lock:
            started = time.perf_counter()
            with _reporting(self.progress, "translating the corpus") as reporter:
                change = load_and_translate(self.corpus_dir, self.translation, progress=reporter)
            return self._swap(change, started)

    def add_article(
        self, upload: Upload, fields: Mapping[str, str] | None = None, *, syntax: FieldSyntax = CAPTION
    ) -> AddReport:
        """Validate an uploaded article, save it, translate it and swap it in; on any problem nothing is saved.

        ``syntax``: how its problems tell the uploader to give a missing field (caption lines on Telegram)."""
        with self._reload_lock:
            started = time.perf_counter()
            current = self._engine
            prepared = prepare_article(
                upload,
                existing_ids={a.id for a in current.corpus.articles},
                detector=current.detector,
                max_bytes=self.max_upload_bytes,
                fields=fields,
                existing_urls=corpus_addresses(current.corpus.articles),
                syntax=syntax,
            )
            reports: list[ReloadReport] = []
            try:
                add_article(
                    self.corpus_dir, prepared, self.translation, use=lambda c: reports.append(self._swap(c, started))
                )
            except FileExistsError:
                message = f"the corpus has a file {prepared.article.id}.md that is not loaded yet; /reload first"
                raise CorpusError([Problem(Path(upload.name), None, message)]) from None
            return AddReport(prepared, reports[0])

    def add_articles(self, prepared: Sequence[PreparedArticle]) -> BatchReport:
        """Save prepared articles together, translate them, reindex and swap once; all or none stays saved."""
        with self._reload_lock:
            started = time.perf_counter()
            corpus = self._engine.corpus
            ids, urls = {a.id for a in corpus.articles}, corpus_addresses(corpus.articles)
            kept: list[PreparedArticle] = []
            skipped: list[tuple[PreparedArticle, str]] = []
            for item in prepared:
                article = item.article
                duplicate = urls.get(address_key(article.url)) if article.url else None
                if article.id in ids or article_path(self.corpus_dir, article.id).exists():
                    skipped.append((item, f"an article with id {article.id} was added meanwhile"))
                elif duplicate is not None:
                    skipped.append((item, f"already in the corpus as {duplicate}"))
                else:
                    kept.append(item)
                    ids.add(article.id)
                    if article.url:
                        urls[address_key(article.url)] = article.id
            if not kept:
                return BatchReport((), tuple(skipped), None)
            reports: list[ReloadReport] = []
            add_articles(self.corpus_dir, kept, self.translation, use=lambda c: reports.append(self._swap(c, started)))
            return BatchReport(tuple(kept), tuple(skipped), reports[0])

    def remove_article(self, article_id: str) -> RemoveReport:
        """Move an article out of the corpus and swap in the index without it; KeyError if there is none."""
        with self._reload_lock:
            started = time.perf_counter()
            corpus = self._engine.corpus
            article = next((a for a in corpus.articles if a.id == article_id), None)
            if article is None:
                raise KeyError(article_id)
            reports: list[ReloadReport] = []
            _, removal = take_out_article(corpus, article_id, use=lambda c: reports.append(self._swap(c, started)))
            return RemoveReport(article, removal.backup, reports[0])

    def untranslated(self) -> int:
        """Passages being served that lack a translation into an answer language (counted once per corpus)."""
        corpus = self._engine.corpus
        counted = self._untranslated
        if counted is None or counted[0] is not corpus:
            counted = self._untranslated = (corpus, untranslated_passages(corpus, self.languages))
        return counted[1]

    def _swap(self, change: Change, started: float) -> ReloadReport:
        """Index ``change.corpus`` beside the current index, then make it current; lock held."""
        old = self._engine
        corpus = change.corpus
        with _reporting(self.progress, "embedding the corpus") as reporter:
            engine = Engine.build(
                corpus,
                cache_dir=self.cache_dir,
                embedder=old.embedder,
                aligner=old.aligner,
                detector=old.detector,
                settings=old.settings,
                backend=old.backend,
                previous=old,
                progress=reporter,
            )
        before, after = old.corpus.article_digests, corpus.article_digests
        self._engine = engine
        self.stats.last_reload = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        report = ReloadReport(
            seconds=time.perf_counter() - started,
            articles=len(corpus.articles),
            passages=len(corpus.passages),
            added=tuple(sorted(after.keys() - before.keys())),
            removed=tuple(sorted(before.keys() - after.keys())),
            changed=tuple(sorted(k for k in after.keys() & before.keys() if after[k] != before[k])),
            translation=change.translation,
            untranslated=self.untranslated(),
            stale=len(change.stale),
        )
        fresh = {*report.added, *report.changed}
        if self.on_indexed is not None and fresh:
            report = dataclasses.replace(report, alerted=self.on_indexed(engine, fresh))
        return report


@contextmanager
def _reporting(progress: ReporterFactory | None, label: str) -> Iterator[Reporter | None]:
    """The reporter of one step, closed (its summary said) when the step ends, however it ends."""
    if progress is None:
        yield None
        return
    reporter = progress(label)
    try:
        yield reporter
    finally:
        reporter.close()


def make_translator(settings: Translation) -> Translator:
    """The client of the configured translation service (LibreTranslate, DeepL or an OpenAI-compatible model)."""
    key = settings.api_key or None
    if settings.kind == "deepl":
        return DeepL(settings.api_key, url=settings.url or None, timeout=settings.timeout_seconds)
    if settings.kind == "openai":
        return OpenAIChat(settings.model, url=settings.url or OPENAI_URL, api_key=key, timeout=settings.timeout_seconds)
    return LibreTranslate(
        settings.url,
        api_key=key,
        timeout=settings.timeout_seconds,
        max_batch=settings.batch_size,
        max_chars=settings.max_chars,
    )


def service_key(settings: Translation) -> str:
    """What cached translations are filed under: the service, and the model for a language model."""
    return f"openai:{settings.model.strip()}" if settings.kind == "openai" else settings.kind


def translation_plan(config: Config, *, intake: bool = True) -> TranslationPlan | None:
    """The plan that fills translation gaps; None when translation is off, or (``intake``) when articles coming
    in are not translated ahead because passages are translated as they are quoted (``mode: quoted``)."""
    settings = config.translation
    if settings is None or (intake and settings.mode != "ahead"):
        return None
    return TranslationPlan(
        make_translator(settings),
        config.languages,
        concurrency=settings.concurrency,
        requests_per_second=settings.requests_per_second,
    )


def quoted_translations(config: Config, database: Database, aligner: Embedder | None) -> QuotedTranslations | None:
    """Translation as passages are quoted (``mode: quoted``), cached and counted in ``database``; else None."""
    settings = config.translation
    if settings is None or settings.mode != "quoted":
        return None
    return QuotedTranslations(
        make_translator(settings),
        TranslationStore(database),
        service=service_key(settings),
        aligner=aligner,
        monthly_characters=settings.monthly_characters,
    )


def open_service(config: Config, progress: ReporterFactory | None = None) -> AnswerService:
    """The service over the configured corpus, with its translation plan, upload limit and progress reports."""
    return AnswerService.open(
        config.corpus,
        config.cache_dir,
        backend=open_backend(config.search_backend, config.milvus, config.cache_dir),
        translation=translation_plan(config),
        languages=config.languages,
        max_upload_bytes=config.max_upload_bytes,
        progress=progress,
    )
