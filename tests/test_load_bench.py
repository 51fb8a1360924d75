"""``bench/load.py``'s count of /reloads that succeeded, on the replies the bot really sends to /reload.

/reload answers twice ("Reloading the corpus…", then how it went); the bench once read only the
first reply and reported "/reloads that succeeded: 0 of 20" while every reload had worked.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot._service import AnswerService
from index import Engine, LanguageDetector, load_corpus

from .botkit import ADMIN_ID, application, bot_config, message, update_for, user
from .conftest import HashingEmbedder
from .fakebot import FakeBotAPI

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import load


async def reload_replies(fake: FakeBotAPI, corpus: Path, tmp_path: Path, *, broken: bool = False) -> list[str]:
    """The texts the bot sends in reply to an admin's /reload of ``corpus`` (with a broken file), in order."""
    engine = Engine.build(load_corpus(corpus), embedder=HashingEmbedder(), detector=LanguageDetector())
    service = AnswerService(engine, corpus_dir=corpus, cache_dir=None)
    bot_app = application(bot_config(tmp_path), service, fake)
    await bot_app.initialize()
    if broken:
        article = corpus / "articles" / "nos-interview-musk-trump.md"
        text = article.read_text(encoding="utf-8")
        article.write_text(text.replace("published: 2024-08-13", "published: yesterday"), encoding="utf-8")
    try:
        await bot_app.process_update(update_for(bot_app, message=message("/reload", sender=user(user_id=ADMIN_ID))))
    finally:
        await bot_app.shutdown()
    return [params["text"] for params in fake.sent("sendMessage")]


async def test_a_reload_that_worked_counts_by_its_closing_reply(
    fake: FakeBotAPI, corpus_copy: Path, tmp_path: Path
) -> None:
    replies = await reload_replies(fake, corpus_copy, tmp_path)
    assert len(replies) == 2  # "Reloading…", then the outcome
    assert load.reload_succeeded(replies)
    assert not load.reload_succeeded(replies[:1])  # still reloading when the bench stopped: not (yet) a success
    assert not load.reload_succeeded([])


async def test_a_reload_that_failed_does_not_count(fake: FakeBotAPI, corpus_copy: Path, tmp_path: Path) -> None:
    replies = await reload_replies(fake, corpus_copy, tmp_path, broken=True)
    assert len(replies) == 2 and "published" in replies[1]
    assert not load.reload_succeeded(replies)
