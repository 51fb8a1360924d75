"""The application: handlers wired to python-telegram-bot, polling or webhook, and the console.

Usage::

    TELEGRAM_BOT_TOKEN=123:ABC python bot.py      # long polling (or a webhook, if configured)
    python bot.py --console                        # the same bot in a terminal
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import logging
import sys
import time
from collections.abc import Awaitable, Sequence
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ExtBot,
    InlineQueryHandler,
    Job,
    MessageHandler,
    SimpleUpdateProcessor,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest

from index import CorpusError
from index.follow import Database, FollowStore, QuestionVectors

from . import _admin, _chat, _curate, _feeds, _follow, _inline
from ._alerts import FOLLOW_PREFIX, UNFOLLOW_PREFIX, AlertSender, Following
from ._config import Config
from ._console import Console, environment_language
from ._errors import on_error
from ._i18n import strings
from ._logging import configure_console_logging, configure_logging, install_redaction
from ._memory import AnswerMemory
from ._persistence import DatabasePersistence, open_state
from ._progress import ProgressBar, ProgressLog, Reporter
from ._runtime import RUNTIME_KEY, Runtime, runtime
from ._service import AnswerService, open_service, quoted_translations
from ._threads import leave_the_event_loop_a_core

log = logging.getLogger("newsbot")
COMMANDS = ("start", "help", "ask", "sources", "lang", "follow", "following")
NO_TOKEN = """\
No Telegram bot token is configured.

To run the bot on Telegram:
  1. open a chat with @BotFather in Telegram and send /newbot; it gives you a token;
  2. export TELEGRAM_BOT_TOKEN=<that token>   (or put it under telegram.token in config.yaml)
  3. run python bot.py again.

To try the bot right now, without Telegram:  python bot.py --console
"""
NO_TOKEN_CONSOLE = """\
No Telegram bot token is configured, so this is the console: the same bot, answering in this terminal.

To put it on Telegram:
  1. open a chat with @BotFather in Telegram and send /newbot; it gives you a token;
  2. export TELEGRAM_BOT_TOKEN=<that token>   (or put it under telegram.token in config.yaml)
  3. run python bot.py again.
"""


CONCURRENT_UPDATES = 16
BACKLOG = 64
"""Updates fetched from Telegram and not yet handled, at most; the rest wait at Telegram."""


class Backlog:
    """Counts the updates fetched but not yet handled, so polling can wait for room.

    python-telegram-bot fetches as fast as Telegram hands updates out and queues them all: behind a
    flood (or after downtime) the event loop parsed thousands at once, in 13 ms steps per hundred,
    and a stop then had all of them to answer first. Paced, updates the bot cannot take up yet stay
    at Telegram, which hands them out again after a restart.
    """

    def __init__(self, limit: int = BACKLOG, batch: int = CONCURRENT_UPDATES) -> None:
        self.limit = limit
        self.batch = min(batch, limit)
        self.outstanding = 0
        self._room = asyncio.Event()
        self._room.set()

    def room(self) -> int:
        return max(0, self.limit - self.outstanding)

    async def wait_for_room(self) -> int:
        """Wait until a batch fits; return how many updates may be fetched."""
        await self._room.wait()
        return self.room()

    def fetched(self, count: int) -> None:
        self.outstanding += count
        self._update()

    def handled(self) -> None:
        self.outstanding = max(0, self.outstanding - 1)  # webhook updates were never counted in
        self._update()

    def _update(self) -> None:
        if self.room() >= self.batch:
            self._room.set()
        else:
            self._room.clear()


class PacedBot(ExtBot[Any]):
    """The bot, polling for no more updates than its backlog has room for."""

    def __init__(self, *args: Any, backlog: Backlog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._backlog = backlog  # a private name: the bot freezes its public attributes

    @property
    def backlog(self) -> Backlog:
        return self._backlog

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: float | dt.timedelta | None = None,
        allowed_updates: Sequence[str] | None = None,
        **options: Any,
    ) -> tuple[Update, ...]:
        # The updater long-polls without a limit. Its last call, as it stops, only confirms what was
        # fetched (timeout 0): waiting for room there would only hold the stop up.
        seconds = timeout.total_seconds() if isinstance(timeout, dt.timedelta) else timeout
        paced = limit is None and (seconds is None or seconds > 0)
        if paced:
            limit = min(100, await self.backlog.wait_for_room())  # 100: Telegram's most per call
        updates = await super().get_updates(offset, limit, timeout, allowed_updates, **options)
        if paced:
            self.backlog.fetched(len(updates))
        return updates


class PacedUpdateProcessor(SimpleUpdateProcessor):
    """Handles updates concurrently, and tells the backlog when each is done."""

    def __init__(self, max_concurrent_updates: int, backlog: Backlog) -> None:
        super().__init__(max_concurrent_updates)
        self.backlog = backlog

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await super().do_process_update(update, coroutine)
        finally:
            self.backlog.handled()


class NewsbotApplication(Application[Any, Any, Any, Any, Any, Any]):
    """python-telegram-bot's Application: no per-update persistence work, and a bounded stop."""

    def _mark_for_persistence_update(self, *, update: object | None = None, job: Job[Any] | None = None) -> None:
        """Mark nothing: the one thing kept per user, the language choice, is marked where it changes.

        PTB marks the user of every update, and each persistence run then deep-copies every marked
        user's data in one step on the event loop: 42 ms for 2,000 users, every minute, and three
        times that on a busy machine.
        """

    async def process_update(self, update: object) -> None:
        """Handle ``update``, unless the bot is stopping and the grace for its backlog is over."""
        if runtime_of(self).past_stop_grace():
            return
        await super().process_update(update)

    async def stop(self) -> None:
        """Note when stopping began, so the backlog gets a grace period rather than all the time it takes."""
        runtime_of(self).stopping_since = time.monotonic()
        await super().stop()


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
    app.add_handler(CommandHandler("follow", _follow.follow_command, filters=fresh))
    app.add_handler(CommandHandler("following", _follow.following_command, filters=fresh))
    app.add_handler(CommandHandler("unfollow", _follow.unfollow_command, filters=fresh))
    app.add_handler(CallbackQueryHandler(_follow.on_follow_button, pattern=rf"^{FOLLOW_PREFIX}"))
    app.add_handler(CallbackQueryHandler(_follow.on_unfollow_button, pattern=rf"^{UNFOLLOW_PREFIX}"))
    app.add_handler(CallbackQueryHandler(_chat.on_more, pattern=r"^more:"))
    app.add_handler(CallbackQueryHandler(_chat.on_lang_choice, pattern=r"^lang:"))
    app.add_handler(CallbackQueryHandler(_chat.on_example, pattern=rf"^{_chat.EXAMPLE_PREFIX}"))
    app.add_handler(CallbackQueryHandler(_chat.on_sources_page, pattern=rf"^{_chat.SOURCES_PREFIX}"))
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
    if rt.following is not None:
        sender = AlertSender(app.bot, rt.following)
        rt.following.wake = sender.wake_from_any_thread(loop)
        rt.alert_task = loop.create_task(sender.run(), name="alerts")
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
    for task in (rt.lag_watch, rt.background_translation, rt.alert_task):
        if task is not None:
            task.cancel()
    rt.service.on_indexed = None
    if rt.left_unhandled:
        log.warning("stopped with %d update(s) fetched from Telegram left unanswered", rt.left_unhandled)
    rt.save_stats()
    rt.executor.shutdown(wait=False, cancel_futures=True)
    if rt.database is not None:
        rt.database.close()
    if rt.service.translation is not None:
        rt.service.translation.translator.close()
    if rt.service.quoted is not None:
        rt.service.quoted.close()


def logged_progress(label: str) -> Reporter:
    """On Telegram nobody watches a terminal: long steps log how far they are and the time left."""
    return ProgressLog(label, log)


def terminal_progress(label: str) -> Reporter:
    """In the console, long steps draw a bar (on a terminal only: a pipe gets the log, quiet by default)."""
    return ProgressBar(label) if sys.stderr.isatty() else ProgressLog(label, log)


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
    backlog = Backlog(BACKLOG, CONCURRENT_UPDATES)
    bot = PacedBot(
        config.token,
        base_url=config.base_url,
        base_file_url=config.base_file_url,
        # python-telegram-bot's own defaults when it builds the bot: a pool for replies, one for polling
        request=request or HTTPXRequest(connection_pool_size=256),
        get_updates_request=get_updates_request or HTTPXRequest(connection_pool_size=1),
        rate_limiter=AIORateLimiter(
            overall_max_rate=config.flood_limits.messages_per_second,
            group_max_rate=config.flood_limits.group_messages_per_minute,
            max_retries=5,
        ),
        backlog=backlog,
    )
    builder = (
        Application.builder()
        .application_class(NewsbotApplication)
        .bot(bot)
        .concurrent_updates(PacedUpdateProcessor(CONCURRENT_UPDATES, backlog))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    # One SQLite database holds user choices, statistics, follows and alerts (bot/_persistence.py);
    # in memory when persistence is off, or when the file is locked by another process.
    database = open_state(config.persistence)
    builder = builder.persistence(DatabasePersistence(database))
    install_redaction(secrets_of(config))
    keep_the_event_loop_responsive()
    app = builder.build()
    rt = Runtime(
        config=config,
        service=service,
        database=database if config.persistence else None,
        memory=AnswerMemory(database=database),
    )
    service.quoted = quoted_translations(config, database, service.engine.aligner)
    rt.following = open_following(config, service, database)
    service.on_indexed = rt.following.on_indexed
    app.bot_data[RUNTIME_KEY] = rt
    rt.load_stats()
    add_handlers(app)
    return app


def open_following(config: Config, service: AnswerService, database: Database) -> Following:
    """Follows and their questions' vectors, from the database (questions embedded by another model again)."""
    store = FollowStore(database, max_follows=config.follow.max_follows)
    engine = service.engine
    vectors = QuestionVectors.load(store, engine.embed_query, engine.embedder.name)
    settings = config.follow
    return Following(store, vectors, threshold=settings.match_similarity, alerts_per_second=settings.alerts_per_second)


def run_bot(config: Config) -> int:
    """Run on Telegram until interrupted; without a token, explain and fall back to the console."""
    configure_logging(config.log_level, secrets_of(config))
    if not config.token:
        if not sys.stdin.isatty():  # nobody to chat with: say how to run it, and stop
            print(NO_TOKEN, file=sys.stderr)
            return 2
        print(NO_TOKEN_CONSOLE, file=sys.stderr)
        return run_console(config)
    leave_the_event_loop_a_core()
    try:
        service = open_service(config, progress=logged_progress)
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
    """The console in this terminal until /quit or Ctrl-D."""
    configure_console_logging(secrets_of(config))
    try:
        service = open_service(config, progress=terminal_progress)
    except CorpusError as exc:
        print(exc, file=sys.stderr)
        return 1
    database = open_state(config.persistence)
    try:
        return open_console(config, service, database).run()
    finally:
        service.on_indexed = None
        database.close()
        service.close()


def open_console(config: Config, service: AnswerService, database: Database) -> Console:
    """The console on the bot's own state: its follows live in the same database as Telegram's, so they
    survive a restart, and its replies are in the terminal locale's language until the user writes."""
    return Console(
        service,
        max_results=config.max_results,
        following=open_following(config, service, database),
        home_language=environment_language(),
        ask_missing=sys.stdin.isatty(),
    )


__all__ = ["build_application", "open_console", "run_bot", "run_console", "runtime"]
