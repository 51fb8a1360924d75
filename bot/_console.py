"""A chat with the bot in the terminal: the same engine and answer composition, as plain text."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from index import SUPPORTED

from ._compose import answer_text, html_to_text
from ._i18n import strings
from ._service import AnswerService
from ._terminal import emphasis_for


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
        if line.startswith("/help") or line.startswith("/start"):
            return html_to_text(s("help", mention="@bot"))
        answer = self.service.ask(line, k=self.max_results, language=self.language)
        return answer_text(answer, strings(answer.language), bold=emphasis_for(self._out))
