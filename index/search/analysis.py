"""Per-language text analysis: normalisation, tokenisation, stopwords, stemming."""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import cache
from typing import Final

import Stemmer

from .stopwords import STOPWORDS

_SNOWBALL: Final = {
    "en": "english",
    "fr": "french",
    "id": "indonesian",
    "nl": "dutch",
    "de": "german",
    "es": "spanish",
}

# Typographic variants folded before tokenising, so "l’achat" splits like "l'achat".
_FOLD: Final = str.maketrans(
    {
        "’": "'",
        "‘": "'",
        "ʼ": "'",
        "`": "'",
        "´": "'",
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\u200b": "",
        "\u200c": "",
        "\u200d": "",
        "\u2060": "",
        "\ufeff": "",
    }
)

# A token is a run of letters and digits, joined by inner hyphens, dots or
# commas between digits ("17.42", "8,5") and inner hyphens between words
# ("Mar-a-Lago" stays one token, so does "X-eigenaar").
_TOKEN: Final = re.compile(r"\d+(?:[.,:]\d+)+|[^\W_]+(?:-[^\W_]+)*", re.UNICODE)
_ELISION: Final = re.compile(r"^(?:[ldjmnstc]|qu|jusqu|lorsqu|puisqu|quoiqu)'", re.UNICODE)


def normalize(text: str, *, casefold: bool = True) -> str:
    """NFKC-normalise, fold typographic quotes and invisible characters, and (by default) casefold."""
    text = unicodedata.normalize("NFKC", text).translate(_FOLD)
    return text.casefold() if casefold else text


def strip_accents(token: str) -> str:
    """Remove combining marks, so "retardee" finds "retardée"."""
    decomposed = unicodedata.normalize("NFD", token)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def split_words(text: str, *, casefold: bool = True) -> list[str]:
    """Normalised surface tokens, with French elisions ("l'", "qu'", also "L'") removed."""
    words: list[str] = []
    for chunk in normalize(text, casefold=casefold).split():
        elided = _ELISION.match(chunk.casefold())
        if elided:
            chunk = chunk[elided.end() :]
        words.extend(_TOKEN.findall(chunk.replace("'", " ")))
    return words


class Analyzer:
    """Turns text in one language into index terms.

    Words are stripped of accents and stemmed with that language's Snowball
    stemmer. Capitalised words are also kept whole: names ("Anthony",
    "Thierry", "Harris") then meet the same name in any language, where each
    stemmer would cut it differently. Hyphenated compounds also contribute
    their parts, so "X-Spaces" matches "X Spaces". Numbers and mixed tokens
    ("17h42", "02.00") pass through unstemmed.

    A query (``query=True``) also offers each lowercase word whole when its
    stem differs, so "anthony" typed in lowercase still finds the name.
    """

    def __init__(self, language: str) -> None:
        self.language = language
        self.stopwords = frozenset(strip_accents(w) for w in STOPWORDS.get(language, ()))
        algorithm = _SNOWBALL.get(language)
        self._stemmer = Stemmer.Stemmer(algorithm) if algorithm else None
        self._lock = threading.Lock()  # PyStemmer objects are not thread-safe

    def terms(self, text: str, *, query: bool = False) -> list[str]:
        """Index terms for ``text``, in order, repeats kept (BM25 counts them)."""
        return [term for forms in self.word_forms(text, query=query) for term in forms]

    def word_forms(self, text: str, *, query: bool = False) -> list[tuple[str, ...]]:
        """For each word of ``text`` (stopwords dropped), the terms it contributes."""
        words: list[str] = []
        for word in split_words(text, casefold=False):
            if "-" not in word:
                words.append(word)
                continue
            # "X-Spaces" also counts as "x" and "spaces"; "a-t-elle" is only stopwords.
            parts = [p for p in word.split("-") if self._folded(p) not in self.stopwords]
            if len(parts) > 1:
                words.append(word.replace("-", ""))
            words.extend(parts)
        kept = [(w, f) for w, f in ((w, self._folded(w)) for w in words) if f not in self.stopwords]
        stems = self._stems([f for _, f in kept])
        out: list[tuple[str, ...]] = []
        for (word, folded), stem in zip(kept, stems, strict=True):
            if any(ch.isdigit() for ch in folded) or stem == folded:
                out.append((folded,))
            elif word[:1].isupper():  # a name, or the first word of a sentence: both forms
                out.append((folded, stem))
            else:
                out.append((stem, folded) if query else (stem,))
        return out

    @staticmethod
    def _folded(word: str) -> str:
        return strip_accents(word.casefold())

    def _stems(self, words: list[str]) -> list[str]:
        # Accents go before stemming, so "retardee" typed on a phone meets "retardée".
        if self._stemmer is None:
            return words
        with self._lock:
            return list(self._stemmer.stemWords(words))


@cache
def analyzer(language: str) -> Analyzer:
    """The shared analyser for ``language`` (unknown languages get no stemming)."""
    return Analyzer(language)
