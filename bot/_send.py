"""Sending replies: HTML with a plain-text fallback, threaded to the question."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest

from ._compose import html_to_text

log = logging.getLogger(__name__)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


async def reply_html(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> Message:
    """Reply to ``message`` in HTML; if Telegram cannot parse it, send the same words as plain text."""
    try:
        return await message.reply_text(
            text, parse_mode=ParseMode.HTML, reply_markup=markup, link_preview_options=NO_PREVIEW, do_quote=True
        )
    except BadRequest as exc:
        if "can't parse entities" not in exc.message.lower():
            raise
        log.warning("Telegram rejected our HTML (%s); sending plain text instead", exc.message)
        return await message.reply_text(
            html_to_text(text), reply_markup=markup, link_preview_options=NO_PREVIEW, do_quote=True
        )
