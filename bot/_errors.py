"""The global error handler: log the failure, apologise to the user, never show a traceback."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from ._compose import escape
from ._runtime import interface_strings

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log any exception a handler raised and tell the user, briefly, in their language."""
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        message = update.effective_message
        if message is not None and message.chat_id is not None:
            s = interface_strings(update, context)
            await message.reply_text(escape(s("error")), do_quote=True)
    except TelegramError as exc:  # Telegram itself is failing; the log has it already
        log.warning("could not apologise to the user: %s", exc)
