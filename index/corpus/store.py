"""Changing a corpus directory on disk: saving an added article, and taking one out.

Nothing is ever half-done: files are written under a dot-name (which the loader
ignores) and renamed into place, and a removed article is moved, with its
translations, into ``<root>/.removed/`` rather than deleted, so it can be put
back by hand or by :meth:`Removal.restore` when the reindex that follows fails.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .model import Corpus

REMOVED_DIR = ".removed"


def write_new(path: Path, content: str) -> None:
    """Create ``path`` atomically, through a dot-file the loader ignores; FileExistsError if it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        raise FileExistsError(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def article_path(root: Path, article_id: str) -> Path:
    return root / "articles" / f"{article_id}.md"


def translations_dir(root: Path, article_id: str) -> Path:
    return root / "translations" / article_id


def save_article(root: Path, article_id: str, markdown: str) -> None:
    """Write a new article file; refuses to overwrite one (FileExistsError)."""
    write_new(article_path(root, article_id), markdown)


def discard_article(root: Path, article_id: str) -> None:
    """Undo :func:`save_article`: delete the article file and any translations written for it."""
    article_path(root, article_id).unlink(missing_ok=True)
    shutil.rmtree(translations_dir(root, article_id), ignore_errors=True)


@dataclass(frozen=True, slots=True)
class Removal:
    """Files moved out of the corpus (an article, or stale translations); ``backup`` holds them."""

    label: str
    backup: Path
    moved: tuple[tuple[Path, Path], ...]
    """(original place, place in the backup) for every file or folder moved."""

    def restore(self) -> None:
        """Put the files back where they were (when the reindex after a removal fails)."""
        self.restore_files()
        shutil.rmtree(self.backup, ignore_errors=True)

    def restore_files(self) -> None:
        """Put the moved files back, leaving the folder they were moved into (an archive is shared)."""
        for original, kept in self.moved:
            original.parent.mkdir(parents=True, exist_ok=True)
            os.replace(kept, original)


def remove_article(corpus: Corpus, article_id: str, *, now: dt.datetime | None = None) -> Removal:
    """Move an article and its translations into ``<root>/.removed/<time>-<id>/``; KeyError if unknown."""
    article = next((a for a in corpus.articles if a.id == article_id), None)
    if article is None:
        raise KeyError(article_id)
    translations = translations_dir(corpus.root, article_id)
    paths = [article.path, *([translations] if translations.exists() else [])]
    return set_aside(corpus.root, paths, article_id, now=now)


def set_aside(root: Path, paths: list[Path], label: str, *, now: dt.datetime | None = None) -> Removal:
    """Move files or folders of the corpus into ``<root>/.removed/<time>-<label>/``, keeping their places in it."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    backup = root / REMOVED_DIR / f"{stamp}-{label}"
    backup.mkdir(parents=True, exist_ok=False)
    moved: list[tuple[Path, Path]] = []
    try:
        for path in paths:
            kept = backup / path.relative_to(root)
            kept.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, kept)
            moved.append((path, kept))
    except OSError:
        Removal(label, backup, tuple(moved)).restore()
        raise
    return Removal(label, backup, tuple(moved))
