"""Extraction quality on the sample pages, trafilatura against our old reader; and the time to add one link.

    python bench/extraction.py             # both measures
    python bench/extraction.py --quality   # only extraction quality (a second or two)

**Quality.** Each page in ``tests/data/pages/`` has a ``.yaml`` beside it listing
snippets that belong to the article (``keep``) and snippets of page furniture
(``drop``). A kept snippet found in the output is a true positive, one missing a
false negative; a furniture snippet found is a false positive. Precision, recall
and F1 are over all snippets of all pages (micro-averaged), as in the public
benchmark the issue quotes. The readers compared:

* ``htmltext``: :func:`index.intake.htmltext.read_html`, the stdlib reader uploads used before;
* ``trafilatura``: :func:`index.intake.extract.extract_page`, what uploads, links and feeds use now.

**Time to add one link**, end to end but without the network: the page is served
by an in-process transport (``httpx.MockTransport``), then fetched (address checks
included), extracted, validated, saved, loaded and indexed into a copy of the
bundled corpus with the real sentence encoder, exactly as the bot's ``/add`` does
(``AnswerService.add_article``). The encoder is loaded and the bundled corpus's
embeddings cached before the clock starts, as in a running bot. Median of 5 runs,
each adding the same page to a fresh corpus copy.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.intake.extract import extract_page  # noqa: E402
from index.intake.htmltext import TextBlock, read_html  # noqa: E402

PAGES = ROOT / "tests" / "data" / "pages"


@dataclass
class Score:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0

    def add(self, other: Score) -> None:
        self.tp += other.tp
        self.fn += other.fn
        self.fp += other.fp
        self.tn += other.tn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def as_text(blocks: tuple[TextBlock, ...]) -> str:
    return "\n\n".join(("## " if b.is_heading else "") + b.text for b in blocks)


def old_reader(html: str, _url: str) -> str:
    page = read_html(html)
    return "\n\n".join([page.headline or "", as_text(page.blocks)])


def new_reader(html: str, url: str) -> str:
    page = extract_page(html, url)
    return "\n\n".join([page.meta.title or "", as_text(page.blocks)])


READERS: dict[str, Callable[[str, str], str]] = {"htmltext": old_reader, "trafilatura": new_reader}


def score_page(text: str, spec: dict[str, object]) -> tuple[Score, list[str], list[str]]:
    found = flat(text)
    score = Score()
    missed: list[str] = []
    leaked: list[str] = []
    for snippet in spec["keep"]:  # type: ignore[attr-defined]
        if flat(str(snippet)) in found:
            score.tp += 1
        else:
            score.fn += 1
            missed.append(str(snippet))
    for snippet in spec["drop"]:  # type: ignore[attr-defined]
        if flat(str(snippet)) in found:
            score.fp += 1
            leaked.append(str(snippet))
        else:
            score.tn += 1
    return score, missed, leaked


def quality(verbose: bool) -> None:
    pages = sorted(PAGES.glob("*.html"))
    totals = {name: Score() for name in READERS}
    seconds = dict.fromkeys(READERS, 0.0)
    rows: list[str] = []
    notes: list[str] = []
    for path in pages:
        html = path.read_text(encoding="utf-8")
        spec = yaml.safe_load(path.with_suffix(".yaml").read_text(encoding="utf-8"))
        cells = []
        for name, reader in READERS.items():
            started = time.perf_counter()
            for _ in range(5):
                text = reader(html, spec["url"])
            seconds[name] += (time.perf_counter() - started) / 5
            score, missed, leaked = score_page(text, spec)
            totals[name].add(score)
            cells.append(f"{score.precision:5.2f} {score.recall:5.2f} {score.f1:5.2f}")
            if verbose:
                notes.extend(f"  {path.stem} [{name}] missed: {s}" for s in missed)
                notes.extend(f"  {path.stem} [{name}] kept furniture: {s}" for s in leaked)
        rows.append(f"{path.stem:34} " + "   ".join(cells))
    header = " " * 35 + "   ".join(f"{name:^17}" for name in READERS)
    sub = " " * 35 + "   ".join(f"{'P':>5} {'R':>5} {'F1':>5}" for _ in READERS)
    print(f"Extraction quality on {len(pages)} sample pages ({PAGES.relative_to(ROOT)}):")
    print(header)
    print(sub)
    print("\n".join(rows))
    print(
        f"{'all snippets (micro)':34} "
        + "   ".join(f"{t.precision:5.2f} {t.recall:5.2f} {t.f1:5.2f}" for t in totals.values())
    )
    for name, total in totals.items():
        print(
            f"  {name}: {total.tp} of {total.tp + total.fn} article snippets kept, "
            f"{total.fp} of {total.fp + total.tn} furniture snippets kept; "
            f"{seconds[name] / len(pages) * 1000:.1f} ms per page"
        )
    if notes:
        print("\n".join(notes))


def time_to_add_a_link(runs: int = 5) -> None:
    from bot._service import AnswerService
    from corpus import BUNDLED
    from index import Engine, load_corpus
    from index.intake.fetch import FetchSettings, make_client
    from index.intake.link import fetch_upload

    page = PAGES / "harbour-gazette-ferry.html"
    spec = yaml.safe_load(page.with_suffix(".yaml").read_text(encoding="utf-8"))
    body = page.read_bytes()

    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Type": "text/html; charset=utf-8"}, content=body)

    def public(_host: str) -> list[str]:
        return ["93.184.215.14"]  # looks public; nothing connects to it (the transport is in-process)

    with tempfile.TemporaryDirectory(prefix="bench-link-") as scratch:
        cache = Path(scratch) / "cache"
        print("Loading the sentence encoder and caching the bundled corpus's embeddings…", flush=True)
        base = Engine.build(load_corpus(BUNDLED), cache_dir=cache)
        base.ask("warm up")
        timings: list[tuple[float, float, float]] = []
        settings = FetchSettings()

        async def fetch_it() -> object:
            async with make_client(settings, transport=httpx.MockTransport(serve)) as client:
                return await fetch_upload(spec["url"], client, settings, resolver=public)

        for run in range(runs):
            root = Path(scratch) / f"corpus-{run}"
            shutil.copytree(BUNDLED, root, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
            engine = Engine.build(load_corpus(root), cache_dir=cache, embedder=base.embedder, detector=base.detector)
            service = AnswerService(engine, corpus_dir=root, cache_dir=cache)
            started = time.perf_counter()
            upload = asyncio.run(fetch_it())
            fetched = time.perf_counter()
            report = service.add_article(upload)  # type: ignore[arg-type]
            done = time.perf_counter()
            assert report.prepared.article.title == spec["expect"]["title"]
            timings.append((fetched - started, done - fetched, done - started))
        fetch_s = statistics.median(t[0] for t in timings)
        add_s = statistics.median(t[1] for t in timings)
        total_s = statistics.median(t[2] for t in timings)
        print(f"Time to add one link (median of {runs}), network excluded:")
        print(f"  fetch through the checked client (in-process transport): {fetch_s * 1000:.0f} ms")
        print(f"  extract, validate, save, load and reindex (real encoder):  {add_s * 1000:.0f} ms")
        print(f"  total: {total_s * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quality", action="store_true", help="only measure extraction quality")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every missed and leaked snippet")
    args = parser.parse_args()
    quality(args.verbose)
    if not args.quality:
        print()
        time_to_add_a_link()


if __name__ == "__main__":
    main()
