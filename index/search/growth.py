"""What an engine keeps so that a change costs what changed: running sums, and where each article's passages lie.

The gate's per-language background is the mean of every original sentence of
the language (both encoders), kept as float64 sums and counts: an add adds its
sentences, a removal takes its own away, and the means are what a full build
computes from all of them. The readable share per language is kept as counts
the same way. Which passages an article has is read from the corpus's
passage table without making a passage.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..corpus.model import Corpus, Passage, PassageTable
from .gate import POOLED, Background


@dataclass
class LanguageSums:
    """Per language (and pooled), the sum of its sentences' vectors and echoes, and how many there are."""

    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    echoes: dict[str, np.ndarray] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def changed(self, vectors: np.ndarray, echoes: np.ndarray, languages: np.ndarray, sign: int) -> LanguageSums:
        """New sums with these sentences added (``sign`` 1) or taken away (-1); these sums are unchanged."""
        out = LanguageSums(dict(self.vectors), dict(self.echoes), dict(self.counts))
        if not len(languages):
            return out
        vectors = np.asarray(vectors, dtype=np.float64)
        echoes = np.asarray(echoes, dtype=np.float64)
        for language in [POOLED, *sorted(set(languages.tolist()))]:
            rows = np.arange(len(languages)) if language == POOLED else np.flatnonzero(languages == language)
            add_v, add_e = sign * vectors[rows].sum(axis=0), sign * echoes[rows].sum(axis=0)
            out.vectors[language] = out.vectors[language] + add_v if language in out.vectors else add_v
            out.echoes[language] = out.echoes[language] + add_e if language in out.echoes else add_e
            out.counts[language] = out.counts.get(language, 0) + sign * len(rows)
            if out.counts[language] <= 0:
                del out.vectors[language], out.echoes[language], out.counts[language]
        return out

    def background(self) -> Background:
        """The background the gate weighs against: one row per language, its sentences' mean."""
        return Background(
            {lang: (self.vectors[lang] / n).astype(np.float32)[None, :] for lang, n in self.counts.items()},
            {lang: (self.echoes[lang] / n).astype(np.float32)[None, :] for lang, n in self.counts.items()},
        )


class SharedRows:
    """Rows (article centroids) that engines built one from another share: a change appends its own.

    An engine sees the rows up to its own count, which never change afterwards, so the next engine's
    rows go after them in the same buffer (a bigger one, copied once, when it is full) and nothing
    the size of every article is copied per change. Rows of articles removed or edited since stay
    until the next full build.
    """

    def __init__(self, rows: np.ndarray, headroom: float = 0.25) -> None:
        rows = np.asarray(rows, dtype=np.float32)
        self.buffer = np.zeros(
            (int(len(rows) * (1 + headroom)) + 64, rows.shape[1] if rows.ndim == 2 else 0), np.float32
        )
        self.buffer[: len(rows)] = rows
        self.used = len(rows)
        self._lock = threading.Lock()

    def appended(self, rows: np.ndarray) -> tuple[SharedRows, int]:
        """Where ``rows`` now start, and the rows object holding them (this one, or a bigger copy when full)."""
        with self._lock:
            if self.used + len(rows) <= len(self.buffer) and (not len(rows) or rows.shape[1] == self.buffer.shape[1]):
                start = self.used
                self.buffer[start : start + len(rows)] = rows
                self.used += len(rows)
                return self, start
            grown = SharedRows(np.vstack([self.buffer[: self.used], rows]) if self.used else rows, headroom=1.0)
            return grown, self.used if self.used else 0


def readable_counts(passages: list[Passage] | PassageTable | tuple[Passage, ...], sign: int = 1) -> dict[str, int]:
    """Per language, how many of ``passages`` can be read in it (original or translation), times ``sign``."""
    counts: dict[str, int] = {}
    for passage in passages:
        for rendition in passage.renditions():
            counts[rendition.language] = counts.get(rendition.language, 0) + sign
    return counts


def combined(*counts: Mapping[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for found in counts:
        for language, count in found.items():
            out[language] = out.get(language, 0) + count
    return {language: count for language, count in out.items() if count > 0}


def article_starts(corpus: Corpus) -> np.ndarray:
    """Where each article's passages begin in ``corpus.passages`` (one more entry than articles).

    Passages are stored article after article, in the order of ``corpus.articles``.
    """
    passages = corpus.passages
    if isinstance(passages, PassageTable):
        ordinals = passages.article_ordinals()
    else:
        first = {id(a): j for j, a in enumerate(corpus.articles)}
        ordinals = np.array([first[id(p.article)] for p in passages], dtype=np.int64)
    return np.r_[0, np.cumsum(np.bincount(ordinals, minlength=len(corpus.articles)))].astype(np.int64)


def language_mix(counts: Mapping[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {language: count / total for language, count in counts.items()} if total else {}


def mix_moved(before: Mapping[str, int], after: Mapping[str, int], threshold: float) -> bool:
    """Whether the corpus's share of some language moved by more than ``threshold`` (the probes' null then goes)."""
    old, new = language_mix(before), language_mix(after)
    return any(abs(old.get(lang, 0.0) - new.get(lang, 0.0)) > threshold for lang in {*old, *new})
