"""Locale files: every user-facing string, in each answer language."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from index import SUPPORTED
from index.languages import language_name

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
FALLBACK = "en"


@cache
def _load(language: str) -> dict[str, Any]:
    with (LOCALES_DIR / f"{language}.yaml").open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"{LOCALES_DIR / language}.yaml is not a mapping")
    return data


class Strings:
    """The strings of one interface language, with English filling any gap."""

    def __init__(self, language: str) -> None:
        self.language = language if language in SUPPORTED else FALLBACK
        self._data = _load(self.language)
        self._fallback = _load(FALLBACK)

    def raw(self, key: str) -> Any:
        return self._data.get(key, self._fallback[key])

    def __call__(self, key: str, **values: object) -> str:
        template = self.raw(key)
        return str(template).format(**values) if values else str(template)

    def language_name(self, code: str) -> str:
        """The locale's own name for our answer languages (worded for its templates), CLDR's for any other."""
        names: dict[str, str] = self.raw("language_names")
        return names.get(code) or language_name(code, self.language)

    @property
    def examples(self) -> list[str]:
        return list(self.raw("examples"))


def strings(language: str | None) -> Strings:
    """The shared Strings for ``language`` (English for unknown codes).

    The cache is keyed by supported codes only: a language code comes from users (Telegram's
    hint, callback data anyone can forge), and caching by it would grow without bound.
    """
    return _shared(language if language in SUPPORTED else FALLBACK)


@cache
def _shared(language: str) -> Strings:
    return Strings(language)
