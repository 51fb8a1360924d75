"""Unicode digits and forged callback data: no handler fails, a callback is answered exactly once, and forged
language codes do not grow the interface-strings cache."""

from __future__ import annotations

from typing import Any

import pytest
from telegram.ext import Application

from bot._alerts import parse_unfollow
from bot._i18n import _shared, strings
from bot._memory import parse_more
from bot._numbers import ascii_number
from index import SUPPORTED

from .botkit import callback, message, update_for, user
from .fakebot import FakeBotAPI

App = Application[Any, Any, Any, Any, Any, Any]
UNICODE_DIGITS = ["²", "①", "٣", "１", "𝟗", "³²"]
ERRORS = {strings(code)("error") for code in SUPPORTED}


async def send(bot_app: App, **payload: Any) -> None:
    await bot_app.process_update(update_for(bot_app, **payload))


@pytest.mark.parametrize("text", ["", " 1", "1 ", "+1", "-1", "1_000", "1.0", "0x1", *UNICODE_DIGITS, "9" * 19])
def test_only_plain_ascii_digits_are_numbers(text: str) -> None:
    assert ascii_number(text) is None


def test_ascii_numbers_parse() -> None:
    assert [ascii_number(t) for t in ("0", "7", "0042", "9" * 18)] == [0, 7, 42, int("9" * 18)]
    assert ascii_number("123", digits=2) is None
    assert parse_unfollow("uf:12") == 12 and parse_unfollow("uf:²") is None and parse_unfollow("x:12") is None
    assert parse_more("more:AAAAAAAA:٣") is None and parse_more("more:AAAAAAAA:3") is not None


@pytest.mark.parametrize("digit", UNICODE_DIGITS)
async def test_unfollow_with_a_unicode_digit_lists_the_follows(app: App, fake: FakeBotAPI, digit: str) -> None:
    await send(app, message=message("/follow Why was the Space delayed?"))
    await send(app, message=message(f"/unfollow {digit}"))
    listing = fake.sent("sendMessage")[-1]["text"]
    assert listing.startswith(strings("en")("following_header", count=1, limit=20))
    assert not any(m["text"] in ERRORS for m in fake.sent("sendMessage"))
    assert fake.rejected == []


@pytest.mark.parametrize(
    "data",
    ["uf:²", "uf:①", "ex:en:²", "ex:en:①", "ex:en:٣", "src:²", "src:①", "more:AAAAAAAA:²", "fq:²²²²²²²²", "lang:²"],
)
async def test_forged_callback_data_is_answered_once_and_never_fails(app: App, fake: FakeBotAPI, data: str) -> None:
    bot_message = {**message("x", chat={"id": 1001, "type": "private"}), "from": fake.bot_user}
    await send(app, **callback(data, bot_message, user()))
    assert len(fake.sent("answerCallbackQuery")) == 1
    assert not any(m["text"] in ERRORS for m in fake.sent("sendMessage"))
    assert fake.rejected == []


async def test_forged_language_codes_do_not_grow_the_strings_cache(app: App, fake: FakeBotAPI) -> None:
    bot_message = {**message("x", chat={"id": 1001, "type": "private"}), "from": fake.bot_user}
    for i in range(8):
        await send(app, **callback(f"ex:z{i:03d}:0", bot_message, user(language=f"q{i}")))
    for i in range(1000):
        assert strings(f"forged-{i}").language == "en"
    assert _shared.cache_info().currsize <= len(SUPPORTED)
    assert len(fake.sent("answerCallbackQuery")) == 8
