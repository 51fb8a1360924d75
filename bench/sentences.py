#!/usr/bin/env python3
"""Sentence splitters on a labelled set: ours (index/search/sentences.py) against maintained ones, in one run.

Usage (from the project root)::

    python bench/sentences.py [--repeat 20]

The labelled set, ``tests/data/sentences.yaml``, holds short news texts in the six
answer languages with their sentences marked by hand: ordinals ("ab dem 1. März"),
abbreviations ("z. B.", "M.", "dr.", "Mr."), decimals and times ("2.3", "17.30"),
quotes and initials. Each text is its sentences joined by a space. For each splitter
the table gives, per language, the share of texts split exactly right and the F1 of
the sentence ends it puts; then how long it takes per passage of the bundled corpus
(every language version). Splitters that are not installed are left out, said so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval import table  # noqa: E402  (bench/ is on the path: these run as scripts)

from index.search.sentences import sentence_spans  # noqa: E402

SET = ROOT / "tests" / "data" / "sentences.yaml"
LANGUAGES = ("en", "fr", "nl", "id", "de", "es")
Splitter = Callable[[str, str], list[str]]


def ours(text: str, language: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def splitters() -> dict[str, Splitter]:
    found: dict[str, Splitter] = {"ours": ours}
    try:
        from sentencex import segment

        found["sentencex"] = lambda text, language: [s.strip() for s in segment(language, text) if s.strip()]
    except ImportError:
        print("sentencex is not installed: left out", file=sys.stderr)
    try:
        import pysbd

        made: dict[str, object] = {}

        def split(text: str, language: str) -> list[str]:
            code = language if language in pysbd.languages.LANGUAGE_CODES else "en"  # no Indonesian: English rules
            segmenter = made.setdefault(code, pysbd.Segmenter(language=code, clean=False))
            return [s.strip() for s in segmenter.segment(text) if s.strip()]  # type: ignore[attr-defined]

        found["pysbd"] = split
    except ImportError:
        print("pysbd is not installed: left out", file=sys.stderr)
    return found


def ends(sentences: list[str], text: str) -> set[int]:
    """Where each sentence ends in ``text`` (by finding them in order)."""
    out: set[int] = set()
    at = 0
    for sentence in sentences:
        found = text.find(sentence, at)
        if found < 0:
            continue
        at = found + len(sentence)
        out.add(at)
    return out


def score(split: Splitter, items: list[dict[str, object]]) -> dict[str, tuple[float, float, int]]:
    """Per language (and "all"): exact share, boundary F1, texts."""
    tallies: dict[str, list[float]] = {}
    for item in items:
        language, wanted = str(item["lang"]), [str(s) for s in item["sentences"]]  # type: ignore[union-attr]
        text = " ".join(wanted)
        got = split(text, language)
        gold, guess = ends(wanted, text), ends(got, text)
        hits = len(gold & guess)
        for key in (language, "all"):
            t = tallies.setdefault(key, [0.0, 0.0, 0.0, 0.0, 0.0])
            t[0] += got == wanted
            t[1] += hits
            t[2] += len(gold)
            t[3] += len(guess)
            t[4] += 1
    out = {}
    for key, (exact, hits, gold, guess, n) in tallies.items():
        precision, recall = hits / max(guess, 1), hits / max(gold, 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        out[key] = (exact / n, f1, int(n))
    return out


def speed(split: Splitter, texts: list[tuple[str, str]], repeat: int) -> float:
    """Microseconds per passage."""
    started = time.perf_counter()
    for _ in range(repeat):
        for text, language in texts:
            split(text, language)
    return (time.perf_counter() - started) / (repeat * len(texts)) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    items = yaml.safe_load(SET.read_text(encoding="utf-8"))
    from corpus import BUNDLED
    from index import load_corpus

    corpus = load_corpus(BUNDLED)
    texts = [(r.body, r.language) for p in corpus.passages for r in p.renditions()]
    rows = [["splitter", *LANGUAGES, "all (exact / F1)", "µs per passage"]]
    for name, split in splitters().items():
        scores = score(split, items)
        cells = [f"{scores[lang][0]:.2f}" for lang in LANGUAGES]
        whole = scores["all"]
        rows.append([name, *cells, f"{whole[0]:.2f} / {whole[1]:.3f}", f"{speed(split, texts, args.repeat):.0f}"])
    print(f"{len(items)} labelled texts; {len(texts)} bundled passages timed; "
          f"{dt.date.today()}, load {os.getloadavg()[0]:.1f}")
    print("exact: share of texts split exactly right, per language")
    print(table([tuple(row) for row in rows]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
