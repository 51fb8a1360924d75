"""Whether decoded bytes read as language, or as the wrong encoding's garbage.

A file that starts with the bytes 0xff 0xfe claims to be UTF-16, and Python
decodes any even number of bytes after them as UTF-16: "abcdef" becomes three
CJK characters ("扡摣晥") and was saved as an article. Text in any language has
word separators (spaces, or the punctuation of scripts written without them,
such as "。") every few dozen characters, which mis-paired bytes almost never
make; and charset-normalizer's mess ratio measures the rest of what garbled
text shows (unlikely script mixes, stray symbols, accents on the wrong letters).
"""

from __future__ import annotations

import unicodedata
from typing import Final

from charset_normalizer.md import mess_ratio

_SAMPLE: Final = 20_000
_SEPARATOR_EVERY: Final = 40
"""Characters: text has at least one space or punctuation mark this often."""
_MAX_MESS: Final = 0.2
"""charset-normalizer's own threshold for text that reads as its encoding."""


def looks_like_language(text: str) -> bool:
    """Whether ``text`` has letters, separators as language has them, and reads as unmangled."""
    sample = text[:_SAMPLE]
    if not any(ch.isalpha() for ch in sample):
        return False
    separators = sum(ch.isspace() or unicodedata.category(ch).startswith("P") for ch in sample)
    if separators < max(1, len(sample) // _SEPARATOR_EVERY):
        return False
    return mess_ratio(sample, _MAX_MESS) < _MAX_MESS
