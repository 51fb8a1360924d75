"""The one rule every reply goes through: what Telegram would refuse is cut or paged, never sent.

Telegram counts a message's length in UTF-16 code units of its text after entity parsing (the
HTML tags gone, ``&amp;`` one character): at most 4,096 for a message, 1,024 for a caption. An
emoji is two units, so counting Python characters is not enough. Three helpers keep replies
inside that:

* :func:`clip` cuts a third-party field (an article's title, a publisher's name: a page we
  fetched controls them) with "…" to a sane length before it is rendered;
* :func:`pages` packs a long list into pages that each fit, for /sources (Next and Previous
  buttons), /following and the like;
* :func:`fit_html` is the last guard :func:`bot._send.reply_html` applies to everything: a text
  still over the limit goes out as plain text, cut, rather than being refused by Telegram.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from telegram.constants import MessageLimit

MAX_MESSAGE = MessageLimit.MAX_TEXT_LENGTH
MAX_CAPTION = MessageLimit.CAPTION_LENGTH
ELLIPSIS = "…"
TITLE_LENGTH = 200
"""Characters of an article's title shown in a reply (the full title stays in the corpus)."""
SOURCE_LENGTH = 80
"""Characters of a publisher's name shown in a reply."""

_TAGS = re.compile(r"</?(?:b|i|u|s|code|pre|blockquote(?: expandable)?|a(?: [^>]*)?)>")


def units(text: str) -> int:
    """``text``'s length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def visible(markup: str) -> str:
    """The text Telegram shows for our HTML: our tags dropped, entities decoded."""
    return html.unescape(_TAGS.sub("", markup))


def visible_units(markup: str) -> int:
    """How long Telegram counts ``markup`` (HTML) to be."""
    return units(visible(markup))


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ELLIPSIS[: max(limit, 0)]
    cut = text[: limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def clip(field: str, limit: int = TITLE_LENGTH) -> str:
    """A third-party field on one line, cut with "…" to ``limit`` characters."""
    return shorten(" ".join(field.split()), limit)


def cut_units(text: str, limit: int) -> str:
    """Plain ``text`` cut to at most ``limit`` UTF-16 units, with "…" when cut."""
    if units(text) <= limit:
        return text
    kept: list[str] = []
    used = units(ELLIPSIS)
    for char in text:
        used += units(char)
        if used > limit:
            break
        kept.append(char)
    return "".join(kept).rstrip() + ELLIPSIS


def pages(
    lines: Sequence[str], *, header: str = "", limit: int = MAX_MESSAGE, most: int | None = None
) -> list[list[str]]:
    """``lines`` (HTML) packed in order into pages that each fit ``limit`` with ``header`` above them.

    A page holds at most ``most`` lines; a single line too long for a page is cut (as plain text).
    Always at least one page, possibly empty.
    """
    room = limit - (visible_units(header) + 1 if header else 0)
    result: list[list[str]] = [[]]
    used = 0
    for line in lines:
        size = visible_units(line)
        if size > room:
            line = html.escape(cut_units(visible(line), room), quote=False)
            size = visible_units(line)
        page = result[-1]
        if page and (used + 1 + size > room or (most is not None and len(page) >= most)):
            result.append([])
            page, used = result[-1], 0
        used += size + (1 if page else 0)
        page.append(line)
    return result


def fit_html(markup: str, limit: int = MAX_MESSAGE) -> tuple[str, bool]:
    """``markup`` when Telegram would accept its length, else its visible text cut to ``limit`` (plain).

    The second value is True when the text is HTML, False when it had to become plain text.
    """
    if visible_units(markup) <= limit:
        return markup, True
    return cut_units(visible(markup), limit), False
