"""Chat handlers: /start, /help, /sources, /lang, questions in private chats and groups, "More".

Questions in a private chat are any text; in groups, ``/ask``, a mention of
the bot, or a reply to one of its messages. Everything else in a group is
ignored.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import html
import logging
from collections import Counter

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.constants import ChatAction, ChatType, MessageLimit
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from index import Answer, Corpus, Result
from index.follow import DatabaseError

from ._alerts import follow_row
from ._compose import MAX_QUESTION_SHOWN, answer_html, escape, shorten
from ._fit import SOURCE_LENGTH, clip, pages
from ._i18n import Strings, strings
from ._memory import lang_data, more_data, parse_lang, parse_more
from ._numbers import ascii_number
from ._ratelimit import Verdict
from ._runtime import LANGUAGE_KEY, chosen_language, interface_strings, runtime
from ._send import edit_html, reply_html
from ._translate import edit_when_ready, translate_page

log = logging.getLogger(__name__)
EXAMPLE_PREFIX = "ex:"
SOURCES_PREFIX = "src:"
SOURCES_PER_PAGE = 20  # articles on a page of /sources
DEEP_LINK_PREFIX = "q_"
MAX_QUESTION = 1000  # characters; a longer message is cut, not refused


def deep_link_payload(question: str) -> str | None:
    """A ``/start`` payload carrying ``question``, or None when it would not fit Telegram's 64 characters."""
    payload = DEEP_LINK_PREFIX + base64.urlsafe_b64encode(question.encode()).decode().rstrip("=")
    return payload if len(payload) <= MessageLimit.DEEP_LINK_LENGTH else None


def _question_from_payload(payload: str) -> str | None:
    if not payload.startswith(DEEP_LINK_PREFIX):
        return None
    encoded = payload[len(DEEP_LINK_PREFIX) :]
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8").strip() or None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Welcome the user with example questions, or answer the question a deep link carries."""
    message = update.effective_message
    if message is None:
        return
    if context.args:
        question = _question_from_payload(context.args[0])
        if question:
            await answer_question(update, context, question)
            return
    s = interface_strings(update, context)
    corpus = runtime(context).service.engine.corpus
    user = update.effective_user
    languages = sorted({a.language for a in corpus.articles})
    text = s(
        "welcome",
        name=escape(user.first_name if user else ""),
        articles=len(corpus.articles),
        languages=escape(", ".join(s.language_name(lang) for lang in languages)),
        sources=escape(publishers(corpus)),
    )
    buttons = [
        [InlineKeyboardButton(q, callback_data=f"{EXAMPLE_PREFIX}{s.language}:{i}")] for i, q in enumerate(s.examples)
    ]
    await reply_html(message, text, InlineKeyboardMarkup(buttons))


def publishers(corpus: Corpus, most: int = 6) -> str:
    """The corpus's publishers, the most prolific first ("A, B, C, …" beyond ``most``)."""
    counts = Counter(a.source for a in corpus.articles)
    names = [name for name, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
    return ", ".join(names[:most]) + (", …" if len(names) > most else "")


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain how to use the bot in chats, groups and inline."""
    if update.effective_message is None:
        return
    s = interface_strings(update, context)
    await reply_html(update.effective_message, s("help", mention=f"@{context.bot.username}"))


async def sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the articles in the corpus with publisher, date and link, a page at a time."""
    if update.effective_message is None:
        return
    s = interface_strings(update, context)
    text, keyboard = sources_page(runtime(context).service.engine.corpus, s, 0)
    await reply_html(update.effective_message, text, keyboard)


async def on_sources_page(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show another page of /sources in place (Next and Previous buttons)."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    number = ascii_number((query.data or "").removeprefix(SOURCES_PREFIX), digits=4)
    if number is None or not isinstance(query.message, Message):
        return
    s = interface_strings(update, context)
    text, keyboard = sources_page(runtime(context).service.engine.corpus, s, number)
    try:
        await edit_html(query.message, text, keyboard)
    except BadRequest as exc:  # pressed twice: "message is not modified"
        log.info("could not show a page of /sources: %s", exc.message)


def sources_page(corpus: Corpus, s: Strings, number: int) -> tuple[str, InlineKeyboardMarkup | None]:
    """Page ``number`` (from 0; past the end: the last) of the article list, with its buttons."""
    lines = []
    for article in sorted(corpus.articles, key=lambda a: (a.published, a.source, a.id)):
        title = escape(clip(article.title))
        linked = (
            f'<a href="{html.escape(article.url, quote=True)}">{title}</a>' if article.url else f"{title} {s('no_url')}"
        )
        source = escape(clip(article.source, SOURCE_LENGTH))
        line = s("source_line", source=source, date=article.published.isoformat(), title=linked)
        lines.append(f"• {line} [{escape(article.language)}]")
    header = s("sources_header", articles=len(corpus.articles))
    widest = f"{header}\n{escape(s('sources_page', page=9999, pages=9999))}"
    listed = pages(lines, header=widest, most=SOURCES_PER_PAGE)
    number = min(number, len(listed) - 1)
    if len(listed) > 1:
        header = f"{header}\n<i>{escape(s('sources_page', page=number + 1, pages=len(listed)))}</i>"
    buttons = []
    if number > 0:
        buttons.append(InlineKeyboardButton(s("previous_button"), callback_data=f"{SOURCES_PREFIX}{number - 1}"))
    if number + 1 < len(listed):
        buttons.append(InlineKeyboardButton(s("next_button"), callback_data=f"{SOURCES_PREFIX}{number + 1}"))
    return "\n".join([header, *listed[number]]), InlineKeyboardMarkup([buttons]) if buttons else None


async def lang_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer buttons to choose the answer language."""
    if update.effective_message is None:
        return
    s = interface_strings(update, context)
    choice = chosen_language(context)
    current = strings(choice).raw("language_name") if choice else s("lang_auto")
    rows = [
        [InlineKeyboardButton(strings(code).raw("language_name"), callback_data=lang_data(code))]
        for code in runtime(context).config.languages
    ]
    rows.append([InlineKeyboardButton(s("lang_auto"), callback_data=lang_data("auto"))])
    await reply_html(update.effective_message, escape(s("lang_prompt", current=current)), InlineKeyboardMarkup(rows))


async def on_lang_choice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Remember the chosen answer language (persisted across restarts)."""
    query = update.callback_query
    code = parse_lang(query.data if query else None)
    if query is None:
        return
    if code is None or context.user_data is None:
        await query.answer()  # not data this bot made: acknowledge quietly
        return
    if code == "auto":
        context.user_data.pop(LANGUAGE_KEY, None)
        await _persist_now(update, context)
        text = interface_strings(update, context)("lang_set_auto")
    elif code in runtime(context).config.languages:
        context.user_data[LANGUAGE_KEY] = code
        await _persist_now(update, context)
        s = strings(code)
        text = s("lang_set", language=s.raw("language_name"))
    else:
        await query.answer()
        return
    await query.answer()
    await query.edit_message_text(text)


async def _persist_now(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Write the user's data now rather than at the next periodic flush: a crash must not forget it."""
    if update.effective_user is not None and context.application.persistence is not None:
        context.application.mark_data_for_update_persistence(user_ids=update.effective_user.id)
        await context.application.update_persistence()
        await context.application.persistence.flush()


async def on_example(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the example question behind a /start button."""
    query = update.callback_query
    if query is None or not query.data:
        return
    await query.answer()
    language, _, index = query.data.removeprefix(EXAMPLE_PREFIX).partition(":")
    examples = strings(language).examples
    number = ascii_number(index, digits=2)
    if number is not None and number < len(examples) and query.message is not None:
        await answer_question(update, context, examples[number], reply_to=query.message)


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer ``/ask <question>`` (in groups and private chats)."""
    if update.effective_message is None:
        return
    question = " ".join(context.args or [])
    if not question.strip():
        s = interface_strings(update, context)
        await reply_html(update.effective_message, escape(s("ask_usage", example=s.examples[0])))
        return
    await answer_question(update, context, question)


async def on_private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a private chat, any text message is a question."""
    message = update.effective_message
    if message is not None and message.text is not None:
        await answer_question(update, context, message.text)


async def on_group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a group, answer mentions of the bot and replies to it; ignore the rest."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    question = addressed_question(message, context.bot.username, context.bot.id)
    if question is not None:
        await answer_question(update, context, question)


def addressed_question(message: Message, username: str, bot_id: int) -> str | None:
    """The question in a group message meant for the bot (mention removed), or None."""
    text = message.text or ""
    mentioned = False
    for entity, value in message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]).items():
        if (entity.type == MessageEntity.MENTION and value.lstrip("@").casefold() == username.casefold()) or (
            entity.type == MessageEntity.TEXT_MENTION and entity.user is not None and entity.user.id == bot_id
        ):
            mentioned = True
            text = text.replace(value, " ")
    replied = message.reply_to_message
    is_reply = replied is not None and replied.from_user is not None and replied.from_user.id == bot_id
    if not (mentioned or is_reply):
        return None
    return " ".join(text.split())


async def answer_question(
    update: Update, context: ContextTypes.DEFAULT_TYPE, question: str, *, reply_to: Message | None = None
) -> None:
    """Rate-limit, show typing, ask the engine off the event loop, and reply with the composed answer."""
    rt = runtime(context)
    message = reply_to or update.effective_message
    user = update.effective_user
    if message is None:
        return
    question = question[:MAX_QUESTION]
    if user is not None:
        verdict = rt.limiter.check(user.id) if rt.limiter else Verdict.ALLOW
        if verdict is not Verdict.ALLOW:
            if verdict is Verdict.NOTIFY:
                s = interface_strings(update, context)
                seconds = rt.limiter.retry_after(user.id) if rt.limiter else 1
                await reply_html(message, escape(s("rate_limited", seconds=seconds)))
            return
    if not any(ch.isalnum() for ch in question):
        s = interface_strings(update, context)
        await reply_html(message, escape(s("empty_question", example=s.examples[0])))
        return
    with contextlib.suppress(TelegramError):  # "typing…" is a courtesy; the answer matters
        await context.bot.send_chat_action(message.chat_id, ChatAction.TYPING)
    hint = user.language_code if user else None
    with rt.following.traffic.answering() if rt.following else contextlib.nullcontext():  # alerts wait for answers
        answer = await rt.off_loop(
            rt.service.ask, question, k=rt.config.max_results, language=chosen_language(context), hint=hint
        )
        await send_answer(context, message, answer, offset=0)
    rt.note_answered()


async def send_answer(context: ContextTypes.DEFAULT_TYPE, message: Message, answer: Answer, *, offset: int) -> None:
    rt = runtime(context)
    s = strings(answer.language)
    everything = answer.results + answer.more
    page = everything[offset : offset + rt.config.max_results]
    header = s("more_header", question=escape(shorten(answer.question, MAX_QUESTION_SHOWN))) if offset else None
    page, later = await translate_page(rt, context.application, answer, page)  # quoted passages, translated
    text, shown = answer_html(answer, s, page, header=header)
    # Every answer and refusal in a private chat offers to follow its question.
    follow = not offset and message.chat.type == ChatType.PRIVATE and not answer.unavailable and rt.following
    more = answer.answered and offset + shown < len(everything)
    token = rt.memory.remember(answer) if follow or more else None
    keyboard = answer_keyboard(answer, s, offset, shown, token)
    if follow and token is not None:
        keyboard = InlineKeyboardMarkup([*(keyboard.inline_keyboard if keyboard else ()), follow_row(token, s)])
    if token is not None:
        try:  # so that the buttons still work after a restart
            await asyncio.to_thread(rt.memory.save, token, answer, message.chat_id)
        except DatabaseError as exc:
            log.warning("could not save an answer's buttons: %s", exc)
    sent = await reply_html(message, text, keyboard)
    if later is not None:  # translations still coming: the reply shows the originals until they arrive

        def render(results: list[Result]) -> str:
            return answer_html(answer, s, results[:shown], header=header)[0]

        edit_when_ready(sent, later, render, keyboard, page)


def answer_keyboard(
    answer: Answer, s: Strings, offset: int, shown: int, token: str | None
) -> InlineKeyboardMarkup | None:
    if not answer.answered:
        return None
    everything = answer.results + answer.more
    rows: list[list[InlineKeyboardButton]] = []
    if offset + shown < len(everything) and token is not None:
        rows.append([InlineKeyboardButton(s("more_button"), callback_data=more_data(token, offset + shown))])
    seen: set[str] = set()
    for result in everything[offset : offset + shown]:
        if result.url and result.url not in seen:
            seen.add(result.url)
            label = shorten(s("source_button", source=result.source), 48)
            rows.append([InlineKeyboardButton(label, url=result.url)])
    return InlineKeyboardMarkup(rows) if rows else None


async def recalled(update: Update, context: ContextTypes.DEFAULT_TYPE, token: str) -> Answer | None:
    """The answer behind a button's ``token``: from memory, or asked again from what the database kept
    (an answer given before a restart, within a week, in this chat); None when neither has it."""
    rt = runtime(context)
    answer = rt.memory.recall(token)
    chat = update.effective_chat
    if answer is not None or chat is None:
        return answer
    try:
        saved = await asyncio.to_thread(rt.memory.saved, token, chat.id)
    except DatabaseError as exc:
        log.warning("could not read an answer's buttons: %s", exc)
        return None
    if saved is None:
        return None
    answer = await rt.off_loop(rt.service.ask, saved.question, k=rt.config.max_results, language=saved.language)
    rt.memory.remember(answer, token)
    return answer


async def on_more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the next results of an earlier answer (asked again when it was given before a restart)."""
    query = update.callback_query
    if query is None:
        return
    request = parse_more(query.data)
    if request is None:
        await query.answer()  # not data this bot made: acknowledge quietly
        return
    answer = await recalled(update, context, request.token)
    s = interface_strings(update, context)
    if answer is None or not isinstance(query.message, Message):
        await query.answer(s("expired"), show_alert=False)
        return
    if request.offset >= len(answer.results + answer.more):
        await query.answer(strings(answer.language)("no_more"))
        return
    await query.answer()
    await send_answer(context, query.message, answer, offset=request.offset)


async def on_unknown_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Callback data the bot did not create: acknowledge quietly, do nothing."""
    if update.callback_query is not None:
        log.info(
            "ignored unknown callback data from user %s", update.effective_user.id if update.effective_user else "?"
        )
        await update.callback_query.answer()
