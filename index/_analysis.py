"""Per-language text analysis: normalisation, tokenisation, stopwords, stemming."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import cache
from typing import Final

import Stemmer

from ._stopwords import STOPWORDS

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


def normalize(text: str) -> str:
    """NFKC-normalise, fold typographic quotes and invisible characters, casefold."""
    return unicodedata.normalize("NFKC", text).translate(_FOLD).casefold()


def strip_accents(token: str) -> str:
    """Remove combining marks, so "retardee" finds "retardée"."""
    decomposed = unicodedata.normalize("NFD", token)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def split_words(text: str) -> list[str]:
    """Normalised surface tokens, with French elisions ("l'", "qu'") removed."""
    words: list[str] = []
    for chunk in normalize(text).split():
        chunk = _ELISION.sub("", chunk)
        words.extend(_TOKEN.findall(chunk.replace("'", " ")))
    return words


class Analyzer:
    """Turns text in one language into index terms.

    Terms are stripped of accents, then stemmed with that language's Snowball
    stemmer. Hyphenated compounds also contribute their parts, so "X-Spaces"
    matches "X Spaces". Numbers and mixed tokens ("17h42", "ddos") pass
    through unstemmed.
    """

    def __init__(self, language: str) -> None:
        self.language = language
        self.stopwords = frozenset(strip_accents(w) for w in STOPWORDS.get(language, ()))
        algorithm = _SNOWBALL.get(language)
        self._stemmer = Stemmer.Stemmer(algorithm) if algorithm else None
        self._lock = threading.Lock()  # PyStemmer objects are not thread-safe

    def terms(self, text: str) -> list[str]:
        """Index terms for ``text``, in order, repeats kept (BM25 counts them)."""
        words: list[str] = []
        for word in split_words(text):
            if "-" not in word:
                words.append(word)
                continue
            # "X-Spaces" also counts as "x" and "spaces"; "a-t-elle" is only stopwords.
            parts = [p for p in word.split("-") if strip_accents(p) not in self.stopwords]
            if len(parts) > 1:
                words.append(word.replace("-", ""))
            words.extend(parts)
        kept = [strip_accents(w) for w in words if strip_accents(w) not in self.stopwords]
        if self._stemmer is None:
            return kept
        # Accents go before stemming, so "retardee" typed on a phone meets "retardée".
        # Numbers and mixed tokens ("17h42", "02.00") are kept as they are.
        with self._lock:
            stems = self._stemmer.stemWords(kept)
        return [w if any(ch.isdigit() for ch in w) else s for w, s in zip(kept, stems, strict=True)]

    def terms_many(self, texts: Iterable[str]) -> list[list[str]]:
        return [self.terms(t) for t in texts]


@cache
def analyzer(language: str) -> Analyzer:
    """The shared analyser for ``language`` (unknown languages get no stemming)."""
    return Analyzer(language)
