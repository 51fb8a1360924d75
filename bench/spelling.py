#!/usr/bin/env python3
"""Typo correction: our corrector (rapidfuzz over length and letter buckets) against SymSpell, in one run.

Usage (from the project root)::

    python bench/spelling.py [--words 300000] [--questions 300]

Two vocabularies: the bundled corpus's own words (every language version), and
one the size of a 100,000-passage corpus's (``--words`` distinct words: the
bundled words plus made-up ones drawn letter by letter from their letter
frequencies, with Zipf-like counts). For each, the table gives the build time, the
time to correct a question, and, on questions made by putting one typing mistake
(a letter dropped, added, replaced or two swapped) into a corpus word of 5 letters
or more, how often the word meant comes back (a mistake that makes another real word
of the language, such as "harbor" for "harbour", is left as typed by ours, by design). SymSpell (symspellpy) is measured
with the same edit limits (one edit for 5-8 letters, two from 9), when installed.
Last, how long reading 150,000 texts (a 100,000-passage corpus with some translations)
and building the corrector from them takes, as ``Engine.build`` does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval import table  # noqa: E402  (bench/ is on the path: these run as scripts)

from corpus import BUNDLED  # noqa: E402
from index import load_corpus  # noqa: E402
from index.search.spelling import TWO_EDITS_FROM, Corrector, corpus_words, is_common_word  # noqa: E402


def bundled_words() -> Counter[str]:
    words: Counter[str] = Counter()
    for counts in corpus_words(
        (r.text, r.language) for p in load_corpus(BUNDLED).passages for r in p.renditions()
    ).values():
        words.update(counts)
    return words


def grown(words: Counter[str], size: int, rng: random.Random) -> Counter[str]:
    """``words`` plus made-up words up to ``size`` distinct, with letters and lengths as the real ones have them."""
    letters = "".join(w for w in words if w.isalpha())
    lengths = [len(w) for w in words if w.isalpha()]
    out = Counter(words)
    rank = 1
    while len(out) < size:
        word = "".join(rng.choice(letters) for _ in range(rng.choice(lengths)))
        out[word] += max(1, int(10_000 / rank))
        rank += 1
    return out


def mistaken(word: str, rng: random.Random) -> str:
    at = rng.randrange(1, len(word))
    kind = rng.choice(("drop", "add", "replace", "swap"))
    if kind == "drop":
        return word[:at] + word[at + 1 :]
    if kind == "add":
        return word[:at] + rng.choice("etaoinsrhl") + word[at:]
    if kind == "swap" and at < len(word) - 1:
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    return word[:at] + rng.choice([c for c in "etaoinsrhl" if c != word[at]]) + word[at + 1 :]


def trials(words: Counter[str], count: int, rng: random.Random) -> list[tuple[str, str]]:
    """(typed, meant) pairs: a real corpus word of 5+ letters with one mistake that makes no corpus word."""
    real = [w for w in words if w.isalpha() and len(w) >= 5]
    out: list[tuple[str, str]] = []
    while len(out) < count:
        meant = rng.choice(real)
        typed = mistaken(meant, rng)
        if typed not in words and len(typed) >= 5:
            out.append((typed, meant))
    return out


def ours(words: Counter[str], pairs: list[tuple[str, str]]) -> tuple[float, float, float]:
    started = time.perf_counter()
    corrector = Corrector.of(words)
    built = time.perf_counter() - started
    is_common_word("warm")  # loads the common-word lists once a process (0.3 s), not timed per word
    started = time.perf_counter()
    right = sum(corrector.correct(typed, "en").text == meant for typed, meant in pairs)
    return built, (time.perf_counter() - started) / len(pairs) * 1000, right / len(pairs)


def symspell(words: Counter[str], pairs: list[tuple[str, str]]) -> tuple[float, float, float] | None:
    try:
        from symspellpy import SymSpell, Verbosity
    except ImportError:
        return None
    started = time.perf_counter()
    speller = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
    for word, count in words.items():
        speller.create_dictionary_entry(word, count)
    built = time.perf_counter() - started
    started = time.perf_counter()
    right = 0
    for typed, meant in pairs:
        edits = 2 if len(typed) >= TWO_EDITS_FROM else 1
        found = speller.lookup(typed, Verbosity.TOP, max_edit_distance=edits)
        right += bool(found) and found[0].term == meant
    return built, (time.perf_counter() - started) / len(pairs) * 1000, right / len(pairs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=300_000)
    parser.add_argument("--questions", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(1)
    small = bundled_words()
    large = grown(small, args.words, rng)
    rows = [("vocabulary", "corrector", "build s", "ms per word", "meant word back")]
    for label, words in ((f"bundled ({len(small):,} words)", small), (f"grown ({len(large):,} words)", large)):
        pairs = trials(small, args.questions, rng)  # mistakes in real words, looked up in either vocabulary
        for name, measured in (("ours (rapidfuzz)", ours(words, pairs)), ("symspellpy", symspell(words, pairs))):
            if measured is None:
                rows.append((label, name, "not installed", "", ""))
                continue
            built, per_word, share = measured
            rows.append((label, name, f"{built:.2f}", f"{per_word:.3f}", f"{share:.3f}"))
    texts = [(r.text, r.language) for p in load_corpus(BUNDLED).passages for r in p.renditions()]
    texts = (texts * (150_000 // len(texts) + 1))[:150_000]
    started = time.perf_counter()
    Corrector.of_texts(texts)
    read = time.perf_counter() - started
    rows.append(("150,000 texts (bundled, repeated)", "ours: read the texts + build", f"{read:.2f}", "", ""))
    print(f"{dt.date.today()}, load {os.getloadavg()[0]:.1f}; {args.questions} mistaken words per vocabulary")
    print(table([tuple(row) for row in rows]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
