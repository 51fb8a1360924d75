"""Following a question: ``/follow``, ``/following``, ``/unfollow``, and the Follow and Stop following buttons.

In a private chat anyone follows; in a group only its administrators do, and the group gets the
alerts. A chat follows at most :data:`index.follow.MAX_FOLLOWS` questions (``follow.max_follows``),
each no longer than a question may be; following one already followed says so. When a question
is followed, what the coverage already answers it with counts as seen: only new coverage alerts.
"""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from index import Answer
from index.follow import DatabaseError, Follow, FollowOutcome

from ._alerts import Following, parse_follow, parse_unfollow, unfollow_data
from ._chat import MAX_QUESTION, recalled
from ._compose import escape, shorten
from ._fit import MAX_MESSAGE, SOURCE_LENGTH, clip, pages, visible_units
from ._i18n import Strings
from ._numbers import ascii_number
from ._runtime import Runtime, chosen_language, interface_strings, runtime
from ._send import reply_html

log = logging.getLogger(__name__)
LISTED_QUESTION = 200  # characters of a followed question shown in the list
BUTTON_QUESTION = 40  # characters of a followed question on its Stop button
RELATED_TITLE = 120  # characters of a possibly related article's title


async def follow_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Follow the question after ``/follow``."""
    message = update.effective_message
    if message is None or not await _may_follow_here(update, context):
        return
    question = " ".join(context.args or [])
    if not any(ch.isalnum() for ch in question):
        s = interface_strings(update, context)
        await reply_html(message, escape(s("follow_usage", example=s.examples[1])))
        return
    await follow_question(update, context, question, message)


async def on_follow_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Follow the question an answer (or a refusal) answered, from its Follow button."""
    query = update.callback_query
    if query is None:
        return
    token = parse_follow(query.data)
    answer = await recalled(update, context, token) if token else None
    if answer is None or not isinstance(query.message, Message):
        await query.answer(interface_strings(update, context)("expired"))
        return
    await query.answer()
    await follow_question(update, context, answer.question, query.message, answer=answer)


async def follow_question(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    question: str,
    reply_to: Message,
    *,
    answer: Answer | None = None,
) -> None:
    """Follow ``question`` in this chat and say so (or why not), in the user's language."""
    rt = runtime(context)
    following = rt.following
    chat, user = update.effective_chat, update.effective_user
    if following is None or chat is None or user is None:
        return
    question = " ".join(question.split())
    engine = rt.service.engine
    hint = user.language_code
    detected = answer.language if answer is not None else engine.detector.detect(question, hint).language
    s = interface_strings(update, context, detected)
    if len(question) > MAX_QUESTION:
        await reply_html(reply_to, escape(s("follow_too_long", limit=MAX_QUESTION)))
        return
    language = chosen_language(context) or detected
    try:
        outcome, _ = await rt.off_loop(_follow, rt, following, chat.id, user.id, question, language, hint, answer)
    except DatabaseError as exc:
        log.error("could not save a follow: %s", exc)
        await reply_html(reply_to, escape(s("follow_unavailable")))
        return
    quoted = escape(shorten(question, LISTED_QUESTION))
    if outcome is FollowOutcome.TOO_MANY:
        text = escape(s("follow_too_many", limit=following.store.max_follows))
    elif outcome is FollowOutcome.ALREADY:
        text = s("follow_already", question=quoted)
    else:
        text = s("follow_done", question=quoted)
    await reply_html(reply_to, text)


def _follow(
    rt: Runtime,
    following: Following,
    chat_id: int,
    user_id: int,
    question: str,
    language: str,
    hint: str | None,
    answer: Answer | None,
) -> tuple[FollowOutcome, Follow | None]:
    """Store the follow (worker thread); writing to the bot again resumes what a block paused."""
    following.store.resume_chat(chat_id)
    return following.follow(
        rt.service.engine,
        chat_id=chat_id,
        user_id=user_id,
        question=question,
        language=language,
        hint=hint,
        known=answer,
        k=rt.config.max_results,
    )


async def following_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List this chat's followed questions, each with a button to stop following it (also ``/unfollow``)."""
    message = update.effective_message
    chat = update.effective_chat
    rt = runtime(context)
    if message is None or chat is None or rt.following is None or not await _may_follow_here(update, context):
        return
    s = interface_strings(update, context)
    store = rt.following.store
    try:
        follows = await rt.off_loop(store.follows_of, chat.id)
        if chat.type == ChatType.PRIVATE and any(f.paused for f in follows):
            await rt.off_loop(store.resume_chat, chat.id)
    except DatabaseError as exc:
        log.error("could not list follows: %s", exc)
        await reply_html(message, escape(s("follow_unavailable")))
        return
    if not follows:
        await reply_html(message, escape(s("following_none")))
        return
    header = s("following_header", count=len(follows), limit=store.max_follows)
    lines = [
        s("following_line", number=i, question=escape(shorten(f.question, LISTED_QUESTION)))
        for i, f in enumerate(follows, 1)
    ]
    related = await _related_lines(rt, chat.id, follows, s)
    # A long list goes out as several messages, each within Telegram's limit and with its own Stop buttons.
    listed = pages(lines, header=header)
    number = 1
    for page_number, page in enumerate(listed):
        text = "\n".join([header, *page] if page_number == 0 else page)
        shown = list(enumerate(follows, 1))[number - 1 : number - 1 + len(page)]
        number += len(page)
        if page_number == len(listed) - 1 and related and visible_units(f"{text}\n\n{related}") <= MAX_MESSAGE:
            text, related = f"{text}\n\n{related}", ""
        await reply_html(message, text, stop_buttons(shown, s))
    if related:
        await reply_html(message, related)


async def _related_lines(rt: Runtime, chat_id: int, follows: list[Follow], s: Strings) -> str:
    """ "Possibly related": recent new coverage the engine was not sure answers a followed question."""
    assert rt.following is not None
    try:
        found = await rt.off_loop(rt.following.store.related_of, chat_id)
    except DatabaseError as exc:
        log.error("could not list possibly related coverage: %s", exc)
        return ""
    numbers = {f.id: i for i, f in enumerate(follows, 1)}
    articles = {a.id: a for a in rt.service.engine.corpus.articles}
    lines = []
    for follow_id, article_id in found:
        article = articles.get(article_id)
        if article is None or follow_id not in numbers:
            continue  # removed since, or no longer followed
        title = escape(clip(article.title, RELATED_TITLE))
        if article.url:
            title = f'<a href="{html.escape(article.url, quote=True)}">{title}</a>'
        source = escape(clip(article.source, SOURCE_LENGTH))
        lines.append(s("following_related_line", number=numbers[follow_id], title=title, source=source))
    return "\n".join([s("following_related_header"), *lines]) if lines else ""


def stop_buttons(follows: list[tuple[int, Follow]], s: Strings) -> InlineKeyboardMarkup:
    """A Stop button for each (number, follow)."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    s("unfollow_list_button", number=i, question=shorten(f.question, BUTTON_QUESTION)),
                    callback_data=unfollow_data(f.id),
                )
            ]
            for i, f in follows
        ]
    )


async def unfollow_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/unfollow N`` stops the Nth followed question; bare ``/unfollow`` lists them with buttons."""
    message = update.effective_message
    chat = update.effective_chat
    rt = runtime(context)
    number = ascii_number((context.args or [""])[0], digits=4)
    if message is None or chat is None or rt.following is None or number is None:
        await following_command(update, context)
        return
    if not await _may_follow_here(update, context):
        return
    follows = await rt.off_loop(rt.following.store.follows_of, chat.id)
    if not 1 <= number <= len(follows):
        await following_command(update, context)
        return
    await _stop(update, context, follows[number - 1].id, message)


async def on_unfollow_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop following the question behind a Stop following button (under an alert, or in the list)."""
    query = update.callback_query
    if query is None:
        return
    follow_id = parse_unfollow(query.data)
    if follow_id is None or not isinstance(query.message, Message):
        await query.answer()
        return
    if not await _may_follow_here(update, context, quiet=True):
        await query.answer(interface_strings(update, context)("follow_admins_only"), show_alert=True)
        return
    await query.answer()
    if await _stop(update, context, follow_id, query.message):
        await _drop_button(query.message, query.data or "")


async def _stop(update: Update, context: ContextTypes.DEFAULT_TYPE, follow_id: int, reply_to: Message) -> bool:
    """Stop one follow of this chat and say so; False when there was none."""
    rt = runtime(context)
    chat = update.effective_chat
    s = interface_strings(update, context)
    if rt.following is None or chat is None:
        return False
    following = rt.following
    try:
        stopped = await rt.off_loop(following.unfollow, follow_id, chat.id)
    except DatabaseError as exc:
        log.error("could not remove a follow: %s", exc)
        await reply_html(reply_to, escape(s("follow_unavailable")))
        return False
    if stopped is None:
        await reply_html(reply_to, escape(s("unfollow_unknown")))
        return False
    await reply_html(reply_to, s("unfollow_done", question=escape(shorten(stopped.question, LISTED_QUESTION))))
    return True


async def _drop_button(message: Message, data: str) -> None:
    """Take the pressed Stop button off its message (the alert itself stays)."""
    keyboard = message.reply_markup
    if keyboard is None:
        return
    rows = [
        [button for button in row if button.callback_data != data]
        for row in keyboard.inline_keyboard
        if any(button.callback_data != data for button in row)
    ]
    try:
        await message.edit_reply_markup(InlineKeyboardMarkup(rows) if rows else None)
    except TelegramError as exc:  # the message is too old to edit, say: the follow is stopped regardless
        log.info("could not update a message's buttons: %s", exc)


async def _may_follow_here(update: Update, context: ContextTypes.DEFAULT_TYPE, *, quiet: bool = False) -> bool:
    """Private chats: anyone. Groups: the group's administrators (told otherwise, unless ``quiet``)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    message = update.effective_message
    if message is not None and message.sender_chat is not None and message.sender_chat.id == chat.id:
        return True  # an anonymous administrator, writing as the group
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
        allowed = member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)
    except TelegramError as exc:
        log.warning("could not check an administrator of chat %s: %s", chat.id, exc)
        allowed = False
    if not allowed and not quiet and message is not None:
        await reply_html(message, escape(interface_strings(update, context)("follow_admins_only")))
    return allowed
