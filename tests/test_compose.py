"""Answer rendering: highlighted sentences in bold (HTML or a terminal's), other outlets linked, within limits."""

from __future__ import annotations

import io

import pytest
from telegram.constants import MessageLimit

from bot._compose import answer_html, answer_text, corroboration_html, marked, result_html
from bot._console import Console
from bot._i18n import strings
from bot._inline import DESCRIPTION_LENGTH, result_article
from bot._service import AnswerService
from bot._terminal import ANSI_BOLD, MARKERS, emphasis_for
from index import Answer, Result
from index.search.answer import Corroboration

from .fakebot import html_visible_text

TRICKY = 'Musk said <b> & "so" 2 > 1. Then the attack & the delay came. Engineers doubted it <really>.'


def result(text: str = TRICKY, **fields: object) -> Result:
    values: dict[str, object] = {
        "article_id": "wire",
        "passage_index": 0,
        "source": "Wire & Co",
        "title": "A <title>",
        "url": "https://example.org/a?x=1&y=2",
        "published": "2024-08-13",
        "language": "en",
        "text": text,
        "translation": None,
        "translation_method": None,
        "score": 1.0,
        "highlights": ((TRICKY.index("Then"), TRICKY.index(" Engineers")),),
    }
    values.update(fields)
    return Result(**values)  # type: ignore[arg-type]


def test_a_highlight_is_bold_and_the_markup_stays_valid_across_escaped_characters() -> None:
    # A span that starts at "<" and ends after "&": escaped inside the bold, never split.
    start, end = TRICKY.index("<b>"), TRICKY.index("so")
    html = marked(TRICKY, [(start, end)])
    assert html.startswith('Musk said <b>&lt;b&gt; &amp; "</b>so')
    assert html_visible_text(html) == TRICKY
    plain = marked(TRICKY, [(start, end)], html_output=False)
    assert plain == TRICKY[:start] + "**" + TRICKY[start:end] + "**" + TRICKY[end:]


def test_a_cut_quote_keeps_its_bold_closed() -> None:
    html = marked(TRICKY, [(10, len(TRICKY))], limit=30)
    assert html.count("<b>") == html.count("</b>") == 1 and html.endswith("…")
    assert html_visible_text(html).startswith(TRICKY[:10])


def test_the_result_shows_the_answering_sentence_in_bold_in_the_translation_and_the_original() -> None:
    translation = "Musk a dit <b>. Puis l'attaque et le retard sont arrivés. Les ingénieurs en doutaient."
    r = result(
        translation=translation,
        translation_method="reviewed",
        language="en",
        translation_highlights=((translation.index("Puis"), translation.index(" Les")),),
    )
    html = result_html(r, "fr", strings("fr"))
    visible = html_visible_text(html)
    assert "<b>Puis l'attaque et le retard sont arrivés.</b>" in html
    assert "<b>Then the attack &amp; the delay came.</b>" in html
    assert TRICKY in visible and translation in visible


def test_also_reported_by_names_and_links_each_outlet_in_the_readers_language() -> None:
    others = (
        Corroboration("nos", 3, "NOS Nieuws", "T", 'https://nos.nl/a?b=1&c="2"', "x"),
        Corroboration("bbc", 7, "BBC <News>", "T", "", "y"),
    )
    html = corroboration_html(others, strings("nl"))
    assert html_visible_text(html) == "Ook gemeld door NOS Nieuws, BBC <News>"
    assert '<a href="https://nos.nl/a?b=1&amp;c=&quot;2&quot;">NOS Nieuws</a>' in html
    text = answer_text(Answer("q", "en", True, (result(also_reported_by=others),)), strings("en"))
    assert 'Also reported by NOS Nieuws (https://nos.nl/a?b=1&c="2"), BBC <News>' in text
    assert "**Then the attack & the delay came.**" in text


def test_bold_and_corroboration_never_push_a_message_past_telegrams_limit() -> None:
    long_text = " ".join([TRICKY] * 80)  # about 7,000 characters, many of them escaped
    spans = tuple((i * len(TRICKY) + i, i * len(TRICKY) + i + 40) for i in range(0, 80, 2))
    others = tuple(
        Corroboration(f"a{i}", i, f"Outlet & {i}", "T", f"https://example.org/{'x' * 200}?{i}", "t") for i in range(12)
    )
    big = result(
        long_text, highlights=spans, also_reported_by=others, translation=long_text, translation_highlights=spans
    )
    alone = result_html(big, "fr", strings("fr"))
    assert len(alone) <= MessageLimit.MAX_TEXT_LENGTH
    html_visible_text(alone)  # raises on broken markup
    message, shown = answer_html(Answer("q", "fr", True, (big, big, result())), strings("fr"))
    assert len(message) <= MessageLimit.MAX_TEXT_LENGTH and shown >= 1
    html_visible_text(message)


def test_an_inline_result_describes_the_answering_sentence() -> None:
    article = result_article(result(), "en", strings("en"))
    assert article.description is not None
    assert article.description.startswith("Then the attack & the delay came.")
    assert len(article.description) <= DESCRIPTION_LENGTH


# --- plain text: real bold on a terminal, markers elsewhere ---------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_text_marks_the_answering_sentence_with_the_emphasis_it_is_given() -> None:
    answer = Answer("q", "en", True, (result(),))
    plain = answer_text(answer, strings("en"))
    assert "**Then the attack & the delay came.**" in plain and "\x1b[" not in plain
    bold = answer_text(answer, strings("en"), bold=ANSI_BOLD)
    assert "\x1b[1mThen the attack & the delay came.\x1b[22m" in bold and "**" not in bold


def test_a_terminal_gets_bold_and_anything_else_markers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert emphasis_for(Terminal()) == ANSI_BOLD
    assert emphasis_for(io.StringIO()) == MARKERS
    monkeypatch.setenv("TERM", "dumb")
    assert emphasis_for(Terminal()) == MARKERS
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("NO_COLOR", "1")
    assert emphasis_for(Terminal()) == MARKERS


def test_the_console_answers_in_bold_on_a_terminal(service: AnswerService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    on_terminal = Console(service, out=Terminal()).respond("Why was the Space delayed?")
    in_a_pipe = Console(service, out=io.StringIO()).respond("Why was the Space delayed?")
    assert "\x1b[1m" in on_terminal and "**" not in on_terminal
    assert "**" in in_a_pipe and "\x1b[" not in in_a_pipe
    assert on_terminal.replace("\x1b[1m", "**").replace("\x1b[22m", "**") == in_a_pipe
