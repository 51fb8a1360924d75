"""Quoted translation: the cache, one request per passage and language, the budget, pauses, highlights."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from index import Corpus, Result
from index.corpus.model import Passage
from index.follow import Database
from index.translation import TranslationError
from index.translation.openai_chat import Marked
from index.translation.quoted import (
    PAUSE_DOWN,
    PassageFinder,
    QuotedTranslations,
    Unavailable,
    body_sentences,
    translated_result,
)
from index.translation.store import TranslationStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Service:
    """A translator that records its requests, can hold them until released, and can fail."""

    name = "Fake service"
    label = "Fake"
    max_batch = 16
    max_chars = 10_000

    def __init__(self) -> None:
        self.requests: list[tuple[list[str], str, str]] = []
        self.release = threading.Event()
        self.release.set()
        self.error: TranslationError | None = None
        self._lock = threading.Lock()

    def translate_batch(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        with self._lock:
            self.requests.append((list(texts), source, target))
        self.release.wait(10)
        if self.error is not None:
            raise self.error
        return [f"<{target}> {text}" for text in texts]

    def close(self) -> None:
        pass


class MarkingModel(Service):
    """A translator that keeps sentence markers, as the OpenAI-compatible client's models are asked to."""

    label = "tiny-model"

    def translate_marked(self, sentences: Sequence[str], source: str, target: str, joins: Sequence[str]) -> Marked:
        parts = [f"<{target}> {s}" for s in sentences]
        with self._lock:
            self.requests.append((list(sentences), source, target))
        return Marked(parts[0] + "".join(j + p for j, p in zip(joins, parts[1:], strict=True)), tuple(parts))


def quoted(service: Service, database: Database | None = None, **options: object) -> QuotedTranslations:
    return QuotedTranslations(service, TranslationStore(database or Database(None)), service="fake", **options)  # type: ignore[arg-type]


def passages(corpus: Corpus, *, heading: bool, sentences: int = 2) -> list[Passage]:
    return [
        p
        for p in corpus.passages
        if (p.original.heading is not None) is heading and len(body_sentences(p.original)) >= sentences
    ]


async def test_readers_asking_at_once_share_one_request(bundled: Corpus) -> None:
    service = Service()
    service.release.clear()
    translations = quoted(service)
    passage = passages(bundled, heading=False)[0]
    waiting = [asyncio.ensure_future(translations.translate(passage, "id")) for _ in range(10)]
    for _ in range(20):
        await asyncio.sleep(0.01)
    service.release.set()
    results = await asyncio.gather(*waiting)
    assert len(service.requests) == 1 and len({r.text for r in results}) == 1
    assert translations.cached(passage, "id") == results[0]
    await translations.translate(passage, "id")
    await translations.translate(passage, "de")
    assert [target for _, _, target in service.requests] == ["id", "de"]  # one more, for the other language
    translations.close()


async def test_a_cancelled_reader_does_not_cancel_the_request(bundled: Corpus) -> None:
    service = Service()
    service.release.clear()
    translations = quoted(service)
    passage = passages(bundled, heading=False)[0]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(translations.translate(passage, "es"), 0.05)
    service.release.set()
    found = await translations.translate(passage, "es")  # the same request, finishing
    assert len(service.requests) == 1 and found.text.startswith("<es> ")
    translations.close()


async def test_the_cache_outlives_a_restart_and_is_per_service(bundled: Corpus, tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    passage = passages(bundled, heading=True)[0]
    first = quoted(Service(), Database(path))
    translated = await first.translate(passage, "nl")
    assert translated.text.startswith(f"<nl> {' '.join(passage.original.heading.split())}\n<nl> ")  # type: ignore[union-attr]
    first.close()
    again = QuotedTranslations(Service(), TranslationStore(Database(path)), service="fake")
    assert again.cached(passage, "nl") == translated
    other = QuotedTranslations(Service(), TranslationStore(Database(path)), service="another")
    assert other.cached(passage, "nl") is None


async def test_the_budget_is_counted_before_each_request(bundled: Corpus) -> None:
    service = Service()
    one, two = passages(bundled, heading=False)[:2]
    cost = len(one.original.body)
    translations = quoted(service, monthly_characters=cost + len(two.original.body) - 1)
    await translations.translate(one, "de")
    assert translations.usage().characters == cost and translations.usage().requests == 1
    with pytest.raises(Unavailable) as caught:
        await translations.translate(two, "de")
    assert caught.value.reason == "budget" and caught.value.first
    assert f"{cost + len(two.original.body) - 1:,}" in str(caught.value)
    assert len(service.requests) == 1  # never sent
    await translations.translate(one, "de")  # cached: costs nothing
    assert translations.usage().characters == cost
    translations.close()


async def test_passages_asked_for_together_cannot_overspend_the_budget(bundled: Corpus) -> None:
    service = Service()
    service.release.clear()
    one, two = passages(bundled, heading=False)[:2]
    translations = quoted(service, monthly_characters=max(len(one.original.body), len(two.original.body)) + 1)
    both = [asyncio.ensure_future(translations.translate(p, "de")) for p in (one, two)]
    for _ in range(20):
        await asyncio.sleep(0.01)
    service.release.set()
    outcomes = await asyncio.gather(*both, return_exceptions=True)
    assert sum(isinstance(o, Unavailable) for o in outcomes) == 1 and len(service.requests) == 1
    translations.close()


async def test_a_failing_service_is_left_alone_for_a_while_and_the_first_failure_is_marked(bundled: Corpus) -> None:
    service, clock = Service(), Clock()
    service.error = TranslationError("Fake at http://x is unreachable (refused)", unreachable=True)
    translations = quoted(service, clock=clock)
    one, two = passages(bundled, heading=False)[:2]
    with pytest.raises(Unavailable) as first:
        await translations.translate(one, "de")
    assert first.value.reason == "down" and first.value.first and translations.trouble == "down"
    with pytest.raises(Unavailable) as second:
        await translations.translate(two, "de")
    assert not second.value.first and len(service.requests) == 1  # paused: not asked again
    clock.now += PAUSE_DOWN + 1
    service.error = None
    await translations.translate(two, "de")
    assert translations.trouble is None and len(service.requests) == 2
    service.error = TranslationError("Fake answered 456: quota", quota=True, retry_after=60)
    with pytest.raises(Unavailable) as third:
        await translations.translate(one, "nl")
    assert third.value.reason == "quota" and third.value.first  # a new spell of failures: told again
    translations.close()


def result_of(passage: Passage, highlights: tuple[tuple[int, int], ...]) -> Result:
    article = passage.article
    return Result(
        article.id, passage.position, article.source, article.title, article.url, article.published.isoformat(),
        article.language, passage.text, None, None, 1.0, highlights=highlights,
    )  # fmt: skip


async def test_the_answering_sentence_is_carried_into_the_translation(bundled: Corpus) -> None:
    passage = passages(bundled, heading=True, sentences=3)[0]
    spans = body_sentences(passage.original)
    second = passage.text[spans[1][0] : spans[1][1]]
    for service in (Service(), MarkingModel()):
        translations = quoted(service)
        machine = await translations.translate(passage, "id")
        shown = translated_result(result_of(passage, (spans[1],)), passage, machine)
        assert shown.translated_by == service.label and shown.translation_method == "machine"
        assert shown.shown_text == machine.text and shown.missing_translation("id") is False
        ((start, end),) = shown.translation_highlights
        # The plain service prefixes the whole body once; the marking model prefixes every sentence.
        expected = f"<id> {second}" if isinstance(service, MarkingModel) else second
        assert shown.translation[start:end] == expected  # type: ignore[index]
        translations.close()


async def test_a_marked_translation_costs_the_same_characters_as_the_passage(bundled: Corpus) -> None:
    model = MarkingModel()
    translations = quoted(model)
    passage = passages(bundled, heading=True)[0]
    await translations.translate(passage, "en" if passage.original.language != "en" else "fr")
    original = passage.original
    assert translations.usage().characters == len(original.body) + len(original.heading or "")
    (sentences, _, _), = model.requests
    assert sentences[0] == original.heading and len(sentences) == 1 + len(body_sentences(original))
    translations.close()


def test_every_result_finds_its_passage_and_nothing_else(bundled: Corpus) -> None:
    finder = PassageFinder()
    for passage in bundled.passages:
        found = finder.find(bundled, passage.article.id, passage.position)
        assert found is not None and found.key == passage.key
    assert finder.find(bundled, "no-such-article", 0) is None
    last = bundled.passages[len(bundled.passages) - 1]
    assert finder.find(bundled, last.article.id, last.position + 1) is None


async def test_a_slow_down_is_honoured_for_as_long_as_retry_after_says(bundled: Corpus) -> None:
    service, clock = Service(), Clock()
    service.error = TranslationError("Fake answered 429: Too many requests", retryable=True, retry_after=90)
    translations = quoted(service, clock=clock)
    one, two = passages(bundled, heading=False)[:2]
    with pytest.raises(Unavailable) as caught:
        await translations.translate(one, "fr")
    assert caught.value.reason == "down"
    clock.now += PAUSE_DOWN + 1  # past the usual pause, not past Retry-After
    with pytest.raises(Unavailable):
        await translations.translate(two, "fr")
    assert len(service.requests) == 1
    clock.now += 90
    service.error = None
    await translations.translate(two, "fr")
    assert len(service.requests) == 2
    translations.close()


async def test_a_cached_answer_during_a_spell_of_failures_does_not_end_it(bundled: Corpus) -> None:
    service = Service()
    one, two, three = passages(bundled, heading=False)[:3]
    translations = quoted(service, monthly_characters=len(one.original.body))
    await translations.translate(one, "de")
    with pytest.raises(Unavailable) as first:
        await translations.translate(two, "de")
    await translations.translate(one, "de")  # from the cache: the budget is still spent
    with pytest.raises(Unavailable) as again:
        await translations.translate(three, "de")
    assert first.value.first and not again.value.first  # the admins are not told twice
    assert translations.trouble == "budget"
    translations.close()
