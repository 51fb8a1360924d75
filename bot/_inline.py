"""Inline mode: ``@bot question`` offers quoted, attributed passages to drop into any chat.

Inline answers depend only on the query text (its language decides the
answer language), so Telegram may cache and share them: ``is_personal`` is
false.
"""

from __future__ import annotations

import hashlib

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.constants import InlineQueryLimit, InlineQueryResultLimit, ParseMode
from telegram.ext import ContextTypes

from index import Result

from ._compose import escape, result_html
from ._fit import clip, shorten
from ._i18n import Strings, strings
from ._ratelimit import Verdict
from ._runtime import interface_strings, runtime
from ._send import NO_PREVIEW, with_retries
from ._translate import cached_page

INLINE_RESULTS = 10
MIN_QUERY = 3
CACHE_SECONDS = 300
TITLE_LENGTH = 64
DESCRIPTION_LENGTH = 160


def result_id(result: Result, language: str) -> str:
    key = f"{result.article_id}#{result.passage_index}:{language}"
    return hashlib.sha256(key.encode()).hexdigest()[: InlineQueryResultLimit.MAX_ID_LENGTH // 2]


def result_article(
    result: Result, language: str, s: Strings, *, hedged: bool = False, read_as: str | None = None
) -> InlineQueryResultArticle:
    """A result to pick: the title opens the quote, the description starts at the answering sentence.

    A hedged result (the closest passages, which may not answer) is marked: "≈" before its title and
    the hedge opening its description. ``read_as`` (the question as corrected) opens the description too.
    """
    shown = " ".join(result.shown_text.split())
    prefix = f"{'≈ ' if hedged else ''}{clip(result.source, TITLE_LENGTH // 2)}: "
    head = shorten(shown, max(TITLE_LENGTH - len(prefix), 16))
    highlights = result.shown_highlights
    if highlights:
        answering = " ".join(result.shown_text[min(a for a, _ in highlights) :].split())
        description = answering
    else:
        rest = shown[len(head) - 1 :].strip() if head.endswith("…") else ""
        description = rest or f"{clip(result.title)} · {result.published}"
    notes = [s("inline_closest")] if hedged else []
    if read_as:
        notes.append(s("read_as", question=clip(read_as, DESCRIPTION_LENGTH // 2)))
    description = shorten(" · ".join([*notes, description]), DESCRIPTION_LENGTH)
    return InlineQueryResultArticle(
        id=result_id(result, language),
        title=prefix + head,
        description=description,
        input_message_content=InputTextMessageContent(
            result_html(result, language, s), parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
        ),
        url=result.url or None,
    )


def _notice(identifier: str, title: str, text: str) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id=identifier,
        title=title,
        input_message_content=InputTextMessageContent(escape(text), parse_mode=ParseMode.HTML),
    )


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer ``@bot question`` with up to ten quoted passages, or a hint."""
    query = update.inline_query
    if query is None:
        return
    rt = runtime(context)
    text = " ".join(query.query.split())
    if sum(ch.isalnum() for ch in text) < MIN_QUERY:
        s = interface_strings(update, context)
        hint = _notice("hint", s("inline_hint_title"), s("inline_hint_text", example=s.examples[0]))
        await query.answer([hint], cache_time=CACHE_SECONDS, is_personal=False)
        return
    verdict = rt.inline_limiter.check(query.from_user.id) if rt.inline_limiter else Verdict.ALLOW
    if verdict is not Verdict.ALLOW:
        await query.answer([], cache_time=0, is_personal=True)
        return
    answer = await rt.off_loop(rt.service.ask, text, k=INLINE_RESULTS)
    s = strings(answer.language)
    if not answer.answered:
        nothing = _notice("nothing", s("inline_nothing_title"), s("inline_nothing_text", question=clip(text, 300)))
        await query.answer([nothing], cache_time=CACHE_SECONDS, is_personal=False)
        return
    quoted = cached_page(rt, answer, (answer.results + answer.more)[:INLINE_RESULTS])  # cached translations only
    results = [
        result_article(r, answer.language, s, hedged=answer.hedged, read_as=answer.read_as if i == 0 else None)
        for i, r in enumerate(quoted)
    ]
    assert len(results) <= InlineQueryLimit.RESULTS
    await with_retries(
        lambda: query.answer(results, cache_time=CACHE_SECONDS, is_personal=False), "answering an inline query"
    )
