"""Machine translation of passages that have no translation yet.

:class:`Translator` is the protocol a translation service meets;
:class:`LibreTranslate` speaks to a LibreTranslate-compatible HTTP service.
:func:`find_gaps` and :func:`untranslated_passages` say what is missing, and
:func:`fill_gaps` translates it and writes ``method: machine`` translation
files, reporting what it did in a :class:`FillReport`.
"""

from __future__ import annotations

from .fill import FillReport, fill_gaps, find_gaps, untranslated_passages
from .libretranslate import LibreTranslate, TranslationError, Translator

__all__ = [
    "FillReport",
    "LibreTranslate",
    "TranslationError",
    "Translator",
    "fill_gaps",
    "find_gaps",
    "untranslated_passages",
]
