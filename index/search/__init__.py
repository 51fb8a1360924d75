"""Search: from a question to the ranked, attributed passages that answer it.

Text analysis (folding, stemming, stopwords), the BM25 lexical index, sentence
embeddings with their on-disk cache, and the :class:`Engine` that fuses them,
decides whether the coverage answers, and returns an :class:`Answer` of
:class:`Result` objects. Reads a loaded corpus; never imports intake or
translation.
"""

from __future__ import annotations

from .answer import Answer, Result
from .engine import BuildStats, Engine
from .settings import Settings

__all__ = ["Answer", "BuildStats", "Engine", "Result", "Settings"]
