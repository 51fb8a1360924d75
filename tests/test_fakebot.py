"""The fake Bot API refuses what Telegram refuses, driven through a real ``telegram.Bot``."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, MessageHandler, filters
from telegram.request import HTTPXRequest

from tests.fakebot import Call, FakeBotAPI, html_visible_text

CHAT = 4242


def mock_requests(fake: FakeBotAPI) -> dict[str, HTTPXRequest]:
    transport = httpx.MockTransport(fake)
    return {
        "request": HTTPXRequest(httpx_kwargs={"transport": transport}),
        "get_updates_request": HTTPXRequest(httpx_kwargs={"transport": transport}),
    }


@pytest.fixture
def fake() -> FakeBotAPI:
    return FakeBotAPI()


@pytest.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    bot = Bot(fake.token, **mock_requests(fake))
    await bot.initialize()
    yield bot
    await bot.shutdown()


@pytest.fixture
def raw(fake: FakeBotAPI) -> httpx.Client:
    """A plain HTTP client for requests python-telegram-bot would never send."""
    return httpx.Client(transport=httpx.MockTransport(fake), base_url=f"https://api.telegram.org/bot{fake.token}/")


def article(identifier: str, text: str = "answer") -> InlineQueryResultArticle:
    return InlineQueryResultArticle(identifier, "title", InputTextMessageContent(text, parse_mode="HTML"))


def last_refusal(fake: FakeBotAPI) -> str:
    return fake.rejected[-1][1]


def refused(message: str) -> pytest.RaisesExc[BadRequest]:
    """python-telegram-bot strips "Bad Request: " and capitalises what is left, so match case-insensitively."""
    return pytest.raises(BadRequest, match=re.compile(re.escape(message), re.IGNORECASE))


# --- accepted calls ---------------------------------------------------------------------------------


async def test_initialize_calls_get_me(bot: Bot, fake: FakeBotAPI) -> None:
    assert bot.username == "newsbot_test_bot"
    assert bot.id == fake.bot_user["id"]
    assert fake.calls == [Call("getMe", {})]


async def test_send_message_is_recorded_with_decoded_parameters(bot: Bot, fake: FakeBotAPI) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more:1")]])
    message = await bot.send_message(
        CHAT,
        "<b>Hello</b> &amp; welcome",
        parse_mode="HTML",
        reply_markup=markup,
        reply_parameters=ReplyParameters(7),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        disable_notification=True,
    )

    assert message.text == "Hello & welcome"
    assert message.chat.id == CHAT
    assert message.reply_markup == markup
    assert fake.sent("sendMessage") == [
        {
            "chat_id": CHAT,
            "text": "<b>Hello</b> &amp; welcome",
            "parse_mode": "HTML",
            "reply_markup": {"inline_keyboard": [[{"text": "More", "callback_data": "more:1"}]]},
            "reply_parameters": {"message_id": 7},
            "link_preview_options": {"is_disabled": True},
            "disable_notification": True,
        }
    ]
    assert fake.rejected == []


async def test_message_ids_increase_and_edits_keep_theirs(bot: Bot) -> None:
    first = await bot.send_message(CHAT, "one")
    second = await bot.send_message(-100123, "two")
    edited = await bot.edit_message_text("<i>three</i>", chat_id=CHAT, message_id=first.message_id, parse_mode="HTML")

    assert second.message_id == first.message_id + 1
    assert second.chat.type == "supergroup"
    assert (edited.message_id, edited.text) == (first.message_id, "three")
    assert await bot.edit_message_text("inline", inline_message_id="abc") is True


@pytest.mark.parametrize(
    ("html", "visible"),
    [
        ("<b>bold <i>and italic</i></b>", "bold and italic"),
        ('<a href="https://example.org/?a=1&amp;b=2">a link</a>', "a link"),
        ("<blockquote expandable>quoted\nlines</blockquote>", "quoted\nlines"),
        ('<span class="tg-spoiler">hidden</span> <tg-spoiler>too</tg-spoiler>', "hidden too"),
        ('<pre><code class="language-python">x &lt; 1</code></pre>', "x < 1"),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍"),
        ("&quot;quotes&quot; &#169; &#x1F600; a > b", '"quotes" © 😀 a > b'),
        ("<B>upper</B> <s>st</s><u>u</u><ins>i</ins><del>d</del><strike>s</strike><em>e</em>", "upper stuidse"),
    ],
)
async def test_valid_html_is_accepted(bot: Bot, html: str, visible: str) -> None:
    message = await bot.send_message(CHAT, html, parse_mode="HTML")
    assert message.text == visible


async def test_answer_inline_query_and_commands_are_accepted(bot: Bot, fake: FakeBotAPI) -> None:
    results = [article(str(n)) for n in range(50)]
    assert await bot.answer_inline_query("query-1", results, cache_time=30, is_personal=False)
    assert await bot.set_my_commands([BotCommand("ask", "Ask a question"), BotCommand("help_me", "Help")])
    assert await bot.answer_callback_query("cb-1", text="x" * 200)
    assert await bot.send_chat_action(CHAT, "typing")

    (answer,) = fake.sent("answerInlineQuery")
    assert answer["results"][0] == {
        "type": "article",
        "id": "0",
        "title": "title",
        "input_message_content": {"message_text": "answer", "parse_mode": "HTML"},
    }
    assert fake.sent("setMyCommands")[0]["commands"][1] == {"command": "help_me", "description": "Help"}


async def test_file_uploads_arrive_as_bytes(bot: Bot, fake: FakeBotAPI) -> None:
    message = await bot.send_document(CHAT, b"contents", filename="a.txt", caption="<b>c</b>", parse_mode="HTML")
    assert message.caption == "c"
    assert fake.sent("sendDocument")[0]["document"] == b"contents"


async def test_files_users_sent_can_be_fetched_and_downloaded(bot: Bot, fake: FakeBotAPI) -> None:
    document = fake.add_file(b"Bonjour\n", "article.txt")
    file = await bot.get_file(document["file_id"])
    assert file.file_size == len(b"Bonjour\n")
    assert file.file_path is not None and file.file_path.startswith(f"https://api.telegram.org/file/bot{fake.token}/")
    assert bytes(await file.download_as_bytearray()) == b"Bonjour\n"
    assert fake.downloads == [file.file_path.rsplit(f"{fake.token}/", 1)[1]]


async def test_unknown_and_oversized_files_are_refused(bot: Bot, fake: FakeBotAPI) -> None:
    with refused("invalid file_id"):
        await bot.get_file("no-such-file")
    big = fake.add_file(b"x" * (20 * 1024 * 1024 + 1), "big.txt")
    with refused("file is too big"):
        await bot.get_file(big["file_id"])


def test_file_downloads_need_the_token(raw: httpx.Client, fake: FakeBotAPI) -> None:
    fake.add_file(b"secret", "a.txt")
    assert raw.get("https://api.telegram.org/file/botWRONG/documents/file_1.txt").status_code == 401
    assert raw.get(f"https://api.telegram.org/file/bot{fake.token}/documents/missing.txt").status_code == 404
    assert raw.get(f"https://api.telegram.org/file/bot{fake.token}/documents/file_1.txt").content == b"secret"


def test_json_bodies_and_query_strings_are_understood(raw: httpx.Client, fake: FakeBotAPI) -> None:
    markup = {"inline_keyboard": [[{"text": "Open", "url": "https://example.org"}]]}
    response = raw.post("sendMessage", json={"chat_id": "@news", "text": "hi", "reply_markup": markup})
    assert response.json()["ok"] is True
    assert raw.get("SENDMESSAGE", params={"chat_id": "5", "text": "query"}).json()["ok"] is True

    assert fake.sent("sendMessage") == [
        {"chat_id": "@news", "text": "hi", "reply_markup": markup},
        {"chat_id": 5, "text": "query"},
    ]
    assert [call.method for call in fake.calls] == ["sendMessage", "sendMessage"]


# --- refused calls ------------------------------------------------------------------------------------


async def test_message_length_counts_visible_text(bot: Bot, fake: FakeBotAPI) -> None:
    await bot.send_message(CHAT, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    with refused("message is too long"):
        await bot.send_message(CHAT, "x" * 4097)
    assert last_refusal(fake) == "Bad Request: message is too long"
    with refused("message is too long"):
        await bot.send_message(CHAT, "&amp;" * 4097, parse_mode="HTML")


@pytest.mark.parametrize("text", ["", "   ", "<b> </b>"])
async def test_empty_text_is_refused(bot: Bot, fake: FakeBotAPI, text: str) -> None:
    with refused("message text is empty"):
        await bot.send_message(CHAT, text, parse_mode="HTML")
    assert last_refusal(fake) == "Bad Request: message text is empty"


@pytest.mark.parametrize(
    ("html", "detail"),
    [
        ("<foo>unknown</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>crossed</b></i>", 'Unmatched end tag at byte offset 13, expected "</i>", found "</b>"'),
        ("stray </b>", "Unexpected end tag at byte offset 6"),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("é <3", "Unclosed start tag at byte offset 3"),
        ("fish & chips", "Unsupported HTML entity at byte offset 5"),
        ("&nbsp;", "Unsupported HTML entity at byte offset 0"),
        ("<br/>", 'Unsupported start tag "br/" at byte offset 0'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("<a>no href</a>", 'Tag "a" must have a non-empty "href" attribute'),
        ('<b class="x">attr</b>', 'Unsupported attribute "class" in the tag "b"'),
        ('<blockquote expandable="yes">q</blockquote>', 'Attribute "expandable" of the tag "blockquote"'),
    ],
)
async def test_invalid_html_is_refused(bot: Bot, fake: FakeBotAPI, html: str, detail: str) -> None:
    with refused("can't parse entities"):
        await bot.send_message(CHAT, html, parse_mode="HTML")
    assert last_refusal(fake).startswith(f"Bad Request: can't parse entities: {detail}")
    assert fake.sent("sendMessage") == []


def test_html_visible_text() -> None:
    assert html_visible_text("<b>a</b> &lt;b&gt;") == "a <b>"
    with pytest.raises(ValueError, match="Unsupported start tag"):
        html_visible_text("<script>")


async def test_html_inside_inline_results_is_checked(bot: Bot, fake: FakeBotAPI) -> None:
    with refused("can't parse entities"):
        await bot.answer_inline_query("q", [article("1", "<b>oops")])
    with refused("message is too long"):
        await bot.answer_inline_query("q", [article("1", "x" * 4097)])


async def test_too_many_inline_results(bot: Bot, fake: FakeBotAPI) -> None:
    with refused("RESULTS_TOO_MUCH"):
        await bot.answer_inline_query("q", [article(str(n)) for n in range(51)])
    assert last_refusal(fake) == "Bad Request: RESULTS_TOO_MUCH"


@pytest.mark.parametrize("identifier", ["x" * 65, "é" * 33])
async def test_inline_result_id_longer_than_64_bytes(bot: Bot, fake: FakeBotAPI, identifier: str) -> None:
    await bot.answer_inline_query("q", [article("x" * 64)])
    with refused("RESULT_ID_INVALID"):
        await bot.answer_inline_query("q", [article(identifier)])
    assert last_refusal(fake) == "Bad Request: RESULT_ID_INVALID"


async def test_duplicate_inline_result_ids(bot: Bot, fake: FakeBotAPI) -> None:
    with refused("RESULT_ID_DUPLICATE"):
        await bot.answer_inline_query("q", [article("same"), article("same")])


@pytest.mark.parametrize("data", ["d" * 65, "ж" * 33, ""])
async def test_callback_data_must_be_1_to_64_bytes(bot: Bot, fake: FakeBotAPI, data: str) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data=data)]])
    with refused("BUTTON_DATA_INVALID"):
        await bot.send_message(CHAT, "pick", reply_markup=markup)
    assert last_refusal(fake) == "Bad Request: BUTTON_DATA_INVALID"


async def test_inline_button_needs_exactly_one_action(bot: Bot, fake: FakeBotAPI) -> None:
    with refused("Text buttons are unallowed in the inline keyboard"):
        await bot.send_message(CHAT, "pick", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Go")]]))
    both = InlineKeyboardButton("Go", callback_data="a", url="https://example.org")
    with refused("more than one action"):
        await bot.send_message(CHAT, "pick", reply_markup=InlineKeyboardMarkup([[both]]))


async def test_callback_answer_longer_than_200_characters(bot: Bot, fake: FakeBotAPI) -> None:
    with refused("MESSAGE_TOO_LONG"):
        await bot.answer_callback_query("cb", text="x" * 201)


@pytest.mark.parametrize(
    "command", [BotCommand("Start", "Upper case"), BotCommand("x" * 33, "Too long"), BotCommand("ok", "")]
)
async def test_invalid_bot_commands(bot: Bot, fake: FakeBotAPI, command: BotCommand) -> None:
    with refused("BOT_COMMAND_INVALID"):
        await bot.set_my_commands([command])


async def test_at_most_100_commands(bot: Bot) -> None:
    with refused("BOT_COMMANDS_TOO_MUCH"):
        await bot.set_my_commands([BotCommand(f"c{n}", "d") for n in range(101)])


async def test_unknown_method(bot: Bot, fake: FakeBotAPI) -> None:
    # Telegram answers 404, which python-telegram-bot reports as InvalidToken.
    with pytest.raises(InvalidToken, match="Not Found"):
        await bot._post("noSuchMethod")
    assert fake.rejected[-1] == (Call("noSuchMethod", {}), "Not Found")


def test_wrong_token(fake: FakeBotAPI) -> None:
    client = httpx.Client(transport=httpx.MockTransport(fake))
    response = client.post("https://api.telegram.org/bot1:wrong/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


@pytest.mark.parametrize(
    ("data", "description"),
    [
        ({"chat_id": "1", "text": "hi", "colour": "red"}, 'Bad Request: unknown parameter "colour" in sendMessage'),
        ({"chat_id": "1"}, 'Bad Request: parameter "text" is required in sendMessage'),
        ({"chat_id": "1", "text": "hi", "message_thread_id": "x"}, 'field "message_thread_id" must be of type Integer'),
        ({"chat_id": "1", "text": "hi", "disable_notification": "yes"}, "must be of type Boolean"),
        ({"chat_id": "1", "text": "hi", "parse_mode": "html5"}, "Bad Request: unsupported parse_mode"),
        ({"chat_id": "1", "text": "hi", "reply_markup": "{not json"}, 'field "reply_markup" must be of type'),
        (
            {"chat_id": "1", "text": "hi", "reply_markup": '{"inline_keyboard": [[{"text": "a", "data": "x"}]]}'},
            'unknown field "data" in InlineKeyboardButton at reply_markup.inline_keyboard[0][0]',
        ),
        (
            {"chat_id": "1", "text": "hi", "reply_markup": '{"keyboard": [[{"text": "a"}]], "resize": true}'},
            'unknown field "resize" in ReplyKeyboardMarkup at reply_markup',
        ),
        (
            {"chat_id": "1", "text": "hi", "reply_parameters": '{"chat_id": 1}'},
            'field "message_id" is required in ReplyParameters at reply_parameters',
        ),
    ],
)
def test_parameters_are_checked_against_the_spec(
    raw: httpx.Client, fake: FakeBotAPI, data: dict[str, str], description: str
) -> None:
    response = raw.post("sendMessage", data=data)
    assert response.status_code == 400
    assert response.json()["error_code"] == 400
    assert description in response.json()["description"]
    assert fake.sent("sendMessage") == []
    assert len(fake.calls) == len(fake.rejected) == 1


@pytest.mark.parametrize(
    ("result", "description"),
    [
        ({"type": "article", "id": "1", "input_message_content": {"message_text": "m"}}, 'field "title" is required'),
        ({"type": "sticker", "id": "1"}, 'field "sticker_file_id" is required'),
        ({"type": "telepathy", "id": "1"}, 'field "results[0]" must be of type InlineQueryResult'),
        (
            {"type": "article", "id": "1", "title": "t", "input_message_content": {"text": "m"}},
            'unknown field "text" in InputTextMessageContent',
        ),
    ],
)
def test_inline_results_are_checked_by_their_type(
    raw: httpx.Client, result: dict[str, object], description: str
) -> None:
    response = raw.post("answerInlineQuery", json={"inline_query_id": "q", "results": [result]})
    assert response.status_code == 400
    assert description in response.json()["description"]


# --- injected failures ---------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter.retry_after's type
async def test_flood_control(bot: Bot, fake: FakeBotAPI) -> None:
    fake.fail_next("sendMessage", retry_after=3)
    with pytest.raises(RetryAfter, match="Retry in 3"):
        await bot.send_message(CHAT, "hi")
    assert last_refusal(fake) == "Too Many Requests: retry after 3"
    await bot.send_message(CHAT, "again")
    assert [params["text"] for params in fake.sent("sendMessage")] == ["again"]


async def test_server_errors(bot: Bot, fake: FakeBotAPI) -> None:
    fake.fail_next("SendMessage", times=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(CHAT, "hi")
    await bot.send_message(CHAT, "hi")
    assert len(fake.calls) == 4  # getMe, two failures, one success
    with pytest.raises(ValueError, match="not a Bot API method"):
        fake.fail_next("sendMesage")


# --- updates, waiting and real HTTP -------------------------------------------------------------------


def text_update(text: str, **extra: object) -> dict[str, object]:
    message = {"message_id": 1, "date": 0, "chat": {"id": CHAT, "type": "private"}, "text": text}
    return {"message": message, **extra}


async def test_get_updates_serves_and_confirms_queued_updates(bot: Bot, fake: FakeBotAPI) -> None:
    fake.queue_update(text_update("one"))
    fake.queue_update(text_update("two", update_id=10))
    fake.queue_update(text_update("three"))

    updates = await bot.get_updates(timeout=1)
    assert [(u.update_id, u.message.text) for u in updates] == [(1, "one"), (10, "two"), (11, "three")]
    assert [u.update_id for u in await bot.get_updates(offset=10, limit=1)] == [10]
    assert [u.update_id for u in await bot.get_updates()] == [10, 11]  # not confirmed yet
    assert await bot.get_updates(offset=12) == ()


async def test_long_polling_does_not_block_the_event_loop(bot: Bot, fake: FakeBotAPI) -> None:
    async def queue_soon() -> None:
        await asyncio.sleep(0.1)
        fake.queue_update(text_update("late"))

    started = time.monotonic()
    updates, _ = await asyncio.gather(bot.get_updates(timeout=30), queue_soon())
    assert [u.message.text for u in updates] == ["late"]
    assert time.monotonic() - started < 1.5

    started = time.monotonic()
    assert await bot.get_updates(offset=2, timeout=30) == ()
    assert time.monotonic() - started < 3  # the fake waits at most two seconds


async def test_an_application_polls_and_replies(fake: FakeBotAPI) -> None:
    async def echo(update: Update, _context: object) -> None:
        assert update.effective_message is not None
        text = f"<i>{update.effective_message.text}</i>"
        await update.effective_message.reply_text(text, parse_mode="HTML", do_quote=True)

    requests = mock_requests(fake)
    app = (
        Application.builder()
        .token(fake.token)
        .request(requests["request"])
        .get_updates_request(requests["get_updates_request"])
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        fake.queue_update(text_update("ping"))
        (reply,) = await fake.wait_for("sendMessage")
        await app.updater.stop()
        await app.stop()

    assert reply == {
        "chat_id": CHAT,
        "text": "<i>ping</i>",
        "parse_mode": "HTML",
        "reply_parameters": {"message_id": 1},
    }
    assert [call.method for call in fake.calls][:3] == ["getMe", "deleteWebhook", "getUpdates"]
    assert fake.rejected == []


async def test_wait_for_lists_the_calls_seen(bot: Bot, fake: FakeBotAPI) -> None:
    with pytest.raises(BadRequest):
        await bot.send_message(CHAT, "x" * 5000)
    with pytest.raises(AssertionError, match=r"sendMessage \(rejected: Bad Request: message is too long\)"):
        await fake.wait_for("sendMessage", timeout=0.05)
    with pytest.raises(AssertionError, match="getMe"):
        fake.wait_for_sync("answerInlineQuery", timeout=0.05)


async def test_serve_over_real_http(fake: FakeBotAPI) -> None:
    with fake.serve() as base_url:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/bot", base_url)
        async with Bot(fake.token, base_url=base_url) as bot:
            me = await bot.get_me()
            assert me.username == "newsbot_test_bot"
            with refused("can't parse entities"):
                await bot.send_message(CHAT, "<b>", parse_mode="HTML")
            fake.queue_update(text_update("over http"))
            (update,) = await bot.get_updates(timeout=1)
            assert update.message is not None and update.message.text == "over http"

        response = httpx.post(f"{base_url}{fake.token}/sendMessage", data={"chat_id": CHAT, "text": "sync"})
        assert response.json()["result"]["text"] == "sync"
        assert fake.wait_for_sync("sendMessage", timeout=1) == [{"chat_id": CHAT, "text": "sync"}]
