"""The sample upload the curation tests share: a short fictional Dutch article and its English."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from index import make_id

from .fake_libretranslate import fake_translation

UPLOADS = Path(__file__).resolve().parent / "data" / "uploads"
FLOWERS_TEXT = UPLOADS / "bloemencorso.txt"
CAPTION = """source: Bollenstreek Nieuws
title: Bloemencorso trekt recordaantal bezoekers
published: 2025-04-26
url: https://example.org/bloemencorso"""
FLOWERS_ID = make_id("Bollenstreek Nieuws", "Bloemencorso trekt recordaantal bezoekers")
FLOWERS_QUESTION = "How many visitors came to the flower parade?"
FLOWERS_ANSWER = "The Bollenstreek flower parade drew more than 850,000 visitors"


def phrasebook_translation() -> Callable[[str, str, str], str]:
    """The fake service's translations: the sample's English, recognisable text otherwise."""
    english: dict[str, str] = yaml.safe_load((UPLOADS / "bloemencorso.en.yaml").read_text(encoding="utf-8"))

    def translate(text: str, source: str, target: str) -> str:
        return english[text] if target == "en" and text in english else fake_translation(text, source, target)

    return translate
