"""Security: admins by numeric id only, no admin action from edited or forwarded messages, no token in logs."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram.ext import Application
from telegram.request import HTTPXRequest

from bot import _send
from bot._app import build_application
from bot._i18n import strings
from bot._service import AnswerService

from .botkit import ADMIN_ID, TOKEN, bot_config, message, update_for, user
from .fakebot import FakeBotAPI

App = Application[Any, Any, Any, Any, Any, Any]
SECRET = TOKEN.split(":", 1)[1]


def admin(**changes: Any) -> dict[str, Any]:
    return {**user(user_id=ADMIN_ID), "username": "newsdesk_admin", **changes}


async def reload_from(bot_app: App, **payload: Any) -> None:
    await bot_app.process_update(update_for(bot_app, **payload))


async def test_admin_is_a_numeric_id_not_a_username(app: App, fake: FakeBotAPI, service: AnswerService) -> None:
    engine = service.engine
    impostor = {**user(user_id=ADMIN_ID + 1), "username": "newsdesk_admin"}
    await reload_from(app, message=message("/reload", sender=impostor))
    await reload_from(app, message=message("/stats", sender=impostor))
    assert [m["text"] for m in fake.sent("sendMessage")] == [strings("en")("not_admin")] * 2
    assert service.engine is engine


async def test_an_edited_command_cannot_run_an_admin_action(app: App, fake: FakeBotAPI, service: AnswerService) -> None:
    engine = service.engine
    edited = message("/reload", sender=admin(), edit_date=int(time.time()))
    await reload_from(app, edited_message=edited)
    assert service.engine is engine
    assert not any("reloaded" in m["text"] for m in fake.sent("sendMessage"))


@pytest.mark.parametrize("forwarder", [ADMIN_ID, 31337])
async def test_a_forwarded_command_cannot_run_an_admin_action(
    app: App, fake: FakeBotAPI, service: AnswerService, forwarder: int
) -> None:
    engine = service.engine
    origin = {"type": "user", "date": int(time.time()) - 60, "sender_user": admin()}
    forwarded = message("/reload", sender={**user(user_id=forwarder)}, forward_origin=origin)
    await reload_from(app, message=forwarded)
    assert service.engine is engine
    assert [m["text"] for m in fake.sent("sendMessage")] == [strings("en")("not_admin")]


async def test_the_real_admin_can_reload(app: App, fake: FakeBotAPI, service: AnswerService) -> None:
    engine = service.engine
    await reload_from(app, message=message("/reload", sender=admin()))
    assert service.engine is not engine
    started, done = (m["text"] for m in fake.sent("sendMessage"))
    assert started == strings("en")("reload_started") and "Corpus reloaded" in done


async def test_the_token_never_reaches_logs_errors_or_stats(
    fake: FakeBotAPI,
    service: AnswerService,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_send, "FIRST_BACKOFF", 0.01)
    failures = {"left": 2}

    def leaky(request: httpx.Request) -> Any:
        # A network error whose message quotes the URL, token and all, as real ones do.
        if request.url.path.endswith("/sendMessage") and failures["left"]:
            failures["left"] -= 1
            raise httpx.ConnectError(f"connection to {request.url} reset", request=request)
        return fake(request)

    request = HTTPXRequest(httpx_kwargs={"transport": httpx.MockTransport(leaky)})
    with caplog.at_level(logging.DEBUG):
        bot_app = build_application(bot_config(tmp_path), service, request=request)
        await bot_app.initialize()
        await bot_app.process_update(update_for(bot_app, message=message("Why was the Space delayed?")))
        logging.getLogger("test").error("deliberately logging the token %s", TOKEN)
        await bot_app.process_update(update_for(bot_app, message=message("/stats", sender=admin())))
        await bot_app.shutdown()
    assert failures["left"] == 0
    assert "retrying" in caplog.text and "[redacted]" in caplog.text
    assert SECRET not in caplog.text
    assert all(SECRET not in m["text"] for m in fake.sent("sendMessage"))
