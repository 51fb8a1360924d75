"""What the engine returns: an answer and its quoted, attributed results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..languages import SUPPORTED

Span = tuple[int, int]
"""``[start, end)`` character offsets into a text (Python indices, end exclusive)."""

Confidence = Literal["answer", "closest", "none"]
"""How sure an answer is: the coverage answers; it is about this but may not answer; nothing is about it."""


@dataclass(frozen=True, slots=True)
class Corroboration:
    """A passage of another article that reports the same thing as a result."""

    article_id: str
    passage_index: int
    source: str
    title: str
    url: str
    text: str
    """That passage's verbatim original."""

    def to_json(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "passage_index": self.passage_index,
            "source": self.source,
            "title": self.title,
            "url": self.url,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class Result:
    """One quoted passage, its source, and its version in the answer language."""

    article_id: str
    passage_index: int
    source: str
    title: str
    url: str
    published: str
    language: str
    """The passage's original language."""
    text: str
    """The verbatim original passage."""
    translation: str | None
    """The passage in the answer language; None when the original already is, or when no translation exists."""
    translation_method: str | None
    score: float
    highlights: tuple[Span, ...] = ()
    """The sentences of ``text`` that answer the question; empty when none stands out."""
    translation_highlights: tuple[Span, ...] = ()
    """Their counterparts in ``translation`` (empty when there is no translation)."""
    also_reported_by: tuple[Corroboration, ...] = ()
    """Passages of other articles saying the same thing, folded into this result."""
    translated_by: str | None = None
    """Who machine-translated ``translation`` when it was asked for as the passage was quoted ("DeepL", a
    model's name); None for a translation file of the corpus."""

    @property
    def shown_highlights(self) -> tuple[Span, ...]:
        """The highlights of ``shown_text``."""
        return self.translation_highlights if self.translation is not None else self.highlights

    @property
    def shown_text(self) -> str:
        """The text shown first: the translation when there is one, else the original."""
        return self.translation if self.translation is not None else self.text

    def missing_translation(self, answer_language: str) -> bool:
        """True when the reader asked for another language and no translation exists."""
        return self.language != answer_language and self.translation is None

    def to_json(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "passage_index": self.passage_index,
            "source": self.source,
            "title": self.title,
            "url": self.url,
            "published": self.published,
            "language": self.language,
            "text": self.text,
            "translation": self.translation,
            "translation_method": self.translation_method,
            "score": round(self.score, 6),
            "highlights": [list(span) for span in self.highlights],
            "translation_highlights": (
                None if self.translation is None else [list(span) for span in self.translation_highlights]
            ),
            "also_reported_by": [c.to_json() for c in self.also_reported_by],
        }


@dataclass(frozen=True, slots=True)
class Answer:
    """The engine's reply to one question."""

    question: str
    language: str
    """The answer language (one of the supported languages)."""
    answered: bool
    results: tuple[Result, ...]
    detected_language: str | None = None
    """What the question looked like; differs from ``language`` for unsupported languages or hints."""
    more: tuple[Result, ...] = ()
    """Further results beyond the first ``k``, for a "More" button."""
    unavailable: bool = False
    """The search backend could not be reached: not answered, but not a refusal either."""
    hedged: bool = False
    """Answered with the closest passages, which the engine is not sure answer the question."""
    read_as: str | None = None
    """The question as the engine read it, when correcting typing mistakes changed it; else None."""

    @property
    def confidence(self) -> Confidence:
        """``none`` when refused, ``closest`` when hedged, else ``answer``."""
        if not self.answered:
            return "none"
        return "closest" if self.hedged else "answer"

    @property
    def unsupported_language(self) -> str | None:
        detected = self.detected_language
        return detected if detected is not None and detected not in SUPPORTED else None

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "language": self.language,
            "answered": self.answered,
            "confidence": self.confidence,
            "results": [r.to_json() for r in self.results],
        } | ({"unavailable": True} if self.unavailable else {}) | ({"read_as": self.read_as} if self.read_as else {})
