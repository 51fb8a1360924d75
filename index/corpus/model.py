"""Immutable corpus objects: articles, their passages, and passage translations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Article:
    """One news article, as its front matter describes it."""

    id: str
    title: str
    source: str
    url: str
    published: dt.date
    language: str
    note: str
    path: Path = field(compare=False)


@dataclass(frozen=True, slots=True)
class Rendition:
    """A passage's text in one language: the original, or a translation of it."""

    language: str
    body: str
    heading: str | None = None
    method: str | None = None
    """None for the original; "reviewed" or "machine" for a translation."""

    @property
    def text(self) -> str:
        """The heading (when there is one) and the body, as one string."""
        return f"{self.heading}\n{self.body}" if self.heading else self.body


@dataclass(frozen=True, slots=True)
class Passage:
    """A paragraph of an article (with the subheading above it, if any)."""

    article: Article
    position: int
    original: Rendition
    translations: Mapping[str, Rendition]

    @property
    def key(self) -> str:
        """A short stable identifier, "<article id>#<position>"."""
        return f"{self.article.id}#{self.position}"

    @property
    def text(self) -> str:
        return self.original.text

    def renditions(self) -> tuple[Rendition, ...]:
        """The original first, then every translation, in language order."""
        return (self.original, *(self.translations[lang] for lang in sorted(self.translations)))

    def in_language(self, language: str) -> Rendition | None:
        """The passage as a reader of ``language`` should see it, None if it has no such version."""
        if language == self.original.language:
            return self.original
        return self.translations.get(language)


@dataclass(frozen=True, slots=True)
class Corpus:
    """A validated corpus: every article and every passage, in a fixed order."""

    root: Path
    articles: tuple[Article, ...]
    passages: tuple[Passage, ...]
    digest: str
    """A hash of every file's bytes, so caches can tell when the corpus changed."""
    article_digests: Mapping[str, str]

    def languages(self) -> list[str]:
        """Every language some passage can be read in."""
        return sorted({r.language for p in self.passages for r in p.renditions()})

    def translation_counts(self) -> dict[str, int]:
        """How many articles are translated into each language."""
        counts: dict[str, set[str]] = {}
        for passage in self.passages:
            for lang in passage.translations:
                counts.setdefault(lang, set()).add(passage.article.id)
        return {lang: len(ids) for lang, ids in sorted(counts.items())}
