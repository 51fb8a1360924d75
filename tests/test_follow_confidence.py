"""Follow alerts and confidence, through the shipped bot: only an ``answer`` alerts a follower; new coverage the
engine is not sure answers (``closest``) is listed under /following as "possibly related"; an alert quotes the
answering sentence in bold."""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path
from typing import Any

import pytest

from bot._alerts import Following
from bot._i18n import strings
from bot._service import AnswerService
from index import Answer, Engine, Result
from index.follow import Finding, Follow

from .botkit import ADMIN_ID, message
from .fakebot import FakeBotAPI
from .test_follow_bot import (
    BOTTLES_FR,
    FOLLOWER,
    FR,
    VINEYARD,
    alerts_to,
    arrived,
    fresh_service,  # noqa: F401  (a fixture)
    quiet,
    send,
    start,
    stop,
    to_chat,
)
from .test_links import link_message


async def test_a_closest_finding_does_not_alert_and_is_listed_as_possibly_related(
    fresh_service: AnswerService,  # noqa: F811
    fake: FakeBotAPI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = Engine.answers_from

    def unsure(self: Engine, *args: Any, **kwargs: Any) -> Answer:
        answer = real(self, *args, **kwargs)
        return dataclasses.replace(answer, hedged=True) if answer.answered else answer

    monkeypatch.setattr(Engine, "answers_from", unsure)
    bot_app = await start(fresh_service, fake, tmp_path)
    try:
        await send(bot_app, message(f"/follow {BOTTLES_FR}", sender=FOLLOWER))
        await send(bot_app, link_message(VINEYARD))
        added = to_chat(fake, ADMIN_ID)[-1]["text"]
        assert added.startswith("Added <b>Un vignoble breton")
        await quiet()
        assert alerts_to(fake, 2001, FR) == []  # closest: no alert
        await send(bot_app, message("/following", sender=FOLLOWER))
        listing = to_chat(fake, 2001)[-1]["text"]
        assert FR("following_related_header") in listing
        assert "Un vignoble breton signe sa première vraie récolte" in listing and f'href="{VINEYARD}"' in listing
    finally:
        await stop(bot_app)
    assert fake.rejected == []


async def test_an_answer_alerts_and_is_not_listed_as_possibly_related(
    fresh_service: AnswerService,  # noqa: F811
    fake: FakeBotAPI,
    tmp_path: Path,
) -> None:
    bot_app = await start(fresh_service, fake, tmp_path)
    try:
        await send(bot_app, message(f"/follow {BOTTLES_FR}", sender=FOLLOWER))
        await send(bot_app, link_message(VINEYARD))
        (alert,) = await arrived(lambda: alerts_to(fake, 2001, FR), timeout=30)
        quote = alert["text"].split("<blockquote>", 1)[1].split("</blockquote>", 1)[0]
        bold = quote.split("<b>", 1)[1].split("</b>", 1)[0]
        assert "3 200 bouteilles" in html.unescape(bold)  # the answering sentence, in bold
        assert not quote.startswith("Un vignoble breton signe")  # not the headline
        await send(bot_app, message("/following", sender=FOLLOWER))
        assert FR("following_related_header") not in to_chat(fake, 2001)[-1]["text"]
    finally:
        await stop(bot_app)


def test_an_alert_quotes_the_answering_sentence_in_bold_in_the_followers_language() -> None:
    sentence = "Le vignoble a produit 3 200 bouteilles."
    text = f"Un vignoble breton signe sa première récolte. {sentence} Il espère doubler."
    start = text.index(sentence)
    result = Result("a", 1, "Ouest", "Un vignoble", "https://o.test/a", "2026-11-20", "fr", text, None, None, 1.0,
                    highlights=((start, start + len(sentence)),))  # fmt: skip
    follow = Follow(7, 2001, 2001, 1, BOTTLES_FR, "fr", None, False)
    due = Following.due_alert(Finding(follow, "a", Answer(BOTTLES_FR, "fr", True, (result,))))
    assert due.text.startswith(strings("fr")("alert_header", question=html.escape(BOTTLES_FR, quote=False)))
    assert f"<b>{html.escape(sentence, quote=False)}</b>" in due.text
