"""Feeds that keep the corpus current, polled by PTB's JobQueue; ``/feeds`` shows how each is doing.

A job runs every minute from shortly after start-up (the first within
:data:`FIRST_POLL_SECONDS`) and polls the feeds that are due (each has its own
``interval_minutes``) together: their new entries are fetched, prepared and added
in one batch, so the corpus is translated and reindexed once per poll. Admins get
one summary message per poll that added something. A feed that is down, slow or
malformed delays only itself (every fetch has a deadline) and its error shows in
``/feeds``; it never stops the other feeds or the bot.

Also here: :class:`Fetcher`, how the bot fetches pages (links and feeds alike).
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
from telegram import Update
from telegram.constants import MessageLimit, ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from index.intake.address import corpus_addresses, page_label
from index.intake.feeds import FeedSpec, FeedStore, PollReport, due, poll_feeds
from index.intake.fetch import FetchSettings, Resolver, make_client

from ._admin import alert_lines, refuse_unless_admin
from ._compose import escape, shorten
from ._config import Config
from ._fit import SOURCE_LENGTH, clip, fit_html
from ._i18n import Strings, strings
from ._runtime import LANGUAGE_KEY, RUNTIME_KEY, Runtime, interface_strings, runtime
from ._send import NO_PREVIEW, reply_html
from ._service import BatchReport
from ._translate import usage_line

log = logging.getLogger(__name__)
FETCHER_KEY: Final = "fetcher"
FEEDS_KEY: Final = "feeds"
FIRST_POLL_SECONDS: Final = 15.0
"""Seconds after start-up before the first poll (the issue asks for one within a minute)."""
TICK_SECONDS: Final = 60.0
"""How often the job looks for due feeds."""


@dataclass
class Fetcher:
    """How the bot fetches pages and feeds; tests give an in-process ``transport`` and a ``resolver``."""

    settings: FetchSettings
    resolver: Resolver | None = None
    transport: httpx.AsyncBaseTransport | None = None

    def client(self) -> httpx.AsyncClient:
        return make_client(self.settings, resolver=self.resolver, transport=self.transport)


@dataclass
class FeedPoller:
    """The configured feeds, what is remembered of them, and whether a poll is running."""

    feeds: tuple[FeedSpec, ...]
    store: FeedStore
    running: bool = False
    polls: int = field(default=0)


def fetcher_of(bot_data: Any) -> Fetcher:
    """The application's :class:`Fetcher`, made from its configuration on first use."""
    found = bot_data.get(FETCHER_KEY)
    if found is None:
        rt: Runtime = bot_data[RUNTIME_KEY]
        found = bot_data[FETCHER_KEY] = Fetcher(fetch_settings(rt.config, rt.service.max_upload_bytes))
    return found  # type: ignore[no-any-return]


def fetch_settings(config: Config, max_bytes: int) -> FetchSettings:
    return FetchSettings(
        max_bytes=max_bytes, timeout=config.fetch_timeout, allow_private=config.allow_private_addresses
    )


def poller_of(bot_data: Any) -> FeedPoller:
    found = bot_data.get(FEEDS_KEY)
    if found is None:
        rt: Runtime = bot_data[RUNTIME_KEY]
        path = rt.config.persistence.with_name("feeds.json") if rt.config.persistence else None
        found = bot_data[FEEDS_KEY] = FeedPoller(rt.config.feeds, FeedStore(path))
    return found  # type: ignore[no-any-return]


def schedule_feeds(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Start the polling job when feeds are configured (called from post_init)."""
    poller = poller_of(app.bot_data)
    if not poller.feeds:
        return
    if app.job_queue is None:
        log.error("feeds are configured but PTB's JobQueue is missing: install python-telegram-bot[job-queue]")
        return
    app.job_queue.run_repeating(feeds_job, interval=TICK_SECONDS, first=FIRST_POLL_SECONDS, name="feeds")
    log.info("polling %d feed(s); the first poll in %.0f s", len(poller.feeds), FIRST_POLL_SECONDS)


async def feeds_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Poll the feeds that are due (the JobQueue's callback)."""
    await poll_due_feeds(context.application)


async def poll_due_feeds(
    app: Application[Any, Any, Any, Any, Any, Any], *, now: dt.datetime | None = None
) -> PollReport | None:
    """Poll every due feed once, add what is new in one batch, and tell the admins; None if nothing was due."""
    rt: Runtime = app.bot_data[RUNTIME_KEY]
    poller = poller_of(app.bot_data)
    moment = now or dt.datetime.now(dt.UTC)
    specs = due(poller.feeds, poller.store, moment)
    if not specs or poller.running:
        return None
    poller.running = True
    fetcher = fetcher_of(app.bot_data)
    try:
        corpus = rt.service.engine.corpus

        async def add(prepared: list[Any]) -> BatchReport:
            return await rt.off_loop(rt.service.add_articles, prepared)

        async with fetcher.client() as client:
            report = await poll_feeds(
                specs,
                poller.store,
                client=client,
                settings=fetcher.settings,
                existing_ids={a.id for a in corpus.articles},
                existing_urls=corpus_addresses(corpus.articles),
                detector=rt.service.engine.detector,
                add=add,
                resolver=fetcher.resolver,
                run_blocking=rt.off_loop,
                now=moment,
            )
    finally:
        poller.running = False
        poller.polls += 1
    batch = report.add_result if isinstance(report.add_result, BatchReport) else None
    if batch is not None and batch.reload is not None:
        gc.freeze()  # the new index is long-lived (see post_init)
        rt.save_stats()
    log.info(
        "feed poll: %d feed(s), %d article(s) added, %d entr(ies) skipped, %d feed error(s)",
        len(specs),
        len(batch.added) if batch else 0,
        len(report.skipped),
        len(report.errors),
    )
    if batch is not None and batch.added:
        await _tell_admins(app, rt, report, batch)
    return report


async def _tell_admins(
    app: Application[Any, Any, Any, Any, Any, Any], rt: Runtime, report: PollReport, batch: BatchReport
) -> None:
    for admin in sorted(rt.config.admins):
        language = (app.user_data.get(admin) or {}).get(LANGUAGE_KEY)
        summary = summary_text(report, batch, strings(language))
        usage = usage_line(rt, language)  # this month's machine translation
        text, is_html = fit_html(f"{summary}\n{usage}" if usage else summary)
        mode = ParseMode.HTML if is_html else None
        try:
            await app.bot.send_message(admin, text, parse_mode=mode, link_preview_options=NO_PREVIEW)
        except TelegramError as exc:  # an admin who never started a chat with the bot, say
            log.warning("could not send the feed summary to admin %s: %s", admin, exc)


def summary_text(report: PollReport, batch: BatchReport, s: Strings) -> str:
    """One message: the articles added, then the entries skipped and why."""
    added = [
        s(
            "feeds_added_line",
            title=escape(clip(p.article.title)),
            source=escape(clip(p.article.source, SOURCE_LENGTH)),
            id=escape(p.article.id),
        )
        for p in batch.added
    ]
    skipped = [
        s("feeds_skipped_line", entry=escape(shorten(item.entry, 100)), reason=escape(shorten(item.reason, 200)))
        for item in report.skipped
    ] + [
        s("feeds_skipped_line", entry=escape(shorten(p.article.title, 100)), reason=escape(reason))
        for p, reason in batch.skipped
    ]
    room = (MessageLimit.MAX_TEXT_LENGTH - 600) // 2
    parts = [s("feeds_summary", count=len(added), articles="\n".join(_cut(added, s, room)))]
    if skipped:
        parts.append(s("feeds_summary_skipped", count=len(skipped), entries="\n".join(_cut(skipped, s, room))))
    if batch.reload is not None:
        corpus = s("feeds_summary_corpus", articles=batch.reload.articles, passages=batch.reload.passages)
        parts.append("\n".join([corpus, *alert_lines(batch.reload, s)]))
    return "\n\n".join(parts)


def _cut(lines: list[str], s: Strings, room: int) -> list[str]:
    """As many whole lines as fit in ``room`` characters, then "… and N more" (HTML is never cut inside)."""
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > room:
            return [*kept, s("upload_more_passages", count=len(lines) - len(kept))]
        kept.append(line)
        used += len(line) + 1
    return kept


async def feeds_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List each configured feed with its last poll, articles added and last error."""
    if await refuse_unless_admin(update, context, "/feeds") or update.effective_message is None:
        return
    s = interface_strings(update, context)
    poller = poller_of(context.bot_data)
    if not poller.feeds:
        await reply_html(update.effective_message, s("feeds_none"))
        return
    lines = [s("feeds_header", count=len(poller.feeds))]
    for spec in poller.feeds:
        state = poller.store.state(spec.url)
        polled = state.polled_at()
        status = s("feeds_error", error=escape(shorten(state.last_error, 300))) if state.last_error else s("feeds_ok")
        lines.append(
            s(
                "feeds_line",
                url=escape(page_label(spec.url)),
                last_poll=polled.strftime("%Y-%m-%d %H:%M UTC") if polled else s("never"),
                added=state.last_added,
                total=state.added_total,
                status=status,
                minutes=f"{spec.interval_minutes:g}",
            )
        )
    if poller.running:
        lines.append(s("feeds_running"))
    text = "\n".join([lines[0], *_cut(lines[1:], s, MessageLimit.MAX_TEXT_LENGTH - 300)])
    await reply_html(update.effective_message, text)


__all__ = ["Fetcher", "feeds_command", "feeds_job", "fetcher_of", "poll_due_feeds", "runtime", "schedule_feeds"]
