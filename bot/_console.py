"""A chat with the bot in the terminal: the same engine and answer composition, as plain text.

The console is the first thing a newcomer sees (no token → console), so it is a whole client:
``/follow QUESTION``, ``/following`` and ``/unfollow N`` work as on Telegram, on follows kept in the
bot's own database (:data:`index.follow.CONSOLE_CHAT`), so they survive a restart; ``/add FILE
--published …`` adds an article (asking for what it lacks, at a terminal); after ``/add`` or
``/reload`` (say, after ``python bot.py corpus add`` in another shell) the alerts the new coverage
brings are printed, bold answering sentence and link included. Replies are in the user's language:
``/lang``, else the language of what they last wrote, else the terminal's locale.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from index import CAPTION_FIELDS, SUPPORTED, CorpusError, Upload, normalize_hint
from index.follow import CONSOLE_CHAT, Database, DatabaseError, FollowOutcome, FollowStore, QuestionVectors
from index.intake.upload import CAPTION_ALIASES, OPTIONS

from ._alerts import Following
from ._article_problems import article_problems
from ._chat import MAX_QUESTION
from ._compose import answer_text, html_to_text
from ._i18n import Strings, strings
from ._numbers import ascii_number
from ._service import AddReport, AnswerService, ReloadReport
from ._terminal import emphasis_for, html_for_terminal

log = logging.getLogger(__name__)
QUIT = ("/quit", "/exit")
STATE_KEY = "console"
"""The console's choices in the database's key-value state (its /lang), as Telegram users' are kept."""


def environment_language(environ: Mapping[str, str] | None = None) -> str | None:
    """The answer language the terminal's locale names (``LC_ALL``, ``LC_MESSAGES``, ``LANG``), if supported:
    the console's counterpart of the ``language_code`` Telegram sends."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            return normalize_hint(value.split(".")[0])
    return None


class Console:
    """Reads questions line by line; ``/help`` lists the commands."""

    def __init__(
        self,
        service: AnswerService,
        *,
        max_results: int = 3,
        read: Callable[[str], str] = input,
        out: TextIO | None = None,
        following: Following | None = None,
        home_language: str | None = None,
        ask_missing: bool = False,
    ) -> None:
        self.service = service
        self.max_results = max_results
        self.language: str | None = None
        """The answer language chosen with /lang; None: each question's own."""
        self.home_language = home_language
        """The user's language before they write anything (the terminal's locale)."""
        self.last_language: str | None = None
        """The language of what the user last wrote."""
        self.ask_missing = ask_missing
        """Ask, one by one, for the fields an added article lacks (at a terminal; never from a pipe)."""
        self._read = read
        self._out = out or sys.stdout
        self.following = following or Following(FollowStore(Database(None)), QuestionVectors())
        service.on_indexed = self.following.on_indexed
        try:
            saved = self._database.get(STATE_KEY)
        except (DatabaseError, ValueError) as exc:
            log.warning("ignoring the console's saved choices: %s", exc)
            saved = None
        if isinstance(saved, dict) and saved.get("lang") in SUPPORTED:
            self.language = saved["lang"]

    @property
    def _database(self) -> Database:
        return self.following.store.db

    def say(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    def strings(self) -> Strings:
        """The interface strings in the user's language: /lang, then what they last wrote, then the locale's."""
        return strings(self.language or self.last_language or self.home_language)

    def run(self) -> int:
        s = self.strings()
        self.say(s("console_intro", corpus=self.service.corpus_dir))
        for alert in self.alerts():  # due while the console was away (a Telegram bot's reload, say)
            self.say(alert + "\n")
        while True:
            try:
                line = self._read("> ").strip()
            except (EOFError, KeyboardInterrupt):
                self.say("")
                return 0
            if line in QUIT:
                return 0
            if line:
                self.say(self.safely(line) + "\n")

    def safely(self, line: str) -> str:
        """The reply to ``line``; a failure is logged and apologised for, and the console carries on."""
        try:
            return self.respond(line)
        except Exception:  # bad input never ends the conversation
            log.exception("the console could not handle %r", line[:200])
            return self.strings()("error")

    def respond(self, line: str) -> str:
        command, _, rest = line.partition(" ")
        rest = rest.strip()
        handlers: dict[str, Callable[[str], str]] = {
            "/sources": lambda _: self._sources(),
            "/lang": self._lang,
            "/follow": self._follow,
            "/following": lambda _: self._listing(),
            "/unfollow": self._unfollow,
            "/reload": lambda _: self._reload(),
            "/add": self._add,
            "/help": lambda _: self._help(),
            "/start": lambda _: self._help(),
        }
        handler = handlers.get(command.lower())
        if handler is not None:
            return handler(rest)
        answer = self.service.ask(line, k=self.max_results, language=self.language)
        self.last_language = answer.language
        return answer_text(answer, strings(answer.language), bold=emphasis_for(self._out))

    def _help(self) -> str:
        return self.strings()("console_help", languages=", ".join(SUPPORTED))

    def _sources(self) -> str:
        s = self.strings()
        corpus = self.service.engine.corpus
        rows = [html_to_text(s("sources_header", articles=len(corpus.articles)))]
        for a in corpus.articles:
            rows.append(f"• {a.source}, {a.published}: {a.title} [{a.language}] {a.url or s('no_url')}")
        return "\n".join(rows)

    def _lang(self, code: str) -> str:
        s = self.strings()
        if code == "auto":
            self.language = None
            self._remember(None)
            return s("lang_set_auto")
        if code in SUPPORTED:
            self.language = code
            self._remember({"lang": code})
            t = strings(code)
            return t("lang_set", language=t.raw("language_name"))
        current = strings(self.language).raw("language_name") if self.language else s("lang_auto")
        return s("lang_prompt", current=current) + " (" + ", ".join((*SUPPORTED, "auto")) + ")"

    def _remember(self, choices: dict[str, str] | None) -> None:
        try:
            self._database.put(STATE_KEY, choices)
        except DatabaseError as exc:  # the choice holds for this session all the same
            log.warning("could not save the console's language choice: %s", exc)

    def _follow(self, question: str) -> str:
        if not any(ch.isalnum() for ch in question):
            s = self.strings()
            return s("follow_usage", example=s.examples[1])
        engine = self.service.engine
        language = self.language or engine.detector.detect(question, None).language
        self.last_language = language
        s = strings(language)
        if len(question) > MAX_QUESTION:  # as on Telegram
            return s("follow_too_long", limit=MAX_QUESTION)
        outcome, follow = self.following.follow(
            engine,
            chat_id=CONSOLE_CHAT,
            user_id=CONSOLE_CHAT,
            question=question,
            language=language,
            hint=None,
            known=None,
            k=self.max_results,
        )
        if outcome is FollowOutcome.TOO_MANY or follow is None:
            return s("console_follow_too_many", limit=self.following.store.max_follows)
        if outcome is FollowOutcome.ALREADY:
            return s("console_follow_already", question=question)
        return s("console_follow_done", question=question)

    def _listing(self) -> str:
        s = self.strings()
        follows = self.following.store.follows_of(CONSOLE_CHAT)
        if not follows:
            return s("console_following_none")
        lines = [html_to_text(s("following_header", count=len(follows), limit=self.following.store.max_follows))]
        lines += [s("following_line", number=i, question=f.question) for i, f in enumerate(follows, 1)]
        return "\n".join(lines)

    def _unfollow(self, number: str) -> str:
        follows = self.following.store.follows_of(CONSOLE_CHAT)
        chosen = ascii_number(number, digits=4)
        if chosen is None or not 1 <= chosen <= len(follows):
            return self._listing()
        stopped = self.following.unfollow(follows[chosen - 1].id, CONSOLE_CHAT)
        if stopped is None:
            return self.strings()("unfollow_unknown")
        return self.strings()("console_unfollow_done", question=stopped.question)

    def _reload(self) -> str:
        """Read the corpus again; then the alerts it brought."""
        try:
            report = self.service.reload()
        except (CorpusError, OSError) as exc:  # the whole corpus: "problems in the corpus" is the right word
            return str(exc)
        return self._changed(report)

    def _add(self, arguments: str) -> str:
        """``/add FILE [--field value …]``: an article in the corpus format, or a .txt/.html with its metadata."""
        s = self.strings()
        parsed = parse_add(arguments)
        if parsed is None:
            return s("console_add_usage", fields=", ".join(f"--{name}" for name in CAPTION_FIELDS))
        path, fields = parsed
        try:
            upload = Upload(path.name, path.read_bytes())
        except OSError as exc:
            return s("console_add_unreadable", path=path, reason=exc.strerror or exc)
        while True:
            try:
                added = self.service.add_article(upload, fields or None, syntax=OPTIONS)
                break
            except CorpusError as exc:
                missing = [p.missing_field for p in exc.problems if p.missing_field]
                if not (self.ask_missing and missing and len(missing) == len(exc.problems)):
                    return article_problems(exc, path.name, s("console_add_problems", name=path.name))
                answers = self._ask_fields(missing, s)
                if answers is None:
                    return s("console_add_cancelled")
                fields.update(answers)
        return self._changed(added.reload, added)

    def _ask_fields(self, missing: list[str], s: Strings) -> dict[str, str] | None:
        """Each missing field, asked for in turn; None when the user gives up (an empty answer, or Ctrl-D).

        An article with no address may say why instead (``note``), as the corpus format requires.
        """
        meanings: dict[str, str] = s.raw("console_field_meanings")
        answers: dict[str, str] = {}
        for name in missing:
            value = self._ask(s("console_ask_field", field=name, meaning=meanings[name]))
            if not value and name == "url":
                name, value = "note", self._ask(s("console_ask_field", field="note", meaning=meanings["note"]))
            if not value:
                return None
            answers[name] = value
        return answers

    def _ask(self, prompt: str) -> str:
        try:
            return self._read(prompt).strip()
        except (EOFError, KeyboardInterrupt):
            self.say("")
            return ""

    def _changed(self, report: ReloadReport, added: AddReport | None = None) -> str:
        s = self.strings()
        lines = []
        if added is not None:
            article = added.prepared.article
            lines.append(
                s("console_added", id=article.id, title=article.title, source=article.source, date=article.published)
            )
        seconds = f"{report.seconds:.2f}"
        lines.append(s("console_reloaded", articles=report.articles, passages=report.passages, seconds=seconds))
        return "\n\n".join(["\n".join(lines), *self.alerts()])

    def alerts(self) -> list[str]:
        """The console's due alerts, as the terminal shows them (answering sentence in bold, links spelled out),
        marked sent."""
        store = self.following.store
        bold = emphasis_for(self._out)
        printed = []
        for alert in store.due(1000, chat_id=CONSOLE_CHAT):
            printed.append(html_for_terminal(alert.text, bold))
            store.mark_sent(alert.id)
        return printed


def parse_add(arguments: str) -> tuple[Path, dict[str, str]] | None:
    """``FILE --title "A title" --published=2026-12-01 …`` as the file and its fields; None when malformed."""
    try:
        words = shlex.split(arguments)
    except ValueError:  # an unclosed quote
        return None
    names = {*CAPTION_FIELDS, *CAPTION_ALIASES}
    files: list[str] = []
    fields: dict[str, str] = {}
    position = 0
    while position < len(words):
        word = words[position]
        position += 1
        if not word.startswith("--"):
            files.append(word)
            continue
        name, equals, value = word[2:].partition("=")
        if not equals:
            if position >= len(words):
                return None
            value = words[position]
            position += 1
        if name.lower() not in names:
            return None
        fields[CAPTION_ALIASES.get(name.lower(), name.lower())] = value
    if len(files) != 1:
        return None
    return Path(files[0]).expanduser(), fields
