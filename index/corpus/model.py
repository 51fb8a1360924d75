"""Immutable corpus objects: articles, their passages, and passage translations."""

from __future__ import annotations

import datetime as dt
import mmap
import tempfile
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import overload

import numpy as np


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


_NO_TRANSLATIONS: Mapping[str, Rendition] = MappingProxyType({})
_RECENT = 4096
"""How many passages a table keeps made: a question's candidates and results, many times over."""


class PassageTable(Sequence[Passage]):
    """A corpus's passages in flat arrays and one UTF-8 buffer; a :class:`Passage` is made when asked for.

    A passage held as objects costs some 350 bytes besides its text (the
    passage, its rendition, the string's header, its translations mapping),
    and its text two or four bytes a character as soon as it holds one curly
    quote. Here it costs about 35 bytes and its UTF-8 text. The passages
    looked up lately are kept, so a question that looks at the same few
    passages many times makes each once.
    """

    def __init__(self, passages: Iterable[Passage]) -> None:
        articles: dict[int, int] = {}
        self._articles: list[Article] = []
        languages: dict[str, int] = {}
        methods: dict[str | None, int] = {}
        text = bytearray()
        self._article = array("i")
        self._position = array("i")
        self._first = array("q", [0])
        """Passage i's renditions (its original, then its translations) are first[i]:first[i + 1]."""
        self._language = array("B")
        self._method = array("B")
        self._headed = array("B")
        self._cuts = array("q", [0])
        """Rendition r's heading is text[cuts[2r]:cuts[2r + 1]], its body text[cuts[2r + 1]:cuts[2r + 2]]."""
        for passage in passages:
            self._article.append(articles.setdefault(id(passage.article), len(articles)))
            if len(articles) > len(self._articles):
                self._articles.append(passage.article)
            self._position.append(passage.position)
            for rendition in (passage.original, *passage.translations.values()):
                self._language.append(languages.setdefault(rendition.language, len(languages)))
                self._method.append(methods.setdefault(rendition.method, len(methods)))
                self._headed.append(rendition.heading is not None)
                text += (rendition.heading or "").encode("utf-8", "surrogatepass")
                self._cuts.append(len(text))
                text += rendition.body.encode("utf-8", "surrogatepass")
                self._cuts.append(len(text))
            self._first.append(len(self._language))
        self._texts: list[bytes | mmap.mmap | memoryview] = [bytes(text)]
        """The texts, in chunks: offsets (``_cuts``) run over them as if they were one buffer. A table spliced
        from another (:meth:`spliced`) shares its chunks rather than copying them."""
        self._chunk_starts: list[int] = [0]
        self._languages = tuple(languages)
        self._methods = tuple(methods)
        self._recent: dict[int, Passage] = {}

    def __len__(self) -> int:
        return len(self._position)

    @overload
    def __getitem__(self, index: int) -> Passage: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Passage, ...]: ...

    def __getitem__(self, index: int | slice) -> Passage | tuple[Passage, ...]:
        # The engine looks up the same few candidates many times per question: this first line is the hot path.
        try:
            return self._recent[index]  # type: ignore[index]
        except (KeyError, TypeError):  # not made lately, or a slice (unhashable before Python 3.12)
            pass
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        number = int(index) + len(self) if index < 0 else int(index)
        if not 0 <= number < len(self):
            raise IndexError("passage number out of range")
        made = self._make(number)
        if len(self._recent) >= _RECENT:
            self._recent.clear()  # a bounded memory of recent passages; forgetting all at once is cheapest
        self._recent[number] = made
        return made

    def __iter__(self) -> Iterator[Passage]:
        # Made afresh, not remembered: a walk over every passage would only push out the ones a question uses.
        return (self._make(i) for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # equal to the tuple of its passages, which may hold dicts

    def __repr__(self) -> str:
        return f"PassageTable({len(self)} passages)"

    @property
    def nbytes(self) -> int:
        """The memory the table itself takes (its Article objects aside; its texts too once spilled)."""
        arrays = (self._article, self._position, self._first, self._language, self._method, self._headed, self._cuts)
        return (0 if self.spilled else self.text_bytes) + sum(a.itemsize * len(a) for a in arrays)

    @property
    def text_bytes(self) -> int:
        """The size of every passage's text, UTF-8."""
        return sum(len(chunk) for chunk in self._texts)

    @property
    def spilled(self) -> bool:
        """Whether the texts are read from a file (see :meth:`spill`) rather than held in memory."""
        return len(self._texts) == 1 and isinstance(self._texts[0], mmap.mmap)

    def spill(self, directory: str | Path | None = None) -> None:
        """Read the passages' texts from a file from now on, rather than keep them in this process's memory.

        The file (in ``directory``, the system's temporary directory by
        default) has no name: it goes when the table does. Its pages are read
        when a passage is made and cached by the system, which can drop them
        again under memory pressure; only the pages read count in this
        process's RSS. Worth it for a large corpus, whose texts a question
        reads a dozen of.
        """
        if self.spilled or not self.text_bytes:
            return
        with tempfile.TemporaryFile(dir=directory) as handle:
            for chunk in self._texts:
                handle.write(chunk)
            handle.flush()
            self._texts, self._chunk_starts = [mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)], [0]

    @classmethod
    def spliced(cls, pieces: Sequence[tuple[PassageTable, int, int] | Sequence[Passage]]) -> PassageTable:
        """A table of the given pieces in order: rows ``first:last`` of an existing table (copied as stored,
        no passage made), or new passages. What a change to a large corpus costs: its own passages, and
        copying the others' arrays and texts, never making them again."""
        table = cls(())
        languages: dict[str, int] = {}
        methods: dict[str | None, int] = {}
        articles: dict[int, int] = {}
        chunks: list[bytes | mmap.mmap | memoryview] = []
        starts: list[int] = []
        total = 0
        for piece in pieces:
            source = piece[0] if isinstance(piece, tuple) else PassageTable(piece)  # type: ignore[arg-type]
            first, last = (piece[1], piece[2]) if isinstance(piece, tuple) else (0, len(source))  # type: ignore[misc]
            if first >= last:
                continue
            lang_code = np.array([languages.setdefault(x, len(languages)) for x in source._languages] or [0])
            method_code = np.array([methods.setdefault(x, len(methods)) for x in source._methods] or [0])
            own = np.frombuffer(source._article, dtype=np.int32)[first:last]
            for ordinal in np.unique(own).tolist():
                if id(source._articles[ordinal]) not in articles:
                    articles[id(source._articles[ordinal])] = len(table._articles)
                    table._articles.append(source._articles[ordinal])
            remap = np.array([articles.get(id(a), -1) for a in source._articles] or [0], dtype=np.int32)
            table._article.frombytes(remap[own].astype(np.int32).tobytes())
            table._position.frombytes(np.frombuffer(source._position, dtype=np.int32)[first:last].tobytes())
            r0, r1 = source._first[first], source._first[last]
            base = table._first[-1]
            firsts = np.frombuffer(source._first, dtype=np.int64)[first + 1 : last + 1] - r0 + base
            table._first.frombytes(firsts.astype(np.int64).tobytes())
            table._language.frombytes(
                lang_code[np.frombuffer(source._language, dtype=np.uint8)[r0:r1]].astype(np.uint8).tobytes()
            )
            table._method.frombytes(
                method_code[np.frombuffer(source._method, dtype=np.uint8)[r0:r1]].astype(np.uint8).tobytes()
            )
            table._headed.frombytes(bytes(source._headed[r0:r1]))
            c0, c1 = source._cuts[2 * r0], source._cuts[2 * r1]
            cuts = np.frombuffer(source._cuts, dtype=np.int64)[2 * r0 + 1 : 2 * r1 + 1] - c0 + total
            table._cuts.frombytes(cuts.astype(np.int64).tobytes())
            for chunk, start in zip(source._texts, source._chunk_starts, strict=True):  # shared, not copied
                a, b = max(c0, start), min(c1, start + len(chunk))
                if a < b:
                    chunks.append(memoryview(chunk)[a - start : b - start])
                    starts.append(total + a - c0)
            total += c1 - c0
        table._texts, table._chunk_starts = chunks or [b""], starts or [0]
        held = {id(_base(chunk)): len(_base(chunk)) for chunk in table._texts}
        if total < sum(held.values()) // 2:  # mostly text of passages gone since: keep only what is used
            table._texts, table._chunk_starts = [b"".join(bytes(chunk) for chunk in table._texts)], [0]
        table._languages = tuple(languages)
        table._methods = tuple(methods)
        return table

    def article_of(self, index: int) -> Article:
        """Passage ``index``'s article, without making the passage."""
        return self._articles[self._article[index]]

    def languages(self) -> set[str]:
        """Every language some passage can be read in."""
        return {self._languages[code] for code in set(self._language)}

    def article_starts(self) -> np.ndarray:
        """Where each article's passages begin (passages are stored article after article), and the end."""
        counts = np.bincount(self.article_ordinals(), minlength=len(self._articles))
        return np.r_[0, np.cumsum(counts)].astype(np.int64)

    def article_ordinals(self) -> np.ndarray:
        """Per passage, its article's place among the articles the table met, in order (first met is 0)."""
        return np.frombuffer(self._article, dtype=np.int32).astype(np.int64) if len(self) else np.zeros(0, np.int64)

    def _rendition(self, r: int) -> Rendition:
        cuts = self._cuts
        first = cuts[2 * r]
        if len(self._texts) == 1:
            text, start = self._texts[0], 0
        else:  # a rendition's text lies in one chunk
            k = bisect_right(self._chunk_starts, first) - 1
            text, start = self._texts[k], self._chunk_starts[k]
        middle, last = cuts[2 * r + 1] - start, cuts[2 * r + 2] - start
        heading = str(text[first - start : middle], "utf-8", "surrogatepass") if self._headed[r] else None
        body = str(text[middle:last], "utf-8", "surrogatepass")
        return Rendition(self._languages[self._language[r]], body, heading, self._methods[self._method[r]])

    def _make(self, index: int) -> Passage:
        first, last = self._first[index], self._first[index + 1]
        translations = [self._rendition(r) for r in range(first + 1, last)]
        return Passage(
            self._articles[self._article[index]],
            self._position[index],
            self._rendition(first),
            MappingProxyType({t.language: t for t in translations}) if translations else _NO_TRANSLATIONS,
        )


def _base(chunk: bytes | mmap.mmap | memoryview) -> bytes | mmap.mmap:
    """The buffer a chunk is a view of (itself when it is not a view)."""
    return chunk.obj if isinstance(chunk, memoryview) else chunk  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Corpus:
    """A validated corpus: every article and every passage, in a fixed order.

    Passages given as any sequence are kept as a :class:`PassageTable`.
    """

    root: Path
    articles: tuple[Article, ...]
    passages: Sequence[Passage]
    digest: str
    """A hash of every file's bytes, so caches can tell when the corpus changed."""
    article_digests: Mapping[str, str]
    stamps: Mapping[str, tuple[int, int, str]] = field(default_factory=lambda: MappingProxyType({}), compare=False)
    """Per file (path relative to the root): its modification time (ns), size and SHA-256, as read; a later
    load given this corpus re-reads only the files whose time or size differ."""

    def __post_init__(self) -> None:
        if not isinstance(self.passages, PassageTable):
            object.__setattr__(self, "passages", PassageTable(self.passages))

    def languages(self) -> list[str]:
        """Every language some passage can be read in."""
        passages = self.passages
        if isinstance(passages, PassageTable):
            return sorted(passages.languages())
        return sorted({r.language for p in passages for r in p.renditions()})

    def translation_counts(self) -> dict[str, int]:
        """How many articles are translated into each language."""
        counts: dict[str, set[str]] = {}
        for passage in self.passages:
            for lang in passage.translations:
                counts.setdefault(lang, set()).add(passage.article.id)
        return {lang: len(ids) for lang, ids in sorted(counts.items())}
