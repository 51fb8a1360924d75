"""Quoted passages in the reader's language, translated as they are quoted (``translation.mode: quoted``).

The handlers call :func:`translate_page` with the results an answer is about to show.
A result already in the reader's language, or with a translation file, is left as it
is; one with a cached machine translation gets it at once; for the rest the service is
asked, and the reply waits up to ``translation.wait_ms``. What has not arrived by then
comes back as a task: the reply goes out with the originals, and :func:`edit_when_ready`
edits it in place when the translations arrive. A passage the service cannot translate
(budget or quota spent, the service down) stays in the original, with the usual note,
and the admins are told once per spell of failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from telegram import InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application

from index import Answer, Passage, Result
from index.follow import DatabaseError
from index.translation import TranslationError
from index.translation.quoted import PassageFinder, QuotedTranslations, Unavailable, translated_result

from ._compose import escape, shorten
from ._i18n import strings
from ._runtime import LANGUAGE_KEY, Runtime
from ._send import edit_html

log = logging.getLogger(__name__)
_finder = PassageFinder()
Later = asyncio.Task[list[Result]]
_editing: set[asyncio.Task[None]] = set()
"""Edits under way: the event loop keeps only weak references to tasks."""


def cached_page(rt: Runtime, answer: Answer, results: Sequence[Result]) -> list[Result]:
    """``results`` with every machine translation already cached applied; nothing is requested (inline mode)."""
    quoted = rt.service.quoted
    out = list(results)
    if quoted is None or not answer.answered:
        return out
    corpus = rt.service.engine.corpus
    for i, result in enumerate(results):
        if result.missing_translation(answer.language):
            passage = _finder.find(corpus, result.article_id, result.passage_index)
            try:
                found = quoted.cached(passage, answer.language) if passage is not None else None
            except DatabaseError as exc:
                log.warning("could not read the translation cache: %s", exc)
                return out
            if found is not None and passage is not None:
                out[i] = translated_result(result, passage, found)
    return out


async def translate_page(
    rt: Runtime, app: Application, answer: Answer, results: Sequence[Result]
) -> tuple[list[Result], Later | None]:
    """The results to show now, and a task for the translations still coming after ``wait_ms`` (or None)."""
    quoted = rt.service.quoted
    out = list(results)
    if quoted is None or not answer.answered:
        return out, None
    language = answer.language
    corpus = rt.service.engine.corpus
    jobs: dict[int, asyncio.Task[Result]] = {}
    for i, result in enumerate(results):
        if not result.missing_translation(language):
            continue
        passage = _finder.find(corpus, result.article_id, result.passage_index)
        if passage is None:
            continue
        try:
            found = quoted.cached(passage, language)
        except DatabaseError as exc:  # a database fault must not cost the reader the answer
            log.warning("could not read the translation cache: %s", exc)
            continue
        if found is not None:
            out[i] = translated_result(result, passage, found)
            continue
        jobs[i] = asyncio.ensure_future(_obtain(app, rt, quoted, result, passage, language))
    if not jobs:
        return out, None
    wait = rt.config.translation.wait_ms / 1000 if rt.config.translation else 0.0
    await asyncio.wait(jobs.values(), timeout=wait)
    for i, job in list(jobs.items()):
        if job.done():
            out[i] = job.result()
            del jobs[i]
    if not jobs:
        return out, None

    async def rest() -> list[Result]:
        final = list(out)
        for i, job in jobs.items():
            final[i] = await job
        return final

    return out, asyncio.ensure_future(rest())


async def _obtain(
    app: Application, rt: Runtime, quoted: QuotedTranslations, result: Result, passage: Passage, language: str
) -> Result:
    """``result`` translated, or as it was when no translation can be had (the admins told, once)."""
    try:
        translation = await quoted.translate(passage, language)
    except Unavailable as exc:
        if exc.first:
            await tell_admins(app, rt, quoted, str(exc))
        return result
    except Exception as exc:  # a database fault, a bug: the answer still goes out, in the original
        log.error("machine translation of %s failed: %s: %s", passage.key, type(exc).__name__, exc)
        return result
    return translated_result(result, passage, translation)


def edit_when_ready(
    message: Message,
    later: Later,
    render: Callable[[list[Result]], str],
    keyboard: InlineKeyboardMarkup | None,
    shown: Sequence[Result],
) -> asyncio.Task[None]:
    """Once ``later`` has the translations, edit ``message`` in place to show them (when any arrived)."""

    async def edit() -> None:
        results = await later
        if all(r.translation == s.translation for r, s in zip(results, shown, strict=False)):
            return  # nothing arrived: the message already says the original is shown
        with contextlib.suppress(TelegramError):  # the reader still has the original; nothing to repair
            await edit_html(message, render(results), keyboard)

    task = asyncio.ensure_future(edit())
    _editing.add(task)
    task.add_done_callback(_editing.discard)
    return task


async def tell_admins(app: Application, rt: Runtime, quoted: QuotedTranslations, problem: str) -> None:
    """Each admin, once per spell of failures, in their language: translation is not working, and why."""
    for admin in sorted(rt.config.admins):
        language = (app.user_data.get(admin) or {}).get(LANGUAGE_KEY)
        s = strings(language)
        text = escape(s("translation_trouble", service=quoted.label, problem=shorten(problem, 600)))
        try:
            await app.bot.send_message(admin, text, parse_mode=ParseMode.HTML)
        except TelegramError as exc:  # an admin who never started a chat with the bot, say
            log.warning("could not tell admin %s that translation fails: %s", admin, exc)


def usage_line(rt: Runtime, language: str | None) -> str | None:
    """This month's machine translation against the budget, for /stats and admin summaries; None when off."""
    quoted = rt.service.quoted
    if quoted is None:
        return None
    s = strings(language)
    try:
        usage, cached = quoted.usage(), quoted.store.cached_count()
    except DatabaseError as exc:  # a database fault: the rest of the summary still matters
        log.warning("could not read the translation usage: %s", exc)
        return None
    budget = f"{quoted.monthly_characters:,}" if quoted.monthly_characters else s("translation_no_limit")
    return escape(
        s("stats_translation", service=quoted.label, used=f"{usage.characters:,}", budget=budget, cached=cached)
    )


def account_line(rt: Runtime, language: str | None) -> str | None:
    """The service's own count of this period's characters (DeepL's ``/v2/usage``), or None.

    Blocking (one request): call it off the event loop. None when the service does not say,
    or cannot be asked right now.
    """
    quoted = rt.service.quoted
    ask = getattr(quoted.translator, "usage", None) if quoted is not None else None
    if quoted is None or ask is None:
        return None
    try:
        usage = ask()
    except TranslationError as exc:
        log.warning("could not ask %s for its usage: %s", quoted.label, exc)
        return None
    limit = f"{usage.limit:,}" if usage.limit else strings(language)("translation_no_limit")
    text = strings(language)(
        "stats_translation_account", service=quoted.label, used=f"{usage.characters:,}", limit=limit
    )
    return escape(text)
