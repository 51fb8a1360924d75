"""Translate what is quoted, when it is quoted: one passage into one reader's language, cached.

In ``translation.mode: quoted`` nothing is translated at intake. An answer that quotes a
passage with no translation into the reader's language asks :class:`QuotedTranslations`
for it: from the cache (the bot's database, keyed by the passage text's digest, the
language and the service) at once, or from the service, once however many readers ask
at the same moment (they share one in-flight request).

Each request is counted against ``translation.monthly_characters`` before it is sent.
When the budget is spent, the service's quota is spent, or the service is down, the
request is not made and :class:`Unavailable` says why; after a failure the service is
left alone for a while (its ``Retry-After`` when it gave one), so a dead service does
not slow every answer down.

The answering sentence stays bold in the translation: the sentences of the original
and of the translation are aligned by meaning, as reviewed translations are
(:mod:`index.search.alignment`), or, for a model that kept the sentence markers of its
prompt, one to one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final, Literal

import numpy as np

from ..corpus.model import Corpus, Passage, Rendition
from ..search.alignment import align, counterpart
from ..search.answer import Result, Span
from ..search.semantic import Embedder
from ..search.sentences import sentence_spans
from .libretranslate import TranslationError, Translator
from .store import Bead, MachineTranslation, MonthUsage, TranslationStore, digest

log = logging.getLogger(__name__)
Reason = Literal["budget", "quota", "down", "refused"]
PAUSE_DOWN: Final = 30.0
"""Seconds to leave an unreachable or failing service alone before trying it again."""
PAUSE_QUOTA: Final = 3600.0
"""Seconds to leave a service whose quota is spent alone (its period may end; DeepL's does monthly)."""


class Unavailable(Exception):
    """No machine translation now; ``str()`` is safe to show an admin (never a key)."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.first = False
        """True for the first failure after a working spell: the one to tell the admins about."""


class QuotedTranslations:
    """Machine translations of single passages on demand, cached, counted, one request per passage and language."""

    def __init__(
        self,
        translator: Translator,
        store: TranslationStore,
        *,
        service: str,
        aligner: Embedder | None = None,
        monthly_characters: int = 0,
        clock: Callable[[], float] = time.monotonic,
        workers: int = 4,
    ) -> None:
        self.translator = translator
        self.store = store
        self.service = service
        """The cache key of the service: its kind and model, e.g. "deepl", "openai:llama3.1"."""
        self.label = translator.label
        self.aligner = aligner
        self.monthly_characters = monthly_characters
        """0: no budget."""
        self._clock = clock
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="quoted-translation")
        self._inflight: dict[tuple[str, str], asyncio.Future[tuple[MachineTranslation, bool]]] = {}
        self._lock = threading.Lock()
        self._reserved = 0
        self._paused_until = 0.0
        self._pause: Unavailable | None = None
        self.trouble: Reason | None = None
        """Why translations are failing now; None while they work."""
        self._told = False
        """Whether a caller was handed this spell of failures' first error (to tell the admins)."""

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.translator.close()

    def usage(self) -> MonthUsage:
        return self.store.usage()

    def cached(self, passage: Passage, language: str) -> MachineTranslation | None:
        """The stored translation of ``passage`` into ``language``, or None (one indexed lookup)."""
        return self.store.get(passage.text, language, self.service)

    async def translate(self, passage: Passage, language: str) -> MachineTranslation:
        """The translation, from the cache or the service; concurrent callers share one request.

        Raises :class:`Unavailable`. Cancelling a caller (a reply that stopped waiting) does not
        cancel the request: its result is cached for the next reader.
        """
        key = (digest(passage.text), language)
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.get_running_loop().run_in_executor(self._executor, self._obtain, passage, language)
            self._inflight[key] = future
            future.add_done_callback(lambda done: self._settled(key, done))
        try:
            translation, _ = await asyncio.shield(future)
            return translation
        except Unavailable as exc:
            first, self._told = not self._told, True  # on the event loop: one caller claims it
            raise _copy(exc, first=first) from None

    def _settled(self, key: tuple[str, str], future: asyncio.Future[tuple[MachineTranslation, bool]]) -> None:
        """Runs once per request, on the event loop: the request is no longer in flight; note how it went."""
        self._inflight.pop(key, None)
        if future.cancelled():
            return
        error = future.exception()
        if error is None:
            if future.result()[1]:  # the service answered (not the cache): failures are over
                self.trouble, self._told = None, False
        elif isinstance(error, Unavailable):
            self.trouble = error.reason

    def _obtain(self, passage: Passage, language: str) -> tuple[MachineTranslation, bool]:
        """Cache, else budget check and one request (on a worker thread); True when the service was asked."""
        found = self.cached(passage, language)
        if found is not None:
            return found, False
        original = passage.original
        cost = len(original.body) + len(original.heading or "")
        with self._lock:
            if self._clock() < self._paused_until and self._pause is not None:
                raise _copy(self._pause)
            if self.monthly_characters:
                used = self.store.usage().characters + self._reserved
                if used + cost > self.monthly_characters:
                    raise Unavailable(
                        "budget",
                        f"this month's machine translation budget is spent ({used:,} of "
                        f"{self.monthly_characters:,} characters)",
                    )
            self._reserved += cost
        try:
            translation = self._request(original, language)
        except TranslationError as exc:
            raise self._failed(exc) from None
        finally:
            with self._lock:
                self._reserved -= cost
        self.store.count(self.service, cost)
        self.store.put(passage.text, language, self.service, translation)
        return translation, True

    def _request(self, original: Rendition, language: str) -> MachineTranslation:
        source = original.language
        body_spans = sentence_spans(original.body)
        sentences = [original.body[a:b] for a, b in body_spans]
        marked = getattr(self.translator, "translate_marked", None)
        if marked is not None and sentences:
            units = ([original.heading] if original.heading else []) + sentences
            joins = (["\n"] if original.heading else []) + _joins(original.body, body_spans)
            reply = marked(units, source, language, joins)
            if reply.sentences is not None:
                return _one_to_one(reply.sentences, joins, bool(original.heading), self.label)
            heading, body = _split_heading(reply.text, original.heading)
        else:
            texts = [original.heading, original.body] if original.heading else [original.body]
            out = self.translator.translate_batch(texts, source, language)
            if len(out) != len(texts) or not all(t.strip() for t in out):
                raise TranslationError(f"{self.translator.name} returned an empty or missing translation")
            heading, body = (" ".join(out[0].split()), out[1].strip()) if original.heading else (None, out[0].strip())
        text = f"{heading}\n{body}" if heading else body
        offset = len(text) - len(body)
        spans = tuple((a + offset, b + offset) for a, b in sentence_spans(body))
        beads = self._aligned(sentences, [text[a:b] for a, b in spans])
        return MachineTranslation(text, spans, beads, self.label)

    def _aligned(self, source: Sequence[str], target: Sequence[str]) -> tuple[Bead, ...]:
        if not source or not target:
            return ()
        if self.aligner is None:  # no encoder at hand: pair sentences in order, as far as both go
            return tuple(((i,), (i,)) for i in range(min(len(source), len(target))))
        vectors = np.asarray(self.aligner.embed([*source, *target]), dtype=np.float32)
        return tuple(align(vectors[: len(source)], vectors[len(source) :]))

    def _failed(self, error: TranslationError) -> Unavailable:
        """Turn a service error into Unavailable, and leave the service alone for a while."""
        if error.quota:
            reason: Reason = "quota"
            pause = error.retry_after or PAUSE_QUOTA
        elif error.unreachable or error.retryable:
            reason, pause = "down", error.retry_after or PAUSE_DOWN
        else:
            reason, pause = "refused", error.retry_after or PAUSE_DOWN
        unavailable = Unavailable(reason, str(error))
        with self._lock:
            self._paused_until = self._clock() + pause
            self._pause = unavailable
        log.warning("machine translation failed (%s); not asking again for %.0f s", error, pause)
        return unavailable


def body_sentences(rendition: Rendition) -> list[Span]:
    """Sentences of a passage's body as offsets into its whole text, numbered as the engine numbers them."""
    offset = len(rendition.text) - len(rendition.body)
    return [(a + offset, b + offset) for a, b in sentence_spans(rendition.body)]


def translated_result(result: Result, passage: Passage, translation: MachineTranslation) -> Result:
    """``result`` with ``translation`` as its quote, the answering sentences carried over to it."""
    highlighted = set(result.highlights)
    marked = {i for i, span in enumerate(body_sentences(passage.original)) if span in highlighted}
    mapped = counterpart(list(translation.beads), marked) if marked else []
    spans = tuple(translation.spans[j] for j in mapped if j < len(translation.spans))
    return dataclasses.replace(
        result,
        translation=translation.text,
        translation_method="machine",
        translated_by=translation.label,
        translation_highlights=spans,
    )


class PassageFinder:
    """A result's passage in the engine's corpus, by article id and position.

    An article's passages are contiguous, in order: the index holds each article's first
    passage number only, built once per corpus without making a single passage object.
    """

    def __init__(self) -> None:
        self._corpus: Corpus | None = None
        self._first: dict[str, int] = {}
        self._lock = threading.Lock()

    def find(self, corpus: Corpus, article_id: str, position: int) -> Passage | None:
        passages = corpus.passages
        with self._lock:
            if self._corpus is not corpus:
                article_of = getattr(passages, "article_of", None)
                first: dict[str, int] = {}
                for i in range(len(passages)):
                    first.setdefault(article_of(i).id if article_of else passages[i].article.id, i)
                self._first, self._corpus = first, corpus
            start = self._first.get(article_id)
        if start is None:
            return None
        for number in (start + position, *range(start, len(passages))):  # the guess, then a scan of the article
            if 0 <= number < len(passages):
                passage = passages[number]
                if passage.article.id == article_id and passage.position == position:
                    return passage
                if number != start + position and passage.article.id != article_id:
                    break
        return None


def _copy(error: Unavailable, *, first: bool = False) -> Unavailable:
    copy = Unavailable(error.reason, str(error))
    copy.first = first
    return copy


def _joins(body: str, spans: Sequence[Span]) -> list[str]:
    """What separates each sentence from the next in ``body``: a line break where it had one, else a space."""
    return ["\n" if "\n" in body[a_end:b_start] else " " for (_, a_end), (b_start, _) in itertools.pairwise(spans)]


def _one_to_one(parts: Sequence[str], joins: Sequence[str], heading: bool, label: str) -> MachineTranslation:
    text, spans = "", []
    for i, part in enumerate(parts):
        start = len(text)
        text += part
        spans.append((start, len(text)))
        if i < len(joins):
            text += joins[i]
    body = spans[1:] if heading else spans
    return MachineTranslation(text, tuple(body), tuple(((i,), (i,)) for i in range(len(body))), label)


def _split_heading(text: str, heading: str | None) -> tuple[str | None, str]:
    if not heading:
        return None, text.strip()
    first, _, rest = text.strip().partition("\n")
    return (first.strip(), rest.strip()) if rest.strip() else (None, first.strip())
