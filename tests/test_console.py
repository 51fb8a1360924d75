"""The console as a whole client: its own help and banner in the user's language, replies with no buttons,
follows that survive a restart, ``/add`` with options (or questions), alerts with bold and links, a quiet log."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import _app
from bot._app import open_console
from bot._chat import MAX_QUESTION
from bot._config import Config
from bot._console import Console, environment_language, parse_add
from bot._i18n import strings
from bot._logging import configure_console_logging
from bot._persistence import open_state
from bot._service import AnswerService
from bot._terminal import ANSI_BOLD, html_for_terminal
from index import SUPPORTED, Engine
from index.follow import CONSOLE_CHAT, FollowStore
from index.follow.store import DueAlert

from .test_console_follow import ARTICLE, QUESTION
from .test_curation import make_service

COMMANDS = ("/help", "/sources", "/lang", "/follow", "/following", "/unfollow", "/add", "/reload", "/quit")
DUTCH_QUESTION = "Waarom werd de Space uitgesteld?"
ENGLISH_QUESTION = "Why was the Space delayed?"
HAMBURG = "Der Hamburger Hafen hat am Montag ein neues Containerterminal eröffnet. Es kostete 300 Millionen Euro.\n"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def banner(console: Console) -> str:
    out = io.StringIO()
    console._out = out

    def leave(prompt: str) -> str:
        raise EOFError

    console._read = leave
    assert console.run() == 0
    return out.getvalue()


@pytest.mark.parametrize("language", ["en", "nl"])
def test_help_and_banner_list_the_consoles_own_commands_in_the_users_language(
    service: AnswerService, language: str
) -> None:
    console = Console(service, home_language=language)
    s = strings(language)
    help_text = console.respond("/help")
    assert help_text == s("console_help", languages=", ".join(SUPPORTED))
    assert all(command in help_text for command in COMMANDS if command != "/help")
    assert "inline" not in help_text and "@bot" not in help_text  # Telegram's help is about groups and mentions
    intro = banner(Console(service, home_language=language))
    assert intro.startswith(s("console_intro", corpus=service.corpus_dir))
    assert all(command in intro for command in COMMANDS)


def test_help_follows_the_language_chosen_and_the_language_last_written(service: AnswerService) -> None:
    console = Console(service, home_language="en")
    assert console.respond("/help") != console.respond("/lang fr") and console.respond("/help") == strings("fr")(
        "console_help", languages=", ".join(SUPPORTED)
    )
    console.respond("/lang auto")
    console.respond(DUTCH_QUESTION)  # answered in Dutch: the console now speaks Dutch
    assert console.respond("/help").startswith("Zo gebruik je de console")


def test_the_terminal_locale_is_the_users_language_until_they_write() -> None:
    assert environment_language({"LANG": "nl_NL.UTF-8"}) == "nl"
    assert environment_language({"LC_ALL": "de_DE.UTF-8", "LANG": "fr_FR.UTF-8"}) == "de"
    assert environment_language({"LANG": "C.UTF-8"}) is None
    assert environment_language({}) is None


@pytest.mark.parametrize(("question", "language"), [(DUTCH_QUESTION, "nl"), (ENGLISH_QUESTION, "en")], ids=["nl", "en"])
def test_follow_replies_in_the_askers_language_with_the_question_quoted(
    service: AnswerService, question: str, language: str
) -> None:
    console = Console(service)  # no /lang, no locale: the question's own language decides
    reply = console.respond(f"/follow {question}")
    s = strings(language)
    assert reply == s("console_follow_done", question=question)
    assert f"“{question}”" in reply and "?." not in reply and "<i>" not in reply
    listing = console.respond("/following")
    assert listing.splitlines()[1] == f"1. {question}"
    assert listing.splitlines()[0].startswith({"nl": "Vragen die je volgt", "en": "Questions you follow"}[language])
    again = console.respond(f"/follow {question}")
    assert again == s("console_follow_already", question=question) and "?." not in again
    assert console.respond("/unfollow 1") == s("console_unfollow_done", question=question)


@pytest.mark.parametrize("language", SUPPORTED)
def test_no_console_reply_mentions_buttons(service: AnswerService, language: str) -> None:
    s = strings(language)
    console = Console(service)
    console.language = language
    replies = [
        console.respond("/following"),
        console.respond(f"/follow {ENGLISH_QUESTION}"),
        console.respond("/following"),
        console.respond("/unfollow"),
        console.respond("/unfollow ²"),  # a Unicode digit: the listing again, no crash
        console.respond("/unfollow 1"),
    ]
    for reply in replies:
        assert s("follow_button") not in reply and s("unfollow_button") not in reply
        assert "button" not in reply.lower()
    assert replies[0] == s("console_following_none") and "/follow" in replies[0]
    assert console.respond("/follow " + "why " * 300) == s("follow_too_long", limit=MAX_QUESTION)  # as on Telegram


def console_config(tmp_path: Path, corpus: Path) -> Config:
    return Config(corpus=corpus, cache_dir=tmp_path / "cache", persistence=tmp_path / "state" / "bot.pickle")


def test_console_follows_and_language_survive_a_restart_and_alerts_carry_bold_and_the_link(
    corpus_copy: Path, engine: Engine, embedding_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    config = console_config(tmp_path, corpus_copy)
    database = open_state(config.persistence)
    first = open_console(config, make_service(corpus_copy, engine, embedding_cache), database)
    assert first.respond("/help").startswith("How to use the console")  # the terminal's locale
    first.respond("/lang fr")
    assert first.respond(f"/follow {QUESTION}").startswith("Question suivie")
    database.close()

    database = open_state(config.persistence)  # the same file the Telegram bot uses
    assert database.path == tmp_path / "state" / "bot.sqlite3"
    console = open_console(config, make_service(corpus_copy, engine, embedding_cache), database)
    assert console.language == "fr"  # the /lang choice is kept too
    assert console.respond("/following").splitlines()[1] == f"1. {QUESTION}"
    assert console.respond(f"/follow {QUESTION}").startswith("Vous suivez déjà")
    article = tmp_path / "ouest-vignoble-breton.md"
    article.write_text(ARTICLE, encoding="utf-8")
    printed = console.respond(f"/add {article}")
    alert = printed.split("\n\n", 1)[1]
    assert alert.startswith(f"**Nouvelle couverture** sur votre question {QUESTION}")
    quote = alert[alert.index("“") : alert.index("”")]
    assert quote.count("**") >= 2  # the answering sentence, in bold as on Telegram
    assert "(https://ouest.test/vignoble-breton)" in alert  # the link, spelled out
    assert "<b>" not in alert and "&" not in alert
    database.close()


def test_the_console_alerts_are_the_consoles_alone(tmp_path: Path) -> None:
    """Telegram's sender never takes the console's alerts (chat 0 is no Telegram chat), nor the console Telegram's."""
    store = FollowStore(open_state(tmp_path / "bot.pickle"))
    with store.db.transaction() as db:
        db.execute("INSERT INTO questions (id, key, text, model, vector) VALUES (1, 'q', 'q', 'm', x'00')")
        db.executemany(
            "INSERT INTO follows (id, chat_id, user_id, question_id, question, language, created) "
            "VALUES (?, ?, ?, 1, 'q', 'en', 0)",
            [(1, CONSOLE_CHAT, CONSOLE_CHAT), (2, 42, 42)],
        )
    store.record_due([DueAlert(1, CONSOLE_CHAT, "a", "console"), DueAlert(2, 42, "a", "telegram")])
    assert [alert.text for alert in store.due()] == ["telegram"]
    assert [alert.text for alert in store.due(chat_id=CONSOLE_CHAT)] == ["console"]
    store.db.close()


def test_add_takes_the_fields_as_options(
    corpus_copy: Path, engine: Engine, embedding_cache: Path, tmp_path: Path
) -> None:
    source = tmp_path / "hamburg.txt"
    source.write_text(HAMBURG, encoding="utf-8")
    console = Console(make_service(corpus_copy, engine, embedding_cache), home_language="en")
    options = '--source "Hamburger Abendblatt" --title "Neues Terminal im Hafen" --published=2026-12-01'
    reply = console.respond(f"/add {source} {options} --url https://abendblatt.test/terminal")
    assert reply.startswith("Added hamburger-abendblatt-neues-terminal-im-hafen: “Neues Terminal im Hafen”")
    assert (corpus_copy / "articles" / "hamburger-abendblatt-neues-terminal-im-hafen.md").exists()


def test_add_names_the_article_and_says_how_to_give_what_it_lacks(
    corpus_copy: Path, engine: Engine, embedding_cache: Path, tmp_path: Path
) -> None:
    source = tmp_path / "hamburg.txt"
    source.write_text(HAMBURG, encoding="utf-8")
    console = Console(make_service(corpus_copy, engine, embedding_cache), home_language="en")
    reply = console.respond(f"/add {source} --source Abendblatt")
    assert reply.splitlines()[0] == "Nothing was added: this article, hamburg.txt, has problems:"
    assert "  - missing published (YYYY-MM-DD): give it as --published …" in reply.splitlines()
    assert "in the corpus" not in reply and "caption" not in reply
    assert console.respond("/add").startswith("Write the file after /add")
    assert console.respond(f"/add {tmp_path / 'nowhere.txt'}").startswith("Nothing was added: ")


def test_add_at_a_terminal_asks_for_each_missing_field(
    corpus_copy: Path, engine: Engine, embedding_cache: Path, tmp_path: Path
) -> None:
    source = tmp_path / "hamburg.txt"
    source.write_text(HAMBURG, encoding="utf-8")
    answers = iter(["2026-12-01", "Neues Terminal im Hafen", "", "Aus der Druckausgabe"])
    prompts: list[str] = []

    def read(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    console = Console(
        make_service(corpus_copy, engine, embedding_cache), read=read, home_language="en", ask_missing=True
    )
    reply = console.respond(f"/add {source} --source Abendblatt")
    assert [re.search(r"\((\w+);", p).group(1) for p in prompts] == ["published", "title", "url", "note"]  # type: ignore[union-attr]
    assert reply.startswith("Added abendblatt-neues-terminal-im-hafen")
    saved = (corpus_copy / "articles" / "abendblatt-neues-terminal-im-hafen.md").read_text(encoding="utf-8")
    assert "2026-12-01" in saved and "note: Aus der Druckausgabe" in saved


def test_add_at_a_terminal_can_be_cancelled(
    corpus_copy: Path, engine: Engine, embedding_cache: Path, tmp_path: Path
) -> None:
    source = tmp_path / "hamburg.txt"
    source.write_text(HAMBURG, encoding="utf-8")
    before = sorted((corpus_copy / "articles").iterdir())
    console = Console(
        make_service(corpus_copy, engine, embedding_cache), read=lambda _: "", home_language="nl", ask_missing=True
    )
    assert console.respond(f"/add {source}") == strings("nl")("console_add_cancelled")
    assert sorted((corpus_copy / "articles").iterdir()) == before


def test_parse_add() -> None:
    assert parse_add('a.txt --title "Two words" --date=2026-01-02') == (
        Path("a.txt"),
        {"title": "Two words", "published": "2026-01-02"},
    )
    assert parse_add("") is None
    assert parse_add("a.txt b.txt") is None
    assert parse_add("a.txt --colour red") is None
    assert parse_add('a.txt --title "unclosed') is None
    assert parse_add("a.txt --title") is None


@pytest.fixture()
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_reload_prints_no_log_line_into_the_chat(
    corpus_copy: Path,
    engine: Engine,
    embedding_cache: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    root_logging: None,
) -> None:
    configure_console_logging([])
    console = Console(make_service(corpus_copy, engine, embedding_cache))
    console.language = "fr"
    console.respond(f"/follow {QUESTION}")
    (corpus_copy / "articles" / "ouest-vignoble-breton.md").write_text(ARTICLE, encoding="utf-8")
    printed = console.respond("/reload")
    assert "Nouvelle couverture" in printed
    logging.getLogger("bot._alerts").warning("the alerts could not be worked out")
    err = capsys.readouterr().err
    assert "new coverage" not in err and " INFO " not in err  # the routine line stays out of the conversation
    assert err.strip() == "(warning: the alerts could not be worked out)"


def test_without_a_token_the_console_says_it_is_the_console(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], root_logging: None
) -> None:
    monkeypatch.setattr("sys.stdin", Terminal())
    opened: list[Config] = []
    monkeypatch.setattr(_app, "run_console", lambda config: opened.append(config) or 0)
    assert _app.run_bot(Config()) == 0 and len(opened) == 1
    err = capsys.readouterr().err
    assert "this is the console" in err and "python bot.py --console" not in err
    assert "@BotFather" in err


def test_telegram_html_reads_on_a_terminal_with_bold_quotes_and_addresses() -> None:
    markup = (
        "<b>New coverage</b> on your question <i>Why?</i>\n\n<blockquote>It was <b>delayed by a DDoS</b> &amp; more"
        '</blockquote>\n<b>BBC</b> · <a href="https://bbc.test/a?x=1&amp;y=2">Musk &lt;live&gt;</a> · 2024-08-13'
    )
    assert html_for_terminal(markup) == (
        "**New coverage** on your question Why?\n\n“It was **delayed by a DDoS** & more”\n"
        "**BBC** · Musk <live> (https://bbc.test/a?x=1&y=2) · 2024-08-13"
    )
    assert html_for_terminal("<b>x</b>", ANSI_BOLD) == "\x1b[1mx\x1b[22m"
