"""Corpus changes as transactions: add an article, take one out, fill translation gaps.

Each returns the newly loaded, validated corpus, or raises and leaves the
directory as it found it: an added article is deleted again, a removed one put
back, machine translations that would break the corpus dropped. Machine
translations left stale by an edited article are set aside (into ``.removed/``)
and made again. The bot and the
command line both go through here, so an upload and ``bot.py corpus add`` do
exactly the same thing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .corpus.loader import load_corpus
from .corpus.model import Corpus
from .corpus.problems import CorpusError
from .corpus.retention import archive, expired
from .corpus.store import Removal, discard_article, remove_article, save_article, set_aside
from .intake.upload import PreparedArticle
from .translation.fill import FillReport, fill_gaps
from .translation.libretranslate import Translator

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class TranslationPlan:
    """How passages without a translation get one: which service, into which languages, how fast."""

    translator: Translator
    languages: tuple[str, ...]
    concurrency: int = 4
    requests_per_second: float = 2.0
    retries: int = 2
    """Retries of a request that failed in a way that may pass (a timeout, 429, 5xx)."""
    backoff: float = 1.0
    """Seconds before the first retry; doubled for each next one."""


@dataclass(frozen=True, slots=True)
class Change:
    """A corpus after a change, and what machine translation did on the way (None when it is off)."""

    corpus: Corpus
    translation: FillReport | None
    stale: tuple[Path, ...] = ()
    """Machine translations set aside because their article was edited since (translated again if a plan is on)."""


def load_and_translate(
    root: Path,
    plan: TranslationPlan | None,
    *,
    articles: Collection[str] | None = None,
    progress: Progress | None = None,
    previous: Corpus | None = None,
) -> Change:
    """Load the corpus at ``root``; with a plan, translate its gaps (or ``articles``' only) and load again.

    Given the ``previous`` corpus, only changed files are read again (:func:`load_corpus`).
    """
    corpus, stale = _load_setting_aside_stale_translations(root, previous)
    if plan is None:
        return Change(corpus, None, stale)
    report = fill_gaps(
        corpus,
        plan.translator,
        plan.languages,
        concurrency=plan.concurrency,
        requests_per_second=plan.requests_per_second,
        retries=plan.retries,
        backoff=plan.backoff,
        articles=articles,
        progress=progress,
    )
    if not report.written:
        return Change(corpus, report, stale)
    try:
        return Change(load_corpus(corpus.root, previous=corpus), report, stale)
    except CorpusError as exc:
        # Our own files broke the corpus: drop them and serve what was there before.
        log.error("machine translations were not accepted by the loader, so they were dropped: %s", exc)
        for path in report.written:
            path.unlink(missing_ok=True)
        return Change(corpus, report, stale)


def _load_setting_aside_stale_translations(
    root: Path, previous: Corpus | None = None
) -> tuple[Corpus, tuple[Path, ...]]:
    """Load; if the only problems are machine translations of articles edited since, set those aside and load.

    A machine translation is derived data: when its article changes shape it is
    stale, not wrong, and it is translated again. Anything else, reviewed
    translations included, needs a person and is reported as it is.
    """
    try:
        return load_corpus(root, previous=previous), ()
    except CorpusError as exc:
        stale = sorted({p.path for p in exc.problems if p.stale_machine_translation})
        if not stale or len(stale) != len({p.path for p in exc.problems}):
            raise
        kept = set_aside(root, stale, "stale-translations")
        try:
            corpus = load_corpus(root)
        except BaseException:
            kept.restore()
            raise
        log.info("set aside %d stale machine translation(s) in %s", len(stale), kept.backup)
        return corpus, tuple(stale)


def add_article(
    root: Path,
    prepared: PreparedArticle,
    plan: TranslationPlan | None,
    *,
    progress: Progress | None = None,
    use: Callable[[Change], object] | None = None,
    previous: Corpus | None = None,
) -> Change:
    """Save ``prepared`` into the corpus, translate it, load, and ``use`` the result; on any failure nothing
    stays saved (a failure in ``use``, such as indexing, included). ``previous``: the corpus loaded before,
    so that only the new files are read."""
    article_id = prepared.article.id
    save_article(root, article_id, prepared.markdown)
    with _undo_on_failure(lambda: discard_article(root, article_id)):
        change = load_and_translate(root, plan, articles={article_id}, progress=progress, previous=previous)
        if use is not None:
            use(change)
        return change


def add_articles(
    root: Path,
    prepared: Sequence[PreparedArticle],
    plan: TranslationPlan | None,
    *,
    progress: Progress | None = None,
    use: Callable[[Change], object] | None = None,
    previous: Corpus | None = None,
) -> Change:
    """Save several articles (a feed poll's), translate them, load once and ``use`` the result once;
    on any failure none of them stays saved. ``previous``: the corpus loaded before (see :func:`add_article`)."""
    ids = [p.article.id for p in prepared]
    if len(set(ids)) != len(ids):
        raise ValueError(f"two of the articles to add have the same id: {sorted(ids)}")
    saved: list[str] = []

    def undo() -> None:
        for article_id in saved:
            discard_article(root, article_id)

    with _undo_on_failure(undo):
        for article in prepared:
            save_article(root, article.article.id, article.markdown)
            saved.append(article.article.id)
        change = load_and_translate(root, plan, articles=set(ids), progress=progress, previous=previous)
        if use is not None:
            use(change)
        return change


def take_out_article(
    corpus: Corpus, article_id: str, *, use: Callable[[Change], object] | None = None
) -> tuple[Change, Removal]:
    """Move an article out of the corpus, load what is left and ``use`` it; on any failure it is put back."""
    removal = remove_article(corpus, article_id)
    with _undo_on_failure(removal.restore):
        change = Change(load_corpus(corpus.root, previous=corpus), None)
        if use is not None:
            use(change)
        return change, removal


def retire_expired(
    corpus: Corpus, keep_days: int, *, today: dt.date | None = None, use: Callable[[Change], object] | None = None
) -> tuple[Change, tuple[str, ...]] | None:
    """Archive the articles published more than ``keep_days`` ago, load what is left and ``use`` it;
    None when none has expired. On any failure the files are put back."""
    ids = expired(corpus, keep_days, today or dt.datetime.now(dt.UTC).date())
    if not ids:
        return None
    moved = archive(corpus, ids)
    with _undo_on_failure(moved.restore_files):
        change = Change(load_corpus(corpus.root, previous=corpus), None)
        if use is not None:
            use(change)
    log.info("retention: archived %d article(s) published more than %d days ago", len(ids), keep_days)
    return change, tuple(ids)


@contextmanager
def _undo_on_failure(undo: Callable[[], None]) -> Iterator[None]:
    try:
        yield
    except BaseException:
        undo()
        raise
