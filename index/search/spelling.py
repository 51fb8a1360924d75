"""Typing mistakes in a question, corrected against the corpus's own vocabulary.

A reader who types "Why was the Space delayd?" means a word the coverage
holds. The only dictionary that knows every name, number and loan word the
news uses is the corpus itself, in all its language versions, so that is what
a question word is corrected against, the way Meilisearch and Typesense do by
default:

* a word the corpus holds, a stopword or common word of any answer language
  (wordfreq's lists of about 30,000 words each), or a word whose stem (in the
  question's language) some corpus word shares, is never changed;
* a word of 5 to 8 letters may be one edit away from its correction, a word of
  9 letters or more two (an edit: a letter added, dropped, replaced, or two
  neighbours swapped); shorter words and anything with a digit are left as typed,
  since one edit there changes the word's meaning more often than it fixes it;
* among candidates, the fewest edits win, then the word the corpus uses most.

Why rapidfuzz and not SymSpell: SymSpell (symspellpy) looks up in microseconds but
precomputes every deletion of every word; for a 100,000-passage vocabulary that
took 16 s and much memory, and the bot must be ready from a warm cache in under
2 s. Here the vocabulary is bucketed by length and by first and by last letter
(one edit cannot change both ends of a word of three letters or more), and
rapidfuzz's optimal-string-alignment distance scans only the buckets a word can
fall in: building takes a fraction of a second, a lookup well under a
millisecond. ``bench/spelling.py`` measures both.
"""

from __future__ import annotations

import bisect
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Final

import Stemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA

from .analysis import normalize, strip_accents
from .stopwords import STOPWORDS

_WORD: Final = re.compile(r"[^\W_]+", re.UNICODE)
_SNOWBALL: Final = {"en": "english", "fr": "french", "id": "indonesian", "nl": "dutch", "de": "german", "es": "spanish"}
ONE_EDIT_FROM: Final = 5
"""Words this long (in letters) or longer may be corrected by one edit."""
TWO_EDITS_FROM: Final = 9
"""Words this long or longer may be corrected by two."""
_INFLECTIONS: Final = 64
"""Corpus words beginning with a stem that are checked for being its inflections."""
_MEANINGFUL: Final = 2
"""A word must be this long to count as known (``knows_any``): "x" or "1" alone says nothing."""


def words_of(text: str) -> list[str]:
    """The words of ``text`` as the corrector sees them: casefolded runs of letters and digits."""
    return _WORD.findall(normalize(text))


@dataclass(frozen=True, slots=True)
class Change:
    """One word corrected: as typed, and as read."""

    typed: str
    read: str


@dataclass(frozen=True, slots=True)
class Correction:
    """A question as read after correcting it; ``text`` is the question itself when nothing changed."""

    text: str
    changes: tuple[Change, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.changes)


class Corrector:
    """The corpus's vocabulary, and the nearest corpus word for a word it does not hold.

    Words are kept by the language of the text they were read in. A lower-case word is corrected
    only to a word of the question's own language ("recett" in a French question must not become
    the English "recent"); a capitalised one, a name, to a word of any language, keeping its first
    letter ("Tatin" is not "Matin"). Safe to share between threads: :meth:`add` swaps in new buckets
    rather than editing them.
    """

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._known: set[str] = set()
        self._seen: set[tuple[str | None, str]] = set()
        self._by_first: dict[tuple[str | None, int, str], list[str]] = {}
        self._by_last: dict[tuple[str | None, int, str], list[str]] = {}
        self._languages: frozenset[str | None] = frozenset()
        self._sorted: list[str] = []
        self._lock = threading.Lock()
        self._common = frozenset(strip_accents(w) for words in STOPWORDS.values() for w in words)

    @classmethod
    def of(cls, words: Iterable[str] | Mapping[str, int], language: str | None = None) -> Corrector:
        """A corrector knowing ``words`` (as :func:`words_of` gives them, repeats counting, or counts).

        ``language``: theirs; None for words of no particular language, candidates in any.
        """
        corrector = cls()
        corrector.add(words, language)
        return corrector

    @classmethod
    def of_texts(cls, texts: Iterable[tuple[str, str | None]]) -> Corrector:
        """A corrector knowing every word of ``texts``, each (text, its language)."""
        corrector = cls()
        corrector._learn(list(corpus_words(texts).items()))
        return corrector

    def add_texts(self, texts: Iterable[tuple[str, str | None]]) -> None:
        """Learn every word of ``texts``, each (text, its language): the articles a change brought."""
        self._learn(list(corpus_words(texts).items()))

    def add(self, words: Iterable[str] | Mapping[str, int], language: str | None = None) -> None:
        """Learn more words of ``language`` (an article added): known from now on, and candidate corrections."""
        self._learn([(language, Counter(words))])

    def _learn(self, batches: list[tuple[str | None, Counter[str]]]) -> None:
        with self._lock:
            by_first = {key: list(words) for key, words in self._by_first.items()}
            by_last = {key: list(words) for key, words in self._by_last.items()}
            known, seen = set(self._known), set(self._seen)
            languages = set(self._languages)
            for language, counts in batches:
                if not counts:
                    continue
                languages.add(language)
                self._counts.update(counts)
                for word in counts:
                    if (language, word) in seen:
                        continue
                    seen.add((language, word))
                    known.add(word)
                    if not word.isascii():
                        known.add(strip_accents(word))
                    if len(word) < ONE_EDIT_FROM - 1 or not word.isalpha():
                        continue  # no correction can be this short, or hold a digit
                    for size in (1, 2):
                        by_first.setdefault((language, len(word), word[:size]), []).append(word)
                        by_last.setdefault((language, len(word), word[-size:]), []).append(word)
            self._sorted = sorted(known)
            self._known, self._seen, self._by_first, self._by_last = known, seen, by_first, by_last
            self._languages = frozenset(languages)

    def __len__(self) -> int:
        return len(self._counts)

    def knows(self, word: str, language: str | None = None) -> bool:
        """Whether ``word`` (casefolded) is the corpus's or a stopword, or an inflection of a corpus word.

        An inflection: the question language's stemmer cuts a suffix off ``word``, and leaves the stem of
        a corpus word ("delays" when the corpus says "delayed").
        """
        bare = word if word.isascii() else strip_accents(word)
        if word in self._known or bare in self._known or bare in self._common:
            return True
        stem = _stem(language, bare)
        if stem == bare or len(stem) < ONE_EDIT_FROM - 1:
            return False
        words = self._sorted
        at = bisect.bisect_left(words, stem)
        for other in words[at : at + _INFLECTIONS]:
            if not other.startswith(stem):
                break
            if _stem(language, other) == stem:
                return True
        return False

    def knows_any(self, question: str) -> bool:
        """Whether some word of ``question`` (of two characters or more) is one the corpus or a language knows.

        A question with none ("asdf qwerty", "x", "1<2") is about nothing the coverage holds.
        """
        return any(len(word) >= _MEANINGFUL and self.knows(word) for word in words_of(question))

    def correct(self, question: str, language: str | None = None) -> Correction:
        """``question`` with each word the corpus does not know replaced by its nearest corpus word, if close.

        ``language`` is the question's: its words are corrected to words of that language, and words
        sharing a stem with a corpus word in it are known. The question keeps its own spacing and
        punctuation; a corrected word keeps the case of its first letter.
        """
        pieces: list[str] = []
        changes: list[Change] = []
        end = 0
        text = normalize(question, casefold=False)
        for match in _WORD.finditer(text):
            typed = match.group()
            name = typed[:1].isupper()
            read = self._nearest(typed.casefold(), language, name=name)
            if read is None:
                continue
            if name:
                read = read[:1].upper() + read[1:]
            pieces += [text[end : match.start()], read]
            end = match.end()
            changes.append(Change(typed, read))
        if not changes:
            return Correction(question)
        return Correction("".join([*pieces, text[end:]]), tuple(changes))

    def _nearest(self, word: str, language: str | None, *, name: bool) -> str | None:
        """The correction for one casefolded word; None when it stays as typed."""
        edits = 2 if len(word) >= TWO_EDITS_FROM else 1
        if not _correctable(word, edits) or self.knows(word, language) or is_common_word(word):
            return None
        languages = self._languages if name else {language, None} & self._languages
        best: tuple[int, int, str] | None = None  # (edits, -count, word): the smallest wins
        by_first, by_last, counts = self._by_first, self._by_last, self._counts
        # One edit leaves a word of 5 letters or more its first two letters or its last two; two edits,
        # as good as always, its first letter or its last.
        size = 2 if edits == 1 else 1
        pools = [
            bucket.get((vocabulary, length, affix), ())
            for length in range(len(word) - edits, len(word) + edits + 1)
            for vocabulary in languages
            for bucket, affix in ((by_first, word[:size]), (by_last, word[-size:]))
        ]
        for pool in pools:
            if not pool:
                continue
            for candidate, distance, _ in process.extract(
                word, pool, scorer=OSA.distance, score_cutoff=edits, limit=None
            ):
                if name and candidate[0] != word[0]:
                    continue  # a name keeps its first letter
                key = (int(distance), -counts[candidate], candidate)
                if best is None or key < best:
                    best = key
        return None if best is None else best[2]


@cache
def _common_words() -> frozenset[str]:
    """The common words of the six answer languages (wordfreq's "small" lists), as typed and unaccented."""
    try:
        from wordfreq import get_frequency_dict  # imported when first needed: 0.2 s a process
    except ImportError:  # pragma: no cover - a dependency; without it only the corpus protects a word
        return frozenset()
    words = {word for language in _SNOWBALL for word in get_frequency_dict(language, wordlist="small")}
    return frozenset(words | {strip_accents(word) for word in words if not word.isascii()})


def is_common_word(word: str) -> bool:
    """Whether ``word`` (casefolded) is a common word of an answer language: a real word, not a typing mistake.

    A small corpus lacks most of a language: without this, "koken" (to cook) became the corpus's
    "komen" (to come), "faire" its "maire".
    """
    return word in _common_words()


def _correctable(word: str, edits: int) -> bool:
    """Long enough for ``edits`` edits, and all letters (numbers and codes are never corrected)."""
    return len(word) >= (TWO_EDITS_FROM if edits == 2 else ONE_EDIT_FROM) and word.isalpha()


_STEMMERS: dict[str, Stemmer.Stemmer] = {}
_STEM_LOCK: Final = threading.Lock()


def _stem(language: str | None, word: str) -> str:
    if language not in _SNOWBALL:
        return word
    with _STEM_LOCK:  # PyStemmer objects are not thread-safe
        stemmer = _STEMMERS.get(language)
        if stemmer is None:
            stemmer = _STEMMERS[language] = Stemmer.Stemmer(_SNOWBALL[language])
        return stemmer.stemWord(word)


def corpus_words(texts: Iterable[tuple[str, str | None]]) -> dict[str | None, Counter[str]]:
    """Every word of ``texts`` (each with its language), with how often it occurs, by language."""
    counts: dict[str | None, Counter[str]] = {}
    for text, language in texts:
        # As words_of reads them, less the folding of quotes and invisible characters, which only the
        # odd word needs and which doubled the cost of reading a large corpus.
        counts.setdefault(language, Counter()).update(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))
    return counts
