"""The one length rule (bot/_fit.py): counted as Telegram counts, lists paged, fields clipped, nothing over."""

from __future__ import annotations

import html
from typing import Any

from bot._fit import MAX_MESSAGE, clip, cut_units, fit_html, pages, units, visible_units
from bot._send import reply_html

from .botkit import message, update_for
from .fakebot import FakeBotAPI


def test_length_is_counted_in_utf16_units_after_entities() -> None:
    assert units("😀") == 2 and units("é") == 1
    assert visible_units("<b>&lt;a&gt;</b> 😀") == 6
    assert visible_units('<a href="https://example.org/very/long">x</a>') == 1


def test_a_field_is_clipped_on_one_line_with_an_ellipsis() -> None:
    assert clip("a\nb   c", 10) == "a b c"
    cut = clip("word " * 100, 50)
    assert len(cut) <= 50 and cut.endswith("…") and "\n" not in cut


def test_cut_units_never_splits_a_surrogate_pair_and_stays_under() -> None:
    cut = cut_units("😀" * 3000, 4096)
    assert units(cut) <= 4096 and cut.endswith("…") and set(cut[:-1]) == {"😀"}


def test_pages_keep_every_line_in_order_and_each_page_fits() -> None:
    lines = [f"<b>{n}</b> " + "😀&amp;" * 100 for n in range(60)]
    header = "<b>Header</b>"
    packed = pages(lines, header=header, most=20)
    assert [line for page in packed for line in page] == lines
    assert len(packed) > 3 and all(len(page) <= 20 for page in packed)
    assert all(visible_units("\n".join([header, *page])) <= MAX_MESSAGE for page in packed)
    assert pages([]) == [[]]


def test_a_single_line_too_long_for_a_page_is_cut() -> None:
    (page,) = pages(["<b>x</b>" + "é" * 9000], header="H")
    assert visible_units("\n".join(["H", *page])) <= MAX_MESSAGE


def test_fit_html_keeps_what_fits_and_cuts_the_rest_to_plain_text() -> None:
    fits = "<b>short</b> &amp; fine"
    assert fit_html(fits) == (fits, True)
    text, is_html = fit_html("<i>" + html.escape("<&>") * 2000 + "</i>")
    assert not is_html and units(text) <= MAX_MESSAGE and text.startswith("<&><&>")


async def test_reply_html_never_sends_over_the_limit(app: Any, fake: FakeBotAPI) -> None:
    asked = update_for(app, message=message("x")).effective_message
    assert asked is not None
    await reply_html(asked, "<b>" + "😀" * 3000 + "</b>")
    (sent,) = fake.sent("sendMessage")
    assert "parse_mode" not in sent and units(sent["text"]) <= MAX_MESSAGE
    assert fake.rejected == []
