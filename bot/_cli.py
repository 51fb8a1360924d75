"""Command line: run the bot, chat in the console, ask questions, check a corpus.

Usage::

    python bot.py [--config FILE]              # run the Telegram bot (long polling or webhook)
    python bot.py --console                    # chat with the bot in the terminal
    python bot.py ask [--json] [--lang LANG] [--hint LANG] [--corpus DIR] [-k N]
                      [--backend embedded|milvus] [--milvus-uri URI] [QUESTION ...]
    python bot.py corpus check [DIR]
    python bot.py corpus add FILE|URL [--source S --title T --published YYYY-MM-DD --url U ...] [--corpus DIR]
    python bot.py corpus poll [--corpus DIR]      # poll the configured feeds once
    python bot.py corpus translate [--lang LANG ...] [--corpus DIR]
    python bot.py corpus embed [--corpus DIR]     # embed into the cache now
    python bot.py corpus embed --bundle           # rewrite the shipped embeddings of the bundled corpus
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from corpus import BUNDLED
from index import (
    CAPTION_FIELDS,
    SUPPORTED,
    Change,
    CorpusError,
    Engine,
    LanguageDetector,
    Upload,
    add_article,
    article_path,
    load_and_translate,
    load_corpus,
    prepare_article,
    untranslated_passages,
)
from index.curation import add_articles
from index.intake.address import AlreadyInCorpus, corpus_addresses, find_duplicate, page_label
from index.intake.feeds import FeedStore, PollReport, poll_feeds
from index.intake.fetch import FetchError, FetchSettings, make_client
from index.intake.link import fetch_upload
from index.intake.upload import OPTIONS, PreparedArticle
from index.search.backend import BackendUnavailable
from index.search.bundle import SHIPPED
from index.search.shipping import ship_embeddings

from ._article_problems import article_problems
from ._backends import open_backend
from ._compose import answer_text, passage_preview
from ._config import Config, ConfigError, load_config
from ._i18n import strings
from ._progress import ProgressBar
from ._service import translation_plan
from ._terminal import emphasis_for

log = logging.getLogger("newsbot")
FIELD_HELP: dict[str, tuple[str, str]] = {
    "source": ("NAME", 'who published the article, e.g. "NOS Nieuws" (needed for a .txt file; a page may say)'),
    "title": ("TEXT", "the article's headline (needed for a .txt file; a page's <h1> or <title> otherwise)"),
    "published": ("YYYY-MM-DD", "the day the article was published (needed unless the page says)"),
    "url": ("URL", "the article's own address, http(s); without one, give --note"),
    "language": ("CODE", "the article's language, an ISO 639-1 code such as en, fr or nl (default: detected)"),
    "id": ("SLUG", "the article's id and file name, lower-case words and hyphens (default: made from the title)"),
    "note": ("TEXT", "why the article has no address (instead of --url)"),
}
"""``corpus add``'s options: what each one means (the metavar, then the help)."""


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
    ask.add_argument(
        "--backend", choices=("embedded", "milvus"), help="where the index lives (default: from the configuration)"
    )
    ask.add_argument(
        "--milvus-uri",
        help="a Milvus server (http://host:19530) or Milvus Lite file; default: search.milvus.uri, "
        "else a Milvus Lite file in the cache directory, started and stopped by this command",
    )
    ask.add_argument("question", nargs="*", help="the question; with none, read one per line from standard input")
    corpus = commands.add_parser("corpus", help="corpus tools")
    corpus_commands = corpus.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)
    check = corpus_commands.add_parser("check", help="validate a corpus and summarise it")
    check.add_argument("dir", nargs="?", type=Path, default=BUNDLED)
    add = corpus_commands.add_parser(
        "add",
        help="add an article from a .md, .txt or .html file (see corpus/README.md)",
        description="Check FILE with the corpus loader, save it into the corpus and, when a translation "
        "service is configured, machine-translate it. The metadata of a .txt or .html file comes from "
        "the options below (a .md file carries its own front matter). A running bot serves it after /reload.",
    )
    add.add_argument("file", help="the article file, or the address (http/https) of its page")
    for name in CAPTION_FIELDS:
        metavar, text = FIELD_HELP[name]
        add.add_argument(f"--{name}", metavar=metavar, help=text)
    add.add_argument("--corpus", type=Path, help="corpus directory (default: from the configuration)")
    poll = corpus_commands.add_parser(
        "poll",
        help="poll the configured feeds once and add their new articles (see config.example.yaml, feeds)",
        description="Read every configured feed, fetch each new entry's page and add it, as the bot's feed job "
        "does (same state file, so entries added here are not added again by the bot). A running bot serves "
        "the articles after /reload.",
    )
    poll.add_argument("--corpus", type=Path, help="corpus directory (default: from the configuration)")
    translate = corpus_commands.add_parser(
        "translate", help="machine-translate every passage that has no translation (needs translation.url)"
    )
    translate.add_argument(
        "--lang", action="append", choices=SUPPORTED, help="only into this language (repeatable; default: all)"
    )
    translate.add_argument("--corpus", type=Path, help="corpus directory (default: from the configuration)")
    embed = corpus_commands.add_parser(
        "embed",
        help="embed a corpus into the cache now, or (--bundle) rewrite the shipped embeddings of the bundled corpus",
        description="Without --bundle: embed what the cache lacks, as a start would, with a progress bar. With "
        "--bundle: embed the bundled corpus afresh with both encoders and rewrite the embeddings that ship "
        f"with the package ({SHIPPED.name}); run it after editing corpus/ or upgrading an encoder.",
    )
    embed.add_argument("--bundle", action="store_true", help="rewrite the shipped embeddings of the bundled corpus")
    embed.add_argument("--corpus", type=Path, help="corpus directory (default: from the configuration)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status."""
    try:
        return _command(argv)
    except BrokenPipeError:
        return _quiet_broken_pipe()


def _quiet_broken_pipe() -> int:
    """Whoever read our output stopped (``bot.py ask … | head``): stop quietly, as Unix tools do.

    Standard output is pointed at /dev/null so that Python's own flush at exit cannot raise again;
    the status is a tool's killed by SIGPIPE, as a shell reports it.
    """
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return 128 + int(signal.SIGPIPE)


def _command(argv: Sequence[str] | None) -> int:
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "corpus" and args.corpus_command == "check":
            return check_corpus(args.dir)
        config = load_config(args.config)
        if args.command == "corpus" and args.corpus_command == "add":
            return add_to_corpus(args, config)
        if args.command == "corpus" and args.corpus_command == "poll":
            return poll_feeds_once(args, config)
        if args.command == "corpus" and args.corpus_command == "embed":
            return embed_corpus(args, config)
        if args.command == "corpus":
            return translate_corpus(args, config)
        if args.command == "ask":
            if args.k < 1:
                print("bot.py ask: -k must be at least 1", file=sys.stderr)
                return 2
            return ask(args, config)
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
    except BackendUnavailable as exc:
        print(f"Search backend unavailable: {exc}", file=sys.stderr)
        return 2
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


def add_to_corpus(args: argparse.Namespace, config: Config) -> int:
    """Check, save and translate one article file, as an admin's upload does."""
    root = args.corpus or config.corpus
    fields = {name: getattr(args, name) for name in CAPTION_FIELDS if getattr(args, name) is not None}
    corpus = load_corpus(root)
    existing_urls = corpus_addresses(corpus.articles)
    if str(args.file).startswith(("http://", "https://")):
        duplicate = find_duplicate(existing_urls, args.file)
        if duplicate is not None:
            print(f"Already in the corpus: {args.file} is {duplicate[0]}; nothing was added.", file=sys.stderr)
            return 1
        settings = _fetch_settings(config)
        try:
            upload = asyncio.run(_fetch_page(args.file, settings))
        except FetchError as exc:
            print(f"{args.file}: cannot be fetched: {exc}", file=sys.stderr)
            return 1
    else:
        path = Path(args.file)
        try:
            upload = Upload(path.name, path.read_bytes())
        except OSError as exc:
            print(f"{path}: cannot be read: {exc.strerror or exc}", file=sys.stderr)
            return 1
    try:
        prepared = prepare_article(
            upload,
            existing_ids={a.id for a in corpus.articles},
            detector=LanguageDetector(),
            max_bytes=config.max_upload_bytes,
            fields=fields or None,
            existing_urls=existing_urls,
            syntax=OPTIONS,
        )
    except AlreadyInCorpus as exc:
        print(f"Already in the corpus: {exc.url} is {exc.article_id}; nothing was added.", file=sys.stderr)
        return 1
    except CorpusError as exc:  # this one article's problems, not the corpus's
        print(article_problems(exc, page_label(upload.url) if upload.url else Path(upload.name).name), file=sys.stderr)
        return 1
    plan = translation_plan(config)
    bar = ProgressBar("translating")
    try:
        change = add_article(root, prepared, plan, progress=bar)
    finally:
        bar.close()
        if plan is not None:
            plan.translator.close()
    article = prepared.article
    detected = " (detected)" if prepared.detected_language else ""
    if prepared.from_page:
        print(f"From the page: {', '.join(prepared.from_page)}")
    print(f"Added {article.id}: {article.title!r}, {article.source}, {article.published}, {article.language}{detected}")
    print(f"  saved as {article_path(root, article.id)}, {len(prepared.passages)} passages:")
    for number, passage in enumerate(prepared.passages, 1):
        print(f"  {number:3}. {passage_preview(passage)} ({len(passage.text)} characters)")
    _print_translation(change, config)
    print(
        f"Corpus: {len(change.corpus.articles)} articles, {len(change.corpus.passages)} passages. "
        "A running bot serves the article after /reload."
    )
    return 0


def _fetch_settings(config: Config) -> FetchSettings:
    return FetchSettings(
        max_bytes=config.max_upload_bytes, timeout=config.fetch_timeout, allow_private=config.allow_private_addresses
    )


async def _fetch_page(url: str, settings: FetchSettings) -> Upload:
    async with make_client(settings) as client:
        return await fetch_upload(url, client, settings)


def poll_feeds_once(args: argparse.Namespace, config: Config) -> int:
    """Poll every configured feed once, add what is new in one batch, with a progress bar; exit 1 on feed errors."""
    if not config.feeds:
        print("No feeds are configured: list them under feeds: in the configuration (see config.example.yaml).")
        return 2
    root = args.corpus or config.corpus
    corpus = load_corpus(root)
    plan = translation_plan(config)
    settings = _fetch_settings(config)
    store = FeedStore(config.persistence.with_name("feeds.json") if config.persistence else None)
    bar = ProgressBar("entries")
    changes: list[Change] = []

    async def add(prepared: list[PreparedArticle]) -> Change:
        change = await asyncio.to_thread(add_articles, root, prepared, plan)
        changes.append(change)
        return change

    async def run() -> PollReport:
        async with make_client(settings) as client:
            return await poll_feeds(
                config.feeds,
                store,
                client=client,
                settings=settings,
                existing_ids={a.id for a in corpus.articles},
                existing_urls=corpus_addresses(corpus.articles),
                detector=LanguageDetector(),
                add=add,
                progress=bar,
            )

    try:
        report = asyncio.run(run())
    finally:
        bar.close()
        if plan is not None:
            plan.translator.close()
    for spec in config.feeds:
        state = store.state(spec.url)
        status = f"error: {report.errors[spec.url]}" if spec.url in report.errors else "ok"
        unchanged = " (not modified)" if spec.url in report.not_modified else ""
        print(f"{spec.url}: {state.last_added} added{unchanged}; {status}")
    for item in report.added:
        print(f"  added {item.article_id}: {item.title!r} ({item.source})")
    for skipped in report.skipped:
        print(f"  skipped {skipped.entry!r}: {skipped.reason}")
    if changes:
        _print_translation(changes[-1], config)
        print(
            f"Corpus: {len(changes[-1].corpus.articles)} articles, {len(changes[-1].corpus.passages)} passages. "
            "A running bot serves the new articles after /reload."
        )
    return 1 if report.errors else 0


def translate_corpus(args: argparse.Namespace, config: Config) -> int:
    """Machine-translate every passage of the corpus that has no translation, with a progress bar."""
    root = args.corpus or config.corpus
    plan = translation_plan(config, intake=False)  # fills everything on demand, whatever the mode
    if plan is None:
        print(
            "Machine translation is off: set translation.url in the configuration (see config.example.yaml).",
            file=sys.stderr,
        )
        return 2
    if args.lang:
        plan = dataclasses.replace(plan, languages=tuple(dict.fromkeys(args.lang)))
    bar = ProgressBar("translating")
    try:
        change = load_and_translate(root, plan, progress=bar)
    finally:
        bar.close()
        plan.translator.close()
    _print_translation(change, config, plan.languages)
    report = change.translation
    return 0 if report is not None and not report.errors else 1


def _print_translation(change: Change, config: Config, languages: tuple[str, ...] | None = None) -> None:
    report = change.translation
    for path in change.stale:
        print(f"Set aside a stale machine translation (its article was edited): {path}")
    missing = untranslated_passages(change.corpus, languages or config.languages)
    quoted = report is None and config.translation is not None  # translation.mode: quoted
    if quoted:
        print("Passages are machine-translated when answers quote them (translation.mode: quoted).")
    elif report is None:
        print("Machine translation is off (translation.url is not configured).")
    else:
        files = f"{len(report.written)} file{'' if len(report.written) == 1 else 's'}"
        print(f"Machine translation: {report.passages_translated} passage translations written to {files}.")
        for error in report.errors:
            print(f"  translation service: {error}", file=sys.stderr)
    if not missing:
        print("Every passage has a translation into every answer language.")
    elif quoted:
        print(
            f"{_passages(missing)} no translation into some answer language; each is translated the first "
            "time an answer quotes it in that language (python bot.py corpus translate translates them all now)."
        )
    elif report is None:  # waiting changes nothing: say what readers get, and how to turn translation on
        print(
            f"New articles are answered in their own language ({_passages(missing)} no translation into "
            "some answer language). To translate them, set translation.url in the configuration "
            "(see config.example.yaml), then run python bot.py corpus translate."
        )
    else:
        print(
            f"{_passages(missing)} no translation into some answer language yet; "
            "run python bot.py corpus translate again later."
        )


def _passages(count: int) -> str:
    return f"{count} passage has" if count == 1 else f"{count} passages have"


def embed_corpus(args: argparse.Namespace, config: Config) -> int:
    """Embed a corpus into the cache, or rewrite the shipped embeddings of the bundled corpus, with a progress bar."""
    if args.bundle and args.corpus is not None:
        print("bot.py corpus embed: --bundle always embeds the bundled corpus; drop --corpus", file=sys.stderr)
        return 2
    bar = ProgressBar("embedding")
    try:
        summary = _rewrite_shipped(bar) if args.bundle else _fill_cache(args.corpus or config.corpus, config, bar)
    finally:
        bar.close()
    print(summary)
    return 0


def _rewrite_shipped(bar: ProgressBar) -> str:
    report = ship_embeddings(load_corpus(BUNDLED), SHIPPED, progress=bar)
    counts = ", ".join(f"{name} {count}" for name, count in report.vectors.items())
    return f"Wrote the shipped embeddings of {BUNDLED} ({counts}) to {report.path}, {report.bytes / 1e6:.2f} MB."


def _fill_cache(root: Path, config: Config, bar: ProgressBar) -> str:
    stats = Engine.build(load_corpus(root), cache_dir=config.cache_dir, progress=bar).stats
    cached = stats.vectors - stats.embedded - stats.shipped
    return (
        f"{stats.vectors} texts: {stats.embedded} embedded now, {stats.shipped} shipped with the package, "
        f"the other {cached} from the cache in {config.cache_dir} (or repeated)."
    )


def ask(args: argparse.Namespace, config: Config) -> int:
    """Answer questions from the command line or standard input, through the chosen backend."""
    cache_dir = args.cache_dir or config.cache_dir
    milvus = replace(config.milvus, uri=args.milvus_uri) if args.milvus_uri else config.milvus
    backend = open_backend(args.backend or config.search_backend, milvus, cache_dir)
    # A bar for the person at a terminal; a script reading --json (or a pipe) gets only the answers.
    bar = ProgressBar("embedding") if sys.stderr.isatty() and not args.json else None
    bold = emphasis_for(sys.stdout)
    try:
        corpus = load_corpus(args.corpus or BUNDLED)
        try:
            engine = Engine.build(corpus, cache_dir=cache_dir, backend=backend, progress=bar)
        finally:
            if bar is not None:
                bar.close()
        for question in _questions(args.question):
            answer = engine.ask(question, k=args.k, language=args.lang, hint=args.hint)
            if args.json:
                print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
            else:
                print(answer_text(answer, strings(answer.language), bold=bold), end="\n\n", flush=True)
    finally:
        backend.close()
    return 0


def _questions(words: list[str]) -> Iterable[str]:
    if words:
        yield " ".join(words)
        return
    for line in sys.stdin:
        if line.strip():  # a blank line is no question
            yield line.rstrip("\n")
