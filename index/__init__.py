"""The answer engine: corpus loading, language handling and retrieval.

Nothing here imports Telegram; the bot and the command line both sit on top::

    from index import Engine, load_corpus

    engine = Engine.build(load_corpus("corpus"), cache_dir=Path(".cache"))
    answer = engine.ask("Why was the Space delayed?", k=3)
    print(answer.to_json())

Corpus changes (an uploaded article, a removal, machine translation of the
passages that have none) go through ``add_article``, ``take_out_article`` and
``load_and_translate``, which leave the directory as they found it on failure.
"""

from __future__ import annotations

from .corpus import Article, Corpus, CorpusError, Passage, Problem, Removal, Rendition, article_path, load_corpus
from .curation import Change, TranslationPlan, add_article, load_and_translate, take_out_article
from .intake import CAPTION_FIELDS, PreparedArticle, Upload, human_sizes, make_id, prepare_article
from .languages import SUPPORTED, Detection, LanguageDetector, normalize_hint
from .search import Answer, BuildStats, Engine, Result, Settings
from .translation import (
    FillReport,
    LibreTranslate,
    TranslationError,
    Translator,
    fill_gaps,
    find_gaps,
    untranslated_passages,
)

__all__ = [
    "CAPTION_FIELDS",
    "SUPPORTED",
    "Answer",
    "Article",
    "BuildStats",
    "Change",
    "Corpus",
    "CorpusError",
    "Detection",
    "Engine",
    "FillReport",
    "LanguageDetector",
    "LibreTranslate",
    "Passage",
    "PreparedArticle",
    "Problem",
    "Removal",
    "Rendition",
    "Result",
    "Settings",
    "TranslationError",
    "TranslationPlan",
    "Translator",
    "Upload",
    "add_article",
    "article_path",
    "fill_gaps",
    "find_gaps",
    "human_sizes",
    "load_and_translate",
    "load_corpus",
    "make_id",
    "normalize_hint",
    "prepare_article",
    "take_out_article",
    "untranslated_passages",
]
