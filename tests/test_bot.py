"""The Telegram bot, driven with real Updates through the application against the strict fake Bot API."""

from __future__ import annotations

import html
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
from telegram.constants import MessageLimit
from telegram.ext import Application

from bot._chat import deep_link_payload
from bot._i18n import strings
from bot._service import AnswerService
from index import Engine, LanguageDetector, load_corpus

from .botkit import (
    ADMIN_ID,
    GROUP_ID,
    TOKEN,
    application,
    bot_config,
    callback,
    group_chat,
    inline,
    mention,
    message,
    update_for,
    user,
)
from .conftest import HashingEmbedder
from .fakebot import FakeBotAPI

App = Application[Any, Any, Any, Any, Any, Any]


async def send(bot_app: App, **payload: Any) -> None:
    await bot_app.process_update(update_for(bot_app, **payload))


def replies(fake: FakeBotAPI) -> list[dict[str, Any]]:
    return fake.sent("sendMessage")


QUESTIONS = [
    ("en", "How many followers does Elon Musk have?"),
    ("fr", "Pourquoi la conversation a-t-elle été retardée ?"),
    ("id", "Mengapa wawancara Musk dan Trump terlambat?"),
    ("nl", "Wat zei Trump over de aanslag op zijn leven?"),
    ("de", "Warum begann das Gespräch zwischen Musk und Trump so spät?"),
    ("es", "¿Qué ofreció Musk sobre una comisión de eficiencia del gobierno?"),
]


@pytest.mark.parametrize(("language", "question"), QUESTIONS)
async def test_private_questions_in_six_languages(app: App, fake: FakeBotAPI, language: str, question: str) -> None:
    asked = message(question, sender=user(language="en"))
    await send(app, message=asked)
    (reply,) = replies(fake)
    assert reply["parse_mode"] == "HTML"
    assert reply["reply_parameters"]["message_id"] == asked["message_id"]
    s = strings(language)
    hedge = f"<i>{html.escape(s('hedge'))}</i>\n\n"  # a closest answer opens with the hedge, then quotes
    assert reply["text"].removeprefix(hedge).startswith("<blockquote>")
    assert "<blockquote expandable>" in reply["text"] or language in ("fr", "id", "nl")
    translated = [s("translated_from", language=s.language_name(src)) for src in ("fr", "id", "nl") if src != language]
    original = s("original_label", language="").split("(")[0].strip()
    assert any(html.escape(t) in reply["text"] for t in translated) or original not in reply["text"]
    assert fake.sent("sendChatAction")[0]["action"] == "typing"


async def test_start_welcomes_with_three_example_buttons(app: App, fake: FakeBotAPI) -> None:
    await send(app, message=message("/start", sender=user(language="de", first_name="Jörg <3")))
    (reply,) = replies(fake)
    assert "Jörg &lt;3" in reply["text"]
    buttons = [row[0] for row in reply["reply_markup"]["inline_keyboard"]]
    assert [b["text"] for b in buttons] == strings("de").examples
    bot_message = {**message("x", chat={"id": 1001, "type": "private"}), "from": fake.bot_user}
    await send(app, **callback(buttons[0]["callback_data"], bot_message, user(language="de")))
    answer = replies(fake)[-1]
    assert (
        "<blockquote>" in answer["text"]
        and strings("de")("translated_from", language="").split("(")[0] in answer["text"]
    )


async def test_start_deep_link_carries_a_question(app: App, fake: FakeBotAPI) -> None:
    payload = deep_link_payload("How late did it start?")
    assert payload is not None
    await send(app, message=message(f"/start {payload}"))
    assert "<blockquote>" in replies(fake)[0]["text"]


async def test_help_and_sources(app: App, fake: FakeBotAPI) -> None:
    await send(app, message=message("/help", sender=user(language="fr")))
    assert f"@{fake.bot_user['username']}" in replies(fake)[0]["text"]
    assert "/ask" in replies(fake)[0]["text"]
    await send(app, message=message("/sources"))
    listing = replies(fake)[1]["text"]
    for source in ("La Presse", "NOS Nieuws", "BBC News", "Objet Connecté"):
        assert source in listing
    assert 'href="https://nos.nl/' in listing


async def test_lang_choice_is_remembered_and_used(app: App, fake: FakeBotAPI) -> None:
    await send(app, message=message("/lang"))
    keyboard = replies(fake)[0]["reply_markup"]["inline_keyboard"]
    german = next(row[0] for row in keyboard if row[0]["callback_data"] == "lang:de")
    bot_message = {**message("x", chat={"id": 1001, "type": "private"}), "from": fake.bot_user}
    await send(app, **callback(german["callback_data"], bot_message))
    assert fake.sent("editMessageText")[0]["text"] == strings("de")("lang_set", language="Deutsch")
    await app.update_persistence()
    await send(app, message=message("Why was the Space delayed?"))
    answer = replies(fake)[-1]["text"]
    assert strings("de")("translated_from", language="").split("(")[0] in answer


async def test_group_mention_ask_and_reply_are_answered_chatter_ignored(app: App, fake: FakeBotAPI) -> None:
    username = fake.bot_user["username"]
    text = f"@{username} how late did the conversation start?"
    await send(app, message=message(text, chat=group_chat(), entities=mention(text, username)))
    await send(app, message=message("/ask why was the Space delayed?", chat=group_chat()))
    bot_said = {**message("earlier answer", chat=group_chat()), "from": fake.bot_user}
    await send(app, message=message("and how many people listened?", chat=group_chat(), reply_to=bot_said))
    await send(app, message=message("lunch anyone?", chat=group_chat()))
    await send(app, message=message("@someoneelse what about the DDoS?", chat=group_chat()))
    sent = replies(fake)
    assert len(sent) == 3
    assert all(int(m["chat_id"]) == GROUP_ID and "reply_parameters" in m for m in sent)


async def test_ask_without_a_question_explains_usage(app: App, fake: FakeBotAPI) -> None:
    await send(app, message=message("/ask", chat=group_chat()))
    assert "/ask" in replies(fake)[0]["text"]


async def test_inline_query_returns_quoted_articles(app: App, fake: FakeBotAPI) -> None:
    await send(app, **inline("Why was the Space delayed?"))
    (answered,) = fake.sent("answerInlineQuery")
    results = answered["results"]
    assert 1 <= len(results) <= 10
    assert answered["cache_time"] == 300 and answered["is_personal"] is False
    first = results[0]
    assert first["type"] == "article" and ": " in first["title"]
    assert first["input_message_content"]["parse_mode"] == "HTML"
    assert first["input_message_content"]["message_text"].startswith("<blockquote>")


@pytest.mark.parametrize("query", ["", "  ", "a"])
async def test_empty_inline_query_gets_a_hint(app: App, fake: FakeBotAPI, query: str) -> None:
    await send(app, **inline(query))
    (answered,) = fake.sent("answerInlineQuery")
    assert [r["id"] for r in answered["results"]] == ["hint"]


async def test_more_button_sends_the_next_results(app: App, fake: FakeBotAPI) -> None:
    await send(app, message=message("What did Trump say?"))
    first = replies(fake)[0]
    more = first["reply_markup"]["inline_keyboard"][0][0]
    assert more["text"] == strings("en")("more_button")
    assert len(more["callback_data"].encode()) <= 64
    bot_message = {**message("x"), "from": fake.bot_user}
    await send(app, **callback(more["callback_data"], bot_message))
    second = replies(fake)[1]
    assert second["text"].startswith(strings("en")("more_header", question="What did Trump say?"))
    assert second["text"] != first["text"]


async def test_unknown_callback_data_is_ignored_quietly(app: App, fake: FakeBotAPI) -> None:
    bot_message = {**message("x"), "from": fake.bot_user}
    for data in ("more:AAAAAAAA:1", "forged", "lang:xx", "more:../../etc:1"):
        await send(app, **callback(data, bot_message))
    assert replies(fake) == []
    assert len(fake.sent("answerCallbackQuery")) == 4


async def test_html_injection_is_escaped(app: App, fake: FakeBotAPI) -> None:
    await send(app, message=message('<b>Why</b> was the <a href="x">Space</a> delayed & </blockquote>?'))
    await send(app, message=message("<i>recipe</i> for tarte tatin & <script>"))
    assert fake.rejected == []
    assert len(replies(fake)) == 2


async def test_an_answer_too_long_for_one_message_is_cut_cleanly(
    fake: FakeBotAPI, tmp_path: Path, detector: LanguageDetector
) -> None:
    root = tmp_path / "corpus"
    (root / "articles").mkdir(parents=True)
    long = " ".join(["The Space was delayed by a massive DDoS attack on X, Musk said <again> & again."] * 40)
    # Four long paragraphs of one article: passages of one article never fold into each other as corroboration.
    (root / "articles" / "long.md").write_text(
        '---\nid: long\ntitle: "T"\nsource: "S"\nurl: ""\npublished: 2024-08-13\nlanguage: en\n---\n'
        + "\n\n".join(f"{long} {i}" for i in range(4))
        + "\n",
        encoding="utf-8",
    )
    engine = Engine.build(load_corpus(root), embedder=HashingEmbedder(), detector=detector)
    bot_app = application(bot_config(tmp_path), AnswerService(engine, corpus_dir=root, cache_dir=None), fake)
    await bot_app.initialize()
    await send(bot_app, message=message("Why was the Space delayed by a DDoS attack?"))
    await bot_app.shutdown()
    (reply,) = replies(fake)
    assert fake.rejected == []
    assert len(reply["text"]) <= MessageLimit.MAX_TEXT_LENGTH
    assert reply["text"].count("<blockquote>") == reply["text"].count("</blockquote>")
    assert reply["reply_markup"]["inline_keyboard"][0][0]["text"] == "More"


async def test_not_in_the_coverage_is_helpful(app: App, fake: FakeBotAPI) -> None:
    await send(app, message=message("Wat is de hoofdstad van Australië?", sender=user(language="en")))
    text = replies(fake)[0]["text"]
    assert "/sources" in text and html.escape(strings("nl").examples[0]) in text
    assert text.startswith(strings("nl")("not_found", example="").splitlines()[0])


async def test_a_flood_from_one_user_gets_one_notice(app: App, fake: FakeBotAPI) -> None:
    burst = 5
    for _ in range(burst + 6):
        await send(app, message=message("Why was the Space delayed?", sender=user(user_id=555)))
    sent = replies(fake)
    notices = [m for m in sent if m["text"].startswith("You're sending questions faster")]
    assert len(notices) == 1
    assert len(sent) == burst + 1


async def test_admin_reload_reports_counts_and_changes(fake: FakeBotAPI, corpus_copy: Path, tmp_path: Path) -> None:
    engine = Engine.build(load_corpus(corpus_copy), embedder=HashingEmbedder(), detector=LanguageDetector())
    service = AnswerService(engine, corpus_dir=corpus_copy, cache_dir=None)
    bot_app = application(bot_config(tmp_path), service, fake)
    await bot_app.initialize()
    nos = corpus_copy / "articles" / "nos-interview-musk-trump.md"
    nos.write_text(nos.read_text(encoding="utf-8") + "\nEen nieuwe alinea over de uitzending.\n", encoding="utf-8")
    shutil.rmtree(corpus_copy / "translations" / "nos-interview-musk-trump")
    (corpus_copy / "articles" / "objetconnecte-trump-musk-x-spaces.md").unlink()
    shutil.rmtree(corpus_copy / "translations" / "objetconnecte-trump-musk-x-spaces")
    await send(bot_app, message=message("/reload", sender=user(user_id=ADMIN_ID)))
    await bot_app.shutdown()
    started, done = replies(fake)
    assert started["text"] == strings("en")("reload_started")  # said at once: a reload can take minutes
    text = done["text"]
    assert text.startswith("Corpus reloaded in ") and " s: 3 articles" in text
    assert "Removed: objetconnecte-trump-musk-x-spaces" in text and "Changed: nos-interview-musk-trump" in text
    assert service.engine is not engine and len(service.engine.corpus.articles) == 3


async def test_reload_with_a_broken_file_keeps_the_old_index(
    fake: FakeBotAPI, corpus_copy: Path, tmp_path: Path
) -> None:
    engine = Engine.build(load_corpus(corpus_copy), embedder=HashingEmbedder(), detector=LanguageDetector())
    service = AnswerService(engine, corpus_dir=corpus_copy, cache_dir=None)
    bot_app = application(bot_config(tmp_path), service, fake)
    await bot_app.initialize()
    article = corpus_copy / "articles" / "nos-interview-musk-trump.md"
    article.write_text(article.read_text(encoding="utf-8").replace("published: 2024-08-13", "published: yesterday"))
    await send(bot_app, message=message("/reload", sender=user(user_id=ADMIN_ID)))
    await send(bot_app, message=message("Hoe lang duurde de uitzending?"))
    await bot_app.shutdown()
    _, refusal, answer = replies(fake)
    assert "articles/nos-interview-musk-trump.md:6: published" in refusal["text"]
    assert service.engine is engine
    assert "<blockquote>" in answer["text"]


async def test_non_admin_reload_is_refused_and_logged(
    app: App, fake: FakeBotAPI, service: AnswerService, caplog: pytest.LogCaptureFixture
) -> None:
    engine = service.engine
    with caplog.at_level(logging.WARNING):
        await send(app, message=message("/reload", sender=user(user_id=31337)))
    assert replies(fake)[0]["text"] == strings("en")("not_admin")
    assert service.engine is engine
    assert "refused /reload from user id 31337" in caplog.text


async def test_admin_stats(app: App, fake: FakeBotAPI) -> None:
    await send(app, message=message("Why was the Space delayed?"))
    await send(app, message=message("/stats", sender=user(user_id=ADMIN_ID)))
    text = replies(fake)[-1]["text"]
    assert "Questions answered: 1" in text and "4 articles" in text and TOKEN not in text


async def test_a_handler_failure_apologises_without_a_traceback(
    app: App, fake: FakeBotAPI, service: AnswerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(service, "ask", broken)
    await send(app, message=message("Warum begann das Gespräch so spät?", sender=user(language="de")))
    (reply,) = replies(fake)
    assert reply["text"] == strings("de")("error")
    assert "Traceback" not in reply["text"] and "exploded" not in reply["text"]


async def test_unparseable_html_falls_back_to_plain_text(app: App, fake: FakeBotAPI) -> None:
    fake.fail_next("sendMessage", status=400, description="Bad Request: can't parse entities: unsupported start tag")
    await send(app, message=message("Why was the Space delayed?"))
    (reply,) = replies(fake)
    assert "parse_mode" not in reply and "<blockquote>" not in reply["text"]
    assert "La Presse" in reply["text"] or "NOS" in reply["text"] or "Objet" in reply["text"] or "BBC" in reply["text"]


async def test_language_choice_survives_a_restart(fake: FakeBotAPI, service: AnswerService, tmp_path: Path) -> None:
    config = bot_config(tmp_path)
    first = application(config, service, fake)
    await first.initialize()
    bot_message = {**message("x"), "from": fake.bot_user}
    await send(first, **callback("lang:es", bot_message))
    await first.shutdown()  # flushes persistence, as a stopping bot does
    second = application(config, service, fake)
    await second.initialize()
    await send(second, message=message("Why was the Space delayed?"))
    await second.shutdown()
    answer = replies(fake)[-1]["text"]
    assert strings("es")("translated_from", language="").split("{")[0].split(" ")[0] in answer
    assert "<blockquote>" in answer
