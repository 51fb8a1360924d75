"""Every surface at its longest, in every language: nothing the bot sends is over Telegram's limits.

The strict fake refuses a text over 4,096 UTF-16 code units after entity parsing, as Telegram does,
so titles and questions here are full of emoji (two units each) and of characters HTML escapes.
The surfaces: an answer quoting an article with a 5,800-character title, its inline result, the
"Added" reply to an upload with such a title, the /remove confirmation, /sources with 60 articles
(paged, with Next and Previous), /following with 20 follows of 200 characters.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from telegram.ext import Application

from bot._fit import visible_units
from bot._i18n import strings
from bot._service import AnswerService
from index import SUPPORTED, Answer, Engine, LanguageDetector, Result, load_corpus
from index.corpus.fields import MAX_SOURCE, MAX_TITLE

from .botkit import ADMIN_ID, application, bot_config, callback, document_message, message, update_for, user
from .conftest import HashingEmbedder
from .fakebot import MAX_TEXT, FakeBotAPI

App = Application[Any, Any, Any, Any, Any, Any]
LONG_TITLE = ("Le <titre> & «😀» sans fin " * 250)[:5800]
LONG_SOURCE = "Agence 📰 & <Presse> " * 20
ARTICLES = 60
ERROR_TEXTS = {strings(code)("error") for code in SUPPORTED}


def article_file(root: Path, number: int, title: str, source: str = "Source 📰") -> None:
    slug = f"article-{number:02d}"
    body = (
        f"Passage {number}: the Space was delayed by a massive DDoS attack on X, Musk said.\n\n"
        f"A second paragraph of article {number} about the conversation with Trump."
    )
    (root / "articles" / f"{slug}.md").write_text(
        f"---\nid: {slug}\ntitle: {title!r}\nsource: {source!r}\nurl: https://example.org/{slug}\n"
        f"published: 2024-08-{1 + number % 28:02d}\nlanguage: en\n---\n{body}\n",
        encoding="utf-8",
    )


@pytest.fixture()
async def crowded(fake: FakeBotAPI, tmp_path: Path, detector: LanguageDetector) -> Any:
    """The bot over 60 articles with long emoji titles, one of them 5,800 characters long (a fast stand-in encoder)."""
    root = tmp_path / "corpus"
    (root / "articles").mkdir(parents=True)
    article_file(root, 0, LONG_TITLE, LONG_SOURCE)
    for number in range(1, ARTICLES):
        article_file(root, number, f"{number} " + "😀 Titre très long & <b>pas</b> du HTML " * 10)
    engine = Engine.build(load_corpus(root), embedder=HashingEmbedder(), detector=detector)
    service = AnswerService(engine, corpus_dir=root, cache_dir=None, max_upload_bytes=100_000)
    bot_app = application(bot_config(tmp_path), service, fake)
    await bot_app.initialize()
    yield bot_app, service
    await bot_app.shutdown()


async def send(bot_app: App, **payload: Any) -> None:
    await bot_app.process_update(update_for(bot_app, **payload))


def accepted(fake: FakeBotAPI) -> None:
    """Nothing refused by the fake, no apology for a failure, everything within the limit as Telegram counts it."""
    assert fake.rejected == []
    for sent in fake.sent("sendMessage") + fake.sent("editMessageText"):
        assert sent["text"] not in ERROR_TEXTS and html.escape(sent["text"]) not in ERROR_TEXTS
        assert visible_units(sent["text"]) <= MAX_TEXT


def test_the_loaded_title_and_source_are_cut_at_intake(crowded: Any) -> None:
    _, service = crowded
    article = next(a for a in service.engine.corpus.articles if a.id == "article-00")
    assert len(article.title) <= MAX_TITLE and article.title.endswith("…")
    assert len(article.source) <= MAX_SOURCE and article.source.endswith("…")
    assert LONG_TITLE.startswith(article.title[:-1])


def long_answer(language: str) -> Answer:
    """An answer quoting a passage of a 5,800-character title: what the engine gave before titles were cut."""
    text = "The Space was delayed 😀 by a DDoS & <attack>. " * 90
    results = tuple(
        Result(
            "article-00",
            i,
            LONG_SOURCE * 3,
            LONG_TITLE,
            "https://example.org/a",
            "2024-08-13",
            "en",
            text,
            None,
            None,
            1.0,
            highlights=((0, 46),),
        )
        for i in range(7)
    )
    return Answer("Why?", language, True, results[:3], "en", results[3:])


@pytest.mark.parametrize("language", SUPPORTED)
async def test_an_answer_and_its_inline_result_with_a_huge_title_fit(
    crowded: Any, fake: FakeBotAPI, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    bot_app, service = crowded
    monkeypatch.setattr(service, "ask", lambda question, **kwargs: long_answer(language))
    await send(bot_app, message=message("Why was the Space delayed?"))
    await send(bot_app, **inline("Why was the Space delayed?"))
    (reply,) = fake.sent("sendMessage")
    assert "<blockquote>" in reply["text"] and "…" in reply["text"]
    (answered,) = fake.sent("answerInlineQuery")
    for result in answered["results"]:
        assert len(result["title"]) <= 64 and len(result["description"]) <= 160
        assert visible_units(result["input_message_content"]["message_text"]) <= MAX_TEXT
    accepted(fake)


def inline(query: str) -> dict[str, Any]:
    from .botkit import inline as make

    return make(query)


@pytest.mark.parametrize("language", SUPPORTED)
async def test_the_added_reply_to_a_page_with_a_huge_title_fits(crowded: Any, fake: FakeBotAPI, language: str) -> None:
    bot_app, service = crowded
    page = f"""<!doctype html><html><head><title>{html.escape(LONG_TITLE)}</title></head><body><article>
    <h1>{html.escape(LONG_TITLE)}</h1><p>The Space was delayed by a DDoS attack on X, Musk said on Monday.</p>
    <p>The conversation started 40 minutes late, and Trump said little about it.</p></article></body></html>"""
    caption = f"source: Presse {language}\npublished: 2024-08-13\nurl: https://example.org/huge-{language}"
    document = fake.add_file(page.encode(), "huge.html", "text/html")
    await send(bot_app, message=document_message(document, caption=caption, sender=user(ADMIN_ID, language=language)))
    added = fake.sent("sendMessage")[-1]["text"]
    article = next(a for a in service.engine.corpus.articles if a.source == f"Presse {language}")
    assert len(article.title) <= MAX_TITLE  # cut at intake: the saved article too
    assert f"<b>{html.escape(article.title[:50], quote=False)}" in added
    accepted(fake)


@pytest.mark.parametrize("language", SUPPORTED)
async def test_the_remove_confirmation_of_a_huge_title_fits(crowded: Any, fake: FakeBotAPI, language: str) -> None:
    bot_app, _ = crowded
    await send(bot_app, message=message("/remove article-00", sender=user(ADMIN_ID, language=language)))
    (confirm,) = fake.sent("sendMessage")
    assert strings(language)("remove_button") in str(confirm["reply_markup"])
    assert visible_units(confirm["text"]) < 1000  # the title is cut to a sane length, not just under the limit
    await send(bot_app, message=message("/remove", sender=user(ADMIN_ID, language=language)))  # the list of ids
    accepted(fake)


def keyboard(sent: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in sent.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


@pytest.mark.parametrize("language", SUPPORTED)
async def test_sources_with_60_articles_are_paged_with_next_and_previous(
    crowded: Any, fake: FakeBotAPI, language: str
) -> None:
    bot_app, _ = crowded
    s = strings(language)
    reader = user(language=language)
    await send(bot_app, message=message("/sources", sender=reader))
    (first,) = fake.sent("sendMessage")
    pages = [first]
    while (following := [b for b in keyboard(pages[-1]) if b["text"] == s("next_button")]) and len(pages) < 20:
        bot_message = {**message("x", chat={"id": 1001, "type": "private"}), "from": fake.bot_user}
        await send(bot_app, **callback(following[0]["callback_data"], bot_message, reader))
        pages.append(fake.sent("editMessageText")[-1])
    assert len(pages) >= 3  # 60 long emoji titles do not fit two messages
    for number, page in enumerate(pages, 1):
        assert s("sources_page", page=number, pages=len(pages)) in page["text"]
        labels = [b["text"] for b in keyboard(page)]
        assert (s("previous_button") in labels) is (number > 1)
        assert (s("next_button") in labels) is (number < len(pages))
    listed = [line for page in pages for line in page["text"].split("\n") if line.startswith("• ")]
    assert len(listed) == ARTICLES
    assert all(f'href="https://example.org/article-{n:02d}"' in "".join(listed) for n in range(ARTICLES))
    assert len(fake.sent("answerCallbackQuery")) == len(pages) - 1
    accepted(fake)


@pytest.mark.parametrize("language", SUPPORTED)
async def test_following_20_questions_of_200_characters_fits(crowded: Any, fake: FakeBotAPI, language: str) -> None:
    bot_app, _ = crowded
    store = bot_app.bot_data["runtime"].following.store
    questions = [f"{n:02d} " + ("Pourquoi 😀 <le> & Space " * 12)[:197] for n in range(20)]
    for question in questions:
        store.follow(
            chat_id=1001, user_id=1001, question=question, language=language, hint=None, vector=np.ones(4), model="m"
        )
    await send(bot_app, message=message("/following", sender=user(language=language)))
    sent = fake.sent("sendMessage")
    assert sent[0]["text"].startswith(strings(language)("following_header", count=20, limit=store.max_follows))
    text = "\n".join(m["text"] for m in sent)
    assert all(html.escape(q[:40], quote=False) in text for q in questions)
    stops = [b["callback_data"] for m in sent for b in keyboard(m)]
    assert len(stops) == 20 == len(set(stops))
    accepted(fake)
