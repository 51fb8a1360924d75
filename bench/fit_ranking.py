#!/usr/bin/env python3
"""Fit the engine's ranking weights and its abstention model on our own calibration data.

Usage (from the project root)::

    python bench/fit_ranking.py [--corpus DIR --questions FILE ...] [--report-only]

By default it fits on ``bench/data/calibration`` (a corpus with evidence
strings: ranking and abstention) and on the bundled corpus with
``tests/data/calibration.yaml`` (answerable or not: abstention only), each
with and without translations. It never reads ``../shared/eval``: those
questions only measure. It prints the current settings' figures beside the
fitted ones, and the fitted values to put in ``index.search.engine.Settings``.

Ranking: a grid search over the evidence weights, for the best mean
reciprocal rank. Abstention: L2-regularised logistic regression on the
leading candidate's :func:`answer_features`, answerable questions weighted so
that refusing one costs twice a wrong answer, then the threshold that
refuses at most 3 % of the answerable calibration questions.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import shutil
import sys
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus import BUNDLED  # noqa: E402
from index import Engine, LanguageDetector, load_corpus  # noqa: E402
from index.search.evidence import Evidence, answer_features, fused_scores  # noqa: E402

QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "«": '"', "»": '"', "\u00a0": " ", "\u202f": " "})
CACHE = ROOT / ".cache"


def norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).translate(QUOTES).split()).casefold()


@dataclass
class Case:
    question: str
    answerable: bool
    evidence: Evidence | None
    relevant: set[int] | None
    """Relevant passage numbers, None when the question file gives no evidence strings (abstention only)."""


def without_translations(corpus_dir: Path, into: Path) -> Path:
    shutil.copytree(corpus_dir / "articles", into / "articles")
    return into


def cases(corpus_dir: Path, questions: Path, detector: LanguageDetector) -> list[Case]:
    engine = Engine.build(load_corpus(corpus_dir), cache_dir=CACHE, detector=detector)
    texts = [norm(p.text) for p in engine.corpus.passages]
    found: list[Case] = []
    for item in yaml.safe_load(questions.read_text(encoding="utf-8")):
        if "evidence" in item:
            wanted = [norm(e) for e in item["evidence"]]
            relevant: set[int] | None = {i for i, t in enumerate(texts) if any(e in t for e in wanted)}
            answerable = bool(wanted)
        else:
            relevant, answerable = None, bool(item["answerable"])
        found.append(Case(item["q"], answerable, engine.evidence(item["q"]), relevant))
    return found


def rank_of(case: Case, fused: np.ndarray) -> int | None:
    assert case.evidence is not None and case.relevant
    order = np.lexsort((case.evidence.passages, -fused))
    for rank, candidate in enumerate(order[:10]):
        if int(case.evidence.passages[candidate]) in case.relevant:
            return rank
    return None


def ranking_figures(ranked: list[Case], settings: object) -> tuple[float, float, float]:
    ranks = [rank_of(c, fused_scores(c.evidence, settings)) for c in ranked]  # type: ignore[arg-type]
    hit1 = np.mean([r == 0 for r in ranks])
    hit3 = np.mean([r is not None and r < 3 for r in ranks])
    mrr = np.mean([0.0 if r is None else 1 / (r + 1) for r in ranks])
    return float(hit1), float(hit3), float(mrr)


def fit_ranking(ranked: list[Case], base: object) -> object:
    best, best_key = base, (-1.0,)
    grid = itertools.product([0.0, 0.5, 1.0], [0.5, 1.0, 1.5, 2.0], [0.0, 0.05, 0.1], [0.0, 0.05, 0.1, 0.2, 0.4])
    for passage, sentence, lexical, coverage in grid:
        trial = dataclasses.replace(
            base,  # type: ignore[type-var]
            passage_weight=passage,
            sentence_weight=sentence,
            lexical_weight=lexical,
            coverage_weight=coverage,
        )
        hit1, hit3, mrr = ranking_figures(ranked, trial)
        key = (round(mrr, 4), hit3, hit1)
        if key > best_key:
            best, best_key = trial, key
    return best


def features(case: Case, settings: object) -> np.ndarray:
    assert case.evidence is not None
    return answer_features(case.evidence.ranked(fused_scores(case.evidence, settings)))  # type: ignore[arg-type]


def fit_abstention(labelled: list[Case], settings: object) -> tuple[float, tuple[float, ...], float]:
    x = np.array([features(c, settings) for c in labelled])
    y = np.array([c.answerable for c in labelled], dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / scale
    weight = np.where(y == 1, 2.0, 1.0)
    weight /= weight.mean()
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(20_000):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        gradient = weight * (p - y)
        w -= 0.1 * (z.T @ gradient / len(y) + 0.01 * w)
        b -= 0.1 * float(gradient.mean())
    # Back to raw features, so the engine needs no scaler.
    raw_w = w / scale
    raw_b = b - float(np.dot(raw_w, mean))
    logits = x @ raw_w + raw_b
    answerable_logits = np.sort(logits[y == 1])
    allowed = int(np.floor(0.03 * len(answerable_logits)))
    threshold_logit = float(answerable_logits[allowed]) - 1e-6 if len(answerable_logits) else 0.0
    probability = float(1 / (1 + np.exp(-threshold_logit)))
    return raw_b, tuple(float(v) for v in raw_w), min(probability, 0.5)


def abstention_figures(labelled: list[Case], settings: object) -> tuple[float, float]:
    answered = []
    for case in labelled:
        logit = settings.answer_bias + float(np.dot(settings.answer_weights, features(case, settings)))  # type: ignore[attr-defined]
        answered.append(1 / (1 + np.exp(-logit)) >= settings.min_answer_probability)  # type: ignore[attr-defined]
    refused_answerable = np.mean([not a for a, c in zip(answered, labelled, strict=True) if c.answerable])
    refused_other = np.mean([not a for a, c in zip(answered, labelled, strict=True) if not c.answerable])
    return float(refused_answerable), float(refused_other)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report-only", action="store_true", help="print the current settings' figures only")
    parser.add_argument("--keep-ranking", action="store_true", help="keep the current ranking weights, fit abstention")
    args = parser.parse_args()
    detector = LanguageDetector()
    sets = [
        (ROOT / "bench/data/calibration/corpus", ROOT / "bench/data/calibration/questions.yaml"),
        (Path(BUNDLED), ROOT / "tests/data/calibration.yaml"),
    ]
    everything: list[Case] = []
    with tempfile.TemporaryDirectory() as scratch:
        for number, (corpus_dir, questions) in enumerate(sets):
            everything += cases(corpus_dir, questions, detector)
            if (corpus_dir / "translations").is_dir():
                bare = without_translations(corpus_dir, Path(scratch) / str(number))
                everything += cases(bare, questions, detector)
    ranked = [c for c in everything if c.relevant and c.evidence is not None]
    labelled = [c for c in everything if c.evidence is not None]
    from index.search.settings import Settings

    current = Settings()
    print(f"{len(ranked)} questions with evidence, {len(labelled)} labelled answerable or not")
    print("current: hit@1 {:.3f} hit@3 {:.3f} MRR {:.3f}".format(*ranking_figures(ranked, current)))
    if current.answer_weights:
        refused = abstention_figures(labelled, current)
        print("current: answerable refused {:.3f}, unanswerable refused {:.3f}".format(*refused))
    if args.report_only:
        return
    fitted = current if args.keep_ranking else fit_ranking(ranked, current)
    print("fitted:  hit@1 {:.3f} hit@3 {:.3f} MRR {:.3f}".format(*ranking_figures(ranked, fitted)))
    bias, weights, threshold = fit_abstention(labelled, fitted)
    fitted = dataclasses.replace(fitted, answer_bias=bias, answer_weights=weights, min_answer_probability=threshold)  # type: ignore[type-var]
    refused = abstention_figures(labelled, fitted)
    print("fitted:  answerable refused {:.3f}, unanswerable refused {:.3f}".format(*refused))
    print("\nSettings:")
    for name in ("passage_weight", "sentence_weight", "lexical_weight", "coverage_weight", "answer_bias"):
        print(f"    {name}: float = {getattr(fitted, name)!r}")
    print(f"    answer_weights: tuple[float, ...] = {tuple(round(w, 4) for w in fitted.answer_weights)!r}")  # type: ignore[attr-defined]
    print(f"    min_answer_probability: float = {round(fitted.min_answer_probability, 4)!r}")  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
