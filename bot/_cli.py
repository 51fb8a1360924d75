"""Command line: run the bot, chat in the console, ask questions, check a corpus.

Usage::

    python bot.py [--config FILE]              # run the Telegram bot (long polling or webhook)
    python bot.py --console                    # chat with the bot in the terminal
    python bot.py ask [--json] [--lang LANG] [--hint LANG] [--corpus DIR] [-k N] [QUESTION ...]
    python bot.py corpus check [DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from corpus import BUNDLED
from index import SUPPORTED, CorpusError, Engine, load_corpus

from ._compose import answer_text
from ._config import ConfigError, load_config
from ._i18n import strings

log = logging.getLogger("newsbot")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bot.py", description="A question-answering bot over multilingual news coverage."
    )
    parser.add_argument("--config", help="configuration file (default: $BOT_CONFIG or ./config.yaml)")
    parser.add_argument("--console", action="store_true", help="chat with the bot in this terminal instead of Telegram")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="run the Telegram bot (the default)")
    ask = commands.add_parser("ask", help="answer questions from the arguments or standard input")
    ask.add_argument("--json", action="store_true", help="print one JSON object per question")
    ask.add_argument("--lang", choices=SUPPORTED, help="answer in this language instead of the question's")
    ask.add_argument("--hint", help="language hint for short or ambiguous questions (e.g. a Telegram language_code)")
    ask.add_argument("--corpus", type=Path, help="corpus directory (default: the bundled corpus)")
    ask.add_argument("--cache-dir", type=Path, help="embedding cache directory (default: from the configuration)")
    ask.add_argument("-k", type=int, default=3, help="results per question (default 3)")
    ask.add_argument("question", nargs="*", help="the question; with none, read one per line from standard input")
    corpus = commands.add_parser("corpus", help="corpus tools")
    corpus_commands = corpus.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)
    check = corpus_commands.add_parser("check", help="validate a corpus and summarise it")
    check.add_argument("dir", nargs="?", type=Path, default=BUNDLED)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "corpus":
            return check_corpus(args.dir)
        config = load_config(args.config)
        if args.command == "ask":
            if args.k < 1:
                print("bot.py ask: -k must be at least 1", file=sys.stderr)
                return 2
            return ask(args, cache_dir=args.cache_dir or config.cache_dir)
        from ._app import run_bot, run_console

        if args.console:
            return run_console(config)
        return run_bot(config)
    except ConfigError as exc:
        print(f"Configuration problem: {exc}", file=sys.stderr)
        return 2
    except CorpusError as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def check_corpus(directory: Path) -> int:
    """Print a corpus summary, or its problems (exit 1)."""
    try:
        corpus = load_corpus(directory)
    except CorpusError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"Corpus {directory}: valid")
    print(f"  articles:     {len(corpus.articles)}")
    print(f"  passages:     {len(corpus.passages)}")
    originals = sorted({a.language for a in corpus.articles})
    print(f"  languages:    {', '.join(corpus.languages())} (originals: {', '.join(originals)})")
    counts = corpus.translation_counts()
    listed = ", ".join(f"{lang} {n}" for lang, n in counts.items()) or "none"
    print(f"  translations: {sum(counts.values())} ({listed})")
    for article in corpus.articles:
        print(f"  - {article.id} [{article.language}] {article.source}, {article.published}")
    return 0


def ask(args: argparse.Namespace, *, cache_dir: Path | None) -> int:
    engine = Engine.build(load_corpus(args.corpus or BUNDLED), cache_dir=cache_dir)
    for question in _questions(args.question):
        answer = engine.ask(question, k=args.k, language=args.lang, hint=args.hint)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        else:
            print(answer_text(answer, strings(answer.language)), end="\n\n", flush=True)
    return 0


def _questions(words: list[str]) -> Iterable[str]:
    if words:
        yield " ".join(words)
        return
    for line in sys.stdin:
        yield line.rstrip("\n")
