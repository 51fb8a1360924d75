"""Admins grow and prune the corpus from Telegram.

- Send the bot a file in a private chat: a ``.md`` article in the corpus format,
  or a ``.txt``/``.html`` file whose caption gives its source, title, date and
  link (see corpus/README.md, "Adding articles"). It is checked with the
  corpus loader, saved, machine-translated when a service is configured, and
  indexed; the reply shows how it was split into passages, or every problem
  (and then nothing was saved). Files from anyone else are ignored.
- Send the bot a link in a private chat (a message whose first line is the
  address), or ``/add URL``: the page is fetched (see
  :mod:`index.intake.fetch` for the limits and address checks), its article and
  metadata are extracted, and it is added exactly as an uploaded page is. Lines
  after the address give fields, as a caption does. A link from anyone but an
  admin is an ordinary question (the handler's filter only matches admins).
- ``/remove <id>`` asks for confirmation with a button, then moves the article
  out of the corpus (into ``.removed/``) and reindexes.
"""

from __future__ import annotations

import difflib
import gc
import logging
import time

from telegram import (
    Document,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessage,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import FileSizeLimit, MessageLimit
from telegram.error import TelegramError
from telegram.ext import ContextTypes, filters

from index import CorpusError, Rendition, Upload, human_sizes
from index.intake.address import AlreadyInCorpus, corpus_addresses, find_duplicate, page_label
from index.intake.fetch import FetchError
from index.intake.link import fetch_upload

from ._admin import alert_lines, problem_list, refuse_unless_admin, translation_lines
from ._compose import escape, passage_preview, shorten
from ._feeds import fetcher_of
from ._fit import SOURCE_LENGTH, clip, visible_units
from ._i18n import Strings
from ._memory import parse_remove, remove_data
from ._runtime import Runtime, interface_strings, runtime
from ._send import edit_html, reply_html, with_retries
from ._service import AddReport
from ._translate import usage_line

log = logging.getLogger(__name__)
LISTED_IDS = 40


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Add the article in an admin's file to the corpus; ignore everyone else's files."""
    message = update.effective_message
    rt = runtime(context)
    user = update.effective_user
    if message is None or message.document is None or update.edited_message is not None:
        return
    if not rt.is_admin(user):
        log.info("ignored a file from user id %s (not an admin)", user.id if user else "unknown")
        return
    s = interface_strings(update, context)
    document = message.document
    name = document.file_name or s("upload_no_name")
    limit = min(rt.service.max_upload_bytes, FileSizeLimit.FILESIZE_DOWNLOAD)
    if document.file_size is not None and document.file_size > limit:
        size, most = human_sizes(document.file_size, limit)
        await reply_html(message, s("upload_too_big", name=escape(name), size=size, limit=most))
        return
    await reply_html(message, s("upload_checking", name=escape(name)))
    data = await _download(document)
    if data is None:
        await reply_html(message, s("upload_download_failed", name=escape(name)))
        return
    await _add_and_report(message, rt, s, Upload(name, data, message.caption), name, "an upload")


async def _add_and_report(message: Message, rt: Runtime, s: Strings, upload: Upload, name: str, origin: str) -> None:
    """Add ``upload`` to the corpus and reply with what was added and how it was split, or with every problem."""
    try:
        report = await rt.off_loop(rt.service.add_article, upload)
    except AlreadyInCorpus as exc:
        await reply_html(message, s("link_duplicate", url=escape(shorten(exc.url, 200)), id=escape(exc.article_id)))
        return
    except CorpusError as exc:
        log.info("%s (%s) refused: %d problem(s)", origin, name, len(exc.problems))
        problems = problem_list(exc, rt.service.corpus_dir)
        await reply_html(message, s("upload_problems", name=escape(name), problems=problems))
        return
    except OSError as exc:
        log.warning("%s (%s) failed: %s", origin, name, exc)
        await reply_html(message, s("upload_problems", name=escape(name), problems=escape(str(exc))))
        return
    gc.freeze()  # the new index is long-lived (see post_init)
    rt.save_stats()
    added = report.prepared
    log.info("article %s added from %s (%d passages)", added.article.id, origin, len(added.passages))
    await reply_html(message, added_text(report, s, usage_line(rt, s.language)))


async def _download(document: Document) -> bytes | None:
    try:
        file = await with_retries(document.get_file, "fetching an uploaded file")
        return bytes(await with_retries(file.download_as_bytearray, "downloading an uploaded file"))
    except TelegramError as exc:
        log.warning("could not download an uploaded file: %s", exc)
        return None


def added_text(report: AddReport, s: Strings, usage: str | None = None) -> str:
    """The reply to an upload: the article, its passages (as many as fit), the corpus, translations (``usage``:
    this month's machine translation against its budget)."""
    article = report.prepared.article
    language = s.language_name(article.language)
    if report.prepared.detected_language:
        language = s("upload_detected_language", language=language)
    remarks = [f"<i>{escape(remark)}</i>" for remark in report.prepared.remarks]
    if report.prepared.from_page:
        names = s.raw("page_field_names")
        fields = ", ".join(str(names.get(name, name)) for name in report.prepared.from_page)
        remarks.insert(0, s("link_from_page", fields=escape(fields)))
    tail = "\n".join([*remarks, *translation_lines(report.reload, s, usage), *alert_lines(report.reload, s)])

    def text(passage_lines: list[str]) -> str:
        body = s(
            "upload_added",
            title=escape(clip(article.title)),
            source=escape(clip(article.source, SOURCE_LENGTH)),
            date=article.published.isoformat(),
            language=escape(language),
            id=escape(article.id),
            count=len(report.prepared.passages),
            passages="\n".join(passage_lines),
            articles=report.reload.articles,
            total=report.reload.passages,
        )
        return f"{body}\n{tail}" if tail else body

    every = [_passage_line(i, p, s) for i, p in enumerate(report.prepared.passages, 1)]
    lines, shown = every, len(every)
    while visible_units(text(lines)) > MessageLimit.MAX_TEXT_LENGTH and shown > 0:
        shown -= 1
        lines = [*every[:shown], s("upload_more_passages", count=len(every) - shown)]
    return text(lines)


class _BareLink(filters.MessageFilter):
    """A message whose first line is a link Telegram marked (a ``url`` entity), and nothing else."""

    def filter(self, message: Message) -> bool:
        return link_and_fields(message) is not None


BARE_LINK = _BareLink(name="bare link")


def link_and_fields(message: Message) -> tuple[str, str] | None:
    """(address, the lines after it) when the message's first line is one ``url`` entity; None otherwise."""
    text = message.text or ""
    first, _, rest = text.strip().partition("\n")
    for entity, value in message.parse_entities([MessageEntity.URL]).items():
        del entity
        if value.strip() == first.strip():
            return value.strip(), rest
    return None


async def on_link(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Add the article at a link an admin sent in a private chat (the handler's filter admits only admins)."""
    message = update.effective_message
    if message is None or update.edited_message is not None or not runtime(context).is_admin(update.effective_user):
        return
    found = link_and_fields(message)
    if found is not None:
        await add_link(update, context, *found)


async def add_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/add URL (and optional field lines): add the article at a link."""
    if await refuse_unless_admin(update, context, "/add") or update.effective_message is None:
        return
    s = interface_strings(update, context)
    text = update.effective_message.text or ""
    after = text.split(maxsplit=1)[1] if len(text.split(maxsplit=1)) > 1 else ""
    first, _, rest = after.strip().partition("\n")
    url = first.strip()
    if not url:
        await reply_html(update.effective_message, s("add_usage"))
        return
    await add_link(update, context, url, rest)


async def add_link(update: Update, context: ContextTypes.DEFAULT_TYPE, url: str, caption: str) -> None:
    """Fetch ``url``, extract and validate its article, add it and reply as to an upload; or say what is wrong."""
    message = update.effective_message
    if message is None:
        return
    rt = runtime(context)
    s = interface_strings(update, context)
    shown = escape(shorten(url, 200))
    corpus = rt.service.engine.corpus
    duplicate = find_duplicate(corpus_addresses(corpus.articles), url)
    if duplicate is not None:
        await reply_html(message, s("link_duplicate", url=shown, id=escape(duplicate[0])))
        return
    await reply_html(message, s("link_fetching", url=shown))
    fetcher = fetcher_of(context.bot_data)
    try:
        async with fetcher.client() as client:
            upload = await fetch_upload(url, client, fetcher.settings, resolver=fetcher.resolver, caption=caption)
    except FetchError as exc:
        log.info("link to %s not fetched: %s", page_label(url), exc.kind)
        await reply_html(message, s("link_failed", url=shown, reason=escape(str(exc))))
        return
    await _add_and_report(message, rt, s, upload, page_label(upload.url or url), "a link")


def _passage_line(number: int, passage: Rendition, s: Strings) -> str:
    return s("upload_passage", number=number, preview=escape(passage_preview(passage)), characters=len(passage.text))


async def remove_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer to take an article out of the corpus, with a confirmation button."""
    if await refuse_unless_admin(update, context, "/remove") or update.effective_message is None:
        return
    rt = runtime(context)
    s = interface_strings(update, context)
    message = update.effective_message
    articles = {a.id: a for a in rt.service.engine.corpus.articles}
    if not context.args:
        ids = sorted(articles)
        listing = [f"• <code>{escape(i)}</code>" for i in ids[:LISTED_IDS]]
        if len(ids) > LISTED_IDS:
            listing.append(s("upload_more_passages", count=len(ids) - LISTED_IDS))
        example = escape(ids[0] if ids else "article-id")
        await reply_html(message, s("remove_usage", example=example, ids="\n".join(listing)))
        return
    article_id = context.args[0].strip()
    article = articles.get(article_id)
    if article is None:
        await reply_html(message, _unknown_article(article_id, list(articles), s))
        return
    token = rt.removals.offer(article.id, time.monotonic())
    buttons = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(s("remove_button"), callback_data=remove_data(token, confirmed=True))],
            [InlineKeyboardButton(s("cancel_button"), callback_data=remove_data(token, confirmed=False))],
        ]
    )
    passages = sum(1 for p in rt.service.engine.corpus.passages if p.article.id == article.id)
    text = s(
        "remove_confirm",
        title=escape(clip(article.title)),
        source=escape(clip(article.source, SOURCE_LENGTH)),
        date=article.published.isoformat(),
        passages=passages,
    )
    await reply_html(message, text, buttons)


def _unknown_article(article_id: str, known: list[str], s: Strings) -> str:
    text = s("remove_unknown", id=escape(shorten(article_id, 100)))
    close = difflib.get_close_matches(article_id, known, n=3, cutoff=0.5)
    if close:
        text += " " + s("remove_did_you_mean", ids=", ".join(f"<code>{escape(i)}</code>" for i in close))
    return text


async def on_remove_choice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Carry out or cancel a removal when an admin presses its button."""
    query = update.callback_query
    if query is None:
        return
    rt = runtime(context)
    s = interface_strings(update, context)
    choice = parse_remove(query.data)
    if not rt.is_admin(query.from_user):
        log.warning("refused a removal button from user id %s", query.from_user.id)
        await query.answer(s("not_admin"), show_alert=True)
        return
    article_id = rt.removals.take(choice.token, time.monotonic()) if choice else None
    if choice is None or article_id is None:
        await query.answer(s("expired"), show_alert=True)
        return
    await query.answer()
    if not choice.confirmed:
        await _edit(query.message, s("remove_cancelled", id=escape(article_id)))
        return
    try:
        report = await rt.off_loop(rt.service.remove_article, article_id)
    except KeyError:
        await _edit(query.message, s("remove_unknown", id=escape(article_id)))
        return
    except CorpusError as exc:
        await _edit(query.message, s("remove_failed", problems=problem_list(exc, rt.service.corpus_dir)))
        return
    gc.freeze()
    rt.save_stats()
    log.info("article %s removed; its files are in %s", article_id, report.backup)
    backup = report.backup.relative_to(rt.service.corpus_dir).as_posix()
    text = s(
        "remove_done",
        id=escape(article_id),
        articles=report.reload.articles,
        passages=report.reload.passages,
        backup=escape(backup),
    )
    await _edit(query.message, "\n".join([text, *translation_lines(report.reload, s)]))


async def _edit(message: MaybeInaccessibleMessage | None, text: str) -> None:
    """Replace the confirmation message (and its buttons) with the outcome."""
    if isinstance(message, Message):
        await edit_html(message, text)


async def translate_gaps_in_background(rt: Runtime) -> None:
    """At start-up, machine-translate what the corpus lacks (as /reload would), without holding up answers."""
    try:
        report = await rt.off_loop(rt.service.reload)
    except (CorpusError, OSError) as exc:
        log.warning("could not translate the corpus's gaps at start-up: %s", exc)
        return
    gc.freeze()
    done = report.translation
    log.info(
        "start-up translation: %d passage translations written; %d passages still lack one%s",
        done.passages_translated if done else 0,
        report.untranslated,
        f" ({done.errors[0]})" if done and done.errors else "",
    )
