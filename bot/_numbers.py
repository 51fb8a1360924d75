"""Numbers typed by users or carried in callback data: ASCII digits only.

``str.isdigit()`` accepts "²" and "①", which ``int()`` then refuses with a ValueError, and
``int()`` itself accepts other scripts' digits ("٣"), spaces and signs. Every number the bot
reads from a message or a button goes through :func:`ascii_number`, so none of that reaches a
handler: what is not plainly a number is not one.
"""

from __future__ import annotations

import re

MAX_DIGITS = 18
"""Longer numbers are refused: SQLite's integers and our lists are far smaller."""

_ASCII_DIGITS = re.compile(r"[0-9]+")


def ascii_number(text: str | None, *, digits: int = MAX_DIGITS) -> int | None:
    """``text`` as a non-negative integer when it is 1 to ``digits`` ASCII digits, else None."""
    if text is None or not 1 <= len(text) <= digits or not _ASCII_DIGITS.fullmatch(text):
        return None
    return int(text)
