"""Delivering alerts: exactly once across a restart, 403 pauses a chat's follows, a 429 is waited out, HTML fits.

The alerts here are recorded due in the bot's database directly (what the matching would
record), so these tests are about the sender alone: it runs as ``python bot.py`` runs it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
from telegram.constants import MessageLimit

from bot._alerts import alert_buttons, alert_html
from bot._app import post_shutdown
from bot._i18n import strings
from bot._runtime import Runtime
from bot._service import AnswerService
from index import Answer, Result
from index.follow.store import DueAlert

from .botkit import TOKEN, application, bot_config
from .fakebot import FakeBotAPI, html_visible_text
from .test_follow_bot import arrived, quiet, start, stop

EN = strings("en")


def runtime_of(bot_app: Any) -> Runtime:
    return bot_app.bot_data["runtime"]  # type: ignore[no-any-return]


def record(bot_app: Any, chats: list[int], articles: list[str]) -> None:
    """Follow a question in each chat and record one due alert per (chat, article)."""
    following = runtime_of(bot_app).following
    assert following is not None
    due = []
    for chat_id in chats:
        _, follow = following.store.follow(
            chat_id=chat_id,
            user_id=chat_id,
            question="How many bottles?",
            language="en",
            hint="en",
            vector=np.ones(4, np.float32) / 2,
            model="test",
        )
        assert follow is not None
        due += [DueAlert(follow.id, chat_id, a, f"<b>News</b> for {chat_id} from {a}") for a in articles]
    following.store.record_due(due)
    following.wake()


def sent_to(fake: FakeBotAPI, chat_id: int) -> list[str]:
    return [m["text"] for m in fake.sent("sendMessage") if int(m["chat_id"]) == chat_id]


async def test_alerts_due_when_the_bot_died_are_sent_exactly_once_after_the_restart(
    service: AnswerService, fake: FakeBotAPI, tmp_path: Path
) -> None:
    dead = application(bot_config(tmp_path), service, fake)
    await dead.initialize()  # never started its sender: killed between "due" and "sent"
    record(dead, [31, 32], ["a", "b"])
    await post_shutdown(dead)
    await dead.shutdown()
    assert fake.sent("sendMessage") == []

    restarted = await start(service, fake, tmp_path)
    try:
        store = runtime_of(restarted).following.store  # type: ignore[union-attr]
        await arrived(lambda: store.counts().sent == 4, timeout=30)  # marked sent just after Telegram accepts
        assert store.counts().due == 0
    finally:
        await stop(restarted)
    again = await start(service, fake, tmp_path)
    try:
        await quiet()
    finally:
        await stop(again)
    assert sorted(sent_to(fake, 31)) == ["<b>News</b> for 31 from a", "<b>News</b> for 31 from b"]
    assert len(fake.sent("sendMessage")) == 4 and fake.rejected == []


async def test_a_follower_who_blocked_the_bot_is_paused_and_not_tried_again(
    service: AnswerService, fake: FakeBotAPI, tmp_path: Path
) -> None:
    bot_app = await start(service, fake, tmp_path)
    try:
        fake.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
        record(bot_app, [41], ["a", "b"])
        record(bot_app, [42], ["a"])
        await arrived(lambda: sent_to(fake, 42), timeout=30)
        await quiet()  # the sent mark is written just after Telegram accepts
        store = runtime_of(bot_app).following.store  # type: ignore[union-attr]
        assert [f.paused for f in store.follows_of(41)] == [True]
        assert store.counts().due == 0 and store.counts().sent == 1
        attempts = [c for c in fake.calls if c.method == "sendMessage" and int(c.params["chat_id"]) == 41]
        assert len(attempts) == 1  # its second alert was dropped, not tried
    finally:
        await stop(bot_app)


async def test_flood_control_is_honoured_and_the_alert_still_sent_once(
    service: AnswerService, fake: FakeBotAPI, tmp_path: Path
) -> None:
    bot_app = await start(service, fake, tmp_path)
    try:
        fake.fail_next("sendMessage", retry_after=1)
        record(bot_app, [51], ["a"])
        await arrived(lambda: sent_to(fake, 51), timeout=30)
        await quiet()
    finally:
        await stop(bot_app)
    assert sent_to(fake, 51) == ["<b>News</b> for 51 from a"]
    assert [reason for _, reason in fake.rejected] == ["Too Many Requests: retry after 1"]


async def test_answers_come_first_while_alerts_wait(service: AnswerService, fake: FakeBotAPI, tmp_path: Path) -> None:
    bot_app = await start(service, fake, tmp_path)
    try:
        following = runtime_of(bot_app).following
        assert following is not None
        with following.traffic.answering():  # a question is being answered
            record(bot_app, [61], ["a"])
            following.wake()
            await asyncio.sleep(0.3)
            assert sent_to(fake, 61) == []
        await arrived(lambda: sent_to(fake, 61), timeout=30)
    finally:
        await stop(bot_app)


def test_an_alert_with_a_huge_passage_and_question_is_valid_html_within_the_limit() -> None:
    text = ("Le vignoble a produit <3 200> bouteilles & plus. " * 200).strip()
    result = Result(
        article_id="a",
        passage_index=0,
        source="Ouest & Co",
        title="Un <vignoble>",
        url="https://ouest.test/a?x=1&y=2",
        published="2026-11-20",
        language="fr",
        text=text,
        translation=text.replace("bouteilles", "bottles"),
        translation_method="machine",
        score=1.0,
        highlights=((0, 48),),
        translation_highlights=((0, 45),),
    )
    answer = Answer("q", "en", True, (result,))
    question = "How many <bottles> & corks? " * 40
    rendered = alert_html(question, answer, EN)
    visible = html_visible_text(rendered)  # raises on markup Telegram would refuse
    assert len(visible) <= MessageLimit.MAX_TEXT_LENGTH and len(rendered) <= MessageLimit.MAX_TEXT_LENGTH
    assert visible.startswith("New coverage on your question How many <bottles> & corks?")
    assert TOKEN not in rendered
    labels = [label for label, _ in alert_buttons(7, answer, EN)]
    assert labels == [EN("unfollow_button"), "Ouest & Co"]
