"""Faults: a misbehaving Bot API, a corpus that breaks during /reload, a corrupt cache, a killed process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
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
from index import Engine, LanguageDetector, load_corpus

from .botkit import ADMIN_ID, TOKEN, application, bot_config, callback, inline, message, update_for, user
from .conftest import HashingEmbedder
from .fakebot import FakeBotAPI
from .test_running import ROOT, write_config

App = Application[Any, Any, Any, Any, Any, Any]


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_send, "FIRST_BACKOFF", 0.01)


class Flaky:
    """Wraps the fake Bot API: the first ``times`` calls of ``method`` fail at the transport level."""

    def __init__(self, fake: FakeBotAPI, method: str, error: Callable[[httpx.Request], Exception], times: int) -> None:
        self.fake, self.method, self.error, self.remaining = fake, method, error, times

    def __call__(self, request: httpx.Request) -> Any:
        if request.url.path.endswith(f"/{self.method}") and self.remaining > 0:
            self.remaining -= 1
            raise self.error(request)
        return self.fake(request)


async def ask(bot_app: App, text: str = "Why was the Space delayed?", **sender: Any) -> dict[str, Any]:
    asked = message(text, sender=user(**sender)) if sender else message(text)
    await bot_app.process_update(update_for(bot_app, message=asked))
    return asked


def delivered(fake: FakeBotAPI, asked: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        m for m in fake.sent("sendMessage") if m.get("reply_parameters", {}).get("message_id") == asked["message_id"]
    ]


async def test_flood_control_429_is_waited_out(app: App, fake: FakeBotAPI) -> None:
    fake.fail_next("sendMessage", retry_after=1)
    asked = await ask(app)
    assert len(delivered(fake, asked)) == 1
    assert any("retry after" in why.lower() for _, why in fake.rejected)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retried(app: App, fake: FakeBotAPI, status: int) -> None:
    fake.fail_next("sendMessage", status=status, description="Internal Server Error", times=2)
    asked = await ask(app)
    assert len(delivered(fake, asked)) == 1
    assert len(fake.rejected) == 2


@pytest.mark.parametrize(
    "error",
    [
        lambda request: httpx.ReadTimeout("timed out", request=request),
        lambda request: httpx.ConnectError("connection reset by peer", request=request),
        lambda request: httpx.RemoteProtocolError("server disconnected", request=request),
    ],
    ids=["timeout", "reset", "disconnect"],
)
async def test_timeouts_and_resets_are_retried(
    fake: FakeBotAPI, service: AnswerService, tmp_path: Path, error: Callable[[httpx.Request], Exception]
) -> None:
    flaky = Flaky(fake, "sendMessage", error, times=3)
    request = HTTPXRequest(httpx_kwargs={"transport": httpx.MockTransport(flaky)})
    bot_app = build_application(bot_config(tmp_path), service, request=request)
    await bot_app.initialize()
    asked = await ask(bot_app)
    await bot_app.shutdown()
    assert flaky.remaining == 0
    assert len(delivered(fake, asked)) == 1


async def test_inline_answers_are_retried(app: App, fake: FakeBotAPI) -> None:
    fake.fail_next("answerInlineQuery", status=502, description="Bad Gateway")
    await app.process_update(update_for(app, **inline("How late did the conversation start?")))
    assert len(fake.sent("answerInlineQuery")) == 1


async def test_polling_survives_get_updates_failures(fake: FakeBotAPI, service: AnswerService, tmp_path: Path) -> None:
    fake.fail_next("getUpdates", status=500, times=2)
    bot_app = application(bot_config(tmp_path), service, fake)
    async with bot_app:
        await bot_app.start()
        assert bot_app.updater is not None
        await bot_app.updater.start_polling(poll_interval=0, timeout=1)
        asked = message("Hoe lang duurde de uitzending?")
        fake.queue_update({"message": asked})
        await fake.wait_for("sendMessage", timeout=60)
        await bot_app.updater.stop()
        await bot_app.stop()
    assert len(delivered(fake, asked)) == 1


# --- /reload while the corpus breaks ------------------------------------------------------------


@pytest.fixture()
async def reload_app(fake: FakeBotAPI, corpus_copy: Path, tmp_path: Path) -> AsyncIterator[tuple[App, AnswerService]]:
    engine = Engine.build(load_corpus(corpus_copy), embedder=HashingEmbedder(), detector=LanguageDetector())
    service = AnswerService(engine, corpus_dir=corpus_copy, cache_dir=None)
    bot_app = application(bot_config(tmp_path), service, fake)
    await bot_app.initialize()
    yield bot_app, service
    await bot_app.shutdown()


async def reload_and_ask(bot_app: App, service: AnswerService, fake: FakeBotAPI) -> str:
    before = service.engine
    await bot_app.process_update(update_for(bot_app, message=message("/reload", sender=user(user_id=ADMIN_ID))))
    refusal = fake.sent("sendMessage")[-1]["text"]
    asked = await ask(bot_app, "Hoe lang duurde de uitzending?", user_id=77)
    assert service.engine is before, "the old index must keep serving"
    assert "<blockquote>" in delivered(fake, asked)[0]["text"]
    assert refusal.startswith(strings("en")("reload_failed", problems="").splitlines()[0])
    return refusal


async def test_reload_with_an_unreadable_corpus_directory(
    reload_app: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Path.iterdir

    def unreadable(self: Path) -> Any:
        if self == corpus_copy:
            raise PermissionError(13, "Permission denied", str(self))
        return original(self)

    monkeypatch.setattr(Path, "iterdir", unreadable)
    refusal = await reload_and_ask(*reload_app, fake)
    assert "cannot be listed: Permission denied" in refusal


async def test_reload_with_a_missing_corpus_directory(
    reload_app: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path
) -> None:
    corpus_copy.rename(corpus_copy.with_name("moved"))
    assert "is not a directory" in await reload_and_ask(*reload_app, fake)


async def test_reload_with_a_half_written_article(
    reload_app: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path
) -> None:
    path = corpus_copy / "articles" / "nos-interview-musk-trump.md"
    path.write_bytes(path.read_bytes()[:150])
    refusal = await reload_and_ask(*reload_app, fake)
    assert "articles/nos-interview-musk-trump.md:1: front matter is not closed" in refusal


async def test_reload_with_an_article_that_is_not_utf8(
    reload_app: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path
) -> None:
    path = corpus_copy / "articles" / "nos-interview-musk-trump.md"
    data = path.read_bytes()
    cut = data.index(b"Wachtmuziekje")
    path.write_bytes(data[:cut] + "Wachtmuziekje é".encode("latin-1") + data[cut + len("Wachtmuziekje") :])
    line = data[:cut].count(b"\n") + 1
    refusal = await reload_and_ask(*reload_app, fake)
    assert f"articles/nos-interview-musk-trump.md:{line}: is not valid UTF-8" in refusal


async def test_reload_with_a_misaligned_translation(
    reload_app: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path
) -> None:
    path = corpus_copy / "translations" / "nos-interview-musk-trump" / "de.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nEin zusätzlicher Absatz.\n", encoding="utf-8")
    refusal = await reload_and_ask(*reload_app, fake)
    assert "translations/nos-interview-musk-trump/de.md:" in refusal and "not aligned with" in refusal


async def test_a_corrupt_cache_is_rebuilt_on_reload(fake: FakeBotAPI, corpus_copy: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    embedder = HashingEmbedder()
    engine = Engine.build(load_corpus(corpus_copy), cache_dir=cache, embedder=embedder, detector=LanguageDetector())
    service = AnswerService(engine, corpus_dir=corpus_copy, cache_dir=cache)
    (cache_file,) = cache.glob("*.npz")
    cache_file.write_bytes(cache_file.read_bytes()[:1000])
    report = await asyncio.to_thread(service.reload)
    assert report.articles == 4
    assert service.engine.stats.cache_note is not None
    cold = Engine.build(load_corpus(corpus_copy), cache_dir=tmp_path / "cold", embedder=embedder)
    assert service.engine.stats.embedded == cold.stats.embedded > 0  # everything embedded afresh


# --- a killed process ------------------------------------------------------------------------------


def test_choices_and_stats_survive_a_kill(tmp_path: Path) -> None:
    fake = FakeBotAPI(TOKEN)
    env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "BOT_CONFIG")}
    env["TELEGRAM_BOT_TOKEN"] = TOKEN
    with fake.serve() as base_url:
        config = write_config(tmp_path, base_url)

        def start() -> subprocess.Popen[str]:
            return subprocess.Popen(
                [sys.executable, str(ROOT / "bot.py"), "--config", str(config)],
                cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, text=True,
            )  # fmt: skip

        first = start()
        try:
            fake.wait_for_sync("getUpdates", timeout=120)
            bot_message = {**message("x"), "from": fake.bot_user}
            fake.queue_update(callback("lang:de", bot_message))
            fake.wait_for_sync("editMessageText", timeout=60)
            for i in range(3):
                fake.queue_update({"message": message(f"Why was the Space delayed? {i}")})
            fake.wait_for_sync("sendMessage", count=3, timeout=60)
            import time

            time.sleep(1.5)  # statistics are written at most a second apart
            fake.queue_update({"message": message("How late did it start?")})
            fake.wait_for_sync("sendMessage", count=4, timeout=60)
            time.sleep(0.5)
        finally:
            first.send_signal(signal.SIGKILL)
            first.communicate(timeout=30)
        second = start()
        try:
            fake.queue_update({"message": message("Why was the Space delayed?")})
            answer = fake.wait_for_sync("sendMessage", count=5, timeout=120)[4]["text"]
            fake.queue_update({"message": message("/stats", sender=user(user_id=4242))})
            stats = fake.wait_for_sync("sendMessage", count=6, timeout=60)[5]["text"]
        finally:
            second.send_signal(signal.SIGINT)
            second.communicate(timeout=30)
    assert "übersetzt" in answer  # still answering in German after the kill
    assert "Questions answered: 5." in stats  # four before the kill, one after
