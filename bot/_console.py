"""A chat with the bot in the terminal: the same engine and answer composition, as plain text.

``/follow QUESTION``, ``/following`` and ``/unfollow N`` work as on Telegram, on follows kept for
the session; after ``/add FILE`` or ``/reload`` (say, after ``python bot.py corpus add`` in another
shell) the alerts the new coverage brings are printed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from index import SUPPORTED, CorpusError, Upload
from index.follow import Database, FollowOutcome, FollowStore, QuestionVectors

from ._alerts import Following
from ._compose import answer_text, html_to_text
from ._i18n import strings
from ._numbers import ascii_number
from ._service import AnswerService
from ._terminal import emphasis_for

CONSOLE_CHAT = 0


class Console:
    """Reads questions line by line; ``/sources``, ``/lang CODE|auto``, ``/help`` and ``/quit`` work too."""

    def __init__(
        self,
        service: AnswerService,
        *,
        max_results: int = 3,
        read: Callable[[str], str] = input,
        out: TextIO | None = None,
    ) -> None:
        self.service = service
        self.max_results = max_results
        self.language: str | None = None
        self._read = read
        self._out = out or sys.stdout
        self.following = Following(FollowStore(Database(None)), QuestionVectors())
        service.on_indexed = self.following.on_indexed

    def say(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    def run(self) -> int:
        s = strings(self.language)
        self.say(s("console_intro", corpus=self.service.corpus_dir))
        while True:
            try:
                line = self._read("> ").strip()
            except (EOFError, KeyboardInterrupt):
                self.say("")
                return 0
            if line in ("/quit", "/exit"):
                return 0
            if line:
                self.say(self.respond(line) + "\n")

    def respond(self, line: str) -> str:
        s = strings(self.language)
        if line.startswith("/sources"):
            corpus = self.service.engine.corpus
            rows = [html_to_text(s("sources_header", articles=len(corpus.articles)))]
            for a in corpus.articles:
                rows.append(f"• {a.source}, {a.published}: {a.title} [{a.language}] {a.url or s('no_url')}")
            return "\n".join(rows)
        if line.startswith("/lang"):
            code = line.removeprefix("/lang").strip()
            if code == "auto":
                self.language = None
                return s("lang_set_auto")
            if code in SUPPORTED:
                self.language = code
                t = strings(code)
                return t("lang_set", language=t.raw("language_name"))
            current = strings(self.language).raw("language_name") if self.language else s("lang_auto")
            return s("lang_prompt", current=current) + " (" + ", ".join((*SUPPORTED, "auto")) + ")"
        if line.startswith("/following") or line == "/unfollow":
            return self._listing()
        if line.startswith("/follow"):
            return self._follow(line.removeprefix("/follow").strip())
        if line.startswith("/unfollow"):
            return self._unfollow(line.removeprefix("/unfollow").strip())
        if line.startswith("/reload") or line.startswith("/add"):
            return self._change(line)
        if line.startswith("/help") or line.startswith("/start"):
            return html_to_text(s("help", mention="@bot"))
        answer = self.service.ask(line, k=self.max_results, language=self.language)
        return answer_text(answer, strings(answer.language), bold=emphasis_for(self._out))

    def _follow(self, question: str) -> str:
        s = strings(self.language)
        if not any(ch.isalnum() for ch in question):
            return s("follow_usage", example=s.examples[1])
        engine = self.service.engine
        outcome, follow = self.following.follow(
            engine,
            chat_id=CONSOLE_CHAT,
            user_id=CONSOLE_CHAT,
            question=question,
            language=self.language or engine.detector.detect(question, None).language,
            hint=None,
            known=None,
            k=self.max_results,
        )
        if outcome is FollowOutcome.TOO_MANY or follow is None:
            return s("follow_too_many", limit=self.following.store.max_follows)
        if outcome is FollowOutcome.ALREADY:
            return html_to_text(s("follow_already", question=question))
        return html_to_text(s("follow_done", question=question))

    def _listing(self) -> str:
        s = strings(self.language)
        follows = self.following.store.follows_of(CONSOLE_CHAT)
        if not follows:
            return s("following_none")
        lines = [html_to_text(s("following_header", count=len(follows), limit=self.following.store.max_follows))]
        lines += [s("following_line", number=i, question=f.question) for i, f in enumerate(follows, 1)]
        return "\n".join(lines)

    def _unfollow(self, number: str) -> str:
        s = strings(self.language)
        follows = self.following.store.follows_of(CONSOLE_CHAT)
        chosen = ascii_number(number, digits=4)
        if chosen is None or not 1 <= chosen <= len(follows):
            return self._listing()
        stopped = self.following.unfollow(follows[chosen - 1].id, CONSOLE_CHAT)
        if stopped is None:
            return s("unfollow_unknown")
        return html_to_text(s("unfollow_done", question=stopped.question))

    def _change(self, line: str) -> str:
        """``/reload``, or ``/add FILE`` (an article in the corpus format); then the alerts it brought."""
        try:
            if line.startswith("/add"):
                path = Path(line.removeprefix("/add").strip()).expanduser()
                report = self.service.add_article(Upload(path.name, path.read_bytes())).reload
            else:
                report = self.service.reload()
        except (CorpusError, OSError) as exc:
            return str(exc)
        done = f"{report.articles} articles, {report.passages} passages ({report.seconds:.2f} s)"
        return "\n\n".join([done, *self.alerts()])

    def alerts(self) -> list[str]:
        """The due alerts, as plain text, marked sent."""
        store = self.following.store
        printed = []
        for alert in store.due(1000):
            printed.append(html_to_text(alert.text))
            store.mark_sent(alert.id)
        return printed
