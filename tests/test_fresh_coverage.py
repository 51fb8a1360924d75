"""Fresh coverage end to end: an admin adds an untranslated article, readers ask in other languages.

No translation service is configured. The article comes in by link, by feed and by upload,
through the shipped bot and the strict fake Bot API; the page and the feed are small callables
(a local HTTP server for the link, an in-process transport for the feed). Each reader is
answered from the fresh article in their own language: the quote is the original, its language
named and never passed off as translated, with its answering sentence in bold.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from telegram.ext import Application

from bot._feeds import FETCHER_KEY, Fetcher, poll_due_feeds
from bot._i18n import strings
from bot._service import AnswerService
from index import Engine
from index.intake.feeds import FeedSpec
from index.intake.fetch import FetchSettings

from .botkit import ADMIN_ID, application, bot_config, document_message, message, update_for, user
from .fakebot import FakeBotAPI
from .intake.test_feeds import NOW, public
from .localhttp import serve
from .test_curation import make_service
from .test_links import link_message

App = Application[Any, Any, Any, Any, Any, Any]
FRESH = Path(__file__).resolve().parent / "data" / "fresh"
ADMIN = user(user_id=ADMIN_ID)
FEED_URL = "https://news.test/terroir.xml"
VINEYARD_QUESTIONS = {
    "en": "How many bottles did the vineyard in Brittany produce?",
    "nl": "Hoeveel flessen heeft de Bretonse wijngaard geproduceerd?",
    "id": "Berapa botol yang dihasilkan kebun anggur di Bretagne?",
    "de": "Wie viele Flaschen hat das Weingut in der Bretagne produziert?",
    "es": "¿Cuántas botellas produjo el viñedo bretón?",
}
LIGHTHOUSE_QUESTIONS = {
    "fr": "Combien a coûté la restauration du phare de Greyhaven Head ?",
    "es": "¿Cuánto costó la restauración del faro de Greyhaven Head?",
}


@dataclasses.dataclass(frozen=True)
class Fresh:
    """One article of ``tests/data/fresh``: its front matter, its paragraphs, and the page that carries it."""

    name: str
    meta: dict[str, Any]
    paragraphs: list[str]

    @classmethod
    def load(cls, name: str) -> Fresh:
        raw = (FRESH / f"{name}.md").read_text(encoding="utf-8")
        _, front, body = raw.split("---\n", 2)
        paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
        return cls(name, yaml.safe_load(front), paragraphs)

    @property
    def markdown(self) -> bytes:
        return (FRESH / f"{self.name}.md").read_bytes()

    def page(self) -> bytes:
        body = "".join(
            f"<h2>{html.escape(p[3:])}</h2>" if p.startswith("## ") else f"<p>{html.escape(p)}</p>"
            for block in self.paragraphs
            for p in block.split("\n")
        )
        meta = self.meta
        return (
            f'<!doctype html><html lang="{meta["language"]}"><head><meta charset="utf-8">'
            f"<title>{html.escape(meta['title'])}</title>"
            f'<meta property="og:site_name" content="{html.escape(meta["source"], quote=True)}">'
            f'<meta property="article:published_time" content="{meta["published"]}">'
            f'<link rel="canonical" href="{meta["url"]}"></head>'
            f"<body><article><h1>{html.escape(meta['title'])}</h1>{body}</article></body></html>"
        ).encode()


VINEYARD = Fresh.load("courrier-armor-vignoble-plouzevan")
LIGHTHOUSE = Fresh.load("ardlow-gazette-greyhaven-lighthouse-relit")


def page_response(fresh: Fresh) -> httpx.Response:
    return httpx.Response(200, headers={"Content-Type": "text/html; charset=utf-8"}, content=fresh.page())


@pytest.fixture()
async def bot(
    fake: FakeBotAPI, corpus_copy: Path, engine: Engine, embedding_cache: Path, tmp_path: Path
) -> AsyncIterator[tuple[App, AnswerService]]:
    """The shipped bot over a copy of the bundled corpus, with no translation service."""
    service = make_service(corpus_copy, engine, embedding_cache)
    config = dataclasses.replace(bot_config(tmp_path), allow_private_addresses=True, feeds=(FeedSpec(FEED_URL),))
    bot_app = application(config, service, fake)
    await bot_app.initialize()
    yield bot_app, service
    await bot_app.shutdown()


async def send(bot_app: App, payload: dict[str, Any]) -> None:
    await bot_app.process_update(update_for(bot_app, message=payload))


def bold_passages(reply: str) -> list[str]:
    return [html.unescape(found) for found in re.findall(r"<b>(.*?)</b>", reply, flags=re.S)]


async def assert_answered_from(
    bot_app: App, fake: FakeBotAPI, fresh: Fresh, questions: dict[str, str], evidence: str
) -> None:
    original = fresh.meta["language"]
    for language, question in questions.items():
        await send(bot_app, message(question, sender=user(user_id=4242, language=None)))
        reply = fake.sent("sendMessage")[-1]["text"]
        s = strings(language)
        plain = html.unescape(reply)
        assert fresh.meta["source"] in plain, (language, plain)
        assert s("no_translation", language=s.language_name(language), original=s.language_name(original)) in plain
        translated = s("translated_from", language=s.language_name(original))
        assert translated not in plain, (language, plain)
        assert s("original_label", language=s.language_name(original)) not in plain  # shown once, as the quote
        assert any(evidence in passage for passage in bold_passages(reply)), (language, reply)


async def test_an_article_added_by_link_answers_readers_in_five_other_languages(
    bot: tuple[App, AnswerService], fake: FakeBotAPI
) -> None:
    bot_app, service = bot

    def site(request: httpx.Request) -> httpx.Response:
        return page_response(VINEYARD)

    with serve(site, "pages") as port:
        await send(bot_app, link_message(f"http://127.0.0.1:{port}/vignoble"))
    assert fake.sent("sendMessage")[-1]["text"].startswith(f"Added <b>{VINEYARD.meta['title']}</b>")
    assert service.translation is None
    await assert_answered_from(bot_app, fake, VINEYARD, VINEYARD_QUESTIONS, "3 200 bouteilles")


async def test_an_article_added_by_feed_answers_readers_in_five_other_languages(
    bot: tuple[App, AnswerService], fake: FakeBotAPI
) -> None:
    bot_app, _ = bot
    feed = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Terroir</title><link>https://news.test/</link>'
        b"<item><title>Vignoble</title><link>https://news.test/vignoble</link><guid>vignoble</guid></item>"
        b"</channel></rss>"
    )

    async def site(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/terroir.xml":
            return httpx.Response(200, headers={"Content-Type": "application/rss+xml"}, content=feed)
        return page_response(VINEYARD)

    bot_app.bot_data[FETCHER_KEY] = Fetcher(FetchSettings(), resolver=public, transport=httpx.MockTransport(site))
    report = await poll_due_feeds(bot_app, now=NOW)
    assert report is not None and len(report.added) == 1
    await assert_answered_from(bot_app, fake, VINEYARD, VINEYARD_QUESTIONS, "3 200 bouteilles")


async def upload(bot_app: App, fake: FakeBotAPI, fresh: Fresh) -> str:
    """An admin sends the article's Markdown file; the bot's reply, unescaped."""
    document = fake.add_file(fresh.markdown, f"{fresh.name}.md", "text/markdown")
    await send(bot_app, document_message(document, sender=ADMIN))
    return html.unescape(fake.sent("sendMessage")[-1]["text"])


async def test_an_uploaded_article_answers_readers_in_five_other_languages(
    bot: tuple[App, AnswerService], fake: FakeBotAPI
) -> None:
    bot_app, _ = bot
    assert VINEYARD.meta["title"] in await upload(bot_app, fake, VINEYARD)
    await assert_answered_from(bot_app, fake, VINEYARD, VINEYARD_QUESTIONS, "3 200 bouteilles")


async def test_an_english_article_answers_french_and_spanish_readers(
    bot: tuple[App, AnswerService], fake: FakeBotAPI
) -> None:
    bot_app, _ = bot
    assert LIGHTHOUSE.meta["title"] in await upload(bot_app, fake, LIGHTHOUSE)
    await assert_answered_from(bot_app, fake, LIGHTHOUSE, LIGHTHOUSE_QUESTIONS, "£2.4 million")
