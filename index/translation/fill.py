"""Find the articles that have no translation into an answer language, and fill them by machine translation.

A gap is an (article, language) pair with no ``translations/<id>/<lang>.md``. Filling
one translates every passage's subheading and paragraph, then writes that file with
``method: machine`` and exactly the article's block structure, so the loader accepts
it. The file is written only when every passage was translated: the corpus never
holds half a translation, and because the file exists afterwards, each passage is
translated once, ever.

Requests run on a few threads, their starts spaced by a :class:`RateLimiter` so a
shared or self-hosted service is not flooded. Failures never raise: they end up in
the :class:`FillReport`, and when the service turns out to be down the fill stops
instead of waiting for every remaining request to fail.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import yaml

from ..corpus.frontmatter import HEADING_PREFIX
from ..corpus.model import Article, Corpus, Passage
from ..corpus.store import write_new
from ..languages import SUPPORTED
from .libretranslate import TranslationError, Translator, batches

MAX_ERRORS: Final = 10
# "## " opens a subheading; a translation must not turn a paragraph into one.
_LEADING_HASHES = re.compile(r"^(?:#{2,}(?:[ \t]+|$))+")


@dataclass(frozen=True, slots=True)
class Gap:
    """An article with no translation into ``language``."""

    article: Article
    language: str

    @property
    def label(self) -> str:
        return f"{self.article.id} → {self.language}"


@dataclass(frozen=True, slots=True)
class FillReport:
    """What a :func:`fill_gaps` run did."""

    written: tuple[Path, ...]
    """The translation files written, one per filled gap."""
    passages_translated: int
    """Passage translations written (a passage translated into two languages counts twice)."""
    gaps_left: int
    """Gaps that were to be filled and still are not (failed, or skipped once the service was found down)."""
    errors: tuple[str, ...]
    """Distinct problems, admin-readable, at most MAX_ERRORS of them."""
    service_unreachable: bool
    """True when the service could not be reached, so the fill stopped early."""


class RateLimiter:
    """Spaces calls to :meth:`wait` at least ``1 / per_second`` seconds apart, across threads.

    Each caller reserves the next free start time under the lock and sleeps outside it,
    so concurrent callers queue up in slots instead of all waking at once.
    """

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if not per_second > 0:
            raise ValueError(f"the request rate must be positive, got {per_second}")
        self._interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_start = float("-inf")

    def wait(self) -> None:
        """Return when the caller may start its request."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next_start)
            self._next_start = start + self._interval
        if start > now:
            self._sleep(start - now)


def find_gaps(corpus: Corpus, languages: Sequence[str]) -> list[Gap]:
    """Every (article, language) with no translation, for ``languages`` other than the article's own.

    In corpus order (articles by id), then in the order of ``languages``.
    """
    wanted = _answer_languages(languages)
    gaps: list[Gap] = []
    for passages in _passages_by_article(corpus).values():
        # Translations are whole files, so the first passage has every translation its article has.
        first = passages[0]
        gaps.extend(
            Gap(first.article, lang)
            for lang in wanted
            if lang != first.article.language and lang not in first.translations
        )
    return gaps


def untranslated_passages(corpus: Corpus, languages: Sequence[str]) -> int:
    """How many passages lack a translation into at least one of ``languages`` (their own language aside)."""
    wanted = _answer_languages(languages)
    return sum(
        1
        for passage in corpus.passages
        if any(lang != passage.original.language and lang not in passage.translations for lang in wanted)
    )


def fill_gaps(
    corpus: Corpus,
    translator: Translator,
    languages: Sequence[str],
    *,
    concurrency: int = 4,
    requests_per_second: float = 2.0,
    articles: Collection[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    retries: int = 2,
    backoff: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] | None = None,
) -> FillReport:
    """Machine-translate every gap of ``corpus`` into ``languages`` and write the translation files.

    ``articles`` limits the fill to those article ids. ``progress(done, total)`` counts texts
    (subheadings and paragraphs) and is called from this thread as batches finish. A retryable
    failure is retried ``retries`` times, after ``backoff`` seconds, then twice that, and so on.
    ``clock`` and ``sleep`` drive the rate limiter and the backoff; by default sleeping ends early
    once the fill stops. Translation failures never raise: they are in the report.
    """
    if concurrency < 1 or retries < 0 or backoff < 0:
        raise ValueError("concurrency must be positive, retries and backoff not negative")
    errors = _Errors()
    by_article = _passages_by_article(corpus)
    if articles is not None:
        unknown = sorted(set(articles) - by_article.keys())
        for article_id in unknown:
            errors.add(f"no article has the id {article_id!r}", None)
    jobs = [
        _GapJob(gap, by_article[gap.article.id], _target_path(corpus.root, gap))
        for gap in find_gaps(corpus, languages)
        if articles is None or gap.article.id in articles
    ]
    # Someone may have written (or reviewed) a translation since the corpus was loaded: leave it be.
    jobs = [job for job in jobs if not job.path.exists()]

    stop = threading.Event()
    run = _Run(
        translator=translator,
        limiter=RateLimiter(requests_per_second, clock=clock, sleep=sleep or stop.wait),
        sleep=sleep or stop.wait,
        stop=stop,
        retries=retries,
        backoff=backoff,
    )
    total = sum(len(job.texts) for job in jobs)
    done = 0
    written: list[Path] = []
    passages_translated = 0
    executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="translate")
    try:
        futures: dict[Future[None], tuple[_GapJob, list[int]]] = {}
        for job in jobs:
            groups = batches(job.texts, translator.max_batch, translator.max_chars)
            job.pending = len(groups)
            for indices in groups:
                futures[executor.submit(run.batch, job, indices)] = (job, indices)
        for future in as_completed(futures):
            future.result()  # a translator's own bug (not a TranslationError) is a programming error: raise it
            job, indices = futures[future]
            job.pending -= 1
            done += len(indices)
            if progress is not None:
                progress(done, total)
            if job.pending:
                continue
            if job.error is not None:
                errors.add(str(job.error), job.gap)
            elif all(text is not None for text in job.translated):  # else skipped: the service is down
                path = _finish(job, translator.name, errors)
                if path is not None:
                    written.append(path)
                    passages_translated += len(job.passages)
    finally:
        stop.set()
        executor.shutdown(wait=True, cancel_futures=True)
    return FillReport(
        written=tuple(written),
        passages_translated=passages_translated,
        gaps_left=len(jobs) - len(written),
        errors=errors.summary(),
        service_unreachable=run.unreachable.is_set(),
    )


@dataclass(eq=False)
class _GapJob:
    """One gap being filled: its texts (per passage, the subheading if any, then the paragraph) and results."""

    gap: Gap
    passages: Sequence[Passage]
    path: Path
    texts: list[str] = field(init=False)
    translated: list[str | None] = field(init=False)
    pending: int = 0
    """Batches not finished yet; only the thread that called fill_gaps touches it."""
    failed: threading.Event = field(default_factory=threading.Event)
    """Set by the first failing batch, so the gap's other batches are not sent for nothing."""
    error: TranslationError | None = None

    def __post_init__(self) -> None:
        self.texts = [
            text
            for passage in self.passages
            for text in (passage.original.heading, passage.original.body)
            if text is not None
        ]
        self.translated = [None] * len(self.texts)

    def fail(self, error: TranslationError) -> None:
        if not self.failed.is_set():
            self.error = error
            self.failed.set()


@dataclass(eq=False)
class _Run:
    """What the worker threads share."""

    translator: Translator
    limiter: RateLimiter
    sleep: Callable[[float], object]
    stop: threading.Event
    retries: int
    backoff: float
    unreachable: threading.Event = field(default_factory=threading.Event)

    def batch(self, job: _GapJob, indices: list[int]) -> None:
        """Translate one batch of ``job`` into its slots, or record why not (runs on a worker thread)."""
        texts = [job.texts[i] for i in indices]
        source, target = job.gap.article.language, job.gap.language
        for attempt in range(self.retries + 1):
            if attempt:
                delay = self.backoff * 2 ** (attempt - 1)
                if delay > 0:
                    self.sleep(delay)
            if self.stop.is_set() or job.failed.is_set():
                return
            self.limiter.wait()
            if self.stop.is_set() or job.failed.is_set():
                return
            try:
                translated = self.translator.translate_batch(texts, source, target)
            except TranslationError as error:
                if error.unreachable:
                    # The service is down: every other request would fail the same way, slowly.
                    self.unreachable.set()
                    self.stop.set()
                if error.retryable and not error.unreachable and attempt < self.retries:
                    continue
                job.fail(error)
                return
            if len(translated) != len(texts):
                job.fail(
                    TranslationError(
                        f"{self.translator.name} returned {len(translated)} translations for {len(texts)} texts"
                    )
                )
                return
            for index, text in zip(indices, translated, strict=True):
                job.translated[index] = text
            return


def _finish(job: _GapJob, service: str, errors: _Errors) -> Path | None:
    """Write a fully translated gap's file; None (and an error) if a translation is unusable."""
    blocks: list[str] = []
    slots = iter(job.translated)
    for passage in job.passages:
        if passage.original.heading is not None:
            heading = _clean_heading(next(slots) or "")
            if not heading:
                errors.add(f"{service} returned an empty subheading for passage {passage.position}", job.gap)
                return None
            blocks.append(HEADING_PREFIX + heading)
        paragraph = _clean_paragraph(next(slots) or "")
        if not paragraph:
            errors.add(f"{service} returned an empty translation of passage {passage.position}", job.gap)
            return None
        blocks.append(paragraph)
    article = job.gap.article
    front = yaml.safe_dump(
        {"language": job.gap.language, "translated_from": article.language, "method": "machine"},
        sort_keys=False,
        allow_unicode=True,
    )
    try:
        write_new(job.path, f"---\n{front}---\n" + "\n\n".join(blocks) + "\n")
    except FileExistsError:
        return None  # written by someone else meanwhile; theirs wins
    except OSError as exc:
        errors.add(f"cannot write {_relative(job.path)}: {exc.strerror or exc}", job.gap)
        return None
    return job.path


def _clean_heading(text: str) -> str:
    """One line: a subheading is a single "## " line in the file."""
    return " ".join(_LEADING_HASHES.sub("", text.strip()).split())


def _clean_paragraph(text: str) -> str:
    """One block the loader reads back as one paragraph, never as a subheading."""
    text = _LEADING_HASHES.sub("", text.strip()).strip()
    # Line breaks inside the paragraph stay (they mirror the original's); blank lines would split it.
    lines = [line.rstrip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line.strip())


class _Errors:
    """Distinct error messages, each with the first gap it hit and how many more."""

    def __init__(self) -> None:
        self._gaps: dict[str, list[Gap]] = {}

    def add(self, message: str, gap: Gap | None) -> None:
        self._gaps.setdefault(message, [])
        if gap is not None:
            self._gaps[message].append(gap)

    def summary(self) -> tuple[str, ...]:
        lines = []
        for message, gaps in self._gaps.items():
            if not gaps:
                lines.append(message)
            elif len(gaps) == 1:
                lines.append(f"{gaps[0].label}: {message}")
            else:
                lines.append(f"{gaps[0].label} and {len(gaps) - 1} more: {message}")
        if len(lines) > MAX_ERRORS:
            lines[MAX_ERRORS - 1 :] = [f"and {len(lines) - MAX_ERRORS + 1} other errors"]
        return tuple(lines)


def _answer_languages(languages: Sequence[str]) -> list[str]:
    unknown = [lang for lang in languages if lang not in SUPPORTED]
    if unknown:
        raise ValueError(f"not answer languages: {', '.join(unknown)} (they are {', '.join(SUPPORTED)})")
    return list(dict.fromkeys(languages))


def _passages_by_article(corpus: Corpus) -> dict[str, list[Passage]]:
    out: dict[str, list[Passage]] = {}
    for passage in corpus.passages:
        out.setdefault(passage.article.id, []).append(passage)
    return out


def _target_path(root: Path, gap: Gap) -> Path:
    return root / "translations" / gap.article.id / f"{gap.language}.md"


def _relative(path: Path) -> str:
    """``translations/<id>/<lang>.md``: enough for an admin, without the server's folder layout."""
    return "/".join(path.parts[-3:])
