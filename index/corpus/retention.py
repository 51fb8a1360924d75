"""Retention: articles published more than ``keep_days`` ago leave the index, and their files the corpus.

A bot fed by feeds would otherwise grow without end. An expired article's
file and its translations move into ``<root>/.archive/`` (same layout as the
corpus, so an article can be put back by moving its files back), which the
loader never reads. Nothing else is touched: follows and the alerts already
sent keep naming the article.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from .model import Corpus
from .store import Removal, translations_dir

ARCHIVE_DIR = ".archive"


def expired(corpus: Corpus, keep_days: int, today: dt.date) -> list[str]:
    """Ids of the articles published more than ``keep_days`` days before ``today``."""
    oldest = today - dt.timedelta(days=keep_days)
    return [article.id for article in corpus.articles if article.published < oldest]


def archive(corpus: Corpus, article_ids: list[str]) -> Removal:
    """Move the articles' files (and translations) into the archive folder; a :class:`Removal` to undo it."""
    root = corpus.root
    paths = {a.id: a.path for a in corpus.articles}
    moved: list[tuple[Path, Path]] = []
    try:
        for article_id in article_ids:
            for path in (paths[article_id], translations_dir(root, article_id)):
                if not path.exists():
                    continue
                kept = root / ARCHIVE_DIR / path.relative_to(root)
                kept.parent.mkdir(parents=True, exist_ok=True)
                if kept.is_dir():  # archived before, added again, archived again: the latest stays
                    shutil.rmtree(kept)
                os.replace(path, kept)
                moved.append((path, kept))
    except OSError:
        Removal("archive", root / ARCHIVE_DIR, tuple(moved)).restore_files()
        raise
    return Removal("archive", root / ARCHIVE_DIR, tuple(moved))


def archived(root: Path) -> int:
    """How many articles the corpus's archive folder holds."""
    folder = root / ARCHIVE_DIR / "articles"
    return sum(1 for _ in folder.rglob("*.md")) if folder.is_dir() else 0
