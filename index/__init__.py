"""The answer engine: corpus loading, language handling and retrieval.

Nothing here imports Telegram; the bot and the command line both sit on top::

    from index import Engine, load_corpus

    engine = Engine.build(load_corpus("corpus"), cache_dir=Path(".cache"))
    answer = engine.ask("Why was the Space delayed?", k=3)
    print(answer.to_json())
"""

from __future__ import annotations

from ._answer import Answer, Result
from ._engine import BuildStats, Engine, Settings
from ._languages import SUPPORTED, Detection, LanguageDetector, normalize_hint
from ._loader import load_corpus
from ._model import Article, Corpus, Passage, Rendition
from ._problems import CorpusError, Problem

__all__ = [
    "SUPPORTED",
    "Answer",
    "Article",
    "BuildStats",
    "Corpus",
    "CorpusError",
    "Detection",
    "Engine",
    "LanguageDetector",
    "Passage",
    "Problem",
    "Rendition",
    "Result",
    "Settings",
    "load_corpus",
    "normalize_hint",
]
