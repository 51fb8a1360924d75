"""The bot's state in SQLite: an old pickle migrated once, a damaged one set aside, a bad database named.

Whatever is wrong with the files under ``state/``, the bot starts and answers.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from telegram.ext import PicklePersistence

from bot._app import post_shutdown
from bot._service import AnswerService
from index.follow import database as database_module

from .botkit import application, bot_config, callback, message, update_for, user
from .fakebot import FakeBotAPI

QUESTION = "Why was the Space delayed?"


async def run(service: AnswerService, fake: FakeBotAPI, tmp_path: Path, *payloads: dict[str, Any]) -> Any:
    """Start the bot over ``tmp_path/state``, handle the updates, stop it; the application, for its user data."""
    bot_app = application(bot_config(tmp_path), service, fake)
    await bot_app.initialize()
    try:
        for payload in payloads:
            await bot_app.process_update(update_for(bot_app, **payload))
    finally:
        await post_shutdown(bot_app)  # as a stopping bot does: statistics saved, the database closed
        await bot_app.shutdown()
    return bot_app


def damaged(tmp_path: Path, name: str) -> Path:
    """``state/<name>`` filled with 3 KB of random bytes, as the issue tried; the state folder."""
    state = tmp_path / "state"
    state.mkdir()
    (state / name).write_bytes(np.random.default_rng(3).bytes(3000))
    return state


def answered(fake: FakeBotAPI) -> bool:
    return any("<blockquote>" in m["text"] for m in fake.sent("sendMessage"))


async def test_an_old_pickle_is_migrated_once_and_choices_then_survive_restarts(
    service: AnswerService, fake: FakeBotAPI, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    old = PicklePersistence(state / "bot.pickle")
    await old.update_user_data(1001, {"lang": "fr"})
    (state / "stats.json").write_text('{"questions": 41, "latencies_ms": [5.0]}', encoding="utf-8")

    first = await run(service, fake, tmp_path, {"message": message(QUESTION, sender=user(1001))})
    assert first.user_data[1001] == {"lang": "fr"}
    assert not (state / "bot.pickle").exists() and (state / "bot.pickle.migrated").exists()
    assert (state / "stats.json.migrated").exists()
    assert "<blockquote>" in fake.sent("sendMessage")[-1]["text"]

    bot_message = {**message("x"), "from": fake.bot_user}
    await run(service, fake, tmp_path, callback("lang:de", bot_message, user(user_id=502)))
    service.stats.questions = 0
    again = await run(service, fake, tmp_path)
    assert again.user_data[502] == {"lang": "de"} and again.user_data[1001] == {"lang": "fr"}
    assert service.stats.questions >= 42  # carried over: 41 before, and the question asked since


async def test_a_damaged_pickle_is_named_in_one_line_and_set_aside_and_the_bot_answers(
    service: AnswerService, fake: FakeBotAPI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = damaged(tmp_path, "bot.pickle")
    with caplog.at_level(logging.INFO):
        await run(service, fake, tmp_path, {"message": message(QUESTION)})
    (line,) = [r.getMessage() for r in caplog.records if "bot.pickle" in r.getMessage()]
    assert "does not contain valid saved state" in line and str(state / "bot.pickle") in line
    assert "\n" not in line and "Traceback" not in caplog.text
    assert [p.name for p in state.iterdir() if p.name.startswith("bot.pickle.damaged-")]
    assert answered(fake)


async def test_a_damaged_database_is_set_aside_and_following_works_on_a_new_one(
    service: AnswerService, fake: FakeBotAPI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = damaged(tmp_path, "bot.sqlite3")
    with caplog.at_level(logging.INFO):
        await run(service, fake, tmp_path, {"message": message(QUESTION)}, {"message": message(f"/follow {QUESTION}")})
    assert any(str(state / "bot.sqlite3") in r.getMessage() and "damaged" in r.getMessage() for r in caplog.records)
    assert answered(fake) and fake.sent("sendMessage")[-1]["text"].startswith("I'm following")
    with sqlite3.connect(state / "bot.sqlite3") as raw:
        assert raw.execute("SELECT question FROM follows").fetchall() == [(QUESTION,)]


async def test_a_locked_database_is_named_and_the_bot_still_answers(
    service: AnswerService,
    fake: FakeBotAPI,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(database_module, "BUSY_TIMEOUT_SECONDS", 0.1)
    path = tmp_path / "state" / "bot.sqlite3"
    path.parent.mkdir()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE other_program (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with caplog.at_level(logging.INFO):
            await run(
                service, fake, tmp_path, {"message": message(QUESTION)}, {"message": message(f"/follow {QUESTION}")}
            )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    (line,) = [r.getMessage() for r in caplog.records if str(path) in r.getMessage()]
    assert "locked" in line
    assert answered(fake) and fake.sent("sendMessage")[-1]["text"].startswith("I'm following")  # in memory
