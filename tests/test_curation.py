"""Admins grow the corpus from Telegram: uploads, /remove, and machine translation on /reload.

Every test drives the real application against the strict fake Bot API, over a writable copy
of the bundled corpus indexed with the real sentence encoder, and (where translation is on)
a fake LibreTranslate server.
"""

from __future__ import annotations

import html
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram.ext import Application

from bot._app import post_init, post_shutdown, runtime_of
from bot._compose import answer_html
from bot._i18n import strings
from bot._memory import PendingRemovals, RemoveChoice, parse_remove, remove_data
from bot._service import AnswerService
from index import SUPPORTED, Engine, load_corpus
from index.curation import TranslationPlan
from index.translation.libretranslate import LibreTranslate

from .botkit import ADMIN_ID, application, bot_config, callback, document_message, message, update_for, user
from .fake_libretranslate import FakeLibreTranslate
from .fakebot import FakeBotAPI
from .samples import CAPTION, FLOWERS_ANSWER, FLOWERS_ID, FLOWERS_QUESTION, FLOWERS_TEXT, phrasebook_translation

App = Application[Any, Any, Any, Any, Any, Any]
ADMIN = user(user_id=ADMIN_ID)
EN = strings("en")
CORPUS_TEXT = "Corpus now: {articles} articles"
CONFIRMATION = {"message_id": 1, "date": 0, "chat": {"id": ADMIN_ID, "type": "private"}, "text": "Remove?"}
"""The bot's confirmation message, as a button press carries it back."""


@pytest.fixture()
def translator() -> FakeLibreTranslate:
    return FakeLibreTranslate(translate=phrasebook_translation())


def make_plan(translator: FakeLibreTranslate) -> TranslationPlan:
    client = LibreTranslate("http://translate.test", transport=httpx.MockTransport(translator))
    return TranslationPlan(client, SUPPORTED, concurrency=2, requests_per_second=1000.0, backoff=0.0)


def make_service(
    corpus_dir: Path, engine: Engine, cache: Path, translator: FakeLibreTranslate | None = None
) -> AnswerService:
    """A service over ``corpus_dir`` sharing the session engine's encoders, detector and cache."""
    built = Engine.build(
        load_corpus(corpus_dir),
        cache_dir=cache,
        embedder=engine.embedder,
        aligner=engine.aligner,
        detector=engine.detector,
    )
    plan = make_plan(translator) if translator is not None else None
    return AnswerService(built, corpus_dir=corpus_dir, cache_dir=cache, translation=plan, max_upload_bytes=20_000)


@pytest.fixture()
async def curated(
    fake: FakeBotAPI, corpus_copy: Path, engine: Engine, embedding_cache: Path, tmp_path: Path
) -> AsyncIterator[tuple[App, AnswerService]]:
    """The bot over a writable corpus copy, machine translation off."""
    service = make_service(corpus_copy, engine, embedding_cache)
    bot_app = application(bot_config(tmp_path), service, fake)
    await bot_app.initialize()
    yield bot_app, service
    await bot_app.shutdown()


@pytest.fixture()
async def translating(
    fake: FakeBotAPI,
    corpus_copy: Path,
    engine: Engine,
    embedding_cache: Path,
    tmp_path: Path,
    translator: FakeLibreTranslate,
) -> AsyncIterator[tuple[App, AnswerService]]:
    """The bot over a writable corpus copy, machine translation through the fake service."""
    service = make_service(corpus_copy, engine, embedding_cache, translator)
    bot_app = application(bot_config(tmp_path), service, fake)
    await bot_app.initialize()
    yield bot_app, service
    await bot_app.shutdown()


async def send(bot_app: App, **payload: Any) -> None:
    await bot_app.process_update(update_for(bot_app, **payload))


async def send_document(bot_app: App, document: dict[str, Any], caption: str | None = None, sender: Any = None) -> None:
    """An admin (or ``sender``) sends ``document``, as made by ``FakeBotAPI.add_file``."""
    await send(bot_app, message=document_message(document, caption=caption, sender=sender or ADMIN))


async def upload(
    bot_app: App, fake: FakeBotAPI, content: bytes, name: str, caption: str | None = None, sender: Any = None
) -> None:
    await send_document(bot_app, fake.add_file(content, name), caption, sender)


def texts(fake: FakeBotAPI) -> list[str]:
    return [m["text"] for m in fake.sent("sendMessage")]


def article_files(corpus: Path) -> list[str]:
    return sorted(p.relative_to(corpus).as_posix() for p in corpus.rglob("*.md"))


# --- uploads ----------------------------------------------------------------------------------


async def test_admin_uploads_a_markdown_article(
    curated: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path
) -> None:
    bot_app, service = curated
    original = (corpus_copy / "articles" / "nos-interview-musk-trump.md").read_text(encoding="utf-8")
    renamed = original.replace("id: nos-interview-musk-trump", "id: nos-kopie", 1)
    await upload(bot_app, fake, renamed.encode(), "kopie.md")
    reply = texts(fake)[-1]
    assert fake.rejected == []
    assert (corpus_copy / "articles" / "nos-kopie.md").read_text(encoding="utf-8") == renamed
    passages = [p for p in service.engine.corpus.passages if p.article.id == "nos-kopie"]
    expected = [p for p in service.engine.corpus.passages if p.article.id == "nos-interview-musk-trump"]
    assert [p.text for p in passages] == [p.text for p in expected]
    assert f"Split into {len(passages)} passages" in reply
    assert "<code>nos-kopie</code>" in reply and CORPUS_TEXT.format(articles=5) in reply
    assert "1. " in reply and f"{len(passages)}. " in reply
    assert f"{len(passages)} passages still have no translation" in reply  # translation is off


async def test_admin_uploads_text_with_a_caption(
    curated: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path
) -> None:
    bot_app, service = curated
    await upload(bot_app, fake, FLOWERS_TEXT.read_bytes(), "bloemencorso.txt", CAPTION)
    reply = texts(fake)[-1]
    saved = corpus_copy / "articles" / f"{FLOWERS_ID}.md"
    assert saved.exists(), reply
    article = next(a for a in service.engine.corpus.articles if a.id == FLOWERS_ID)
    assert (article.source, article.language, article.url) == (
        "Bollenstreek Nieuws",
        "nl",
        "https://example.org/bloemencorso",
    )
    assert "Dutch, detected" in reply
    assert "Split into 3 passages" in reply and "1. Recordaantal bezoekers — Het bloemencorso" in reply
    assert texts(fake)[0] == EN("upload_checking", name="bloemencorso.txt")


async def test_admin_uploads_an_html_page(
    curated: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path
) -> None:
    bot_app, service = curated
    page = """<!doctype html><html><head><title>Site</title><script>alert("x")</script>
    <style>p { color: red }</style></head><body><nav>Home | News</nav>
    <article><h1>Le Space de Musk et Trump</h1>
    <p>La conversation a commenc&eacute; avec 42 minutes de retard &amp; des probl&egrave;mes techniques.</p>
    <h2>Une attaque ?</h2><p>Elon Musk a parl&eacute; d&#8217;une attaque DDoS massive contre X.</p>
    </article><footer>&copy; 2024</footer></body></html>"""
    caption = "source: Exemple Presse\npublished: 2024-08-13\nurl: https://example.org/space"
    await upload(bot_app, fake, page.encode(), "space.html", caption)
    reply = texts(fake)[-1]
    article = next((a for a in service.engine.corpus.articles if a.source == "Exemple Presse"), None)
    assert article is not None, reply
    assert article.title == "Le Space de Musk et Trump" and article.language == "fr"
    saved = article.path.read_text(encoding="utf-8")
    assert "alert" not in saved and "color" not in saved and "Home | News" not in saved and "2024</" not in saved
    assert "commencé avec 42 minutes de retard & des problèmes" in saved
    assert "## Une attaque ?\n\nElon Musk a parlé d’une attaque DDoS massive contre X." in saved
    assert "Split into 2 passages" in reply


async def test_bad_front_matter_saves_nothing_and_lists_the_problems(
    curated: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path
) -> None:
    bot_app, service = curated
    before, engine = article_files(corpus_copy), service.engine
    bad = (
        "---\nid: nieuw-artikel\ntitle: Nieuw\nsource: NOS\nurl: https://nos.nl/x\n"
        "published: gisteren\nlanguage: nl\n---\n\nTekst.\n"
    )
    await upload(bot_app, fake, bad.encode(), "nieuw.md")
    reply = texts(fake)[-1]
    assert reply.startswith("Nothing was added: nieuw.md has problems.")
    assert "nieuw.md:6: published 'gisteren' is not an ISO date" in reply
    assert article_files(corpus_copy) == before and service.engine is engine


async def test_a_file_that_is_not_utf8_is_refused(
    curated: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path
) -> None:
    bot_app, service = curated
    before, engine = article_files(corpus_copy), service.engine
    latin1 = "Première ligne.\n\nLa conversation a été retardée.\n".encode("latin-1")
    await upload(bot_app, fake, latin1, "retard.txt", CAPTION)
    reply = texts(fake)[-1]
    assert "retard.txt" in reply and "UTF-8" in reply and "0xe8" in reply
    assert article_files(corpus_copy) == before and service.engine is engine


async def test_an_oversized_file_is_refused_before_downloading(
    curated: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path
) -> None:
    bot_app, _service = curated
    before = article_files(corpus_copy)
    await upload(bot_app, fake, b"word " * 5_000, "huge.txt", CAPTION)  # 25 kB; this service allows 20 kB
    assert texts(fake) == [EN("upload_too_big", name="huge.txt", size="25.0 kB", limit="20.0 kB")]
    assert fake.sent("getFile") == [] and fake.downloads == []
    assert article_files(corpus_copy) == before


async def test_a_size_telegram_did_not_declare_is_still_checked(
    curated: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path
) -> None:
    bot_app, _ = curated
    before = article_files(corpus_copy)
    document = fake.add_file(b"woord " * 5_000, "huge.txt")
    del document["file_size"]
    await send_document(bot_app, document, CAPTION)
    assert "limit" in texts(fake)[-1] and "huge.txt" in texts(fake)[-1]
    assert article_files(corpus_copy) == before


async def test_documents_from_non_admins_are_ignored(
    curated: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path
) -> None:
    bot_app, service = curated
    before, engine = article_files(corpus_copy), service.engine
    await upload(bot_app, fake, FLOWERS_TEXT.read_bytes(), "x.txt", CAPTION, sender=user(31337))
    assert fake.calls[-1].method == "getMe"  # no reply, no download: nothing after initialisation
    assert fake.downloads == [] and article_files(corpus_copy) == before and service.engine is engine


async def test_an_upload_with_an_existing_id_is_refused(
    curated: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path
) -> None:
    bot_app, _ = curated
    same = (corpus_copy / "articles" / "nos-interview-musk-trump.md").read_bytes()
    await upload(bot_app, fake, same, "nos.md")
    assert "already exists" in texts(fake)[-1]
    assert (corpus_copy / "articles" / "nos-interview-musk-trump.md").read_bytes() == same


async def test_a_failed_download_is_reported(curated: tuple[App, AnswerService], fake: FakeBotAPI) -> None:
    bot_app, _ = curated
    fake.fail_next("getFile", status=400, description="Bad Request: file is temporarily unavailable")
    await upload(bot_app, fake, b"text", "a.txt", CAPTION)
    assert texts(fake)[-1] == EN("upload_download_failed", name="a.txt")


# --- /remove ----------------------------------------------------------------------------------


def buttons(sent: dict[str, Any]) -> list[str]:
    return [b["callback_data"] for row in sent["reply_markup"]["inline_keyboard"] for b in row]


async def test_remove_asks_then_moves_the_article_aside(
    curated: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path
) -> None:
    bot_app, service = curated
    await send(bot_app, message=message("/remove nos-interview-musk-trump", sender=ADMIN))
    confirm = fake.sent("sendMessage")[-1]
    assert "Remove <b>" in confirm["text"] and "NOS" in confirm["text"]
    yes, _no = buttons(confirm)
    assert len(service.engine.corpus.articles) == 4  # nothing happens before the button
    await send(bot_app, **callback(yes, CONFIRMATION, sender=ADMIN))
    done = fake.sent("editMessageText")[-1]["text"]
    assert done.startswith("Removed <code>nos-interview-musk-trump</code>. Corpus now: 3 articles")
    assert [a.id for a in service.engine.corpus.articles if a.id.startswith("nos")] == []
    assert not (corpus_copy / "articles" / "nos-interview-musk-trump.md").exists()
    kept = list((corpus_copy / ".removed").glob("*-nos-interview-musk-trump"))
    assert len(kept) == 1 and (kept[0] / "articles" / "nos-interview-musk-trump.md").exists()
    assert len(list((kept[0] / "translations" / "nos-interview-musk-trump").glob("*.md"))) == 5
    load_corpus(corpus_copy)  # what is left is a valid corpus
    await send(bot_app, **callback(yes, CONFIRMATION, sender=ADMIN))  # the same button again
    assert fake.sent("answerCallbackQuery")[-1]["text"] == EN("expired")


async def test_remove_can_be_cancelled(curated: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path) -> None:
    bot_app, service = curated
    await send(bot_app, message=message("/remove nos-interview-musk-trump", sender=ADMIN))
    _, no = buttons(fake.sent("sendMessage")[-1])
    await send(bot_app, **callback(no, CONFIRMATION, sender=ADMIN))
    assert fake.sent("editMessageText")[-1]["text"] == EN("remove_cancelled", id="nos-interview-musk-trump")
    assert len(service.engine.corpus.articles) == 4
    assert (corpus_copy / "articles" / "nos-interview-musk-trump.md").exists()


async def test_remove_buttons_work_only_for_admins(
    curated: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path
) -> None:
    bot_app, service = curated
    await send(bot_app, message=message("/remove nos-interview-musk-trump", sender=ADMIN))
    yes, _ = buttons(fake.sent("sendMessage")[-1])
    await send(bot_app, **callback(yes, CONFIRMATION, sender=user(31337)))
    assert fake.sent("answerCallbackQuery")[-1]["text"] == EN("not_admin")
    assert len(service.engine.corpus.articles) == 4 and fake.sent("editMessageText") == []


async def test_remove_without_an_id_lists_them_and_an_unknown_id_suggests(
    curated: tuple[App, AnswerService], fake: FakeBotAPI
) -> None:
    bot_app, _ = curated
    await send(bot_app, message=message("/remove", sender=ADMIN))
    listing = texts(fake)[-1]
    assert all(f"<code>{i}</code>" in listing for i in ("nos-interview-musk-trump", "lapresse-trump-recu-en-ami"))
    await send(bot_app, message=message("/remove nos-interview-musk", sender=ADMIN))
    assert "Did you mean <code>nos-interview-musk-trump</code>?" in texts(fake)[-1]
    await send(bot_app, message=message("/remove nos-interview-musk-trump", sender=user(31337)))
    assert texts(fake)[-1] == EN("not_admin")


async def test_a_removal_that_would_break_the_corpus_is_put_back(
    curated: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path
) -> None:
    bot_app, service = curated
    await send(bot_app, message=message("/remove nos-interview-musk-trump", sender=ADMIN))
    yes, _ = buttons(fake.sent("sendMessage")[-1])
    broken = corpus_copy / "articles" / "lapresse-trump-recu-en-ami.md"
    broken.write_text(broken.read_text(encoding="utf-8").replace("language: fr", "language: french"), encoding="utf-8")
    await send(bot_app, **callback(yes, CONFIRMATION, sender=ADMIN))
    assert "Nothing was removed" in fake.sent("editMessageText")[-1]["text"]
    assert "lapresse-trump-recu-en-ami.md" in fake.sent("editMessageText")[-1]["text"]
    assert (corpus_copy / "articles" / "nos-interview-musk-trump.md").exists()
    assert len(list((corpus_copy / "translations" / "nos-interview-musk-trump").glob("*.md"))) == 5
    assert len(service.engine.corpus.articles) == 4


# --- machine translation ----------------------------------------------------------------------


async def test_after_an_upload_an_english_question_quotes_the_machine_translation(
    translating: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path, translator: FakeLibreTranslate
) -> None:
    bot_app, service = translating
    await upload(bot_app, fake, FLOWERS_TEXT.read_bytes(), "bloemencorso.txt", CAPTION)
    reply = texts(fake)[-1]
    assert EN("translation_done", passages=15, files=5) in reply
    written = sorted(p.stem for p in (corpus_copy / "translations" / FLOWERS_ID).glob("*.md"))
    assert written == ["de", "en", "es", "fr", "id"]
    assert "method: machine" in (corpus_copy / "translations" / FLOWERS_ID / "en.md").read_text(encoding="utf-8")

    await send(bot_app, message=message(FLOWERS_QUESTION, sender=user(language="en")))
    answer = html.unescape(texts(fake)[-1])
    first = answer.split("</blockquote>", 1)[0]
    assert FLOWERS_ANSWER in first
    assert "Bollenstreek Nieuws" in answer and "machine translation from Dutch" in answer
    original = answer.split("<blockquote expandable>", 1)[1].replace("<b>", "").replace("</b>", "")
    assert original.startswith("Original (Dutch)\nRecordaantal bezoekers\nHet bloemencorso van de")
    reviewed = service.engine.ask("Why was the Space delayed?", k=3, language="en")
    assert all(r.translation_method != "machine" for r in reviewed.results)  # the bundled ones are reviewed


async def test_reload_translates_gaps_and_survives_the_service_being_down(
    translating: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path, translator: FakeLibreTranslate
) -> None:
    bot_app, service = translating
    gap = corpus_copy / "translations" / "nos-interview-musk-trump"
    shutil.rmtree(gap)
    down = True
    translator.fail_matching(lambda _: down, 503, "Service Unavailable")
    await send(bot_app, message=message("/reload", sender=ADMIN))
    report = texts(fake)[-1]
    nos_passages = sum(1 for p in service.engine.corpus.passages if p.article.id == "nos-interview-musk-trump")
    assert report.startswith("Corpus reloaded")  # the reload still succeeded
    assert "503" in report and "the next /reload tries again" in report
    assert EN("translation_missing", count=nos_passages) in report
    assert not gap.exists() or list(gap.glob("*.md")) == []

    nos_text = next(p.text for p in service.engine.corpus.passages if p.article.id == "nos-interview-musk-trump")
    answered = service.engine.ask(nos_text, k=3, language="en")
    nos = [r for r in answered.results if r.article_id == "nos-interview-musk-trump"]
    assert nos and all(r.translation is None for r in nos)  # the original, never passed off as translated
    assert EN("no_translation", language="English", original="Dutch") in answer_html(answered, EN)[0]

    down = False
    await send(bot_app, message=message("/reload", sender=ADMIN))
    up = texts(fake)[-1]
    assert EN("translation_done", passages=5 * nos_passages, files=5) in up
    assert "still have no translation" not in up
    assert sorted(p.stem for p in gap.glob("*.md")) == ["de", "en", "es", "fr", "id"]
    requests = len(translator.translate_requests)
    await send(bot_app, message=message("/reload", sender=ADMIN))
    assert len(translator.translate_requests) == requests  # each passage is translated once, ever


async def test_a_document_without_a_name_or_of_another_kind_is_explained(
    curated: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path
) -> None:
    bot_app, _ = curated
    before = article_files(corpus_copy)
    document = fake.add_file(b"%PDF-1.7 \x00\x01", "scan.pdf", "application/pdf")
    del document["file_name"]
    await send_document(bot_app, document)
    await upload(bot_app, fake, b"%PDF-1.7 \x00\x01", "scan.pdf")
    nameless, pdf = texts(fake)[1], texts(fake)[3]
    assert nameless.startswith(EN("upload_problems", name="the file", problems="").splitlines()[0])
    assert "without an extension" in nameless
    assert "scan.pdf" in pdf and ".txt or .html" in pdf
    assert article_files(corpus_copy) == before and fake.rejected == []


async def test_start_up_translates_the_gaps_in_the_background(
    translating: tuple[App, AnswerService], corpus_copy: Path, translator: FakeLibreTranslate
) -> None:
    bot_app, service = translating
    shutil.rmtree(corpus_copy / "translations" / "nos-interview-musk-trump")
    plan, service.translation = service.translation, None
    service.reload()  # the corpus as a bot would find it at start-up: an article without translations
    service.translation = plan
    assert service.untranslated() > 0
    await post_init(bot_app)
    rt = runtime_of(bot_app)
    assert rt.background_translation is not None
    await rt.background_translation
    assert service.untranslated() == 0
    assert sorted(p.stem for p in (corpus_copy / "translations" / "nos-interview-musk-trump").glob("*.md")) == [
        "de", "en", "es", "fr", "id",
    ]  # fmt: skip
    await post_shutdown(bot_app)


async def test_stats_count_untranslated_passages(curated: tuple[App, AnswerService], fake: FakeBotAPI) -> None:
    bot_app, _ = curated
    await send(bot_app, message=message("/stats", sender=ADMIN))
    assert "Untranslated: 0 passages" in texts(fake)[-1]
    await upload(bot_app, fake, FLOWERS_TEXT.read_bytes(), "bloemencorso.txt", CAPTION)
    await send(bot_app, message=message("/stats", sender=ADMIN))
    assert "Untranslated: 3 passages" in texts(fake)[-1]


def test_a_removal_button_works_once_and_expires() -> None:
    removals = PendingRemovals(ttl=600)
    token = removals.offer("nos-interview-musk-trump", now=0.0)
    assert len(remove_data(token, confirmed=True).encode()) <= 64
    assert parse_remove(remove_data(token, confirmed=False)) == RemoveChoice(False, token)
    assert removals.take(token, now=10.0) == "nos-interview-musk-trump"
    assert removals.take(token, now=11.0) is None  # once
    late = removals.offer("lapresse-trump-recu-en-ami", now=0.0)
    assert removals.take(late, now=601.0) is None  # expired
    assert parse_remove("rm:yes:../../etc") is None


async def test_the_reply_to_a_long_article_fits_one_message(
    curated: tuple[App, AnswerService], fake: FakeBotAPI
) -> None:
    bot_app, service = curated
    paragraphs = [
        f"Paragraaf {i}: de organisatie telde opnieuw duizenden bezoekers in Lisse en omgeving." for i in range(200)
    ]
    await upload(bot_app, fake, "\n\n".join(paragraphs).encode(), "lang.txt", CAPTION)
    reply = fake.sent("sendMessage")[-1]["text"]
    assert fake.rejected == [] and "Split into 200 passages" in reply
    assert "1. Paragraaf 0" in reply and "200. Paragraaf 199" not in reply
    shown = reply.count(" characters)")
    assert 20 < shown < 200 and EN("upload_more_passages", count=200 - shown) in reply
    assert len(service.engine.corpus.articles) == 5


async def test_editing_an_article_renews_its_machine_translations(
    translating: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path
) -> None:
    bot_app, _ = translating
    await upload(bot_app, fake, FLOWERS_TEXT.read_bytes(), "bloemencorso.txt", CAPTION)
    article = corpus_copy / "articles" / f"{FLOWERS_ID}.md"
    extra = "De organisatie verwacht volgend jaar nog meer bezoekers."
    article.write_text(article.read_text(encoding="utf-8") + f"\n{extra}\n", encoding="utf-8")
    await send(bot_app, message=message("/reload", sender=ADMIN))
    report = texts(fake)[-1]
    assert report.startswith("Corpus reloaded"), report
    assert EN("translation_stale", count=5) in report and EN("translation_done", passages=20, files=5) in report
    english = (corpus_copy / "translations" / FLOWERS_ID / "en.md").read_text(encoding="utf-8")
    assert f"[en] {extra}" in english
    kept = list((corpus_copy / ".removed").glob("*-stale-translations"))
    assert len(kept) == 1 and len(list(kept[0].rglob("*.md"))) == 5


async def test_a_misaligned_reviewed_translation_is_still_a_problem(
    translating: tuple[App, AnswerService], fake: FakeBotAPI, corpus_copy: Path
) -> None:
    bot_app, service = translating
    engine = service.engine
    article = corpus_copy / "articles" / "nos-interview-musk-trump.md"
    article.write_text(article.read_text(encoding="utf-8") + "\nEen nieuwe alinea.\n", encoding="utf-8")
    await send(bot_app, message=message("/reload", sender=ADMIN))
    assert "translations/nos-interview-musk-trump/en.md" in texts(fake)[-1] and "not aligned" in texts(fake)[-1]
    assert service.engine is engine and not (corpus_copy / ".removed").exists()


async def test_the_welcome_describes_the_corpus_as_it_grows(
    curated: tuple[App, AnswerService], fake: FakeBotAPI
) -> None:
    bot_app, _ = curated
    await send(bot_app, message=message("/start", sender=user(language="en")))
    before = texts(fake)[-1]
    assert "4 reports from " in before and "NOS Nieuws" in before and "Bollenstreek" not in before
    await upload(bot_app, fake, FLOWERS_TEXT.read_bytes(), "bloemencorso.txt", CAPTION)
    await send(bot_app, message=message("/start", sender=user(language="en")))
    after = texts(fake)[-1]
    assert "5 reports from " in after and "Bollenstreek Nieuws" in after
