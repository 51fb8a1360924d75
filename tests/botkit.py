"""Building real Telegram updates for tests, and an application wired to the fake Bot API."""

from __future__ import annotations

import itertools
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from telegram import Update
from telegram.ext import Application
from telegram.request import HTTPXRequest

from bot._app import build_application
from bot._config import Config
from bot._service import AnswerService

from .fakebot import FakeBotAPI

TOKEN = "123456:TEST-secret-token-do-not-log"
ADMIN_ID = 4242
_ids = itertools.count(1)
GROUP_ID = -1001234567890


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def user(user_id: int = 1001, language: str | None = "en", first_name: str = "Ann") -> dict[str, Any]:
    data: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language:
        data["language_code"] = language
    return data


def message(
    text: str,
    *,
    sender: dict[str, Any] | None = None,
    chat: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
    reply_to: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    sender = sender or user()
    chat = chat or {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}
    data: dict[str, Any] = {
        "message_id": next(_ids),
        "date": int(time.time()),
        "chat": chat,
        "from": sender,
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}, *(entities or [])]
    if entities:
        data["entities"] = entities
    if reply_to:
        data["reply_to_message"] = reply_to
    data.update(extra)
    return data


def document_message(
    document: dict[str, Any], *, caption: str | None = None, sender: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A message carrying a file (a Document, e.g. from ``FakeBotAPI.add_file``) and no text."""
    data = message("", sender=sender, document=document, **({"caption": caption} if caption else {}))
    del data["text"]
    return data


def group_chat() -> dict[str, Any]:
    return {"id": GROUP_ID, "type": "supergroup", "title": "News readers"}


def mention(text: str, username: str) -> list[dict[str, Any]]:
    start = text.index(f"@{username}")
    return [{"type": "mention", "offset": utf16_len(text[:start]), "length": utf16_len(username) + 1}]


def update_for(bot_app: Application[Any, Any, Any, Any, Any, Any], **payload: Any) -> Update:
    return Update.de_json({"update_id": next(_ids), **payload}, bot_app.bot)


def callback(data: str, on_message: dict[str, Any], sender: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "callback_query": {
            "id": str(next(_ids)),
            "from": sender or user(),
            "chat_instance": "chat-instance",
            "data": data,
            "message": on_message,
        }
    }


def inline(query: str, sender: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"inline_query": {"id": str(next(_ids)), "from": sender or user(), "query": query, "offset": ""}}


def bot_config(tmp_path: Path, **changes: Any) -> Config:
    base = Config(
        token=TOKEN,
        admins=frozenset({ADMIN_ID}),
        persistence=tmp_path / "state" / "bot.pickle",
        cache_dir=tmp_path / "cache",
    )
    return replace(base, **changes)


def application(config: Config, service: AnswerService, fake: FakeBotAPI) -> Application[Any, Any, Any, Any, Any, Any]:
    def request() -> HTTPXRequest:
        return HTTPXRequest(httpx_kwargs={"transport": httpx.MockTransport(fake)})

    return build_application(config, service, request=request(), get_updates_request=request())
