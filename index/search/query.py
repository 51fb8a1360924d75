"""The query stage: a question as the engine reads it (languages, correction, analysis, vectors).

This is the first stage of the answer path (see :mod:`index.search.engine`). It
settles everything about the question itself before the index is touched: its
language and the answer language, whether typing mistakes were corrected (by a
pluggable :class:`Corrector`; none by default), its analysed word forms, and
its vectors under both encoders. Later stages only read the :class:`Query`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..languages import SUPPORTED, Detection, LanguageDetector
from .analysis import analyzer

Encode = Callable[[str], np.ndarray]


class Corrector(Protocol):
    """Corrects typing mistakes in a question, against what the corpus knows."""

    def correct(self, question: str, language: str) -> tuple[str, bool]:
        """The question as it should be read, and whether that differs from ``question``."""
        ...


class Verbatim:
    """The corrector that corrects nothing: the question is read as typed."""

    def correct(self, question: str, language: str) -> tuple[str, bool]:
        return question, False


@dataclass(frozen=True, slots=True)
class Question:
    """A question as asked and as read, with its languages: what every answer reports, searched or not."""

    asked: str
    """Whitespace-normalised, as typed."""
    text: str
    """As read: ``asked`` with its typing mistakes corrected."""
    language: str
    """The question's language for analysis: what it looks like, even if unsupported."""
    answer_language: str
    """The language to answer in (always supported)."""
    detected: str | None
    """What the text looks like (any ISO 639-1 code), None when too short to tell."""
    decided: str
    """The supported language the detector settled on (the probes' language for the decision)."""

    @property
    def searchable(self) -> bool:
        """Whether there is anything to look up: a letter or a digit."""
        return any(ch.isalnum() for ch in self.text)

    @property
    def read_as(self) -> str | None:
        """The question as read, when a correction changed it."""
        return self.text if self.text != self.asked else None


@dataclass(frozen=True, slots=True)
class Query:
    """A searchable question analysed and embedded."""

    question: Question
    words: tuple[tuple[str, ...], ...]
    """Per question word, its analysed forms (one must match; see :mod:`index.search.analysis`)."""
    vector: np.ndarray
    """The retrieval encoder's (e5) question vector."""
    echo: np.ndarray
    """The cross-lingual sentence encoder's (USE) question vector."""

    @property
    def terms(self) -> list[str]:
        """Every analysed form, in question order, a repeated one again (BM25 counts it twice)."""
        return [term for forms in self.words for term in forms]

    @property
    def asked_terms(self) -> list[str]:
        """The distinct analysed forms, sorted: the columns of the candidates' term presence."""
        return sorted({term for forms in self.words for term in forms})


def read_question(
    question: str,
    detector: LanguageDetector,
    *,
    hint: str | None = None,
    language: str | None = None,
    corrector: Corrector | None = None,
) -> Question:
    """``question`` with its languages settled and its typing mistakes corrected.

    ``language`` (if supported) is the answer language; otherwise the question's own. ``hint``
    (a Telegram language code) decides for questions too short or ambiguous to identify.
    """
    asked = " ".join(question.split())
    detection = detector.detect(asked, hint)
    analysis = _analysis_language(detection)
    text, changed = (corrector or Verbatim()).correct(asked, analysis)
    text = " ".join(text.split()) if changed else asked
    return Question(
        asked=asked,
        text=text,
        language=analysis,
        answer_language=language if language in SUPPORTED else detection.language,
        detected=detection.detected,
        decided=detection.language,
    )


def analysed(question: Question, encode: Encode, echo: Encode, *, vector: np.ndarray | None = None) -> Query:
    """The question's word forms and vectors (``vector``, when the caller has e5's already, is reused)."""
    words = tuple(tuple(forms) for forms in analyzer(question.language).word_forms(question.text, query=True))
    return Query(question, words, encode(question.text) if vector is None else vector, echo(question.text))


def _analysis_language(detection: Detection) -> str:
    """Analyse a question in the language it looks like, even an unsupported one (no stemming then)."""
    return detection.detected or detection.language
