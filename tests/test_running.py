"""The bot as it ships: `python bot.py` end to end against fake Bot API and LibreTranslate servers over local HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from bot._config import ConfigError, load_config

from .botkit import TOKEN, document_message, message, user
from .fake_libretranslate import FakeLibreTranslate
from .fakebot import FakeBotAPI
from .samples import CAPTION, FLOWERS_ANSWER, FLOWERS_QUESTION, FLOWERS_TEXT, phrasebook_translation

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(tmp_path: Path, base_url: str, **extra: object) -> Path:
    config = {
        "telegram": {"base_url": base_url, **extra.pop("telegram", {})},  # type: ignore[dict-item]
        "admins": [4242],
        "cache_dir": str(tmp_path / "cache"),
        "persistence": str(tmp_path / "state" / "bot.pickle"),
        **extra,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def start_bot(config: Path, tmp_path: Path, *, token: str | None = TOKEN) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "BOT_CONFIG")}
    if token:
        env["TELEGRAM_BOT_TOKEN"] = token
    return subprocess.Popen(
        [sys.executable, str(ROOT / "bot.py"), "--config", str(config)],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()


def test_polling_end_to_end(tmp_path: Path) -> None:
    fake = FakeBotAPI(TOKEN)
    with fake.serve() as base_url:
        process = start_bot(write_config(tmp_path, base_url), tmp_path)
        try:
            fake.wait_for_sync("getUpdates", timeout=120)
            asked = message("Why was the Space delayed?", sender=user(user_id=99))
            fake.queue_update({"message": asked})
            (reply,) = fake.wait_for_sync("sendMessage", timeout=60)
        finally:
            out, err = stop(process)
    assert reply["reply_parameters"]["message_id"] == asked["message_id"]
    assert "<blockquote>" in reply["text"]
    command_menus = fake.sent("setMyCommands")
    assert {m.get("language_code") for m in command_menus} == {None, "en", "fr", "id", "nl", "de", "es"}
    assert "serving 4 articles" in err
    assert TOKEN not in out + err and TOKEN.split(":")[1] not in out + err
    assert fake.rejected == []


def test_an_uploaded_article_is_answered_in_english_as_a_machine_translation(tmp_path: Path, corpus_copy: Path) -> None:
    """The shipped bot, a fake Bot API and a fake LibreTranslate, all over local HTTP."""
    fake = FakeBotAPI(TOKEN)
    translator = FakeLibreTranslate(translate=phrasebook_translation(), api_key="lt-key-never-logged")
    with fake.serve() as base_url, translator.serve() as translate_url:
        telegram = {"base_file_url": base_url.removesuffix("/bot") + "/file/bot"}
        # mode: ahead, as before quoted translation (the default now): every passage translated at intake.
        translation = {
            "url": translate_url,
            "api_key": "lt-key-never-logged",
            "requests_per_second": 50,
            "mode": "ahead",
        }
        config = write_config(tmp_path, base_url, telegram=telegram, corpus=str(corpus_copy), translation=translation)
        process = start_bot(config, tmp_path)
        try:
            fake.wait_for_sync("getUpdates", timeout=120)
            document = fake.add_file(FLOWERS_TEXT.read_bytes(), "bloemencorso.txt")
            fake.queue_update({"message": document_message(document, caption=CAPTION, sender=user(user_id=4242))})
            checking, added = fake.wait_for_sync("sendMessage", 2, timeout=120)
            asked = message(FLOWERS_QUESTION, sender=user(user_id=99))
            fake.queue_update({"message": asked})
            answer = fake.wait_for_sync("sendMessage", 3, timeout=60)[2]
        finally:
            out, err = stop(process)
    assert checking["text"] == "Checking bloemencorso.txt…"
    assert "Added <b>Bloemencorso trekt recordaantal bezoekers</b>" in added["text"], added["text"]
    assert "Machine translation: 15 passage translations written to 5 files." in added["text"]
    assert {r.body["target"] for r in translator.translate_requests} == {"en", "fr", "de", "es", "id"}
    quoted = answer["text"].split("</blockquote>", 1)[0]
    assert FLOWERS_ANSWER in quoted
    assert "machine translation from Dutch" in answer["text"]
    assert "lt-key-never-logged" not in out + err and TOKEN.split(":")[1] not in out + err
    assert fake.rejected == []


def test_webhook_refuses_requests_without_the_secret(tmp_path: Path) -> None:
    fake = FakeBotAPI(TOKEN)
    port = free_port()
    secret = "s3cret-Token_value"
    hook = {"url": "https://bot.example.org/telegram", "listen": "127.0.0.1", "port": port, "secret_token": secret}
    with fake.serve() as base_url:
        process = start_bot(write_config(tmp_path, base_url, telegram={"webhook": hook}), tmp_path)
        try:
            (registered,) = fake.wait_for_sync("setWebhook", timeout=120)
            update = {"update_id": 1, "message": message("Why was the Space delayed?")}
            url = f"http://127.0.0.1:{port}/telegram"
            deadline = time.monotonic() + 30
            while True:
                try:
                    refused = httpx.post(url, json=update, timeout=5)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            wrong = httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}, timeout=5)
            accepted = httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}, timeout=5)
            (reply,) = fake.wait_for_sync("sendMessage", timeout=60)
        finally:
            out, err = stop(process)
    assert registered["url"] == hook["url"] and registered["secret_token"] == secret
    assert refused.status_code == 403 and wrong.status_code == 403 and accepted.status_code == 200
    assert "<blockquote>" in reply["text"]
    assert secret not in out + err and TOKEN.split(":")[1] not in out + err


def test_without_a_token_it_explains_and_points_to_the_console(tmp_path: Path) -> None:
    process = start_bot(write_config(tmp_path, "http://127.0.0.1:9/bot"), tmp_path, token=None)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "BotFather" in err and "python bot.py --console" in err
    assert "Traceback" not in out + err


def test_console_chat(tmp_path: Path) -> None:
    env = {**os.environ, "NEWSBOT_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), "--console"],
        cwd=tmp_path,
        env=env,
        input="Hoe lang duurde de uitzending?\n/lang de\nWho won the World Cup in 2022?\n/quit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "[1] “" in proc.stdout and "NOS Nieuws" in proc.stdout
    assert "Ab jetzt" in proc.stdout or "Deutsch" in proc.stdout


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("admins: ['@alice']", "numeric"),
        ("max_results: 0", "max_results"),
        ("telegram: {webhook: {url: 'https://x'}}", "secret_token"),
        ("colour: blue", "unknown key"),
        ("languages: [en, it]", "not supported"),
        ("rate_limit: {per_seconds: soon}", "must be a number"),
        ("telegram: {flood_limits: {messages_per_second: 0}}", "must be positive"),
    ],
)
def test_bad_configuration_is_reported_clearly(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=problem):
        load_config(path, env={})


def test_token_comes_from_the_environment_first(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps({"telegram": {"token": "1:from-file"}}), encoding="utf-8")
    assert load_config(path, env={"TELEGRAM_BOT_TOKEN": "2:from-env"}).token == "2:from-env"
    assert load_config(path, env={}).token == "1:from-file"
    assert "from-file" not in repr(load_config(path, env={}))


def test_the_example_configuration_loads_with_the_defaults(tmp_path: Path) -> None:
    config = load_config(ROOT / "config.example.yaml", env={})
    assert config.translation is None  # machine translation is off until a url is given
    assert config.max_upload_bytes == 1_000_000
    assert config.max_results == 3 and config.admins == frozenset()


def test_translation_settings_and_key(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    section = {"url": "http://localhost:5000", "api_key": "from-file", "requests_per_second": 5, "batch_size": 8}
    path.write_text(yaml.safe_dump({"translation": section, "uploads": {"max_bytes": 2048}}), encoding="utf-8")
    config = load_config(path, env={})
    assert config.translation is not None and config.max_upload_bytes == 2048
    assert (config.translation.url, config.translation.requests_per_second, config.translation.batch_size) == (
        "http://localhost:5000",
        5.0,
        8,
    )
    assert config.translation.api_key == "from-file" and "from-file" not in repr(config)
    from_env = load_config(path, env={"TRANSLATION_API_KEY": "from-env"})
    assert from_env.translation is not None and from_env.translation.api_key == "from-env"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("translation: {url: 'localhost:5000'}", "http"),
        ("translation: {url: 'http://x', concurrency: 0}", "positive"),
        ("translation: {url: 'http://x', speed: 3}", "unknown key"),
        ("uploads: {max_bytes: big}", "whole number"),
    ],
)
def test_bad_translation_or_upload_settings(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=problem):
        load_config(path, env={})
