"""What the handlers share at run time, kept in ``bot_data`` (never persisted)."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from telegram import Update, User
from telegram.ext import ContextTypes

from index import normalize_hint
from index.follow import Database, DatabaseError

from ._alerts import Following
from ._config import Config
from ._i18n import Strings, strings
from ._memory import AnswerMemory, PendingRemovals
from ._ratelimit import RateLimiter
from ._service import AnswerService

T = TypeVar("T")
log = logging.getLogger(__name__)
STATS_SAVE_EVERY = 20
STATS_SAVE_SECONDS = 1.0
LOOP_LAG_WARNING_MS = 100
STOP_GRACE_SECONDS = 5.0
RUNTIME_KEY = "runtime"
STATS_KEY = "stats"
LANGUAGE_KEY = "lang"


@dataclass
class Runtime:
    config: Config
    service: AnswerService
    memory: AnswerMemory = field(default_factory=AnswerMemory)
    removals: PendingRemovals = field(default_factory=PendingRemovals)
    limiter: RateLimiter | None = None
    inline_limiter: RateLimiter | None = None
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(2, thread_name_prefix="engine"))
    started: float = field(default_factory=time.time)
    lag_watch: asyncio.Task[None] | None = None
    background_translation: asyncio.Task[None] | None = None
    stopping_since: float | None = None
    """When the application began to stop (time.monotonic), if it has."""
    stop_grace: float = STOP_GRACE_SECONDS
    left_unhandled: int = 0
    """Updates skipped because they came up after the stop's grace period."""
    database: Database | None = None
    """Follows, alerts, user choices and statistics (bot/_persistence.py); None: statistics in no file."""
    following: Following | None = None
    alert_task: asyncio.Task[None] | None = None
    _since_saved: int = 0
    _saved_at: float = field(default_factory=time.monotonic)
    _saving: asyncio.Future[None] | None = None
    _save_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        rate = self.config.rate_limit
        self.limiter = self.limiter or RateLimiter(rate.burst, rate.per_seconds)
        # Inline queries arrive per keystroke, so they get a bucket of their own, deeper.
        self.inline_limiter = self.inline_limiter or RateLimiter(rate.burst * 6, rate.per_seconds)

    async def off_loop(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking engine work on the worker threads, keeping the event loop free."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, functools.partial(fn, *args, **kwargs))

    async def watch_event_loop(self, interval: float = 0.02) -> None:
        """Sample how late the event loop wakes up; the worst delay shows in /stats.

        A late wake-up is logged with where the loop thread's time went (:func:`stall_detail`), so
        a slow callback, a starved CPU and another thread holding the GIL can be told apart.
        """
        loop = asyncio.get_running_loop()
        while True:
            started, before = loop.time(), thread_times()
            await asyncio.sleep(interval)
            elapsed = loop.time() - started
            lag_ms = (elapsed - interval) * 1000
            if lag_ms > LOOP_LAG_WARNING_MS:
                detail = stall_detail(before, thread_times(), elapsed, interval)
                log.warning("the event loop was blocked for %.0f ms%s", lag_ms, detail)
            if lag_ms > self.service.stats.loop_lag_max_ms:
                self.service.stats.loop_lag_max_ms = lag_ms

    def past_stop_grace(self) -> bool:
        """Whether the bot is stopping and the grace for its backlog is over: then leave each update be.

        python-telegram-bot handles every update it has fetched before it stops. Polling is paced
        (bot/_app.py, Backlog), so that is a few dozen at most, but on a machine too busy to keep
        up, or with a slow search backend, even those can outlast a supervisor's patience (before
        pacing, a 2,000-update backlog took 103 s). Work already under way still finishes.
        """
        if self.stopping_since is None or time.monotonic() - self.stopping_since < self.stop_grace:
            return False
        if not self.left_unhandled:
            log.warning("stopping: the updates still queued are left unanswered")
        self.left_unhandled += 1
        return True

    def note_answered(self) -> None:
        """Save the statistics now and then (every few answers or seconds), so a crash loses little.

        The write runs on a worker thread: encoding ten thousand latencies and replacing the file
        took 10-15 ms of the event loop's time, once or twice a second under load.
        """
        self._since_saved += 1
        if self._since_saved >= STATS_SAVE_EVERY or time.monotonic() - self._saved_at >= STATS_SAVE_SECONDS:
            self._since_saved = 0
            self._saved_at = time.monotonic()
            if self._saving is None or self._saving.done():  # else the write under way is recent enough
                self._saving = asyncio.get_running_loop().run_in_executor(None, self.save_stats)

    def save_stats(self) -> None:
        self._since_saved = 0
        self._saved_at = time.monotonic()
        if self.database is not None:
            try:
                self.database.put(STATS_KEY, self.service.stats.to_dict())
            except DatabaseError as exc:
                log.warning("could not save statistics: %s", exc)
            return
        path = self.stats_path
        if path is None:
            return
        with self._save_lock:  # the loop's writer thread and a direct call share the temporary file
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(self.service.stats.to_dict()), encoding="utf-8")
                tmp.replace(path)
            except OSError as exc:
                log.warning("could not save statistics to %s: %s", path, exc)

    def load_stats(self) -> None:
        if self.database is not None:
            try:
                saved = self.database.get(STATS_KEY)
                if isinstance(saved, dict):
                    self.service.stats.restore(saved)
            except (DatabaseError, ValueError, TypeError) as exc:
                log.warning("ignoring unreadable statistics: %s", exc)
            return
        path = self.stats_path
        if path is None or not path.exists():
            return
        try:
            self.service.stats.restore(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            log.warning("ignoring unreadable statistics file %s: %s", path, exc)

    @property
    def stats_path(self) -> Path | None:
        persistence = self.config.persistence
        return persistence.with_name("stats.json") if persistence else None

    def is_admin(self, user: User | None) -> bool:
        """Admins are numeric user ids from the configuration; usernames can change hands."""
        return user is not None and user.id in self.config.admins


@dataclass(frozen=True, slots=True)
class ThreadTimes:
    """Nanoseconds the calling thread has spent on a CPU, and runnable but waiting for one."""

    running: int
    waiting: int


def thread_times(path: Path = Path("/proc/thread-self/schedstat")) -> ThreadTimes | None:
    """The calling thread's scheduler times (Linux); None where the kernel does not report them."""
    try:
        running, waiting, *_ = path.read_bytes().split()
        return ThreadTimes(int(running), int(waiting))
    except (OSError, ValueError):
        return None


def stall_detail(before: ThreadTimes | None, after: ThreadTimes | None, elapsed: float, interval: float) -> str:
    """Where the loop thread's time went over a late wake-up, for the log ("" when unknown).

    Running means callbacks on the loop took that long; waiting for a CPU means the machine (or
    our own threads) starved it; for the rest of the delay it slept past its timer: another
    thread held the GIL, or it blocked in a system call.
    """
    if before is None or after is None:
        return ""
    running = (after.running - before.running) / 1e6
    waiting = (after.waiting - before.waiting) / 1e6
    blocked = max(0.0, (elapsed - interval) * 1000 - running - waiting)
    return f" (running {running:.0f} ms, waiting for a CPU {waiting:.0f} ms, for the GIL or I/O {blocked:.0f} ms)"


def runtime(context: ContextTypes.DEFAULT_TYPE) -> Runtime:
    return context.bot_data[RUNTIME_KEY]  # type: ignore[no-any-return]


def chosen_language(context: ContextTypes.DEFAULT_TYPE) -> str | None:
    """The answer language the user picked with /lang, if any."""
    data = context.user_data
    return data.get(LANGUAGE_KEY) if data is not None else None


def interface_strings(update: Update, context: ContextTypes.DEFAULT_TYPE, detected: str | None = None) -> Strings:
    """Strings in the user's language: /lang, then the question's language, then Telegram's."""
    user = update.effective_user
    language = chosen_language(context) or detected or normalize_hint(user.language_code if user else None)
    return strings(language)
