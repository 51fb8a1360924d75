"""The answer engine: corpus loading, language handling and retrieval.

Nothing here imports Telegram; the bot and the command line both sit on top.
"""

from __future__ import annotations

from ._languages import ENGLISH_NAMES, SUPPORTED, Detection, LanguageDetector, normalize_hint
from ._loader import load_corpus
from ._model import Article, Corpus, Passage, Rendition
from ._problems import CorpusError, Problem

__all__ = [
    "ENGLISH_NAMES",
    "SUPPORTED",
    "Article",
    "Corpus",
    "CorpusError",
    "Detection",
    "LanguageDetector",
    "Passage",
    "Problem",
    "Rendition",
    "load_corpus",
    "normalize_hint",
]

from ._answer import Answer, Result
from ._engine import BuildStats, Engine, Settings

__all__ += ["Answer", "BuildStats", "Engine", "Result", "Settings"]
