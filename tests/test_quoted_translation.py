"""Translate what is quoted, when it is quoted: readers of a fresh French article, through the shipped bot.

The bot runs against the strict fake Bot API; DeepL and an OpenAI-compatible model are
strict fakes of their published descriptions, served over HTTP on 127.0.0.1. A French
article comes in (by link, or already in the corpus), and readers ask about it in Dutch
and German: the quote comes back machine-translated and labelled, its answering
sentence bold, the original beside it, each passage translated once per language.
Failures of every kind leave the original with a note, and tell the admins once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import logging
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram.ext import Application

from bot._config import Translation
from bot._i18n import strings
from bot._service import AnswerService
from index import Engine

from .botkit import ADMIN_ID, application, bot_config, message, user
from .fake_deepl import FakeDeepL
from .fake_libretranslate import FakeLibreTranslate
from .fake_openai import FakeOpenAI
from .localhttp import serve
from .test_curation import make_service
from .test_fresh_coverage import FRESH, VINEYARD, VINEYARD_QUESTIONS, bold_passages, page_response, send
from .test_links import link_message

App = Application[Any, Any, Any, Any, Any, Any]
DEEPL_KEY = "deepl-secret-key-1234:fx"
OPENAI_KEY = "sk-openai-secret-5678"
MODEL = "llama3.1:8b"
EVIDENCE = "3 200 bouteilles"
DUTCH = user(user_id=5001, language=None)
DUTCH_TOO = user(user_id=5002, language=None)
GERMAN = user(user_id=5003, language=None)


def translation(**settings: Any) -> Translation:
    """Settings as the configuration file gives them; replies wait long enough for a busy test machine
    unless a test is about waiting."""
    environment = {"DEEPL_AUTH_KEY": DEEPL_KEY, "OPENAI_API_KEY": OPENAI_KEY}  # keys come from the environment
    return Translation.model_validate({"wait_ms": 30_000, **settings}, context=environment)


@dataclasses.dataclass
class Bot:
    app: App
    service: AnswerService
    fake: Any


@pytest.fixture()
def deepl() -> Iterator[tuple[FakeDeepL, str]]:
    fake = FakeDeepL(DEEPL_KEY)
    with fake.serve() as url:
        yield fake, url


@pytest.fixture()
def model_server() -> Iterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI((MODEL,))
    with fake.serve() as url:
        yield fake, url


async def start(fake: Any, corpus: Path, engine: Engine, cache: Path, tmp_path: Path, settings: Translation) -> App:
    service = make_service(corpus, engine, cache)
    config = dataclasses.replace(bot_config(tmp_path), allow_private_addresses=True, translation=settings)
    app = application(config, service, fake)
    await app.initialize()
    return app


@pytest.fixture()
def with_vineyard(corpus_copy: Path) -> Path:
    """The corpus copy with the French article already in it (no translation files)."""
    shutil.copy(FRESH / f"{VINEYARD.name}.md", corpus_copy / "articles" / f"{VINEYARD.name}.md")
    return corpus_copy


async def ask(app: App, fake: Any, question: str, sender: dict[str, Any]) -> str:
    await send(app, message(question, sender=sender))
    return str(fake.sent("sendMessage")[-1]["text"])


def quote_part(reply: str) -> str:
    """The quotes shown first (each result's), without the originals in their expandable quotes."""
    return "\n".join(re.findall(r"<blockquote>(.*?)</blockquote>", reply, flags=re.S))


def translated_quotes(reply: str, code: str) -> int:
    """How many of the reply's quotes are the fakes' translations into ``code`` (they start "[code] ")."""
    quotes = re.findall(r"<blockquote>(.*?)</blockquote>", reply, flags=re.S)
    return sum(html.unescape(re.sub(r"</?b>", "", q)).startswith(f"[{code}] ") for q in quotes)


def admin_notes(fake: Any) -> list[str]:
    return [m["text"] for m in fake.sent("sendMessage") if m["chat_id"] == ADMIN_ID]


def assert_translated(reply: str, language: str, label: str) -> None:
    s = strings(language)
    plain = html.unescape(reply)
    french = s.language_name("fr")
    assert s("machine_translation_by", service=label, language=french) in plain, plain
    assert s("original_label", language=french) in plain  # the original beside the translation
    assert s("no_translation", language=s.language_name(language), original=french) not in plain
    shown = bold_passages(quote_part(reply))
    assert any(EVIDENCE in passage for passage in shown), reply  # bold in the translation
    assert translated_quotes(reply, language) >= 1


async def test_a_french_article_added_by_link_is_quoted_in_dutch_by_deepl_and_german_asks_once(
    fake: Any, corpus_copy: Path, engine: Engine, embedding_cache: Path, tmp_path: Path, deepl: tuple[FakeDeepL, str]
) -> None:
    service_fake, url = deepl
    settings = translation(service="deepl", url=url)
    app = await start(fake, corpus_copy, engine, embedding_cache, tmp_path, settings)
    try:

        def site(request: httpx.Request) -> httpx.Response:
            return page_response(VINEYARD)

        with serve(site, "pages") as port:
            await send(app, link_message(f"http://127.0.0.1:{port}/vignoble"))
        assert fake.sent("sendMessage")[-1]["text"].startswith("Added <b>")
        assert service_fake.translate_requests == []  # quoted mode: nothing translated at intake

        reply = await ask(app, fake, VINEYARD_QUESTIONS["nl"], DUTCH)
        assert_translated(reply, "nl", "DeepL")
        dutch_requests = len(service_fake.translate_requests)
        assert dutch_requests == translated_quotes(reply, "nl")  # one request per quoted passage
        assert {r.body["target_lang"] for r in service_fake.translate_requests} == {"NL"}
        assert all(r.authorization == f"DeepL-Auth-Key {DEEPL_KEY}" for r in service_fake.translate_requests)

        again = await ask(app, fake, VINEYARD_QUESTIONS["nl"], DUTCH_TOO)
        assert_translated(again, "nl", "DeepL")
        assert len(service_fake.translate_requests) == dutch_requests  # from the cache

        german = await ask(app, fake, VINEYARD_QUESTIONS["de"], GERMAN)
        assert_translated(german, "de", "DeepL")
        new = service_fake.translate_requests[dutch_requests:]
        assert len(new) == translated_quotes(german, "de") and {r.body["target_lang"] for r in new} == {"DE"}
        assert service_fake.character_count == sum(len(t) for r in service_fake.translate_requests for t in r.texts)
    finally:
        await app.shutdown()


async def test_an_openai_compatible_model_translates_with_its_name_as_the_label(
    fake: Any,
    with_vineyard: Path,
    engine: Engine,
    embedding_cache: Path,
    tmp_path: Path,
    model_server: tuple[FakeOpenAI, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, url = model_server
    settings = translation(service="openai", url=url, model=MODEL)
    caplog.set_level(logging.DEBUG)
    app = await start(fake, with_vineyard, engine, embedding_cache, tmp_path, settings)
    try:
        reply = await ask(app, fake, VINEYARD_QUESTIONS["nl"], DUTCH)
        assert_translated(reply, "nl", MODEL)
        asked = len(server.completions)
        assert asked == translated_quotes(reply, "nl")
        assert all(r.body["model"] == MODEL and "⟦1⟧" in r.user_text for r in server.completions)
        await ask(app, fake, VINEYARD_QUESTIONS["nl"], DUTCH_TOO)
        assert len(server.completions) == asked
        german = await ask(app, fake, VINEYARD_QUESTIONS["de"], GERMAN)
        assert_translated(german, "de", MODEL)
        assert len(server.completions) == asked + translated_quotes(german, "de")
        assert all(r.authorization == f"Bearer {OPENAI_KEY}" for r in server.completions)
        assert OPENAI_KEY not in caplog.text + "".join(str(call.params) for call in fake.calls)
    finally:
        await app.shutdown()


async def test_readers_asking_at_once_share_one_request_per_passage(
    fake: Any, with_vineyard: Path, engine: Engine, embedding_cache: Path, tmp_path: Path, deepl: tuple[FakeDeepL, str]
) -> None:
    service_fake, url = deepl
    service_fake.delay = 0.5  # long enough that every reader asks while the first request is in flight
    app = await start(fake, with_vineyard, engine, embedding_cache, tmp_path, translation(service="deepl", url=url))
    try:
        readers = [user(user_id=6000 + i, language=None) for i in range(5)]
        await asyncio.gather(*(send(app, message(VINEYARD_QUESTIONS["nl"], sender=r)) for r in readers))
        replies = [m["text"] for m in fake.sent("sendMessage") if m["chat_id"] in {r["id"] for r in readers}]
        assert len(replies) == 5 and all(translated_quotes(r, "nl") for r in replies)
        texts = [tuple(r.texts) for r in service_fake.translate_requests]
        assert len(texts) == len(set(texts)) == translated_quotes(replies[0], "nl")
    finally:
        await app.shutdown()


async def test_a_slow_service_sends_the_original_first_then_edits_it_to_the_translation(
    fake: Any, with_vineyard: Path, engine: Engine, embedding_cache: Path, tmp_path: Path, deepl: tuple[FakeDeepL, str]
) -> None:
    service_fake, url = deepl
    service_fake.delay = 1.0
    settings = translation(service="deepl", url=url, wait_ms=100)
    app = await start(fake, with_vineyard, engine, embedding_cache, tmp_path, settings)
    try:
        first = await ask(app, fake, VINEYARD_QUESTIONS["nl"], DUTCH)
        s = strings("nl")
        note = s("no_translation", language=s.language_name("nl"), original=s.language_name("fr"))
        assert note in html.unescape(first) and translated_quotes(first, "nl") == 0
        sent_id = fake.sent("sendMessage")[-1]
        (edit,) = await fake.wait_for("editMessageText")
        assert edit["chat_id"] == DUTCH["id"]
        assert_translated(edit["text"], "nl", "DeepL")
        assert note not in html.unescape(edit["text"])
        assert sent_id["chat_id"] == edit["chat_id"]
        assert edit.get("reply_markup") is not None  # the buttons stay
    finally:
        await app.shutdown()


# Every request fails while the test runs (several passages are asked for at once); what the admins are told.
FAILURES = {
    "quota spent (456)": (lambda f: f.fail_next(456, "Quota exceeded", times=20), "answered 456"),
    "slow down (429, Retry-After)": (
        lambda f: f.fail_next(429, "Too many requests", retry_after=30, times=20),
        "answered 429",
    ),
    "key refused (401)": (lambda f: f.fail_next(401, "Unauthorized", times=20), "answered 401"),
    "timeout": (lambda f: setattr(f, "delay", 2.0), "timed out"),
    "malformed body": (lambda f: setattr(f, "malformed", "not-json"), "malformed response"),
}


@pytest.mark.parametrize("failure", FAILURES)
async def test_a_failing_service_leaves_the_original_with_a_note_and_tells_admins_once(
    failure: str,
    fake: Any,
    with_vineyard: Path,
    engine: Engine,
    embedding_cache: Path,
    tmp_path: Path,
    deepl: tuple[FakeDeepL, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    service_fake, url = deepl
    make_it_fail, cause = FAILURES[failure]
    make_it_fail(service_fake)
    settings = translation(service="deepl", url=url, timeout_seconds=0.5, wait_ms=5000)
    app = await start(fake, with_vineyard, engine, embedding_cache, tmp_path, settings)
    caplog.set_level(logging.DEBUG)
    try:
        s = strings("nl")
        note = s("no_translation", language=s.language_name("nl"), original=s.language_name("fr"))
        for reader in (DUTCH, DUTCH_TOO):
            reply = await ask(app, fake, VINEYARD_QUESTIONS["nl"], reader)
            assert note in html.unescape(reply) and translated_quotes(reply, "nl") == 0
            assert any(EVIDENCE in passage for passage in bold_passages(reply))
        (told,) = admin_notes(fake)
        told = html.unescape(told)  # in English: the admin chose no language
        assert told.startswith(strings("en")("translation_trouble", service="DeepL", problem="").split(":")[0])
        assert cause in told
        everything = caplog.text + "".join(str(call.params) for call in fake.calls)
        assert DEEPL_KEY not in everything and "deepl-secret" not in everything
    finally:
        await app.shutdown()


async def test_a_spent_budget_leaves_the_original_with_a_note_and_tells_admins_once(
    fake: Any, with_vineyard: Path, engine: Engine, embedding_cache: Path, tmp_path: Path, deepl: tuple[FakeDeepL, str]
) -> None:
    service_fake, url = deepl
    settings = translation(service="deepl", url=url, monthly_characters=50)  # less than one passage
    app = await start(fake, with_vineyard, engine, embedding_cache, tmp_path, settings)
    try:
        for reader in (DUTCH, DUTCH_TOO, GERMAN):
            question = VINEYARD_QUESTIONS["de" if reader is GERMAN else "nl"]
            reply = await ask(app, fake, question, reader)
            assert translated_quotes(reply, "nl") == translated_quotes(reply, "de") == 0
            language = "de" if reader is GERMAN else "nl"
            s = strings(language)
            assert s("no_translation", language=s.language_name(language), original=s.language_name("fr")) in (
                html.unescape(reply)
            )
        assert service_fake.translate_requests == []
        (told,) = admin_notes(fake)
        assert "50" in told
        await send(app, message("/stats", sender=user(user_id=ADMIN_ID)))
        stats = html.unescape(fake.sent("sendMessage")[-1]["text"])
        assert strings("en")("stats_translation", service="DeepL", used="0", budget="50", cached=0) in stats
    finally:
        await app.shutdown()


async def test_stats_and_the_reload_summary_show_the_characters_sent_this_month(
    fake: Any, with_vineyard: Path, engine: Engine, embedding_cache: Path, tmp_path: Path, deepl: tuple[FakeDeepL, str]
) -> None:
    service_fake, url = deepl
    settings = translation(service="deepl", url=url, monthly_characters=500_000)
    app = await start(fake, with_vineyard, engine, embedding_cache, tmp_path, settings)
    try:
        await ask(app, fake, VINEYARD_QUESTIONS["nl"], DUTCH)
        sent = service_fake.character_count
        assert sent > 0
        await send(app, message("/stats", sender=user(user_id=ADMIN_ID)))
        stats = html.unescape(fake.sent("sendMessage")[-1]["text"])
        cached = len(service_fake.translate_requests)
        line = strings("en")("stats_translation", service="DeepL", used=f"{sent:,}", budget="500,000", cached=cached)
        assert line in stats
        account = strings("en")("stats_translation_account", service="DeepL", used=f"{sent:,}", limit="500,000")
        assert account in stats  # DeepL's own count, from GET /v2/usage
        await send(app, message("/reload", sender=user(user_id=ADMIN_ID)))  # the admin summaries show it too
        assert line in html.unescape(fake.sent("sendMessage")[-1]["text"])
    finally:
        await app.shutdown()


async def test_inline_answers_show_cached_translations_and_request_none(
    fake: Any, with_vineyard: Path, engine: Engine, embedding_cache: Path, tmp_path: Path, deepl: tuple[FakeDeepL, str]
) -> None:
    from .botkit import inline, update_for

    service_fake, url = deepl
    app = await start(fake, with_vineyard, engine, embedding_cache, tmp_path, translation(service="deepl", url=url))
    try:
        question = VINEYARD_QUESTIONS["nl"]
        await app.process_update(update_for(app, **inline(question)))
        before = fake.sent("answerInlineQuery")[-1]["results"]
        assert service_fake.translate_requests == []
        assert not any("[nl] " in r["input_message_content"]["message_text"] for r in _decoded(before))
        await ask(app, fake, question, DUTCH)  # translates (and caches) what the answer quotes
        await app.process_update(update_for(app, **inline(question)))
        after = _decoded(fake.sent("answerInlineQuery")[-1]["results"])
        requests = len(service_fake.translate_requests)
        assert any("[nl] " in r["input_message_content"]["message_text"] for r in after)
        assert len(service_fake.translate_requests) == requests
    finally:
        await app.shutdown()


def _decoded(results: Any) -> list[dict[str, Any]]:
    import json

    return json.loads(results) if isinstance(results, str) else list(results)


async def test_ahead_mode_translates_at_intake_as_before(
    fake: Any, corpus_copy: Path, engine: Engine, embedding_cache: Path, tmp_path: Path
) -> None:
    translator = FakeLibreTranslate()
    service = make_service(corpus_copy, engine, embedding_cache, translator)
    settings = translation(url="http://translate.test", mode="ahead")
    config = dataclasses.replace(bot_config(tmp_path), allow_private_addresses=True, translation=settings)
    app = application(config, service, fake)
    await app.initialize()
    try:
        assert service.quoted is None

        def site(request: httpx.Request) -> httpx.Response:
            return page_response(VINEYARD)

        with serve(site, "pages") as port:
            await send(app, link_message(f"http://127.0.0.1:{port}/vignoble"))
        files = sorted(p.stem for p in (corpus_copy / "translations").glob("*vignoble*/*.md"))
        assert files == ["de", "en", "es", "id", "nl"]  # every other answer language, at intake
        requests = len(translator.translate_requests)
        reply = await ask(app, fake, VINEYARD_QUESTIONS["nl"], DUTCH)
        s = strings("nl")
        assert s("machine_translated_from", language=s.language_name("fr")) in html.unescape(reply)
        assert len(translator.translate_requests) == requests  # nothing asked at answer time
    finally:
        await app.shutdown()
