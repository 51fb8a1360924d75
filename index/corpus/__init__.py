"""The corpus on disk: articles and their translations as files, read, validated and written.

Knows nothing of intake, translation or search. Exports the data model
(:class:`Corpus`, :class:`Article`, :class:`Passage`, :class:`Rendition`), the
loader that validates a directory and reports every problem with its path and
line (:func:`load_corpus`, :class:`CorpusError`, :class:`Problem`), and the
store that writes and removes article files atomically (:func:`article_path`,
:class:`Removal`).
"""

from __future__ import annotations

from .loader import load_corpus
from .model import Article, Corpus, Passage, Rendition
from .problems import CorpusError, Problem
from .store import Removal, article_path

__all__ = [
    "Article",
    "Corpus",
    "CorpusError",
    "Passage",
    "Problem",
    "Removal",
    "Rendition",
    "article_path",
    "load_corpus",
]
