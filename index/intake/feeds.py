"""Feeds that keep the corpus current: poll RSS/Atom feeds, fetch their new entries' pages, prepare them.

A poll (:func:`poll_feeds`) reads every feed it is given at once, each with a
conditional GET (``ETag`` / ``Last-Modified``), so that a feed that is slow, down
or malformed only delays or fails itself: its error is recorded in its
:class:`FeedState` and the other feeds go on. Each entry not seen before has its
page fetched (:func:`~index.intake.link.fetch_upload`, the same checks as a link)
and prepared (:func:`~index.intake.upload.prepare_article`, the same validation
as an upload, with the feed's ``source`` and ``language`` as fields), and then
all of a poll's articles are handed to ``add`` together, so the caller saves,
translates and reindexes once per poll, not once per article.

Entries already seen are remembered in a JSON file (:class:`FeedStore`), so a
restart adds nothing twice. An entry is seen once it was added, or skipped for a
reason that will not pass (a duplicate, a page without text, a problem in its
metadata); one whose page could not be fetched for a reason that may pass (a
timeout, a 5xx) is tried again at the next polls, at most :data:`RETRIES` times.
When ``add`` fails, nothing of that poll is marked seen.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

import feedparser
import httpx

from ..corpus.problems import CorpusError
from ..languages import LanguageDetector
from .address import AlreadyInCorpus, address_key, page_label
from .fetch import FEED_TYPES, FetchError, FetchSettings, Resolver, fetch
from .link import fetch_upload
from .upload import PreparedArticle, Upload, prepare_article

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_INTERVAL_MINUTES: Final = 30.0
RETRIES: Final = 3
"""Polls in which an entry whose page could not be fetched (for a reason that may pass) is tried."""
MAX_NEW_PER_POLL: Final = 20
"""New entries taken from one feed in one poll; the rest wait for the next poll (a first poll of a long feed)."""
MAX_SEEN: Final = 5_000
"""Entry keys remembered per feed (the oldest are forgotten first; a feed lists far fewer)."""
PAGE_CONCURRENCY: Final = 4


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """A configured feed: its address, and what to say of its articles when their pages do not."""

    url: str
    language: str | None = None
    """ISO 639-1 code of its articles; None: from the page, or detected."""
    source: str | None = None
    """The publisher; None: the page's site name."""
    interval_minutes: float = DEFAULT_INTERVAL_MINUTES


@dataclass
class FeedState:
    """What is remembered of a feed between polls (and restarts)."""

    etag: str | None = None
    last_modified: str | None = None
    seen: list[str] = field(default_factory=list)
    retries: dict[str, int] = field(default_factory=dict)
    last_poll: str | None = None
    """When it was last polled (ISO 8601, UTC)."""
    last_error: str | None = None
    last_added: int = 0
    added_total: int = 0

    def polled_at(self) -> dt.datetime | None:
        try:
            return dt.datetime.fromisoformat(self.last_poll) if self.last_poll else None
        except ValueError:
            return None


class FeedStore:
    """Every feed's :class:`FeedState`, kept in a JSON file (or only in memory when ``path`` is None)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.states: dict[str, FeedState] = {}
        self.load()

    def state(self, url: str) -> FeedState:
        return self.states.setdefault(url, FeedState())

    def load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            feeds = data.get("feeds", {}) if isinstance(data, dict) else {}
            known = set(FeedState.__dataclass_fields__)
            self.states = {
                str(url): FeedState(**{k: v for k, v in state.items() if k in known})
                for url, state in feeds.items()
                if isinstance(state, dict)
            }
        except (OSError, ValueError, TypeError) as exc:
            log.warning("ignoring an unreadable feed state file %s: %s", self.path, exc)
            self.states = {}

    def save(self) -> None:
        """Write the file atomically (a crash leaves the old one or the new one, never half of one)."""
        if self.path is None:
            return
        data = {"version": 1, "feeds": {url: asdict(state) for url, state in self.states.items()}}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, ensure_ascii=False, indent=1)
            os.replace(temporary, self.path)
        except OSError as exc:
            log.warning("could not save the feed state to %s: %s", self.path, exc)


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    link: str
    title: str


@dataclass(frozen=True, slots=True)
class Added:
    feed: str
    article_id: str
    title: str
    source: str
    url: str


@dataclass(frozen=True, slots=True)
class Skipped:
    feed: str
    entry: str
    """The entry's title, else its address."""
    reason: str


@dataclass
class PollReport:
    """What one poll did, feed by feed."""

    polled: list[str] = field(default_factory=list)
    added: list[Added] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    """Feed address to what went wrong with the feed itself (or with adding its articles)."""
    not_modified: list[str] = field(default_factory=list)
    add_result: object = None
    """What ``add`` returned (the caller's report of the reindex), when it was called."""


@dataclass
class _Candidate:
    spec: FeedSpec
    entry: Entry
    prepared: PreparedArticle


Prepare = Callable[[Upload, Mapping[str, str]], PreparedArticle]
Progress = Callable[[int, int], None]
RunBlocking = Callable[..., Awaitable[Any]]


class FeedError(Exception):
    """A feed's document is not a feed."""


def parse_entries(data: bytes) -> list[Entry]:
    """The entries of an RSS or Atom document, in its order; FeedError when it is not a feed."""
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    if not parsed.get("version") and not parsed.entries:
        problem = parsed.get("bozo_exception")
        detail = f" ({_clip(str(problem), 120)})" if problem else ""
        raise FeedError(f"is not an RSS or Atom feed{detail}")
    entries: list[Entry] = []
    for item in parsed.entries:
        link = str(item.get("link") or "").strip()
        if not link.startswith(("http://", "https://")):
            links = item.get("links") or []
            link = next((str(x.get("href")) for x in links if str(x.get("href", "")).startswith("http")), "")
        title = " ".join(str(item.get("title") or "").split())
        key = str(item.get("id") or "").strip() or link or title
        if key:
            entries.append(Entry(key, link, title))
    return entries


async def read_feed(
    spec: FeedSpec, state: FeedState, client: httpx.AsyncClient, settings: FetchSettings, resolver: Resolver | None
) -> tuple[list[Entry], bool]:
    """The feed's entries (all of them) and whether it was unchanged (304); FetchError or FeedError on failure."""
    fetched = await fetch(
        spec.url,
        client,
        settings,
        resolver=resolver,
        accept=FEED_TYPES,
        etag=state.etag,
        last_modified=state.last_modified,
    )
    if fetched.not_modified:
        return [], True
    entries = parse_entries(fetched.data)
    state.etag, state.last_modified = fetched.etag, fetched.last_modified
    return entries, False


def due(feeds: Sequence[FeedSpec], store: FeedStore, now: dt.datetime) -> list[FeedSpec]:
    """The feeds never polled, or whose interval has passed since their last poll."""
    out = []
    for spec in feeds:
        last = store.state(spec.url).polled_at()
        if last is None or now - last >= dt.timedelta(minutes=spec.interval_minutes) - dt.timedelta(seconds=5):
            out.append(spec)
    return out


async def poll_feeds(
    feeds: Sequence[FeedSpec],
    store: FeedStore,
    *,
    client: httpx.AsyncClient,
    settings: FetchSettings,
    existing_ids: Collection[str],
    existing_urls: Mapping[str, str],
    detector: LanguageDetector,
    add: Callable[[list[PreparedArticle]], Awaitable[object]],
    resolver: Resolver | None = None,
    run_blocking: RunBlocking | None = None,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
) -> PollReport:
    """Poll ``feeds`` once: read them, fetch and prepare their new entries, ``add`` them all at once, remember.

    ``existing_ids`` and ``existing_urls`` (address key to id) describe the corpus;
    ``add`` saves, translates and reindexes the prepared articles and may raise,
    in which case nothing of this poll is marked seen and every feed that had an
    article in it records the error. ``run_blocking`` runs CPU-bound preparation off
    the event loop (default: a thread).
    """
    started = now or dt.datetime.now(dt.UTC)
    blocking = run_blocking or asyncio.to_thread
    report = PollReport(polled=[spec.url for spec in feeds])
    reads = await asyncio.gather(*(_read_one(spec, store, client, settings, resolver) for spec in feeds))
    work: list[tuple[FeedSpec, Entry]] = []
    for spec, (entries, error, unchanged) in zip(feeds, reads, strict=True):
        state = store.state(spec.url)
        state.last_poll = started.isoformat(timespec="seconds")
        state.last_error = error
        state.last_added = 0
        if error is not None:
            report.errors[spec.url] = error
            continue
        if unchanged:
            report.not_modified.append(spec.url)
            continue
        seen = set(state.seen)
        fresh = [entry for entry in entries if entry.key not in seen]
        work.extend((spec, entry) for entry in fresh[:MAX_NEW_PER_POLL])
    total = len(work)
    if progress is not None and total:
        progress(0, total)
    ids = set(existing_ids)
    urls = dict(existing_urls)
    candidates: list[_Candidate] = []
    settled: list[tuple[FeedSpec, Entry]] = []  # entries that need no more tries
    gate = asyncio.Semaphore(PAGE_CONCURRENCY)

    async def fetch_entry(spec: FeedSpec, entry: Entry) -> Upload | FetchError | str:
        if not entry.link:
            return "the entry has no link to a page"
        found = urls.get(address_key(entry.link))
        if found is not None:
            return f"already in the corpus as {found}"
        async with gate:
            try:
                return await fetch_upload(entry.link, client, settings, resolver=resolver)
            except FetchError as exc:
                return exc

    fetched = await asyncio.gather(*(fetch_entry(spec, entry) for spec, entry in work))
    for done, ((spec, entry), outcome) in enumerate(zip(work, fetched, strict=True), 1):
        label = entry.title or page_label(entry.link or entry.key)
        state = store.state(spec.url)
        if isinstance(outcome, FetchError):
            tries = state.retries.get(entry.key, 0) + 1
            if outcome.transient and tries < RETRIES:
                state.retries[entry.key] = tries
                report.skipped.append(Skipped(spec.url, label, f"{outcome} (tried again at the next poll)"))
            else:
                settled.append((spec, entry))
                report.skipped.append(Skipped(spec.url, label, str(outcome)))
        elif isinstance(outcome, str):
            settled.append((spec, entry))
            report.skipped.append(Skipped(spec.url, label, outcome))
        else:
            fields = {name: value for name, value in (("source", spec.source), ("language", spec.language)) if value}
            try:
                prepared = await blocking(
                    prepare_article,
                    outcome,
                    existing_ids=frozenset(ids),
                    detector=detector,
                    max_bytes=settings.max_bytes,
                    fields=fields or None,
                    existing_urls=dict(urls),
                )
            except AlreadyInCorpus as exc:
                settled.append((spec, entry))
                report.skipped.append(Skipped(spec.url, label, f"already in the corpus as {exc.article_id}"))
            except CorpusError as exc:
                settled.append((spec, entry))
                reason = "; ".join(p.message for p in exc.problems[:3])
                report.skipped.append(Skipped(spec.url, label, reason))
            else:
                ids.add(prepared.article.id)
                urls[address_key(prepared.article.url)] = prepared.article.id
                for address in (outcome.url, outcome.requested_url):
                    if address:
                        urls[address_key(address)] = prepared.article.id
                candidates.append(_Candidate(spec, entry, prepared))
        if progress is not None:
            progress(done, total)

    if candidates:
        try:
            report.add_result = await add([c.prepared for c in candidates])
        except Exception as exc:  # any failure to add is reported per feed; nothing is marked seen
            message = f"could not add its articles: {_clip(str(exc) or type(exc).__name__, 300)}"
            log.warning("feed poll: %s", message)
            for url in {c.spec.url for c in candidates}:
                store.state(url).last_error = report.errors[url] = message
            candidates = []
    for candidate in candidates:
        settled.append((candidate.spec, candidate.entry))
        state = store.state(candidate.spec.url)
        state.last_added += 1
        state.added_total += 1
        article = candidate.prepared.article
        report.added.append(Added(candidate.spec.url, article.id, article.title, article.source, article.url))
    for spec, entry in settled:
        state = store.state(spec.url)
        state.retries.pop(entry.key, None)
        if entry.key not in state.seen:
            state.seen.append(entry.key)
        del state.seen[:-MAX_SEEN]
    store.save()
    return report


async def _read_one(
    spec: FeedSpec, store: FeedStore, client: httpx.AsyncClient, settings: FetchSettings, resolver: Resolver | None
) -> tuple[list[Entry], str | None, bool]:
    """(entries, error, unchanged) for one feed; never raises, so one feed cannot stop the others."""
    try:
        entries, unchanged = await read_feed(spec, store.state(spec.url), client, settings, resolver)
    except (FetchError, FeedError) as exc:
        return [], str(exc), False
    except Exception as exc:  # a parser or server surprise is this feed's error only
        log.exception("feed %s failed", page_label(spec.url))
        return [], f"{type(exc).__name__}: {_clip(str(exc), 200)}", False
    return entries, None, unchanged


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
