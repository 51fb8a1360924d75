"""The application: handlers wired to python-telegram-bot, polling or webhook, and the console.

Usage::

    TELEGRAM_BOT_TOKEN=123:ABC python bot.py      # long polling (or a webhook, if configured)
    python bot.py --console                        # the same bot in a terminal
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    PersistenceInput,
    PicklePersistence,
    filters,
)
from telegram.request import BaseRequest

from index import CorpusError

from . import _admin, _chat, _curate, _feeds, _inline
from ._config import Config
from ._errors import on_error
from ._i18n import strings
from ._logging import configure_logging, install_redaction
from ._runtime import RUNTIME_KEY, Runtime, runtime
from ._service import AnswerService, open_service

log = logging.getLogger("newsbot")
COMMANDS = ("start", "help", "ask", "sources", "lang")
NO_TOKEN = """\
No Telegram bot token is configured.

To run the bot on Telegram:
  1. open a chat with @BotFather in Telegram and send /newbot; it gives you a token;
  2. export TELEGRAM_BOT_TOKEN=<that token>   (or put it under telegram.token in config.yaml)
  3. run python bot.py again.

To try the bot right now, without Telegram:  python bot.py --console
"""


def add_handlers(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    fresh = filters.UpdateType.MESSAGE  # edited messages are not re-answered, and never run admin commands
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    app.add_handler(CommandHandler("start", _chat.start, filters=fresh))
    app.add_handler(CommandHandler("help", _chat.help_command, filters=fresh))
    app.add_handler(CommandHandler("sources", _chat.sources, filters=fresh))
    app.add_handler(CommandHandler("lang", _chat.lang_command, filters=fresh))
    app.add_handler(CommandHandler("ask", _chat.ask_command, filters=fresh))
    app.add_handler(CommandHandler("reload", _admin.reload_command))
    app.add_handler(CommandHandler("stats", _admin.stats_command))
    app.add_handler(CommandHandler("remove", _curate.remove_command))
    app.add_handler(CommandHandler("add", _curate.add_command))
    app.add_handler(CommandHandler("feeds", _feeds.feeds_command))
    app.add_handler(CallbackQueryHandler(_chat.on_more, pattern=r"^more:"))
    app.add_handler(CallbackQueryHandler(_chat.on_lang_choice, pattern=r"^lang:"))
    app.add_handler(CallbackQueryHandler(_chat.on_example, pattern=rf"^{_chat.EXAMPLE_PREFIX}"))
    app.add_handler(CallbackQueryHandler(_curate.on_remove_choice, pattern=r"^rm:"))
    app.add_handler(CallbackQueryHandler(_chat.on_unknown_callback))
    app.add_handler(InlineQueryHandler(_inline.inline_query))
    # An admin's bare link adds its article; anyone else's link is a question (the next handler).
    admins = filters.User(user_id=runtime_of(app).config.admins, allow_empty=False)
    app.add_handler(
        MessageHandler(fresh & private & admins & filters.TEXT & ~filters.COMMAND & _curate.BARE_LINK, _curate.on_link)
    )
    app.add_handler(MessageHandler(fresh & private & filters.TEXT & ~filters.COMMAND, _chat.on_private_text))
    app.add_handler(MessageHandler(fresh & groups & filters.TEXT & ~filters.COMMAND, _chat.on_group_text))
    app.add_handler(MessageHandler(fresh & private & filters.Document.ALL, _curate.on_document))
    app.add_error_handler(on_error)


async def post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Publish the command menu in every language, log the corpus size, and start translating its gaps."""
    rt = runtime_of(app)
    for language in (None, *rt.config.languages):
        s = strings(language)
        commands = [BotCommand(name, s(f"command_{name}")) for name in COMMANDS]
        await app.bot.set_my_commands(commands, language_code=language)
    loop = asyncio.get_running_loop()
    rt.lag_watch = loop.create_task(rt.watch_event_loop(), name="event-loop-lag")
    if rt.service.translation is not None and rt.service.untranslated():
        rt.background_translation = loop.create_task(
            _curate.translate_gaps_in_background(rt), name="translate-corpus-gaps"
        )
    # The index and the model are long-lived: keep the garbage collector from rescanning them
    # (a full collection over them pauses the event loop for ~100 ms under load).
    _feeds.schedule_feeds(app)
    gc.freeze()
    engine = rt.service.engine
    log.info(
        "serving %d articles (%d passages) as @%s; index ready in %.2f s",
        len(engine.corpus.articles),
        len(engine.corpus.passages),
        app.bot.username,
        engine.stats.seconds,
    )


async def post_shutdown(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    rt = runtime_of(app)
    for task in (rt.lag_watch, rt.background_translation):
        if task is not None:
            task.cancel()
    rt.save_stats()
    rt.executor.shutdown(wait=False, cancel_futures=True)
    if rt.service.translation is not None:
        rt.service.translation.translator.close()


def secrets_of(config: Config) -> list[str]:
    """Every secret the configuration holds, to keep out of logs."""
    return [
        config.token,
        config.webhook.secret_token if config.webhook else "",
        config.translation.api_key if config.translation else "",
    ]


def runtime_of(app: Application[Any, Any, Any, Any, Any, Any]) -> Runtime:
    return app.bot_data[RUNTIME_KEY]  # type: ignore[no-any-return]


def keep_the_event_loop_responsive() -> None:
    """Let the event-loop thread take the GIL back from engine threads sooner (default: every 5 ms)."""
    sys.setswitchinterval(0.001)


def build_application(
    config: Config,
    service: AnswerService,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The bot application, with every handler registered and the runtime attached."""
    builder = (
        Application.builder()
        .token(config.token)
        .base_url(config.base_url)
        .base_file_url(config.base_file_url)
        .rate_limiter(
            AIORateLimiter(
                overall_max_rate=config.flood_limits.messages_per_second,
                group_max_rate=config.flood_limits.group_messages_per_minute,
                max_retries=5,
            )
        )
        .concurrent_updates(16)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    if config.persistence is not None:
        config.persistence.parent.mkdir(parents=True, exist_ok=True)
        store = PersistenceInput(bot_data=False, chat_data=False, user_data=True, callback_data=False)
        # on_flush: PTB would otherwise rewrite the whole file once per active user at every
        # periodic update (quadratic, and on the event loop); we write when a choice changes.
        persistence = PicklePersistence(config.persistence, store_data=store, update_interval=60, on_flush=True)
        builder = builder.persistence(persistence)
    install_redaction(secrets_of(config))
    keep_the_event_loop_responsive()
    app = builder.build()
    rt = Runtime(config=config, service=service)
    app.bot_data[RUNTIME_KEY] = rt
    rt.load_stats()
    add_handlers(app)
    return app


def run_bot(config: Config) -> int:
    """Run on Telegram until interrupted; without a token, explain and fall back to the console."""
    configure_logging(config.log_level, secrets_of(config))
    if not config.token:
        print(NO_TOKEN, file=sys.stderr)
        return run_console(config) if sys.stdin.isatty() else 2
    try:
        service = open_service(config)
    except CorpusError as exc:
        log.error("cannot start: %s", exc)
        return 1
    app = build_application(config, service)
    if config.webhook is not None:
        hook = config.webhook
        app.run_webhook(
            listen=hook.listen,
            port=hook.port,
            url_path=hook.path,
            webhook_url=hook.url,
            secret_token=hook.secret_token,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


def run_console(config: Config) -> int:
    from ._console import Console

    try:
        service = open_service(config)
    except CorpusError as exc:
        print(exc, file=sys.stderr)
        return 1
    return Console(service, max_results=config.max_results).run()


__all__ = ["build_application", "run_bot", "run_console", "runtime"]
