"""Sending replies: HTML with a plain-text fallback, threaded to the question, retried on network faults.

Flood control (429 with ``retry_after``) is handled by python-telegram-bot's
AIORateLimiter; this module retries what it does not: timeouts, dropped
connections and server errors, with exponential backoff, so an answer is not
lost to a passing fault.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter

from ._compose import html_to_text
from ._fit import fit_html

log = logging.getLogger(__name__)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
T = TypeVar("T")

ATTEMPTS = 5
FIRST_BACKOFF = 0.5  # seconds; doubles after each failure


async def with_retries(call: Callable[[], Awaitable[T]], what: str) -> T:
    """Await ``call()``, retrying network faults and server errors with exponential backoff."""
    delay = FIRST_BACKOFF
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await call()
        except RetryAfter as exc:  # only reaches here once the rate limiter has given up
            if attempt == ATTEMPTS:
                raise
            wait = exc.retry_after if isinstance(exc.retry_after, int | float) else exc.retry_after.total_seconds()
            await asyncio.sleep(float(wait))
        except BadRequest:
            raise  # our request is wrong; repeating it will not help
        except NetworkError as exc:  # timeouts, resets, 5xx
            if attempt == ATTEMPTS:
                raise
            log.warning("%s failed (%s); retrying in %.1f s (attempt %d of %d)", what, exc, delay, attempt, ATTEMPTS)
            await asyncio.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


async def reply_html(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> Message:
    """Reply to ``message`` in HTML; if Telegram cannot parse it, send the same words as plain text.

    Every reply passes :func:`bot._fit.fit_html`: one still too long for Telegram goes out cut, as plain text.
    """
    text, is_html = fit_html(text)
    if not is_html:
        log.warning("a reply was over Telegram's length limit; sending it cut, as plain text")
        return await with_retries(
            lambda: message.reply_text(text, reply_markup=markup, link_preview_options=NO_PREVIEW, do_quote=True),
            "sending a cut reply",
        )
    try:
        return await with_retries(
            lambda: message.reply_text(
                text, parse_mode=ParseMode.HTML, reply_markup=markup, link_preview_options=NO_PREVIEW, do_quote=True
            ),
            "sending a reply",
        )
    except BadRequest as exc:
        if "can't parse entities" not in exc.message.lower():
            raise
        log.warning("Telegram rejected our HTML (%s); sending plain text instead", exc.message)
        return await with_retries(
            lambda: message.reply_text(
                html_to_text(text), reply_markup=markup, link_preview_options=NO_PREVIEW, do_quote=True
            ),
            "sending a plain-text reply",
        )


async def edit_html(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace ``message``'s text (and buttons) with ``text`` in HTML, through the same length rule as replies."""
    text, is_html = fit_html(text)
    mode = ParseMode.HTML if is_html else None
    await with_retries(
        lambda: message.edit_text(text, parse_mode=mode, reply_markup=markup, link_preview_options=NO_PREVIEW),
        "editing a message",
    )
