"""The Follow and More buttons under an answer keep working after a restart, for a week, in the chat they were for."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from telegram.ext import Application

from bot._app import post_init, post_shutdown
from bot._i18n import strings
from bot._memory import KEEP_SECONDS, AnswerMemory
from bot._service import AnswerService
from index import Answer
from index.follow import Database

from .botkit import application, bot_config, callback, message, update_for, user
from .fakebot import FakeBotAPI

App = Application[Any, Any, Any, Any, Any, Any]
QUESTION = "Qu'a dit Trump sur l'Union européenne ?"


async def started(service: AnswerService, fake: FakeBotAPI, tmp_path: Path) -> App:
    bot_app = application(bot_config(tmp_path), service, fake)
    await bot_app.initialize()
    await post_init(bot_app)
    return bot_app


async def stopped(bot_app: App) -> None:
    await post_shutdown(bot_app)
    await bot_app.shutdown()


async def press(bot_app: App, data: str, chat_id: int = 1001) -> None:
    on = {**message("x", chat={"id": chat_id, "type": "private"}), "from": {"id": 1, "is_bot": True, "first_name": "B"}}
    await bot_app.process_update(update_for(bot_app, **callback(data, on, user(chat_id, language="en"))))


async def test_follow_and_more_work_after_a_restart(service: AnswerService, fake: FakeBotAPI, tmp_path: Path) -> None:
    first = await started(service, fake, tmp_path)
    try:
        await first.process_update(update_for(first, message=message(QUESTION, sender=user(language="fr"))))
    finally:
        await stopped(first)
    (answer,) = fake.sent("sendMessage")
    data = {b["text"]: b.get("callback_data") for row in answer["reply_markup"]["inline_keyboard"] for b in row}
    fr = strings("fr")
    more, follow = data[fr("more_button")], data[fr("follow_button")]
    assert more.split(":")[1] == follow.split(":")[1]  # one token for the answer's buttons

    second = await started(service, fake, tmp_path)
    try:
        await press(second, more, chat_id=2002)  # another chat cannot use this chat's buttons
        assert fake.sent("answerCallbackQuery")[-1]["text"] == strings("en")("expired")
        await press(second, more)
        page = fake.sent("sendMessage")[-1]["text"]
        assert page.startswith(fr("more_header", question=html.escape(QUESTION, quote=False)))
        assert "<blockquote>" in page and page != answer["text"]
        await press(second, follow)
        assert fake.sent("sendMessage")[-1]["text"] == fr("follow_done", question=html.escape(QUESTION, quote=False))
        (followed,) = second.bot_data["runtime"].following.store.follows_of(1001)
        assert followed.question == QUESTION and followed.language == "fr"
        assert [c.get("text") for c in fake.sent("answerCallbackQuery")][1:] == [None, None]

    finally:
        await stopped(second)
    assert fake.rejected == []


def test_saved_buttons_last_a_week_then_are_forgotten(tmp_path: Path) -> None:
    database = Database(tmp_path / "state.sqlite3")
    memory = AnswerMemory(database=database)
    answer = Answer("Why?", "en", True, ())
    token = memory.remember(answer)
    memory.save(token, answer, chat_id=5, now=1_000_000.0)
    restarted = AnswerMemory(database=Database(tmp_path / "state.sqlite3"))
    assert restarted.recall(token) is None  # not in memory any more
    week = 7 * 24 * 3600.0
    saved = restarted.saved(token, 5, now=1_000_000.0 + week)
    assert saved is not None and (saved.question, saved.language, saved.chat_id) == ("Why?", "en", 5)
    assert restarted.saved(token, 6, now=1_000_000.0) is None
    assert restarted.saved(token, 5, now=1_000_000.0 + KEEP_SECONDS + 1) is None
    memory.save(memory.remember(answer), answer, chat_id=5, now=1_000_000.0 + KEEP_SECONDS + 2)  # prunes the old
    assert database.query("SELECT COUNT(*) FROM answers WHERE token = ?", (token,)) == [(0,)]
