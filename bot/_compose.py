"""Answer composition: one layout, rendered as Telegram HTML or as plain text.

HTML output never exceeds Telegram's message limit: results are added whole
while they fit, and a single oversized result has its quotes shortened at a
word boundary before escaping, so a tag is never cut. The sentences that
answer the question are bold in the quote and in the original (real bold on a
terminal, ``**…**`` in other plain text; :mod:`bot._terminal`); other outlets
reporting the same passage are named, with links.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from telegram.constants import MessageLimit

from index import Answer, Rendition, Result
from index.search.answer import Corroboration, Span

from ._fit import ELLIPSIS, SOURCE_LENGTH, clip, shorten, units
from ._i18n import Strings
from ._terminal import MARKERS, Emphasis

MAX_MESSAGE = MessageLimit.MAX_TEXT_LENGTH
MAX_QUESTION_SHOWN = 300  # characters of a question quoted back ("read as: …")


def escape(text: str) -> str:
    """Escape text for Telegram HTML (quotes only matter inside attributes, escaped separately)."""
    return html.escape(text, quote=False)


def marked(
    text: str, spans: Sequence[Span], limit: int | None = None, *, html_output: bool = True, plain: Emphasis = MARKERS
) -> str:
    """``text`` escaped for Telegram HTML with the ``spans`` in bold (``plain`` around them when not HTML), cut to
    ``limit``.

    Spans are offsets into the raw text, so the text is cut and marked before
    it is escaped: an entity such as ``&amp;`` is never split by a tag.
    """
    ellipsis = ""
    if limit is not None and len(text) > limit:
        short = shorten(text, limit)
        text, ellipsis = short[: -len(ELLIPSIS)], ELLIPSIS
    quote = escape if html_output else str
    opening, closing = ("<b>", "</b>") if html_output else plain
    parts: list[str] = []
    position = 0
    for start, end in sorted(spans):
        start, end = max(start, position), min(end, len(text))
        if start >= end:
            continue
        parts += [quote(text[position:start]), opening, quote(text[start:end]), closing]
        position = end
    parts.append(quote(text[position:]))
    return "".join(parts) + ellipsis


def corroboration_html(sources: Sequence[Corroboration], s: Strings) -> str:
    """ "Also reported by <a>NOS Nieuws</a>, <a>BBC News</a>", each outlet linked to its article."""
    links = [
        f'<a href="{html.escape(c.url, quote=True)}">{escape(clip(c.source, SOURCE_LENGTH))}</a>'
        if c.url
        else escape(clip(c.source, SOURCE_LENGTH))
        for c in sources
    ]
    before, _, after = str(s.raw("also_reported_by")).partition("{sources}")
    return f"<i>{escape(before)}{', '.join(links)}{escape(after)}</i>"


def passage_preview(passage: Rendition, limit: int = 70) -> str:
    """The start of a passage on one line ("Subheading — paragraph…"), to show how an article was split."""
    flat = " ".join(passage.body.split())
    if passage.heading:
        flat = f"{' '.join(passage.heading.split())} — {flat}"
    return shorten(flat, limit)


def _translated_label(result: Result, s: Strings) -> str | None:
    """ "translated from French" (or "machine-translated from …"), None for an original."""
    if result.translation is None:
        return None
    if result.translated_by:  # translated as it was quoted (index/translation/quoted.py)
        return s("machine_translation_by", service=result.translated_by, language=s.language_name(result.language))
    key = "machine_translated_from" if result.translation_method == "machine" else "translated_from"
    return s(key, language=s.language_name(result.language))


def _missing_translation_note(result: Result, answer_language: str, s: Strings) -> str | None:
    """Says the original is shown because no translation into the reader's language exists."""
    if not result.missing_translation(answer_language):
        return None
    return s("no_translation", language=s.language_name(answer_language), original=s.language_name(result.language))


def _attribution_html(result: Result, s: Strings) -> str:
    title = escape(clip(result.title))
    linked = f'<a href="{html.escape(result.url, quote=True)}">{title}</a>' if result.url else title
    parts = [f"<b>{escape(clip(result.source, SOURCE_LENGTH))}</b>", linked, escape(result.published)]
    label = _translated_label(result, s)
    if label:
        parts.append(f"<i>{escape(label)}</i>")
    return " · ".join(parts)


def _quote_html(
    text: str, spans: Sequence[Span] = (), limit: int | None = None, *, expandable: bool = False, label: str = ""
) -> str:
    body = marked(text, spans, limit)
    if label:
        body = f"<b>{escape(label)}</b>\n{body}"
    return f"<blockquote expandable>{body}</blockquote>" if expandable else f"<blockquote>{body}</blockquote>"


def result_html(result: Result, answer_language: str, s: Strings, *, budget: int = MAX_MESSAGE) -> str:
    """One result: quote in the reader's language, attribution, original beside any translation."""
    shown = result.shown_text
    original = result.text if result.translation is not None else None
    missing = _missing_translation_note(result, answer_language, s)
    note = escape(missing) if missing else ""
    label = s("original_label", language=s.language_name(result.language))
    corroborated = corroboration_html(result.also_reported_by, s) if result.also_reported_by else ""

    def build(shown_limit: int | None, original_limit: int | None) -> str:
        parts = [note] if note else []
        parts.append(_quote_html(shown, result.shown_highlights, shown_limit))
        parts.append(_attribution_html(result, s))
        if corroborated:
            parts.append(corroborated)
        if original is not None:
            parts.append(_quote_html(original, result.highlights, original_limit, expandable=True, label=label))
        return "\n".join(parts)

    rendered = build(None, None)
    if units(rendered) <= budget:
        return rendered
    # Too long for one message: shorten the original first, then the shown quote.
    # Escaping and bold can lengthen text, so shrink until it fits.
    shown_len, original_len = len(shown), len(original or "")
    while units(rendered) > budget and (shown_len > 40 or original_len > 40):
        excess = units(rendered) - budget
        if original is not None and original_len > 40:
            original_len = max(40, original_len - excess - 8)
        else:
            shown_len = max(40, shown_len - excess - 8)
        rendered = build(shown_len, original_len if original is not None else None)
    return rendered


def read_as_text(answer: Answer, s: Strings) -> str:
    """ "(read as: …)": the question as the engine read it, after correcting typing mistakes."""
    return s("read_as", question=shorten(answer.read_as or answer.question, MAX_QUESTION_SHOWN))


def read_as_html(answer: Answer, s: Strings) -> str:
    return f"<i>{escape(read_as_text(answer, s))}</i>"


def answer_html(
    answer: Answer, s: Strings, results: Sequence[Result] | None = None, *, header: str | None = None
) -> tuple[str, int]:
    """The answer message as Telegram HTML (at most MAX_MESSAGE characters), and how many results it holds."""
    if answer.unavailable:
        return escape(s("search_unavailable")), 0
    if not answer.answered:
        refusal = s("not_found", example=escape(s.examples[0]))
        return (f"{read_as_html(answer, s)}\n{refusal}" if answer.read_as else refusal), 0
    results = answer.results if results is None else results
    separator = "\n\n"
    parts: list[str] = [header] if header else []
    if answer.unsupported_language:
        parts.append(f"<i>{escape(s('unsupported_language'))}</i>")
    if answer.read_as and header is None:
        parts.append(read_as_html(answer, s))
    if answer.hedged:
        parts.append(f"<i>{escape(s('hedge'))}</i>")
    shown = 0
    for result in results:
        room = MAX_MESSAGE - units(separator.join(parts)) - (len(separator) if parts else 0)
        block = result_html(result, answer.language, s)
        if units(block) > room:
            if shown:
                break  # a clean cut between results; "More" offers the rest
            block = result_html(result, answer.language, s, budget=room)
        parts.append(block)
        shown += 1
    return separator.join(parts), shown


def result_text(result: Result, answer_language: str, s: Strings, number: int, bold: Emphasis = MARKERS) -> str:
    """One result as plain text for the console and the command line, the answering sentences in ``bold``."""
    missing = _missing_translation_note(result, answer_language, s)
    lines = [missing] if missing else []
    lines.append(f"[{number}] “{marked(result.shown_text, result.shown_highlights, html_output=False, plain=bold)}”")
    attribution = [clip(result.source, SOURCE_LENGTH), f"“{clip(result.title)}”", result.published]
    label = _translated_label(result, s)
    if label:
        attribution.append(label)
    lines.append("    — " + ", ".join(attribution))
    if result.url:
        lines.append(f"    {result.url}")
    if result.also_reported_by:
        sources = ", ".join(f"{c.source} ({c.url})" if c.url else c.source for c in result.also_reported_by)
        lines.append(f"    {s('also_reported_by', sources=sources)}")
    if result.translation is not None:
        original = marked(result.text, result.highlights, html_output=False, plain=bold)
        lines.append(f"    {s('original_label', language=s.language_name(result.language))}: “{original}”")
    return "\n".join(lines)


def answer_text(
    answer: Answer, s: Strings, results: Sequence[Result] | None = None, *, bold: Emphasis = MARKERS
) -> str:
    """The whole answer as plain text (no length limit: terminals scroll), the answering sentences in ``bold``."""
    if answer.unavailable:
        return s("search_unavailable")
    read_as = [read_as_text(answer, s)] if answer.read_as else []
    if not answer.answered:
        return "\n".join([*read_as, html_to_text(s("not_found", example=s.examples[0]))])
    results = answer.results if results is None else results
    parts = [s("unsupported_language")] if answer.unsupported_language else []
    parts += read_as
    if answer.hedged:
        parts.append(s("hedge"))
    parts.extend(result_text(r, answer.language, s, i, bold) for i, r in enumerate(results, 1))
    return "\n\n".join(parts)


def html_to_text(markup: str) -> str:
    """Drop the few tags our locale strings use, and unescape entities."""
    import re

    return html.unescape(re.sub(r"</?(?:b|i|code|blockquote(?: expandable)?|a(?: [^>]*)?)>", "", markup))
