"""Admins add articles by link, through the shipped bot, from pages on a local HTTP server.

The bot runs with ``intake.allow_private_addresses`` on (the pages are on 127.0.0.1),
except in the test that checks the refusal.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram.ext import Application

from bot._i18n import strings
from bot._service import AnswerService
from index import Engine

from .botkit import ADMIN_ID, application, bot_config, message, update_for, user, utf16_len
from .fakebot import FakeBotAPI
from .localhttp import serve
from .test_curation import article_files, make_service

App = Application[Any, Any, Any, Any, Any, Any]
ADMIN = user(user_id=ADMIN_ID)
EN = strings("en")
PAGES = Path(__file__).resolve().parent / "data" / "pages"
FERRY = (PAGES / "harbour-gazette-ferry.html").read_bytes()
CANONICAL = "https://www.harbourgazette.example/news/2025/03/14/night-ferry-returns"


class Site:
    """A local web server: the ferry page at /ferry (and at /copy), a PDF at /file.pdf; it counts requests."""

    def __init__(self) -> None:
        self.hits: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.hits.append(request.url.path)
        if request.url.path in ("/ferry", "/copy"):
            return httpx.Response(200, headers={"Content-Type": "text/html; charset=utf-8"}, content=FERRY)
        if request.url.path == "/file.pdf":
            return httpx.Response(200, headers={"Content-Type": "application/pdf"}, content=b"%PDF-1.7")
        return httpx.Response(404, headers={"Content-Type": "text/html"}, content=b"<p>not found</p>")


@pytest.fixture()
def site() -> Any:
    pages = Site()
    with serve(pages, "pages") as port:
        pages.base = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
        yield pages


async def bot_over(
    fake: FakeBotAPI, corpus: Path, engine: Engine, cache: Path, tmp_path: Path, *, private: bool
) -> AsyncIterator[tuple[App, AnswerService]]:
    service = make_service(corpus, engine, cache)
    config = dataclasses.replace(bot_config(tmp_path), allow_private_addresses=private)
    bot_app = application(config, service, fake)
    await bot_app.initialize()
    yield bot_app, service
    await bot_app.shutdown()


@pytest.fixture()
async def linked(
    fake: FakeBotAPI, corpus_copy: Path, engine: Engine, embedding_cache: Path, tmp_path: Path
) -> AsyncIterator[tuple[App, AnswerService]]:
    async for pair in bot_over(fake, corpus_copy, engine, embedding_cache, tmp_path, private=True):
        yield pair


def link_message(text: str, sender: dict[str, Any] = ADMIN) -> dict[str, Any]:
    """A private message whose first line is a link, marked with a url entity as Telegram marks it."""
    url = text.split("\n", 1)[0]
    return message(text, sender=sender, entities=[{"type": "url", "offset": 0, "length": utf16_len(url)}])


async def send(bot_app: App, payload: dict[str, Any]) -> None:
    await bot_app.process_update(update_for(bot_app, message=payload))


def texts(fake: FakeBotAPI) -> list[str]:
    return [m["text"] for m in fake.sent("sendMessage")]


async def test_a_link_is_added_end_to_end_and_then_quoted(
    linked: tuple[App, AnswerService], fake: FakeBotAPI, site: Any
) -> None:
    bot_app, service = linked
    await send(bot_app, link_message(f"{site.base}/ferry"))
    checking, reply = texts(fake)[-2:]
    assert checking == EN("link_fetching", url=f"{site.base}/ferry")
    assert reply.startswith("Added <b>Night ferry returns to Port Ellery after two-year pause</b> (The Harbour Gazette")
    assert EN("link_from_page", fields="title, publisher, date, address, language") in reply
    article = next(a for a in service.engine.corpus.articles if a.source == "The Harbour Gazette")
    assert (article.url, article.published.isoformat(), article.language) == (CANONICAL, "2025-03-14", "en")
    saved = article.path.read_text(encoding="utf-8")
    assert "## Islanders relieved" in saved and "cookies" not in saved and "Photograph" not in saved

    await send(bot_app, message("When will the night ferry to the Skerran Isles sail again?", sender=user()))
    answer = html.unescape(texts(fake)[-1])
    assert "The Harbour Gazette" in answer and "Night ferry returns to Port Ellery" in answer
    assert "will sail again on Friday" in answer


async def test_the_same_link_or_one_with_the_same_canonical_address_is_not_added_twice(
    linked: tuple[App, AnswerService], fake: FakeBotAPI, site: Any, corpus_copy: Path
) -> None:
    bot_app, _service = linked
    await send(bot_app, link_message(f"{site.base}/ferry"))
    after_first = article_files(corpus_copy)
    await send(bot_app, link_message(CANONICAL + "?utm_source=x"))
    assert "Already in the corpus" in texts(fake)[-1] and site.hits == ["/ferry"]  # known address: not fetched
    await send(bot_app, link_message(f"{site.base}/copy"))  # another address, the same canonical one
    reply = texts(fake)[-1]
    assert reply.startswith("Already in the corpus") and "harbour-gazette-night-ferry" in reply
    assert article_files(corpus_copy) == after_first


async def test_add_command_with_fields_and_without_a_link(
    linked: tuple[App, AnswerService], fake: FakeBotAPI, site: Any
) -> None:
    bot_app, service = linked
    await send(bot_app, message("/add", sender=ADMIN))
    assert texts(fake)[-1] == EN("add_usage")
    await send(bot_app, message(f"/add {site.base}/ferry\nsource: Gazette Weekly\npublished: 2025-03-15", sender=ADMIN))
    article = next(a for a in service.engine.corpus.articles if a.source == "Gazette Weekly")
    assert article.published.isoformat() == "2025-03-15"  # the lines after the link win over the page
    assert EN("link_from_page", fields="title, address, language") in texts(fake)[-1]


async def test_pages_that_cannot_be_added_are_explained(
    linked: tuple[App, AnswerService], fake: FakeBotAPI, site: Any, corpus_copy: Path
) -> None:
    bot_app, _ = linked
    before = article_files(corpus_copy)
    await send(bot_app, link_message(f"{site.base}/file.pdf"))
    assert texts(fake)[-1].startswith("Nothing was added: I couldn't fetch") and "application/pdf" in texts(fake)[-1]
    await send(bot_app, link_message(f"{site.base}/missing"))
    assert "404" in texts(fake)[-1]
    assert article_files(corpus_copy) == before and fake.rejected == []


async def test_a_link_from_anyone_else_is_an_ordinary_question(
    linked: tuple[App, AnswerService], fake: FakeBotAPI, site: Any
) -> None:
    bot_app, service = linked
    before = service.engine
    await send(bot_app, link_message(f"{site.base}/ferry", sender=user(31337)))
    assert site.hits == [] and service.engine is before
    assert not any("Fetching" in text for text in texts(fake))
    assert fake.sent("sendMessage")  # answered (or told nothing matched), as any question is


async def test_a_private_address_is_refused_by_default(
    fake: FakeBotAPI, corpus_copy: Path, engine: Engine, embedding_cache: Path, tmp_path: Path, site: Any
) -> None:
    async for bot_app, _ in bot_over(fake, corpus_copy, engine, embedding_cache, tmp_path, private=False):
        await send(bot_app, link_message(f"{site.base}/ferry"))
        reply = texts(fake)[-1]
        assert reply.startswith("Nothing was added") and "loopback" in reply
        assert "intake.allow_private_addresses" in reply and site.hits == []
