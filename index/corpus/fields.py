"""Third-party fields of an article (its title, its publisher's name) held to a sane length.

A fetched page controls its ``<title>`` and ``<h1>``, an uploader their front matter: a
5,800-character title once made every reply quoting the article too long for Telegram. Titles and
sources are cut with "…" when an article is taken in and when it is loaded, on one line.
"""

from __future__ import annotations

ELLIPSIS = "…"
MAX_TITLE = 300
"""Characters of an article's title kept."""
MAX_SOURCE = 120
"""Characters of a publisher's name kept."""


def clip_field(text: str, limit: int) -> str:
    """``text`` on one line, cut at a word boundary with "…" to at most ``limit`` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS
