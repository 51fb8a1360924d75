"""The answer languages and the detector that picks one for a question."""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Final

import langcodes

SUPPORTED: Final = ("en", "fr", "id", "nl", "de", "es")
DEFAULT_LANGUAGE: Final = "en"

# Below these, a question carries too little signal to overrule the hint.
_MIN_LETTERS_TO_OVERRULE_HINT: Final = 12
_MIN_CONFIDENCE_TO_OVERRULE_HINT: Final = 0.9
# A question is only called "in an unsupported language" when the open-set
# detector is this sure, so odd spellings of our own languages are not rejected.
_MIN_CONFIDENCE_UNSUPPORTED: Final = 0.6
_MIN_LETTERS_UNSUPPORTED: Final = 10


@cache
def is_iso_639_1(code: str) -> bool:
    """True for a current two-letter ISO 639-1 code: an article may be in any of them.

    Codes withdrawn in favour of another two-letter one ("in" for Indonesian,
    "iw" for Hebrew) are refused, so the corpus keeps one spelling per language.
    """
    if len(code) != 2 or not code.isascii() or not code.isalpha() or not langcodes.tag_is_valid(code):
        return False
    current = langcodes.standardize_tag(code).split("-")[0]
    return current == code or len(current) != 2


@cache
def language_name(code: str, in_language: str) -> str:
    """The name of the language ``code`` in the language ``in_language`` (CLDR), the code itself if unknown."""
    if not is_iso_639_1(code):
        return code
    return str(langcodes.Language.get(code).display_name(in_language))


_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Detection:
    """The outcome of language detection for one question."""

    language: str
    """The answer language: always one of SUPPORTED."""
    detected: str | None
    """What the text itself looks like (any ISO 639-1 code), None when too short to tell."""
    confidence: float
    used_hint: bool

    @property
    def unsupported(self) -> bool:
        """True when the question is confidently in a language we cannot answer in."""
        return self.detected is not None and self.detected not in SUPPORTED


def normalize_hint(code: str | None) -> str | None:
    """Map a Telegram ``language_code`` such as ``pt-br`` or ``EN`` to a supported code."""
    if not code:
        return None
    base = code.strip().lower().replace("_", "-").split("-")[0]
    if base == "in":  # the legacy ISO code for Indonesian, still sent by some clients
        base = "id"
    return base if base in SUPPORTED else None


class LanguageDetector:
    """py3langid restricted to the answer languages, with an open-set check for others.

    py3langid's identifier is stateful (``set_languages``), so each instance
    owns two identifiers and guards them with a lock.
    """

    def __init__(self, languages: tuple[str, ...] = SUPPORTED) -> None:
        import copy

        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self.languages = languages
        self._open = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        # A shallow copy shares the model's arrays; set_languages only re-slices its own view.
        self._closed = copy.copy(self._open)
        self._closed.set_languages(list(languages))
        self._lock = threading.Lock()

    def classify(self, text: str) -> tuple[str, float]:
        """The most likely answer language for ``text`` and its probability."""
        with self._lock:
            lang, prob = self._closed.classify(text)
        return str(lang), float(prob)

    def detect(self, text: str, hint: str | None = None) -> Detection:
        """Pick the answer language for a question, falling back on ``hint`` when unsure."""
        hint = normalize_hint(hint)
        letters = len(_LETTERS.findall(text))
        if letters == 0:
            return Detection(hint or DEFAULT_LANGUAGE, None, 0.0, hint is not None)
        if _non_latin_script(text):
            # None of the answer languages is written in another script.
            with self._lock:
                other, prob = self._open.classify(text)
            return Detection(hint or DEFAULT_LANGUAGE, str(other), float(prob), hint is not None)
        lang, prob = self.classify(text)
        if letters >= _MIN_LETTERS_UNSUPPORTED:
            with self._lock:
                other, other_prob = self._open.classify(text)
            if other not in self.languages and other_prob >= _MIN_CONFIDENCE_UNSUPPORTED:
                return Detection(hint or DEFAULT_LANGUAGE, str(other), float(other_prob), hint is not None)
        sure = letters >= _MIN_LETTERS_TO_OVERRULE_HINT and prob >= _MIN_CONFIDENCE_TO_OVERRULE_HINT
        if hint is not None and not sure:
            return Detection(hint, lang, prob, True)
        return Detection(lang, lang, prob, False)


def _non_latin_script(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return False
    latin = sum(1 for ch in letters if "LATIN" in unicodedata.name(ch, ""))
    return latin / len(letters) < 0.5
