"""Alerts: new coverage of a followed question, found when the index changes and sent to the follower.

:meth:`Following.on_indexed` runs wherever the corpus changed (a feed poll, a link, an upload,
``/reload``), on the worker thread that swapped the index in: it finds what the new or changed
articles answer (:func:`index.follow.find_new_coverage`), renders each alert in the follower's
language, and records it **due** in the database before anything is sent. :class:`AlertSender`
then delivers due alerts, oldest first, marking each **sent** once Telegram accepts it, so a
restart in between sends each exactly once. It paces itself under Telegram's broadcast limit,
waits while questions are being answered (asking comes first), stops trying a chat that
blocked the bot (403: its follows are paused) and honours a 429's ``retry_after``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import FloodLimit, InlineKeyboardButtonLimit, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from index import Answer, Engine
from index.follow import (
    DatabaseError,
    Finding,
    Follow,
    FollowOutcome,
    FollowStore,
    QuestionVectors,
    find_new_coverage,
)
from index.follow.matching import DEFAULT_THRESHOLD
from index.follow.store import Alert, DueAlert
from index.search.backend import BackendUnavailable

from ._compose import MAX_MESSAGE, escape, html_to_text, result_html, shorten
from ._fit import fit_html
from ._i18n import Strings, strings
from ._numbers import ascii_number
from ._send import NO_PREVIEW

log = logging.getLogger(__name__)
UNFOLLOW_PREFIX = "uf:"
FOLLOW_PREFIX = "fq:"
# Alerts sent per second at most: two thirds of Telegram's broadcast limit, the rest left for replies.
ALERTS_PER_SECOND = FloodLimit.MESSAGES_PER_SECOND * 2 / 3
QUOTED_QUESTION = 300  # characters of the question quoted in an alert's first line
RETRY_SECONDS = 5.0  # how long the sender waits after a network fault before trying again


def follow_data(token: str) -> str:
    """The Follow button under an answer: the answer's token in :class:`bot._memory.AnswerMemory`."""
    data = f"{FOLLOW_PREFIX}{token}"
    assert len(data.encode()) <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
    return data


def follow_row(token: str, s: Strings) -> list[InlineKeyboardButton]:
    """The Follow button under an answer or a refusal; ``token`` names the answer in the answer memory."""
    return [InlineKeyboardButton(s("follow_button"), callback_data=follow_data(token))]


def parse_follow(data: str | None) -> str | None:
    token = (data or "").removeprefix(FOLLOW_PREFIX)
    ok = (data or "").startswith(FOLLOW_PREFIX) and 8 <= len(token) <= 16 and token.isalnum()
    return token if ok else None


def unfollow_data(follow_id: int) -> str:
    data = f"{UNFOLLOW_PREFIX}{follow_id}"
    assert len(data.encode()) <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
    return data


def parse_unfollow(data: str | None) -> int | None:
    if not (data or "").startswith(UNFOLLOW_PREFIX):
        return None
    return ascii_number((data or "").removeprefix(UNFOLLOW_PREFIX))


def alert_html(question: str, answer: Answer, s: Strings) -> str:
    """The alert: a first line quoting the question, then the passage as an answer shows it (within the limit)."""
    header = s("alert_header", question=escape(shorten(question, QUOTED_QUESTION)))
    room = MAX_MESSAGE - len(header) - 2
    return f"{header}\n\n{result_html(answer.results[0], answer.language, s, budget=room)}"


def alert_buttons(follow_id: int, answer: Answer, s: Strings) -> tuple[tuple[str, str], ...]:
    """Stop following, and the source's link as a button (as answers have)."""
    rows = [(s("unfollow_button"), unfollow_data(follow_id))]
    url = answer.results[0].url
    if url:
        rows.append((shorten(s("source_button", source=answer.results[0].source), 48), url))
    return tuple(rows)


def markup(buttons: tuple[tuple[str, str], ...]) -> InlineKeyboardMarkup | None:
    """Stored button rows as a keyboard: a value with ``://`` is a link, anything else callback data."""
    rows = [
        [InlineKeyboardButton(label, url=value) if "://" in value else InlineKeyboardButton(label, callback_data=value)]
        for label, value in buttons
    ]
    return InlineKeyboardMarkup(rows) if rows else None


class AnswerTraffic:
    """Counts the questions being answered, so alerts can wait for a moment nobody is asking."""

    def __init__(self) -> None:
        self.asking = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        self.asking += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.asking -= 1
            if not self.asking:
                self._idle.set()

    async def wait_until_idle(self) -> None:
        await self._idle.wait()


@dataclass
class Following:
    """What following needs at run time: the store, the questions' vectors, and how to wake the sender."""

    store: FollowStore
    vectors: QuestionVectors
    threshold: float = DEFAULT_THRESHOLD
    alerts_per_second: float = ALERTS_PER_SECOND
    traffic: AnswerTraffic = field(default_factory=AnswerTraffic)
    wake: Callable[[], None] = lambda: None  # tells the sender something is due; safe from any thread
    alerted_total: int = 0

    def on_indexed(self, engine: Engine, articles: set[str]) -> int | None:
        """Record the alerts ``articles`` (new or changed, indexed by ``engine``) bring; how many followers get one
        (None when nobody follows anything).

        Never raises: an index change must not fail because alerts could not be worked out.
        """
        if not len(self.vectors):
            return None
        try:
            coverage = find_new_coverage(engine, self.store, self.vectors, articles, threshold=self.threshold)
            due = [self.due_alert(finding) for finding in coverage.findings]
            seen = [(follow.id, follow.chat_id, article) for follow, article in coverage.corroborations]
            self.store.record_due(due, seen)
            if coverage.related:  # not sure they answer: listed under /following, never sent
                self.store.record_related([(f.id, f.chat_id, article) for f, article in coverage.related])
        except (DatabaseError, BackendUnavailable) as exc:
            log.error("could not work out alerts for the new coverage: %s", exc)
            return 0
        followers = len({alert.chat_id for alert in due})
        log.info(
            "new coverage: %d article(s), %d followed question(s) close, %d alert(s) due to %d follower(s), "
            "%d corroboration(s) and %d possibly related not sent",
            len(articles),
            coverage.close,
            len(due),
            followers,
            len(seen),
            len(coverage.related),
        )
        if due:
            self.alerted_total += followers
            self.wake()
        return followers

    def follow(
        self,
        engine: Engine,
        *,
        chat_id: int,
        user_id: int,
        question: str,
        language: str,
        hint: str | None,
        known: Answer | None,
        k: int,
    ) -> tuple[FollowOutcome, Follow | None]:
        """Follow ``question`` (blocking: embeds it and writes the store); what already answers it counts as seen.

        ``known`` is the answer the follower saw, if any; otherwise the question is asked now.
        """
        vector = engine.embed_query(question)
        outcome, follow = self.store.follow(
            chat_id=chat_id,
            user_id=user_id,
            question=question,
            language=language,
            hint=hint,
            vector=vector,
            model=engine.embedder.name,
        )
        if outcome is FollowOutcome.FOLLOWED and follow is not None:
            self.vectors.add(follow.question_id, vector)
            answer = known if known is not None else engine.ask(question, k=k, language=language, hint=hint)
            # What answered it counts as seen; passages the engine was not sure of (closest) do not.
            results = (*answer.results, *answer.more) if answer.confidence == "answer" else ()
            seen = [r.article_id for r in results] + [c.article_id for r in results for c in r.also_reported_by]
            self.store.mark_seen(follow.id, chat_id, seen)
        return outcome, follow

    def unfollow(self, follow_id: int, chat_id: int) -> Follow | None:
        """Stop a follow of ``chat_id`` (blocking); the follow it was, None when there was none."""
        stopped = self.store.unfollow(follow_id, chat_id)
        if stopped is not None and self.store.question_text(stopped.question_id) is None:
            self.vectors.remove(stopped.question_id)  # nobody follows that question any more
        return stopped

    @staticmethod
    def due_alert(finding: Finding) -> DueAlert:
        s = strings(finding.answer.language)
        follow = finding.follow
        text = alert_html(follow.question, finding.answer, s)
        return DueAlert(
            follow.id, follow.chat_id, finding.article_id, text, alert_buttons(follow.id, finding.answer, s)
        )


class AlertSender:
    """Delivers due alerts from the database, paced, after answers, exactly once each."""

    def __init__(self, bot: Bot, following: Following) -> None:
        self.bot = bot
        self.following = following
        self._due = asyncio.Event()
        self._next_send = 0.0
        self.sent = 0

    def wake_from_any_thread(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the next start sends what is due
                loop.call_soon_threadsafe(self._due.set)

        return wake

    async def run(self) -> None:
        """Send what is due now, then whenever woken; until cancelled."""
        store = self.following.store
        self._due.set()  # what a previous run left due goes first
        while True:
            await self._due.wait()
            self._due.clear()
            after = 0
            while True:
                try:
                    batch = await asyncio.to_thread(store.due, 200, after=after)
                except DatabaseError as exc:
                    log.error("could not read the alerts due: %s", exc)
                    break
                if not batch:
                    break
                blocked: set[int] = set()  # their due alerts were dropped in the database as they blocked
                for alert in batch:
                    after = alert.id
                    if alert.chat_id not in blocked and not await self.deliver(alert):
                        blocked.add(alert.chat_id)

    async def deliver(self, alert: Alert) -> bool:
        """Send one alert and record the outcome (a fault leaves it due, to be tried again); False when
        the chat blocked the bot."""
        while True:
            await self.following.traffic.wait_until_idle()  # asking comes first
            await self._pace()
            try:
                await self._send(alert)
            except Forbidden as exc:
                paused = await asyncio.to_thread(self.following.store.pause_chat, alert.chat_id)
                log.info("chat %s cannot be written to (%s): %d follow(s) paused", alert.chat_id, exc.message, paused)
                return False
            except RetryAfter as exc:  # only once PTB's rate limiter has given up retrying it
                wait = exc.retry_after if isinstance(exc.retry_after, int | float) else exc.retry_after.total_seconds()
                log.warning("flood control: waiting %.0f s before the next alert", float(wait))
                await asyncio.sleep(float(wait))
                continue
            except BadRequest as exc:  # the chat is gone, say: this alert can never be sent
                log.warning("dropping an alert for chat %s: %s", alert.chat_id, exc.message)
                await self._record(self.following.store.mark_dropped, alert.id)
                return True
            except (NetworkError, TelegramError) as exc:
                log.warning("sending an alert failed (%s); retrying in %.0f s", exc, RETRY_SECONDS)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            await self._record(self.following.store.mark_sent, alert.id)
            self.sent += 1
            return True

    async def _send(self, alert: Alert) -> None:
        keyboard = markup(alert.buttons)
        text, is_html = fit_html(alert.text)  # an alert recorded by an older version may be too long
        try:
            await self.bot.send_message(
                alert.chat_id,
                text,
                parse_mode=ParseMode.HTML if is_html else None,
                reply_markup=keyboard,
                link_preview_options=NO_PREVIEW,
            )
        except BadRequest as exc:
            if "can't parse entities" not in exc.message.lower():
                raise
            log.warning("Telegram rejected an alert's HTML (%s); sending plain text instead", exc.message)
            await self.bot.send_message(alert.chat_id, html_to_text(alert.text), reply_markup=keyboard)

    async def _record(self, mark: Callable[[int], None], alert_id: int) -> None:
        try:
            await asyncio.to_thread(mark, alert_id)
        except DatabaseError as exc:  # the alert stays due: a restart sends it again, rather than never
            log.error("could not record an alert's delivery: %s", exc)

    async def _pace(self) -> None:
        now = time.monotonic()
        if self._next_send > now:
            await asyncio.sleep(self._next_send - now)
        self._next_send = max(now, self._next_send) + 1.0 / self.following.alerts_per_second
