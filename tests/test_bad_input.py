"""Bad input, property-based: whatever people type, no handler fails and every message sent is valid."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram.constants import InlineQueryLimit, MessageLimit

from bot._i18n import strings
from bot._service import AnswerService
from corpus import BUNDLED
from index import Engine

from .botkit import TOKEN, application, bot_config, inline, message, update_for, user
from .fakebot import FakeBotAPI

SPECIAL = st.sampled_from(
    [
        "\u200b", "\u200e", "\u200f", "\u202e", "\u2066", "\ufeff", "\x00", "\x07", "\x1b[31m", "\r\n", "\t",
        "🙂", "👩‍👩‍👧", "🇫🇷", "<b>", "</blockquote>", "<a href='javascript:x'>", "&amp;", "&", "<", ">",
        "**bold**", "__x__", "[link](http://x)", "`code`", "```", "||spoiler||", "@newsbot_test_bot", "/start",
        "Why was the Space delayed?", "DDoS", "17h42", "ℌ𝔢𝔩𝔩𝔬", "مرحبا", "שלום", "Привет", "東京",
    ]
)  # fmt: skip
ANY_TEXT = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(SPECIAL, st.text(max_size=8)), max_size=30).map("".join),
    st.builds(lambda s, n: (s * n)[: MessageLimit.MAX_TEXT_LENGTH], st.text(min_size=1, max_size=30), st.just(400)),
    st.sampled_from(["", " ", "   \n\t ", "\u3000"]),
)
# Text with no letters at all: the bot cannot tell its language, so it must use the user's.
NO_LETTERS = st.lists(
    st.sampled_from(["\u200b", "\u200f", "🙂", "👍", "<", ">", "&", "**", "`", "   ", "\n", "#", "?!", "…", "—"]),
    min_size=1,
    max_size=40,
).map("".join)  # Telegram never delivers an empty text message

_users = itertools.count(10_000)
_shared: dict[str, Any] = {}


@pytest.fixture(scope="module")
def bot_app(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One application for all examples (each example uses a fresh user, so no rate limit applies)."""
    import asyncio

    tmp = tmp_path_factory.mktemp("bad-input")
    fake = FakeBotAPI(TOKEN)
    service = AnswerService(engine, corpus_dir=BUNDLED, cache_dir=Path(tmp) / "cache")
    app = application(bot_config(Path(tmp)), service, fake)
    errors: list[BaseException] = []

    async def record(update: object, context: Any) -> None:
        errors.append(context.error)

    app.add_error_handler(record)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(app.initialize())
    _shared.update(app=app, fake=fake, errors=errors, loop=loop)
    yield _shared
    loop.run_until_complete(app.shutdown())
    loop.close()


def run(shared: dict[str, Any], payload: dict[str, Any]) -> list[Any]:
    fake: FakeBotAPI = shared["fake"]
    fake.calls.clear()
    fake.rejected.clear()
    shared["errors"].clear()
    app = shared["app"]
    shared["loop"].run_until_complete(app.process_update(update_for(app, **payload)))
    assert shared["errors"] == [], shared["errors"]
    assert fake.rejected == [], fake.rejected
    return fake.calls


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=ANY_TEXT, language=st.sampled_from(["en", "fr", "id", "nl", "de", "es", "pt", None]))
def test_any_private_message_gets_a_valid_reply(bot_app: dict[str, Any], text: str, language: str | None) -> None:
    calls = run(bot_app, {"message": message(text, sender=user(user_id=next(_users), language=language))})
    sent = [c for c in calls if c.method == "sendMessage"]
    if text.startswith("/") and not text.startswith(
        ("/start", "/help", "/sources", "/lang", "/ask", "/stats", "/reload")
    ):
        return  # an unknown command is ignored, which is fine
    assert len(sent) <= 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=NO_LETTERS, language=st.sampled_from(["en", "fr", "id", "nl", "de", "es"]))
def test_the_bots_own_words_are_in_the_users_language(bot_app: dict[str, Any], text: str, language: str) -> None:
    calls = run(bot_app, {"message": message(text, sender=user(user_id=next(_users), language=language))})
    (reply,) = [c.params["text"] for c in calls if c.method == "sendMessage"]
    s = strings(language)
    own = [s("empty_question", example=s.examples[0]), s("not_found", example=s.examples[0])]
    assert any(reply.split("\n")[0] in line.replace("&", "&amp;") or reply.split("\n")[0] in line for line in own)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.one_of(ANY_TEXT.map(lambda t: t[:256]), st.text(min_size=200, max_size=256)))
def test_any_inline_query_gets_a_valid_answer(bot_app: dict[str, Any], query: str) -> None:
    calls = run(bot_app, inline(query, sender=user(user_id=next(_users))))
    (answered,) = [c for c in calls if c.method == "answerInlineQuery"]
    assert len(answered.params["results"]) <= InlineQueryLimit.RESULTS


def test_a_4096_character_question_is_answered_within_limits(bot_app: dict[str, Any]) -> None:
    question = ("Why was the Space delayed by a DDoS attack? " * 100)[: MessageLimit.MAX_TEXT_LENGTH]
    calls = run(bot_app, {"message": message(question, sender=user(user_id=next(_users)))})
    (reply,) = [c.params for c in calls if c.method == "sendMessage"]
    assert len(reply["text"]) <= MessageLimit.MAX_TEXT_LENGTH
