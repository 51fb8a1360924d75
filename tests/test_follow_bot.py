"""Following a story through the shipped bot and the strict fake Bot API.

Users follow questions with ``/follow`` and the Follow button; an admin adds coverage by link
(pages behind an in-process transport, as in the feed tests); the follower whose question the
new article answers gets one alert, in their language, and nobody else does; nothing is sent
again after a restart. The real encoders drive matching and the answer gate.
"""

from __future__ import annotations

import asyncio
import html
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram.ext import Application

from bot._alerts import UNFOLLOW_PREFIX
from bot._app import post_init, post_shutdown
from bot._config import FollowSettings
from bot._feeds import FETCHER_KEY, Fetcher
from bot._i18n import strings
from bot._runtime import Runtime
from bot._service import AnswerService
from index import Engine
from index.intake.fetch import FetchSettings

from .botkit import ADMIN_ID, GROUP_ID, application, bot_config, callback, group_chat, message, update_for, user
from .fakebot import FakeBotAPI
from .intake.test_feeds import public
from .test_curation import make_service
from .test_links import link_message

App = Application[Any, Any, Any, Any, Any, Any]
EN, FR = strings("en"), strings("fr")
ADMIN = user(user_id=ADMIN_ID)
FOLLOWER = user(user_id=2001, language="fr", first_name="Gwen")
BYSTANDER = user(user_id=2002, language="fr", first_name="Loïc")
BOTTLES_FR = "Combien de bouteilles le vignoble breton a-t-il produites ?"
BOTTLES_EN = "How many bottles did the Breton vineyard produce?"
SPACE_FR = "Pourquoi le Space a-t-il été retardé ?"
VINEYARD = "https://ouest.test/2026/11/20/vignoble-breton"
ECHO = "https://telegramme.test/sarzeau-vin-blanc"


def page(title: str, site: str, url: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{text}</p>" for text in paragraphs)
    return f"""<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:site_name" content="{site}"><meta property="og:title" content="{title}">
<link rel="canonical" href="{url}"><meta property="article:published_time" content="2026-11-20T08:00:00+00:00">
</head><body><main><article><h1>{title}</h1>{body}</article></main></body></html>""".encode()


PAGES = {
    VINEYARD: page(
        "Un vignoble breton signe sa première vraie récolte",
        "Ouest Actualités",
        VINEYARD,
        [
            "Le vignoble de Sarzeau, dans le Morbihan, a produit cette année environ 3 200 bouteilles de vin blanc, "
            "une première pour la Bretagne, où la vigne avait presque disparu depuis un siècle.",
            "Les bouteilles sont vendues 18 euros chacune au domaine et chez quelques cavistes de la région, qui "
            "disent avoir reçu bien plus de demandes que de bouteilles.",
            "Le viticulteur Yann Le Goff explique que l'été chaud et sec a permis aux raisins de mûrir pleinement, "
            "et que les vendanges ont commencé deux semaines plus tôt que prévu.",
            "Il espère doubler la production d'ici trois ans en plantant deux hectares supplémentaires de chardonnay "
            "sur les coteaux qui dominent le golfe du Morbihan.",
        ],
    ),
    ECHO: page(
        "À Sarzeau, le vin blanc breton trouve ses clients",
        "Le Télégramme Test",
        ECHO,
        [
            "Le domaine viticole de Sarzeau a produit environ 3 200 bouteilles de vin blanc cette année, a indiqué "
            "son viticulteur Yann Le Goff, une première en Bretagne.",
            "Les cavistes du Morbihan se disent surpris par la demande pour ce vin local, vendu 18 euros la bouteille.",
        ],
    ),
}


def serve_pages(request: httpx.Request) -> httpx.Response:
    content = PAGES.get(str(request.url))
    if content is None:
        return httpx.Response(404, headers={"Content-Type": "text/html"}, content=b"<p>not found</p>")
    return httpx.Response(200, headers={"Content-Type": "text/html; charset=utf-8"}, content=content)


async def start(service: AnswerService, fake: FakeBotAPI, tmp_path: Path, **changes: Any) -> App:
    """The bot as ``python bot.py`` starts it (post_init: the alert sender runs), fetching from PAGES."""
    bot_app = application(bot_config(tmp_path, **changes), service, fake)
    bot_app.bot_data[FETCHER_KEY] = Fetcher(
        FetchSettings(), resolver=public, transport=httpx.MockTransport(serve_pages)
    )
    await bot_app.initialize()
    await post_init(bot_app)
    return bot_app


async def stop(bot_app: App) -> None:
    await post_shutdown(bot_app)
    await bot_app.shutdown()


@pytest.fixture()
def fresh_service(corpus_copy: Path, engine: Engine, embedding_cache: Path) -> AnswerService:
    """A service over a writable corpus copy (the real encoders), for links to add to."""
    return make_service(corpus_copy, engine, embedding_cache)


async def send(bot_app: App, payload: dict[str, Any]) -> None:
    await bot_app.process_update(update_for(bot_app, message=payload))


async def press(bot_app: App, data: str, on: dict[str, Any], sender: dict[str, Any]) -> None:
    await bot_app.process_update(update_for(bot_app, **callback(data, on, sender)))


def to_chat(fake: FakeBotAPI, chat_id: int) -> list[dict[str, Any]]:
    return [m for m in fake.sent("sendMessage") if int(m["chat_id"]) == chat_id]


def alerts_to(fake: FakeBotAPI, chat_id: int, s: Any) -> list[dict[str, Any]]:
    marker = str(s.raw("alert_header")).split("{", 1)[0]
    return [m for m in to_chat(fake, chat_id) if m["text"].startswith(marker)]


def buttons(sent: dict[str, Any]) -> list[dict[str, Any]]:
    return [button for row in sent.get("reply_markup", {}).get("inline_keyboard", []) for button in row]


def as_message(sent: dict[str, Any], chat_id: int) -> dict[str, Any]:
    """A message the bot sent, as it comes back in a callback query."""
    return {
        "message_id": 999,
        "date": 0,
        "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
        "from": {"id": 777000, "is_bot": True, "first_name": "Newsbot"},
        "text": html.unescape(sent["text"]),
        **({"reply_markup": sent["reply_markup"]} if "reply_markup" in sent else {}),
    }


async def arrived(found: Any, *, timeout: float) -> list[dict[str, Any]]:
    """Wait (without blocking the loop) until ``found()`` returns something; fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (result := found()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"nothing arrived within {timeout} s")
        await asyncio.sleep(0.02)
    return result  # type: ignore[no-any-return]


async def quiet(seconds: float = 0.5) -> None:
    """Give the alert sender a moment: it would have sent by now (it paces at 20 a second)."""
    await asyncio.sleep(seconds)


async def test_a_new_french_article_alerts_its_follower_once_and_nobody_else_and_not_after_a_restart(
    fresh_service: AnswerService, fake: FakeBotAPI, tmp_path: Path
) -> None:
    bot_app = await start(fresh_service, fake, tmp_path)
    try:
        await send(bot_app, message(f"/follow {BOTTLES_FR}", sender=FOLLOWER))
        assert to_chat(fake, 2001)[-1]["text"] == FR("follow_done", question=html.escape(BOTTLES_FR, quote=False))
        await send(bot_app, message(f"/follow {SPACE_FR}", sender=BYSTANDER))
        await send(bot_app, link_message(VINEYARD))
        added = to_chat(fake, ADMIN_ID)[-1]["text"]
        assert added.startswith("Added <b>Un vignoble breton") and EN("alerts_line", count=1) in added
        (alert,) = await arrived(lambda: alerts_to(fake, 2001, FR), timeout=30)
        text = alert["text"]
        first_line = text.split("\n", 1)[0]
        assert first_line == FR("alert_header", question=html.escape(BOTTLES_FR, quote=False))
        quote = text.split("<blockquote>", 1)[1].split("</blockquote>", 1)[0]
        assert "<b>" in quote and "3 200 bouteilles" in html.unescape(quote)
        assert "<b>Ouest Actualités</b>" in text and f'href="{VINEYARD}"' in text
        stop_button = next(b for b in buttons(alert) if b["text"] == FR("unfollow_button"))
        assert stop_button["callback_data"].startswith(UNFOLLOW_PREFIX)
        assert {b.get("url") for b in buttons(alert)} >= {VINEYARD}
        await quiet()
        assert alerts_to(fake, 2002, FR) == []  # the Space question is not answered by a vineyard

        # Another outlet reports the same figure: corroboration, not news.
        await send(bot_app, link_message(ECHO))
        assert to_chat(fake, ADMIN_ID)[-1]["text"].startswith("Added")
        await quiet()
        assert len(alerts_to(fake, 2001, FR)) == 1
        rt: Runtime = bot_app.bot_data["runtime"]
        assert rt.following is not None
        (followed,) = rt.following.store.follows_of(2001)
        states = rt.following.store.db.query("SELECT state FROM alerts WHERE follow_id = ? ORDER BY id", (followed.id,))
        assert [state for (state,) in states][-2:] == ["sent", "seen"]  # the gate answered, corroboration held it
    finally:
        await stop(bot_app)

    restarted = await start(fresh_service, fake, tmp_path)
    try:
        await quiet()
        assert len(alerts_to(fake, 2001, FR)) == 1  # nothing sent twice
        await send(restarted, message("/following", sender=FOLLOWER))
        listing = to_chat(fake, 2001)[-1]
        assert html.escape(BOTTLES_FR, quote=False) in listing["text"]
        assert [b["callback_data"] for b in buttons(listing)] == [stop_button["callback_data"]]
    finally:
        await stop(restarted)
    assert fake.rejected == []


async def test_an_english_question_is_alerted_by_an_untranslated_french_article(
    fresh_service: AnswerService, fake: FakeBotAPI, tmp_path: Path
) -> None:
    bot_app = await start(fresh_service, fake, tmp_path)
    try:
        await send(bot_app, message(f"/follow {BOTTLES_EN}", sender=user(2003)))
        await send(bot_app, link_message(VINEYARD))
        (alert,) = await arrived(lambda: alerts_to(fake, 2003, EN), timeout=3)
        assert alert["text"].startswith(EN("alert_header", question=BOTTLES_EN))
    finally:
        await stop(bot_app)


async def test_follow_commands_buttons_limits_and_duplicates(
    service: AnswerService, fake: FakeBotAPI, tmp_path: Path
) -> None:
    bot_app = await start(service, fake, tmp_path, follow=FollowSettings(max_follows=2))
    ann = user(1001)
    try:
        await send(bot_app, message("/follow", sender=ann))
        assert to_chat(fake, 1001)[-1]["text"] == EN("follow_usage", example=EN.examples[1])
        await send(bot_app, message("/follow How many people listened to the conversation?", sender=ann))
        assert to_chat(fake, 1001)[-1]["text"].startswith("I'm following <i>How many people listened")
        await send(bot_app, message("/follow how many people   LISTENED to the conversation?", sender=ann))
        assert to_chat(fake, 1001)[-1]["text"].startswith("You already follow")

        # Every answer and refusal in a private chat has a Follow button.
        await send(bot_app, message("Why was the Space delayed?", sender=ann))
        answered = to_chat(fake, 1001)[-1]
        follow_button = next(b for b in buttons(answered) if b["text"] == EN("follow_button"))
        await press(bot_app, follow_button["callback_data"], as_message(answered, 1001), ann)
        assert to_chat(fake, 1001)[-1]["text"] == EN("follow_done", question="Why was the Space delayed?")
        await send(bot_app, message("What colour is the moon's cheese?", sender=ann))
        refused = to_chat(fake, 1001)[-1]
        assert refused["text"].startswith("I couldn't find an answer")
        follow_button = next(b for b in buttons(refused) if b["text"] == EN("follow_button"))
        await press(bot_app, follow_button["callback_data"], as_message(refused, 1001), ann)
        assert to_chat(fake, 1001)[-1]["text"] == EN("follow_too_many", limit=2)
        await send(bot_app, message("/follow " + "why " * 300, sender=ann))
        assert to_chat(fake, 1001)[-1]["text"] == EN("follow_too_long", limit=1000)

        # The list, and a Stop button from it; /unfollow alone shows the same list.
        await send(bot_app, message("/unfollow", sender=ann))
        listing = to_chat(fake, 1001)[-1]
        assert listing["text"].startswith(EN("following_header", count=2, limit=2))
        assert "1. How many people listened" in listing["text"] and "2. Why was the Space delayed?" in listing["text"]
        stops = [b["callback_data"] for b in buttons(listing)]
        assert len(stops) == 2 and all(len(data.encode()) <= 64 for data in stops)
        await press(bot_app, stops[0], as_message(listing, 1001), ann)
        assert to_chat(fake, 1001)[-1]["text"].startswith("I've stopped following <i>How many people")
        (edited,) = fake.sent("editMessageReplyMarkup")
        assert [b["callback_data"] for row in edited["reply_markup"]["inline_keyboard"] for b in row] == stops[1:]
        await press(bot_app, stops[0], as_message(listing, 1001), ann)  # pressed again: already stopped
        assert to_chat(fake, 1001)[-1]["text"] == EN("unfollow_unknown")
        await send(bot_app, message("/unfollow 1", sender=ann))
        await send(bot_app, message("/following", sender=ann))
        assert to_chat(fake, 1001)[-1]["text"] == EN("following_none")

        # Someone else's Stop button data does nothing to this chat's follows.
        await send(bot_app, message("/follow Who organised the conversation?", sender=user(1002)))
        await press(bot_app, stops[1], as_message(listing, 1002), user(1002))
        assert to_chat(fake, 1002)[-1]["text"] == EN("unfollow_unknown")

        await send(bot_app, message("/stats", sender=ADMIN))
        assert EN("stats_follows", follows=1, followers=1, alerts=0) in to_chat(fake, ADMIN_ID)[-1]["text"]
    finally:
        await stop(bot_app)
    assert fake.rejected == []


async def test_in_groups_only_administrators_follow_and_answers_have_no_follow_button(
    service: AnswerService, fake: FakeBotAPI, tmp_path: Path
) -> None:
    fake.chat_admins[GROUP_ID] = {5001}
    bot_app = await start(service, fake, tmp_path)
    try:
        await send(bot_app, message("/follow Why was the Space delayed?", sender=user(5002), chat=group_chat()))
        assert to_chat(fake, GROUP_ID)[-1]["text"] == EN("follow_admins_only")
        await send(bot_app, message("/following", sender=user(5002), chat=group_chat()))
        assert to_chat(fake, GROUP_ID)[-1]["text"] == EN("follow_admins_only")
        await send(bot_app, message("/follow Why was the Space delayed?", sender=user(5001), chat=group_chat()))
        assert to_chat(fake, GROUP_ID)[-1]["text"].startswith("I'm following")
        rt: Runtime = bot_app.bot_data["runtime"]
        assert rt.following is not None
        (followed,) = rt.following.store.follows_of(GROUP_ID)
        assert (followed.chat_id, followed.user_id) == (GROUP_ID, 5001)  # alerts go to the group
        await send(bot_app, message("/ask Why was the Space delayed?", sender=user(5002), chat=group_chat()))
        answer = to_chat(fake, GROUP_ID)[-1]
        assert "<blockquote>" in answer["text"]
        assert EN("follow_button") not in [b["text"] for b in buttons(answer)]
        await send(bot_app, message("/follow Why was the Space delayed?", sender=user(5005)))
        assert to_chat(fake, 5005)[-1]["text"].startswith("I'm following")  # private: anyone
    finally:
        await stop(bot_app)
    assert fake.rejected == []
