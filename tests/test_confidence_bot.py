"""How sure the bot is, on every surface: ``answer``, ``closest`` (hedged) and ``none``, and "(read as: …)".

The outcome is forced by wrapping the real service's ``ask`` (the real engine finds the passages;
the wrapper sets ``hedged``, refuses, or sets ``read_as``), so each surface is checked for each
outcome whatever the engine decides today. One test runs the real engine unforced.
"""

from __future__ import annotations

import dataclasses
import html
import io
from collections.abc import Callable
from typing import Any

import pytest
from telegram.ext import Application

from bot._console import Console
from bot._i18n import strings
from bot._service import AnswerService
from index import Answer

from .botkit import GROUP_ID, callback, group_chat, inline, message, update_for, user
from .fakebot import FakeBotAPI

App = Application[Any, Any, Any, Any, Any, Any]
QUESTIONS = {"en": "Why was the Space delayed?", "fr": "Pourquoi la conversation a-t-elle été retardée ?"}
OUTCOMES = ("answer", "closest", "none")


def forced(outcome: str, read_as: str | None = None) -> Callable[[Answer], Answer]:
    def change(answer: Answer) -> Answer:
        assert answer.answered, "the real engine answers the test questions"
        if outcome == "closest":
            answer = dataclasses.replace(answer, hedged=True)
        elif outcome == "none":
            answer = dataclasses.replace(answer, answered=False, results=(), more=())
        return dataclasses.replace(answer, read_as=read_as)

    return change


def force(monkeypatch: pytest.MonkeyPatch, service: AnswerService, change: Callable[[Answer], Answer]) -> None:
    real = service.ask

    def ask(question: str, **kwargs: Any) -> Answer:
        return change(real(question, **kwargs))

    monkeypatch.setattr(service, "ask", ask)


async def send(bot_app: App, **payload: Any) -> None:
    await bot_app.process_update(update_for(bot_app, **payload))


def hedge_html(language: str) -> str:
    return f"<i>{html.escape(strings(language)('hedge'), quote=False)}</i>"


def check_reply(text: str, outcome: str, language: str) -> None:
    s = strings(language)
    if outcome == "none":
        assert text == s("not_found", example=html.escape(s.examples[0], quote=False))
        return
    assert "<blockquote>" in text
    if outcome == "closest":
        assert text.startswith(hedge_html(language) + "\n\n<blockquote>")
    else:
        assert hedge_html(language) not in text
        assert all(hedge_html(other) not in text for other in QUESTIONS)


@pytest.mark.parametrize("language", sorted(QUESTIONS))
@pytest.mark.parametrize("outcome", OUTCOMES)
async def test_private_chats_show_each_outcome_in_the_readers_language(
    app: App, fake: FakeBotAPI, service: AnswerService, monkeypatch: pytest.MonkeyPatch, outcome: str, language: str
) -> None:
    force(monkeypatch, service, forced(outcome))
    await send(app, message=message(QUESTIONS[language], sender=user(language="de")))
    (reply,) = fake.sent("sendMessage")
    check_reply(reply["text"], outcome, language)
    labels = [b["text"] for row in reply["reply_markup"]["inline_keyboard"] for b in row]
    assert strings(language)("follow_button") in labels  # every outcome can be followed
    assert fake.rejected == []


@pytest.mark.parametrize("language", sorted(QUESTIONS))
@pytest.mark.parametrize("outcome", OUTCOMES)
async def test_groups_show_each_outcome_in_the_readers_language(
    app: App, fake: FakeBotAPI, service: AnswerService, monkeypatch: pytest.MonkeyPatch, outcome: str, language: str
) -> None:
    force(monkeypatch, service, forced(outcome))
    await send(app, message=message(f"/ask {QUESTIONS[language]}", chat=group_chat()))
    (reply,) = fake.sent("sendMessage")
    assert int(reply["chat_id"]) == GROUP_ID
    check_reply(reply["text"], outcome, language)
    assert fake.rejected == []


@pytest.mark.parametrize("language", sorted(QUESTIONS))
@pytest.mark.parametrize("outcome", OUTCOMES)
async def test_inline_results_mark_hedged_passages(
    app: App, fake: FakeBotAPI, service: AnswerService, monkeypatch: pytest.MonkeyPatch, outcome: str, language: str
) -> None:
    force(monkeypatch, service, forced(outcome))
    await send(app, **inline(QUESTIONS[language]))
    (answered,) = fake.sent("answerInlineQuery")
    results = answered["results"]
    s = strings(language)
    if outcome == "none":
        assert [r["id"] for r in results] == ["nothing"] and results[0]["title"] == s("inline_nothing_title")
        return
    assert results and all("<blockquote>" in r["input_message_content"]["message_text"] for r in results)
    if outcome == "closest":
        assert all(r["title"].startswith("≈ ") and r["description"].startswith(s("inline_closest")) for r in results)
    else:
        assert not any(r["title"].startswith("≈") for r in results)
        assert not any(r["description"].startswith(strings(x)("inline_closest")) for r in results for x in QUESTIONS)
    assert fake.rejected == []


@pytest.mark.parametrize("language", sorted(QUESTIONS))
@pytest.mark.parametrize("outcome", OUTCOMES)
def test_the_console_shows_each_outcome(
    service: AnswerService, monkeypatch: pytest.MonkeyPatch, outcome: str, language: str
) -> None:
    force(monkeypatch, service, forced(outcome))
    out = io.StringIO()
    printed = Console(service, out=out).respond(QUESTIONS[language])
    s = strings(language)
    assert (s("hedge") in printed) is (outcome == "closest")
    assert ("[1] “" in printed) is (outcome != "none")
    if outcome == "closest":
        assert printed.startswith(s("hedge") + "\n\n[1] “")
    if outcome == "none":
        assert printed.startswith(s("not_found", example="").split("\n")[0])


@pytest.mark.parametrize("language", sorted(QUESTIONS))
@pytest.mark.parametrize("outcome", OUTCOMES)
async def test_read_as_is_shown_on_every_surface_in_the_readers_language(
    app: App, fake: FakeBotAPI, service: AnswerService, monkeypatch: pytest.MonkeyPatch, outcome: str, language: str
) -> None:
    corrected = "why was <the> space delayed"
    force(monkeypatch, service, forced(outcome, read_as=corrected))
    s = strings(language)
    shown = s("read_as", question=corrected)
    await send(app, message=message(QUESTIONS[language]))
    await send(app, message=message(f"/ask {QUESTIONS[language]}", chat=group_chat()))
    private, group = (m["text"] for m in fake.sent("sendMessage"))
    for text in (private, group):
        assert text.startswith(f"<i>{html.escape(shown, quote=False)}</i>\n")
    assert shown in Console(service, out=io.StringIO()).respond(QUESTIONS[language])
    await send(app, **inline(QUESTIONS[language]))
    (answered,) = fake.sent("answerInlineQuery")
    if outcome != "none":
        assert shown in answered["results"][0]["description"]
    assert fake.rejected == []


async def test_the_more_page_of_a_hedged_answer_is_hedged_too(
    app: App, fake: FakeBotAPI, service: AnswerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    force(monkeypatch, service, forced("closest"))
    await send(app, message=message("What did Trump say?"))
    first = fake.sent("sendMessage")[0]
    more = first["reply_markup"]["inline_keyboard"][0][0]
    assert more["text"] == strings("en")("more_button")
    await send(app, **callback(more["callback_data"], {**message("x"), "from": fake.bot_user}))
    second = fake.sent("sendMessage")[1]["text"]
    assert second.startswith(strings("en")("more_header", question="What did Trump say?"))
    assert hedge_html("en") in second


async def test_the_real_engine_answers_an_on_topic_question_and_refuses_an_off_topic_one(
    app: App, fake: FakeBotAPI, service: AnswerService
) -> None:
    on_topic = service.ask("Why was the Space delayed?", k=3)
    off_topic = service.ask("What is a good lasagna recipe?", k=3)
    assert on_topic.confidence == "answer" and off_topic.confidence == "none"
    await send(app, message=message("Why was the Space delayed?"))
    await send(app, message=message("What is a good lasagna recipe?"))
    answered, refused = (m["text"] for m in fake.sent("sendMessage"))
    check_reply(answered, "answer", "en")
    check_reply(refused, "none", "en")
