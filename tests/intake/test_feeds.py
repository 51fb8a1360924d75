"""Feed polling: new entries once, conditional GET, bad feeds, slow feeds, restarts.

Feeds and pages are served by small callables through an in-process transport; the
resolver makes ``news.test`` look public (see test_fetch.py). ``add`` is a fake that
records each batch, so these tests need no engine.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest

from index import LanguageDetector
from index.intake.feeds import FeedSpec, FeedStore, PollReport, due, parse_entries, poll_feeds
from index.intake.fetch import FetchSettings, make_client
from index.intake.upload import PreparedArticle

FEED = "https://news.test/feed.xml"
NOW = dt.datetime(2025, 5, 1, 8, 0, tzinfo=dt.UTC)


def public(_host: str) -> list[str]:
    return ["93.184.215.14"]


def rss(items: list[int]) -> bytes:
    entries = "".join(
        f"<item><title>Story {n}</title><link>https://news.test/story/{n}</link><guid>story-{n}</guid></item>"
        for n in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>{entries}</channel></rss>'.encode()


def page(n: int) -> bytes:
    text = " ".join(f"Sentence {i} of story {n} tells how the harbour council voted on the ferry." for i in range(4))
    return (
        f'<html lang="en"><head><meta property="og:site_name" content="Test News">'
        f'<meta property="article:published_time" content="2025-04-{n:02d}"></head>'
        f"<body><article><h1>Story {n}: the council votes</h1><p>{text}</p><p>Second paragraph of story {n}.</p>"
        "</article></body></html>"
    ).encode()


class Site:
    """news.test: a feed with ETag support (or broken on purpose), and one page per story."""

    def __init__(self, items: list[int]) -> None:
        self.items = items
        self.requests: list[str] = []
        self.etag_honoured = True

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests.append(path)
        if path == "/feed.xml":
            tag = f'"{len(self.items)}"'
            if self.etag_honoured and request.headers.get("if-none-match") == tag:
                return httpx.Response(304)
            headers = {"Content-Type": "application/rss+xml", "ETag": tag}
            return httpx.Response(200, headers=headers, content=rss(self.items))
        if path == "/broken.xml":
            return httpx.Response(200, headers={"Content-Type": "application/xml"}, content=b"<html><p>not a feed")
        if path == "/down.xml":
            return httpx.Response(500)
        if path == "/slow.xml":
            await asyncio.sleep(30)
        if path.startswith("/story/"):
            return httpx.Response(200, headers={"Content-Type": "text/html"}, content=page(int(path.rsplit("/", 1)[1])))
        return httpx.Response(404)


class Adder:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    async def __call__(self, prepared: list[PreparedArticle]) -> str:
        self.batches.append([p.article.id for p in prepared])
        return "reindexed once"


async def poll(site: Site, store: FeedStore, adder: Adder, feeds: list[FeedSpec], **kw: Any) -> PollReport:
    settings = FetchSettings(timeout=kw.pop("timeout", 10.0))
    async with make_client(settings, transport=httpx.MockTransport(site)) as client:
        return await poll_feeds(
            feeds,
            store,
            client=client,
            settings=settings,
            existing_ids=set(),
            existing_urls={},
            detector=LanguageDetector(),
            add=adder,
            resolver=public,
            now=NOW,
            **kw,
        )


async def test_three_new_entries_are_added_once_in_one_batch(tmp_path: Path) -> None:
    site, adder, store = Site([1, 2, 3]), Adder(), FeedStore(tmp_path / "feeds.json")
    progress: list[tuple[int, int]] = []
    report = await poll(site, store, adder, [FeedSpec(FEED)], progress=lambda d, t: progress.append((d, t)))
    assert len(adder.batches) == 1 and len(adder.batches[0]) == 3  # one reindex for the whole poll
    assert [a.title for a in report.added] == ["Story 1: the council votes", "Story 2: the council votes",
                                               "Story 3: the council votes"]  # fmt: skip
    assert {a.source for a in report.added} == {"Test News"} and report.add_result == "reindexed once"
    assert progress[0] == (0, 3) and progress[-1] == (3, 3)
    state = store.state(FEED)
    assert (state.last_added, state.added_total, state.last_error) == (3, 3, None)

    again = await poll(site, store, adder, [FeedSpec(FEED)])
    assert again.added == [] and again.not_modified == [FEED] and len(adder.batches) == 1
    site.etag_honoured = False  # a server without conditional GET: the entries are known anyway
    third = await poll(site, store, adder, [FeedSpec(FEED)])
    assert third.added == [] and third.skipped == [] and len(adder.batches) == 1
    assert site.requests.count("/story/1") == 1


async def test_a_restart_between_two_polls_adds_nothing_twice(tmp_path: Path) -> None:
    site, adder = Site([1, 2]), Adder()
    await poll(site, FeedStore(tmp_path / "feeds.json"), adder, [FeedSpec(FEED)])
    site.items = [1, 2, 3]
    restarted = FeedStore(tmp_path / "feeds.json")  # a new process reads the same file
    report = await poll(site, restarted, adder, [FeedSpec(FEED)])
    assert [a.url for a in report.added] == ["https://news.test/story/3"]
    assert adder.batches == [[b for b in adder.batches[0]], [report.added[0].article_id]]
    assert restarted.state(FEED).added_total == 3


async def test_a_malformed_feed_and_a_500_are_recorded_and_the_other_feeds_go_on(tmp_path: Path) -> None:
    site, adder, store = Site([1]), Adder(), FeedStore(tmp_path / "feeds.json")
    feeds = [FeedSpec("https://news.test/broken.xml"), FeedSpec("https://news.test/down.xml"), FeedSpec(FEED)]
    report = await poll(site, store, adder, feeds)
    assert [a.url for a in report.added] == ["https://news.test/story/1"]
    assert "not an RSS or Atom feed" in report.errors["https://news.test/broken.xml"]
    assert "500" in report.errors["https://news.test/down.xml"]
    assert store.state("https://news.test/down.xml").last_error == report.errors["https://news.test/down.xml"]
    assert FeedStore(tmp_path / "feeds.json").state("https://news.test/broken.xml").last_error  # persisted


async def test_a_slow_feed_does_not_stop_the_others(tmp_path: Path) -> None:
    site, adder, store = Site([1]), Adder(), FeedStore(tmp_path / "feeds.json")
    feeds = [FeedSpec("https://news.test/slow.xml"), FeedSpec(FEED)]
    report = await poll(site, store, adder, feeds, timeout=0.3)
    assert [a.url for a in report.added] == ["https://news.test/story/1"]
    assert "did not answer" in report.errors["https://news.test/slow.xml"]


async def test_when_adding_fails_nothing_is_marked_seen(tmp_path: Path) -> None:
    site, store = Site([1]), FeedStore(tmp_path / "feeds.json")

    async def broken(_: list[PreparedArticle]) -> None:
        raise OSError("disk full")

    settings = FetchSettings()
    async with make_client(settings, transport=httpx.MockTransport(site)) as client:
        report = await poll_feeds(
            [FeedSpec(FEED)], store, client=client, settings=settings, existing_ids=set(), existing_urls={},
            detector=LanguageDetector(), add=broken, resolver=public, now=NOW,
        )  # fmt: skip
    assert report.added == [] and "disk full" in report.errors[FEED] and store.state(FEED).seen == []


async def test_entries_already_in_the_corpus_or_without_text_are_skipped_with_a_reason(tmp_path: Path) -> None:
    site, adder, store = Site([1, 2]), Adder(), FeedStore(tmp_path / "feeds.json")
    settings = FetchSettings()
    async with make_client(settings, transport=httpx.MockTransport(site)) as client:
        report = await poll_feeds(
            [FeedSpec(FEED, language="en", source="Override")], store, client=client, settings=settings,
            existing_ids=set(), existing_urls={"news.test/story/1": "old-story"}, detector=LanguageDetector(),
            add=adder, resolver=public, now=NOW,
        )  # fmt: skip
    assert [s.reason for s in report.skipped] == ["already in the corpus as old-story"]
    assert [a.source for a in report.added] == ["Override"]
    assert store.state(FEED).seen == ["story-1", "story-2"]


def test_due_feeds_follow_their_interval(tmp_path: Path) -> None:
    store = FeedStore(None)
    fast, slow = FeedSpec("https://a.test/f", interval_minutes=10), FeedSpec("https://b.test/f")
    assert due([fast, slow], store, NOW) == [fast, slow]  # never polled
    for spec in (fast, slow):
        store.state(spec.url).last_poll = NOW.isoformat()
    assert due([fast, slow], store, NOW + dt.timedelta(minutes=11)) == [fast]
    assert due([fast, slow], store, NOW + dt.timedelta(minutes=31)) == [fast, slow]


@pytest.mark.parametrize("data", [b"", b"garbage", b"<html><body>hello</body></html>", b"\x00\xff" * 10])
def test_what_is_not_a_feed_is_said_to_be_so(data: bytes) -> None:
    from index.intake.feeds import FeedError

    with pytest.raises(FeedError):
        parse_entries(data)


def test_atom_entries_are_read() -> None:
    atom = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        b'<entry><id>tag:a,1</id><title>One</title><link href="https://a.test/1"/></entry></feed>'
    )
    assert [(e.key, e.link, e.title) for e in parse_entries(atom)] == [("tag:a,1", "https://a.test/1", "One")]
