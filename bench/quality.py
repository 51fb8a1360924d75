#!/usr/bin/env python3
"""Answer quality of the engine beside its plain peers, on any corpus and question file, in one run.

Usage (from the project root)::

    python bench/quality.py                                   # every known set (see SETS)
    python bench/quality.py --sets dev dev-bare generalisation
    python bench/quality.py --corpus DIR --questions FILE [--no-translations]
    python bench/quality.py --json                            # one JSON object per set and method

Rows, per set:

- ``newsbot``: the engine as the bot runs it (``Engine.ask``, k = 3), gate included;
- ``rank-bm25``: BM25Okapi over every language version of every passage (lower-cased word tokens),
  a passage counting by its best version; it never refuses;
- ``USE`` and ``e5``: plain cosine of the question with every language version, likewise;
- ``e5 + refusal``: plain e5 with the per-language refusal rule: a question is refused when its
  best passage's cosine minus the mean cosine over the passages of that passage's language is
  below the threshold that refuses 3 % of this set's answerable questions (set on the very
  questions it is scored on, so it flatters the rule);
- ``e5 + refusal, same refused``: the same rule with its threshold where it refuses as many answerable
  questions as the engine did (rounded down), to compare how often each refuses what it should.

Columns: hit@1 and hit@3 over the answerable questions (a refused question is a miss; a passage
folded into a result as corroboration counts at that result's rank, as in
``../shared/eval/evaluate.py``); ``refused``, the share of answerable questions refused;
``abstain``, the share of unanswerable ones refused, split into ``near`` (same people and places,
fact not reported) and ``off`` (nothing in the corpus is about it) where the question file says
which (a ``kind: near-topic|off-topic`` field, or a comment above the entry naming either);
``highlight``, as ``evaluate.py`` scores it; ``claimed``, ``precision`` and ``false`` (false claims)
as ``evaluate.py`` defines them, a method that does not say how sure it is claiming every answer
it does not refuse.

``--typos`` asks every question with one typing mistake in each of its two longest words of five
letters or more (:func:`with_typos`: seeded, a letter dropped, doubled, swapped or struck as a
neighbouring key, never the first), and prints the engine on the clean questions first.

The fitting half of XQuAD (``../shared/xquad-fit``) makes three more sets, ``xquad-en``,
``xquad-de`` and ``xquad-es`` (questions in that language over untranslated German and Spanish
paragraphs, four articles held out for unanswerable questions), written under ``.cache/xquad``.

Embeddings are cached per set under ``.cache/quality/``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus import BUNDLED  # noqa: E402
from index import Answer, Corpus, Engine, LanguageDetector, load_corpus  # noqa: E402
from index.search.cache import EmbeddingCache  # noqa: E402
from index.search.semantic import Embedder, shared_alignment_encoder, shared_retrieval_encoder  # noqa: E402

CACHE = ROOT / ".cache" / "quality"
SHARED = next((p / "shared" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared").is_dir()), ROOT / "shared")
"""The project's shared folder: beside the checkout (``../shared``), or beside the folder of worktrees."""
DEV_QUESTIONS = SHARED / "eval" / "questions.yaml"
XQUAD = SHARED / "xquad-fit"
DATA = ROOT / "bench" / "data"
QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "«": '"', "»": '"', "\u00a0": " ", "\u202f": " "})
REFUSE_SHARE = 0.03


@dataclass(frozen=True)
class QualitySet:
    """A corpus (one or more corpus directories merged) and the questions asked of it."""

    name: str
    corpora: tuple[Path, ...]
    questions: tuple[Path, ...]
    translations: bool = True
    made_by: tuple[str, ...] = ()
    """For a generated set: the arguments of ``make_set.py`` (XQuAD) that write it, run when it is missing."""

    def available(self) -> bool:
        if self.made_by and not all(p.exists() for p in self.questions) and (XQUAD / "make_set.py").exists():
            out = self.questions[0].parent
            command = [sys.executable, str(XQUAD / "make_set.py"), str(out), *self.made_by]
            subprocess.run(command, check=True, capture_output=True)
        return all(p.exists() for p in (*self.corpora, *self.questions))


def xquad_set(language: str) -> QualitySet:
    """The fitting half of XQuAD, asked in ``language``, of a corpus of untranslated German and Spanish
    paragraphs; its last four articles are left out, so their questions are about nothing in the corpus."""
    out = ROOT / ".cache" / "xquad" / language
    arguments = ("--qlang", language, "--questions", "1000", "--holdout", "4", "--unanswerable", "100")
    return QualitySet(f"xquad-{language}", (out / "corpus",), (out / "questions.yaml",), made_by=arguments)


SETS: dict[str, QualitySet] = {
    s.name: s
    for s in (
        QualitySet("dev", (Path(BUNDLED),), (DEV_QUESTIONS,)),
        QualitySet("dev-bare", (Path(BUNDLED),), (DEV_QUESTIONS,), translations=False),
        QualitySet("calibration", (DATA / "calibration/corpus",), (DATA / "calibration/questions.yaml",)),
        QualitySet("generalisation", (DATA / "generalisation/corpus",), (DATA / "generalisation/questions.yaml",)),
        QualitySet("development", (DATA / "development/corpus",), (DATA / "development/questions.yaml",)),
        # The bundled story with its reviewed translations, plus fresh untranslated coverage of other stories.
        QualitySet(
            "bundled+development",
            (Path(BUNDLED), DATA / "development/corpus"),
            (DEV_QUESTIONS, DATA / "development/questions.yaml"),
        ),
        *(xquad_set(language) for language in ("en", "de", "es")),
    )
}


@dataclass(frozen=True)
class Question:
    id: str
    lang: str
    text: str
    evidence: tuple[str, ...]
    kind: str | None = None
    """For unanswerable questions: ``near-topic``, ``off-topic`` or None (not said)."""

    @property
    def answerable(self) -> bool:
        return bool(self.evidence)


def norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text or "").translate(QUOTES).split()).casefold()


_KIND = re.compile(r"\b(near|off)-topic\b")


def load_questions(path: Path) -> list[Question]:
    """The questions of a YAML file; an unanswerable one's kind from its ``kind`` field or the comment above it."""
    raw = path.read_text(encoding="utf-8")
    kinds: dict[str, str] = {}
    comment: list[str] = []
    for line in raw.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comment.append(stripped)
            continue
        found = re.match(r"-\s*\{?\s*id:\s*['\"]?([^,'\"}\s]+)", stripped)
        if found:
            match = _KIND.search(" ".join(comment))
            if match:
                kinds[found.group(1)] = f"{match.group(1)}-topic"
        if stripped:
            comment = []
    questions = []
    for number, item in enumerate(yaml.safe_load(raw)):
        qid = str(item.get("id", f"{path.stem}-{number}"))
        evidence = tuple(item.get("evidence") or ())
        kind = None if evidence else item.get("kind", kinds.get(qid))
        questions.append(Question(qid, str(item["lang"]), str(item["q"]), evidence, kind))
    return questions


def merged_corpus(quality_set: QualitySet, into: Path) -> Path:
    """One corpus directory holding every article of the set (translations only if the set keeps them)."""
    if len(quality_set.corpora) == 1 and quality_set.translations:
        return quality_set.corpora[0]
    for source in quality_set.corpora:
        shutil.copytree(source / "articles", into / "articles", dirs_exist_ok=True)
        if quality_set.translations and (source / "translations").is_dir():
            shutil.copytree(source / "translations", into / "translations", dirs_exist_ok=True)
    return into


@dataclass
class Row:
    """One method's figures on one set."""

    method: str
    hit1: float
    hit3: float
    refused: float | None
    abstain: float | None
    near: float | None
    off: float | None
    highlight: float | None = None
    claimed: float | None = None
    precision: float | None = None
    false_claims: float | None = None
    extra: dict[str, float] = field(default_factory=dict)

    def cells(self) -> list[str]:
        values = [self.hit1, self.hit3, self.refused, self.abstain, self.near, self.off, self.highlight]
        values += [self.claimed, self.precision, self.false_claims]
        return ["—" if v is None else f"{v:.3f}" for v in values]


@dataclass(frozen=True)
class Outcome:
    """What a method did with one question: the rank of the first relevant result (None: not in the top 10)."""

    refused: bool
    rank: int | None
    highlight_ok: bool | None = None
    """For a top-3 hit, whether the highlight covers the evidence; None when not scored."""
    claimed: bool | None = None
    """Whether the method claims to answer (``confidence: answer``); None: whenever it does not refuse."""

    @property
    def claims(self) -> bool:
        return not self.refused if self.claimed is None else self.claimed


def share(flags: Iterable[bool]) -> float | None:
    values = list(flags)
    return float(np.mean(values)) if values else None


def summarise(method: str, questions: Sequence[Question], outcomes: Sequence[Outcome]) -> Row:
    pairs = list(zip(questions, outcomes, strict=True))
    answerable = [o for q, o in pairs if q.answerable]
    ranks = [None if o.refused else o.rank for o in answerable]
    unanswerable = [(q, o) for q, o in pairs if not q.answerable]
    marked = [o.highlight_ok for o in answerable if not o.refused and o.highlight_ok is not None]
    return Row(
        method=method,
        hit1=share(r == 1 for r in ranks) or 0.0,
        hit3=share(r is not None and r <= 3 for r in ranks) or 0.0,
        refused=share(o.refused for o in answerable),
        abstain=share(o.refused for _, o in unanswerable),
        near=share(o.refused for q, o in unanswerable if q.kind == "near-topic"),
        off=share(o.refused for q, o in unanswerable if q.kind == "off-topic"),
        highlight=share(marked) if marked else None,
        claimed=share(o.claims for o in answerable),
        precision=share(q.answerable and o.rank is not None and o.rank <= 3 for q, o in pairs if o.claims),
        false_claims=share(o.claims for _, o in unanswerable),
    )


def relevant_passages(corpus: Corpus, question: Question) -> set[int]:
    wanted = [norm(e) for e in question.evidence]
    return {i for i, p in enumerate(corpus.passages) if any(e in norm(p.text) for e in wanted)}


def highlight_ok(text: str, spans: Sequence[tuple[int, int]], evidence: Sequence[str]) -> bool:
    """As ``evaluate.py``: a highlight covers where an evidence string starts, and not most of a long passage."""
    spans = [(a, b) for a, b in spans if 0 <= a < b <= len(text)]
    if not spans:
        return False
    raw = "".join(c.lower() if len(c.lower()) == 1 else c for c in text.translate(QUOTES))
    starts = []
    for e in evidence:
        found = re.search(r"\s+".join(re.escape(w) for w in norm(e).split()), raw)
        if found:
            starts.append(found.start())
    if not starts:
        return False
    covered = any(a <= s < b for s in starts for a, b in spans)
    sentences = len(re.findall(r"[.!?…](\s|$)", text.strip()))
    return covered and (sentences < 2 or sum(b - a for a, b in spans) <= 2 * len(text) / 3)


def engine_outcome(answer: Answer, question: Question) -> Outcome:
    """Score one of the engine's answers as ``evaluate.py`` scores the CLI's JSON."""
    if not answer.answered:
        return Outcome(True, None, claimed=False)
    claimed = answer.confidence == "answer"
    wanted = [norm(e) for e in question.evidence]
    for rank, result in enumerate(answer.results[:10], start=1):
        if any(e in norm(result.text) for e in wanted):
            marked = highlight_ok(result.text, result.highlights, question.evidence) if rank <= 3 else None
            return Outcome(False, rank, marked, claimed)
        if any(any(e in norm(c.text) for e in wanted) for c in result.also_reported_by):
            return Outcome(False, rank, claimed=claimed)
    return Outcome(False, None, claimed=claimed)


def ranked_outcome(scores: np.ndarray, relevant: set[int], refused: bool = False) -> Outcome:
    order = np.lexsort((np.arange(len(scores)), -scores))[:10]
    rank = next((r for r, p in enumerate(order.tolist(), start=1) if p in relevant), None)
    return Outcome(refused, rank)


@dataclass
class Renditions:
    """Every language version of every passage, flattened: what the plain peers search."""

    texts: list[str]
    passage: np.ndarray
    language: list[str]

    @classmethod
    def of(cls, corpus: Corpus) -> Renditions:
        rows = [(i, r) for i, p in enumerate(corpus.passages) for r in p.renditions()]
        return cls([r.text for _, r in rows], np.array([i for i, _ in rows]), [r.language for _, r in rows])

    def best_per_passage(self, scores: np.ndarray, passages: int) -> tuple[np.ndarray, np.ndarray]:
        """Each passage's best score over its versions, and which version gave it."""
        best = np.full(passages, -np.inf)
        np.maximum.at(best, self.passage, scores)
        which = np.full(passages, -1)
        for row in np.argsort(scores, kind="stable"):  # ascending: the best version is written last
            which[self.passage[row]] = row
        return best, which


_WORD = re.compile(r"\w+")


def bm25_tokens(text: str) -> list[str]:
    return _WORD.findall(norm(text))


def peer_outcomes(
    corpus: Corpus,
    questions: Sequence[Question],
    e5: Embedder,
    use: Embedder,
    cache_dir: Path | None,
    refused_like: float | None = None,
) -> dict[str, list[Outcome]]:
    """The plain peers' outcomes on every question.

    With ``refused_like`` (the engine's share of answerable questions refused), the per-language e5
    rule is also run at that refused rate (``e5 + refusal, same refused``), to compare their abstention.
    """
    from rank_bm25 import BM25Okapi

    renditions = Renditions.of(corpus)
    count = len(corpus.passages)
    relevant = [relevant_passages(corpus, q) for q in questions]
    bm25 = BM25Okapi([bm25_tokens(t) for t in renditions.texts])
    outcomes: dict[str, list[Outcome]] = {"rank-bm25": [], "USE": [], "e5": [], "e5 + refusal": []}
    for question, wanted in zip(questions, relevant, strict=True):
        scores, _ = renditions.best_per_passage(bm25.get_scores(bm25_tokens(question.text)), count)
        outcomes["rank-bm25"].append(ranked_outcome(scores, wanted))

    vectors = {}
    for name, embedder in (("USE", use), ("e5", e5)):
        vectors[name], _ = EmbeddingCache(cache_dir, f"peer-{embedder.name}").embed(renditions.texts, embedder.embed)
    languages = np.array(renditions.language)
    margins = []
    for question, wanted in zip(questions, relevant, strict=True):
        use_scores, _ = renditions.best_per_passage(vectors["USE"] @ use.embed_query(question.text), count)
        outcomes["USE"].append(ranked_outcome(use_scores, wanted))
        cosines = vectors["e5"] @ e5.embed_query(question.text)
        scores, which = renditions.best_per_passage(cosines, count)
        outcomes["e5"].append(ranked_outcome(scores, wanted))
        best = int(np.argmax(scores))
        same_language = languages == languages[which[best]]
        margins.append(float(scores[best] - cosines[same_language].mean()))
    threshold = refusal_threshold([m for m, q in zip(margins, questions, strict=True) if q.answerable])
    for plain, margin in zip(outcomes["e5"], margins, strict=True):
        outcomes["e5 + refusal"].append(Outcome(margin < threshold, plain.rank))
    if refused_like is not None:
        answerable = [m for m, q in zip(margins, questions, strict=True) if q.answerable]
        same = refusal_threshold(answerable, refused_like + 1e-9)
        outcomes["e5 + refusal, same refused"] = [
            Outcome(margin < same, plain.rank) for plain, margin in zip(outcomes["e5"], margins, strict=True)
        ]
    return outcomes


def refusal_threshold(answerable_scores: Sequence[float], refuse: float = REFUSE_SHARE) -> float:
    """The score below which ``refuse`` of the answerable questions fall (rounded down to whole questions)."""
    if not answerable_scores:
        return -np.inf
    ordered = np.sort(np.asarray(answerable_scores, dtype=np.float64))
    return float(ordered[int(np.floor(refuse * len(ordered)))])


def measure(
    corpus: Corpus,
    questions: Sequence[Question],
    engine: Engine,
    *,
    e5: Embedder | None = None,
    use: Embedder | None = None,
    cache_dir: Path | None = None,
) -> list[Row]:
    """The table rows for one corpus: the engine first, then its peers."""
    e5 = e5 or engine.embedder
    use = use or engine.aligner
    outcomes = {"newsbot": [engine_outcome(engine.ask(q.text, k=3), q) for q in questions]}
    refused = summarise("newsbot", questions, outcomes["newsbot"]).refused
    outcomes |= peer_outcomes(corpus, questions, e5, use, cache_dir, refused)
    return [summarise(method, questions, found) for method, found in outcomes.items()]


_KEYBOARD = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]


def _neighbours(letter: str) -> str:
    """Letters beside ``letter`` on a QWERTY keyboard (the letter itself when it has none there)."""
    for row in _KEYBOARD:
        i = row.find(letter.lower())
        if i >= 0:
            return row[max(i - 1, 0) : i] + row[i + 1 : i + 2]
    return letter


def misspelt(word: str, rng: random.Random) -> str:
    """``word`` with one typing mistake, never in its first letter: a letter dropped, doubled,
    swapped with the next, or struck as a key beside it."""
    i = rng.randrange(1, len(word))
    kind = rng.choice(("drop", "double", "swap", "neighbour"))
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    if kind == "swap" and i + 1 < len(word) and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    near = _neighbours(word[i])
    struck = rng.choice(near) if near else word[i]
    return word[:i] + (struck.upper() if word[i].isupper() else struck) + word[i + 1 :]


def with_typos(question: Question, words: int = 2, seed: int = 0) -> Question:
    """The question with one typing mistake in each of its ``words`` longest words of five letters or more.

    Seeded by the question's id, so every run (and every method) sees the same mistakes.
    """
    rng = random.Random(f"{seed}:{question.id}")
    found = [(m.start(), m.group()) for m in re.finditer(r"[^\W\d_]{5,}", question.text)]
    chosen = sorted(sorted(found, key=lambda f: (-len(f[1]), f[0]))[:words])
    text = question.text
    for start, word in reversed(chosen):
        text = text[:start] + misspelt(word, rng) + text[start + len(word) :]
    return dataclasses.replace(question, text=text)


def run_set(
    quality_set: QualitySet, detector: LanguageDetector, *, typos: bool = False, **engine_options: object
) -> tuple[int, list[Row]]:
    """The set's rows; with ``typos``, of its questions with typing mistakes, after the engine on the clean ones."""
    cache_dir = CACHE / quality_set.name
    with tempfile.TemporaryDirectory() as scratch:
        corpus = load_corpus(merged_corpus(quality_set, Path(scratch)))
        questions = [q for path in quality_set.questions for q in load_questions(path)]
        engine = Engine.build(corpus, cache_dir=cache_dir, detector=detector, **engine_options)  # type: ignore[arg-type]
        if not typos:
            return len(questions), measure(corpus, questions, engine, cache_dir=cache_dir)
        clean = summarise("newsbot (clean)", questions, [engine_outcome(engine.ask(q.text, k=3), q) for q in questions])
        mistyped = [with_typos(q) for q in questions]
        return len(questions), [clean, *measure(corpus, mistyped, engine, cache_dir=cache_dir)]


HEADER = ["method", "hit@1", "hit@3", "refused", "abstain", "near", "off", "highlight", "claimed", "precision", "false"]


def table(name: str, questions: int, rows: Sequence[Row]) -> str:
    lines = [f"\n{name} ({questions} questions)", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join([row.method, *row.cells()]) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="*", choices=sorted(SETS), help="named sets (default: every available one)")
    parser.add_argument("--corpus", type=Path, help="a corpus directory (with --questions)")
    parser.add_argument("--questions", type=Path, help="a question file for --corpus")
    parser.add_argument("--no-translations", action="store_true", help="with --corpus: leave its translations out")
    parser.add_argument("--json", action="store_true", help="print one JSON object per set and method")
    parser.add_argument(
        "--typos", action="store_true", help="ask every question with a typing mistake in two of its longer words"
    )
    args = parser.parse_args(argv)
    if args.corpus or args.questions:
        if not (args.corpus and args.questions):
            parser.error("--corpus and --questions go together")
        chosen = [QualitySet(args.corpus.name, (args.corpus,), (args.questions,), not args.no_translations)]
    else:
        chosen = [SETS[name] for name in (args.sets or SETS) if SETS[name].available()]
    detector = LanguageDetector()
    e5, use = shared_retrieval_encoder(), shared_alignment_encoder()
    for quality_set in chosen:
        count, rows = run_set(quality_set, detector, typos=args.typos, embedder=e5, aligner=use)
        name = f"{quality_set.name} + typos" if args.typos else quality_set.name
        if args.json:
            for row in rows:
                out(json.dumps({"set": name, "questions": count} | row.__dict__))
        else:
            out(table(name, count, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
