"""Feeds through the shipped bot: the polling job, one summary per poll that added something, /feeds.

The feed and its pages are small callables behind an in-process transport (the bot's
``Fetcher`` is given it, with a resolver that makes ``news.test`` look public); the
poll itself runs as the job would run it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram.ext import Application

from bot._app import post_init, post_shutdown
from bot._feeds import FETCHER_KEY, FIRST_POLL_SECONDS, Fetcher, poll_due_feeds
from bot._service import AnswerService
from index import Engine, LanguageDetector, load_corpus
from index.intake.feeds import FeedSpec
from index.intake.fetch import FetchSettings
from index.search.sentences import sentence_spans

from .botkit import ADMIN_ID, application, bot_config, message, update_for, user
from .conftest import HashingEmbedder, count_analysed
from .fakebot import FakeBotAPI
from .intake.test_feeds import FEED, NOW, Site, public
from .test_curation import make_service

App = Application[Any, Any, Any, Any, Any, Any]
DOWN = "https://news.test/down.xml"


@pytest.fixture()
async def feeding(
    fake: FakeBotAPI, corpus_copy: Path, engine: Engine, embedding_cache: Path, tmp_path: Path
) -> AsyncIterator[tuple[App, AnswerService, Site]]:
    service = make_service(corpus_copy, engine, embedding_cache)
    config = dataclasses.replace(bot_config(tmp_path), feeds=(FeedSpec(FEED), FeedSpec(DOWN, interval_minutes=10)))
    bot_app = application(config, service, fake)
    site = Site([1, 2, 3])
    bot_app.bot_data[FETCHER_KEY] = Fetcher(FetchSettings(), resolver=public, transport=httpx.MockTransport(site))
    await bot_app.initialize()
    yield bot_app, service, site
    await bot_app.shutdown()


def to_admin(fake: FakeBotAPI) -> list[str]:
    return [m["text"] for m in fake.sent("sendMessage") if int(m["chat_id"]) == ADMIN_ID]


async def test_a_poll_adds_in_one_batch_tells_the_admins_once_and_feeds_shows_it(
    feeding: tuple[App, AnswerService, Site], fake: FakeBotAPI
) -> None:
    bot_app, service, _site = feeding
    before = len(service.engine.corpus.articles)
    report = await poll_due_feeds(bot_app, now=NOW)
    assert report is not None and len(report.added) == 3
    assert len(service.engine.corpus.articles) == before + 3
    summaries = to_admin(fake)
    assert len(summaries) == 1  # one message for the poll, not one per article
    assert summaries[0].startswith("<b>Feeds</b>: added 3 articles.") and "Story 2: the council votes" in summaries[0]
    assert f"Corpus now: {before + 3} articles" in summaries[0]

    assert await poll_due_feeds(bot_app, now=NOW + dt.timedelta(minutes=5)) is None  # nothing due yet
    again = await poll_due_feeds(bot_app, now=NOW + dt.timedelta(minutes=31))
    assert again is not None and again.added == [] and len(to_admin(fake)) == 1  # nothing added, no message

    await bot_app.process_update(update_for(bot_app, message=message("/feeds", sender=user(user_id=ADMIN_ID))))
    listing = fake.sent("sendMessage")[-1]["text"]
    assert listing.startswith("<b>Feeds</b> (2):")
    assert "news.test/feed.xml (every 30 min)" in listing and "Added: 0 (in all: 3). No errors." in listing
    assert "news.test/down.xml" in listing and "Last error: news.test answered 500" in listing
    assert "Last poll: 2025-05-01 08:31 UTC" in listing
    await bot_app.process_update(update_for(bot_app, message=message("/feeds", sender=user(31337))))
    assert fake.sent("sendMessage")[-1]["text"] == "Sorry, only the bot's administrators can do that."


async def test_the_first_poll_is_scheduled_within_a_minute_of_start_up(
    feeding: tuple[App, AnswerService, Site],
) -> None:
    bot_app, _, _ = feeding
    await post_init(bot_app)
    assert bot_app.job_queue is not None
    await bot_app.job_queue.start()
    try:
        (job,) = bot_app.job_queue.get_jobs_by_name("feeds")
        assert job.next_t is not None
        wait = (job.next_t - dt.datetime.now(dt.UTC)).total_seconds()
        assert 0 < wait <= 60 and FIRST_POLL_SECONDS < 60
    finally:
        await bot_app.job_queue.stop()
        await post_shutdown(bot_app)


async def test_a_poll_pays_only_for_what_it_adds_and_what_it_adds_answers(
    fake: FakeBotAPI, corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The analyser and the encoder see the polled articles' texts and nothing of the corpus held already."""
    cache = tmp_path / "cache"
    embedder = HashingEmbedder()
    engine = Engine.build(load_corpus(corpus_copy), cache_dir=cache, embedder=embedder, detector=LanguageDetector())
    service = AnswerService(engine, corpus_dir=corpus_copy, cache_dir=cache)
    bot_app = application(dataclasses.replace(bot_config(tmp_path), feeds=(FeedSpec(FEED),)), service, fake)
    bot_app.bot_data[FETCHER_KEY] = Fetcher(
        FetchSettings(), resolver=public, transport=httpx.MockTransport(Site([1, 2]))
    )
    await bot_app.initialize()
    try:
        analysed = count_analysed(monkeypatch)
        embedder.calls.clear()
        before = {a.id for a in service.engine.corpus.articles}
        assert await poll_due_feeds(bot_app, now=NOW) is not None
        added = [p for p in service.engine.corpus.passages if p.article.id not in before]
        assert len({p.article.id for p in added}) == 2
        assert sorted(analysed) == sorted(p.text for p in added)  # nothing held before is analysed again
        sentences = sum(len(sentence_spans(p.original.body)) for p in added)
        assert 0 < sum(embedder.calls) <= len(added) + sentences  # their passages and sentences, nothing else

        question = "How did the harbour council vote on the ferry?"
        await bot_app.process_update(update_for(bot_app, message=message(question)))
        assert "Story 1: the council votes" in fake.sent("sendMessage")[-1]["text"] or (
            "Story 2: the council votes" in fake.sent("sendMessage")[-1]["text"]
        )
    finally:
        await bot_app.shutdown()
