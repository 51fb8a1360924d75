"""How text is emphasised where it is printed: real bold on a terminal, ``**markers**`` anywhere else."""

from __future__ import annotations

import html
import os
import re
from typing import TextIO

Emphasis = tuple[str, str]
"""What goes before and after an emphasised span."""

MARKERS: Emphasis = ("**", "**")
"""Plain text (a pipe, a file, ``ask`` read by a script): the Markdown convention."""
ANSI_BOLD: Emphasis = ("\x1b[1m", "\x1b[22m")
"""SGR bold on, then normal intensity (not a full reset, which would also end other styles)."""


def emphasis_for(stream: TextIO) -> Emphasis:
    """Bold for a terminal that shows it; markers for anything else, or when NO_COLOR or TERM=dumb asks for plain."""
    isatty = getattr(stream, "isatty", None)
    if isatty is None or not isatty():
        return MARKERS
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return MARKERS
    return ANSI_BOLD


_TAG = re.compile(r'<a\s+href="([^"]*)"[^>]*>(.*?)</a>|<(/?)([a-z][a-z-]*)(?:\s[^>]*)?>', re.DOTALL)
"""A link with its text, or any other tag of Telegram's HTML (text itself has ``<`` escaped)."""


def html_for_terminal(markup: str, bold: Emphasis = MARKERS) -> str:
    """Telegram HTML as it should read where it is printed: bold kept as ``bold``, each link's address shown
    after its text, quotes in quotation marks, other tags dropped.

    For what the bot stores as Telegram HTML (an alert) and the console prints: stripping every tag would lose
    the sentence in bold that answers the question and the link to the article.
    """

    def plain(match: re.Match[str]) -> str:
        url, text, closing, tag = match.groups()
        if url is not None:
            shown = html.unescape(url)
            return f"{_TAG.sub(plain, text)} ({shown})" if shown else _TAG.sub(plain, text)
        if tag in ("b", "strong"):
            return bold[1] if closing else bold[0]
        if tag == "blockquote":
            return "”" if closing else "“"
        return ""

    return html.unescape(_TAG.sub(plain, markup))
