#!/usr/bin/env python3
"""Fit the engine's ranking weights and its answer gate, and write them to ``index/search/fitted.json``.

Usage (from the project root)::

    python bench/fit_ranking.py               # fit, print the figures, write fitted.json
    python bench/fit_ranking.py --report-only # the figures of what fitted.json holds now

It fits on our own data only, never on ``../shared/eval`` or ``bench/data/generalisation``
(those only measure): the sets of :data:`FIT_SETS`, tiny and large, with and without
translations, including the bundled, translated story plus fresh untranslated coverage of
other stories. Embeddings are cached per set under ``.cache/quality/`` (shared with
``bench/quality.py``).

Ranking: a grid over the residual and vocabulary weights (passage and sentence weights kept),
for the best mean over sets of hit@3 + hit@1 + MRR on the answerable questions. Gate:
L2-regularised logistic regression on :data:`index.search.gate.FEATURES`, every set weighing
the same and refusing an answerable question costing twice a wrong answer; then the highest
threshold that refuses at most 3 % of the answerable questions of *every* set.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import itertools
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import quality  # noqa: E402

from corpus import BUNDLED  # noqa: E402
from index import Engine, LanguageDetector, load_corpus  # noqa: E402
from index.search.evidence import Evidence, fused_scores  # noqa: E402
from index.search.gate import FEATURES, GateModel, feature_values  # noqa: E402
from index.search.semantic import shared_alignment_encoder, shared_retrieval_encoder  # noqa: E402
from index.search.settings import FITTED, Settings  # noqa: E402

DATA = ROOT / "bench" / "data"
CALIBRATION_QUESTIONS = ROOT / "tests" / "data" / "calibration.yaml"
OWN = (Path(BUNDLED), DATA / "calibration/corpus", DATA / "development/corpus")
OWN_QUESTIONS = (CALIBRATION_QUESTIONS, DATA / "calibration/questions.yaml", DATA / "development/questions.yaml")
FIT_SETS = (
    quality.SETS["calibration"],
    quality.SETS["development"],
    quality.QualitySet("bundled-cal", (Path(BUNDLED),), (CALIBRATION_QUESTIONS,)),
    quality.QualitySet("bundled-cal-bare", (Path(BUNDLED),), (CALIBRATION_QUESTIONS,), translations=False),
    quality.QualitySet(
        "bundled+development",
        (Path(BUNDLED), DATA / "development/corpus"),
        (CALIBRATION_QUESTIONS, DATA / "development/questions.yaml"),
    ),
    quality.QualitySet("union-bare", OWN, OWN_QUESTIONS, translations=False),
)
REFUSE_SHARE = 0.03
ANSWERABLE_COST = 2.0
SAFETY = 0.1
"""How far below the lowest answerable logit kept the threshold may go (logit units)."""
GATE_FEATURES = tuple(FEATURES)


@dataclass
class Case:
    set: str
    question: quality.Question
    evidence: Evidence | None
    query: np.ndarray
    echo: np.ndarray
    relevant: set[int]
    null: dict[str, float] | None


@dataclass
class FitSet:
    name: str
    engine: Engine
    cases: list[Case]


def collect(quality_set: quality.QualitySet, detector: LanguageDetector) -> FitSet:
    e5, use = shared_retrieval_encoder(), shared_alignment_encoder()
    with tempfile.TemporaryDirectory() as scratch:
        corpus = load_corpus(quality.merged_corpus(quality_set, Path(scratch)))
        engine = Engine.build(
            corpus, cache_dir=quality.CACHE / quality_set.name, detector=detector, embedder=e5, aligner=use
        )
    cases = []
    for path in quality_set.questions:
        for question in quality.load_questions(path):
            detection = detector.detect(" ".join(question.text.split()))
            assert engine.null is not None
            query = engine.embed_query(" ".join(question.text.split()))
            cases.append(
                Case(
                    quality_set.name,
                    question,
                    engine.evidence(question.text, query=query),
                    query,
                    engine.echo_query(question.text),
                    quality.relevant_passages(corpus, question),
                    dict(engine.null.get(detection.language)),
                )
            )
    return FitSet(quality_set.name, engine, cases)


def ranked(case: Case, settings: Settings) -> Evidence:
    assert case.evidence is not None
    return case.evidence.ranked(fused_scores(case.evidence, settings))


def ranking_figures(sets: list[FitSet], settings: Settings) -> dict[str, tuple[float, float, float]]:
    """Per set, hit@1, hit@3 and MRR of the answerable questions, before corroboration folds results."""
    figures = {}
    for fit_set in sets:
        ranks = []
        for case in fit_set.cases:
            if not case.question.answerable:
                continue
            if case.evidence is None:
                ranks.append(None)
                continue
            order = ranked(case, settings).passages[:10].tolist()
            ranks.append(next((r for r, p in enumerate(order) if p in case.relevant), None))
        hit1 = float(np.mean([r == 0 for r in ranks]))
        hit3 = float(np.mean([r is not None and r < 3 for r in ranks]))
        mrr = float(np.mean([0.0 if r is None else 1 / (r + 1) for r in ranks]))
        figures[fit_set.name] = (hit1, hit3, mrr)
    return figures


def under(sets: list[FitSet], settings: Settings) -> list[FitSet]:
    """The sets with every question's evidence weighed afresh under ``settings``."""
    redone = []
    for fit_set in sets:
        engine = dataclasses.replace(fit_set.engine, settings=settings)
        cases = [
            dataclasses.replace(case, evidence=engine.evidence(case.question.text, query=case.query))
            for case in fit_set.cases
        ]
        redone.append(FitSet(fit_set.name, engine, cases))
    return redone


def fit_ranking(sets: list[FitSet], base: Settings) -> tuple[Settings, list[FitSet]]:
    """The best weights of the grid, and the sets weighed under them."""
    best, best_key, best_sets = base, -1.0, sets
    for residual, coverage in itertools.product([0.0, 0.2, 0.4], [0.2, 0.3]):
        trial = dataclasses.replace(base, residual_weight=residual, coverage_weight=coverage)
        weighed = under(sets, trial)
        figures = ranking_figures(weighed, trial)
        key = float(np.mean([sum(v) for v in figures.values()]))
        print(f"  residual {residual} coverage {coverage}: {key:.4f}", flush=True)
        if key > best_key + 1e-9:
            best, best_key, best_sets = trial, key, weighed
    return best, best_sets


def gate_rows(sets: list[FitSet], settings: Settings, features: tuple[str, ...]) -> list[tuple[str, Case, np.ndarray]]:
    rows = []
    for fit_set in sets:
        for case in fit_set.cases:
            if case.evidence is None or case.null is None:
                continue
            raw = fit_set.engine.raw_features(ranked(case, settings), case.echo)
            rows.append((fit_set.name, case, feature_values(features, raw, case.null)))
    return rows


def fit_gate(
    rows: list[tuple[str, Case, np.ndarray]], features: tuple[str, ...]
) -> tuple[tuple[float, ...], float, float]:
    """Weights, bias and threshold (a logit)."""
    x = np.array([values for _, _, values in rows])
    y = np.array([case.question.answerable for _, case, _ in rows], dtype=np.float64)
    names = [name for name, _, _ in rows]
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / scale
    weight = np.where(y == 1, ANSWERABLE_COST, 1.0)
    for name in set(names):  # every set weighs the same, however many questions it has
        mask = np.array([n == name for n in names])
        weight[mask] /= mask.sum()
    weight /= weight.mean()
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(5_000):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        gradient = weight * (p - y)
        w -= 0.3 * (z.T @ gradient / len(y) + 0.01 * w)
        b -= 0.3 * float(gradient.mean())
    raw_w = w / scale  # back to raw features, so the engine needs no scaler
    raw_b = b - float(np.dot(raw_w, mean))
    logits = x @ raw_w + raw_b
    threshold = np.inf
    for name in set(names):
        answerable = np.sort(logits[[n == name and c for n, c in zip(names, y == 1, strict=True)]])
        if len(answerable):
            threshold = min(threshold, refusing_at_most(answerable, REFUSE_SHARE))
    return tuple(float(v) for v in raw_w), raw_b, threshold


def refusing_at_most(answerable_logits: np.ndarray, share: float) -> float:
    """A threshold that refuses at most ``share`` of these (sorted) logits, halfway between two of them.

    Halfway to the one below, but no more than ``SAFETY`` below the first one kept: a question sitting
    on the threshold would be answered or refused by the last bit of a float, and a threshold far
    below it would give away refusals for nothing.
    """
    allowed = int(np.floor(share * len(answerable_logits)))
    kept = float(answerable_logits[allowed])
    below = float(answerable_logits[allowed - 1]) if allowed else kept - 2 * SAFETY
    return max((kept + below) / 2, kept - SAFETY)


def gate_figures(rows: list[tuple[str, Case, np.ndarray]], model: GateModel) -> dict[str, tuple[float, ...]]:
    """Per set: answerable refused, off-topic (or unlabelled) refused, near-topic refused."""
    figures = {}
    for name in dict.fromkeys(n for n, _, _ in rows):
        mine = [(c, model.bias + float(np.dot(model.weights, v)) < model.threshold) for n, c, v in rows if n == name]

        def share(flags: list[bool]) -> float:
            return float(np.mean(flags)) if flags else float("nan")

        figures[name] = (
            share([r for c, r in mine if c.question.answerable]),
            share([r for c, r in mine if not c.question.answerable and c.question.kind != "near-topic"]),
            share([r for c, r in mine if c.question.kind == "near-topic"]),
        )
    return figures


def commit() -> str:
    found = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    return found.stdout.strip() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report-only", action="store_true", help="print the figures of what fitted.json holds")
    args = parser.parse_args()
    detector = LanguageDetector()
    sets = [collect(s, detector) for s in FIT_SETS if s.available()]
    current, model = Settings(), GateModel.fitted()
    for name, figures in ranking_figures(sets, current).items():
        print(f"current ranking {name}: hit@1 {figures[0]:.3f} hit@3 {figures[1]:.3f} MRR {figures[2]:.3f}")
    if model.features:
        for name, figures in gate_figures(gate_rows(sets, current, model.features), model).items():
            print(f"current gate {name}: refused {figures[0]:.3f} off-topic {figures[1]:.3f} near {figures[2]:.3f}")
    if args.report_only:
        return 0
    settings, sets = fit_ranking(sets, current)
    ranking = ranking_figures(sets, settings)
    for name, figures in ranking.items():
        print(f"fitted ranking {name}: hit@1 {figures[0]:.3f} hit@3 {figures[1]:.3f} MRR {figures[2]:.3f}")
    rows = gate_rows(sets, settings, GATE_FEATURES)
    weights, bias, threshold = fit_gate(rows, GATE_FEATURES)
    calibrated_for = sets[0].engine.embedder.name.rsplit("-", 1)[0] + "-"
    aligned_with = sets[0].engine.aligner.name.rsplit("-", 1)[0] + "-"
    fitted_on = {
        "sets": {s.name: [str(p.relative_to(ROOT)) for p in (*s.corpora, *s.questions)] for s in FIT_SETS},
        "translations": {s.name: s.translations for s in FIT_SETS},
        "commit": commit(),
        "date": dt.date.today().isoformat(),
        "command": "python bench/fit_ranking.py",
    }
    model = GateModel(GATE_FEATURES, weights, bias, threshold, calibrated_for, aligned_with, fitted_on)
    gate = gate_figures(rows, model)
    for name, figures in gate.items():
        print(f"fitted gate {name}: refused {figures[0]:.3f} off-topic {figures[1]:.3f} near {figures[2]:.3f}")
    document = {
        "ranking": {
            name: getattr(settings, name)
            for name in ("passage_weight", "sentence_weight", "residual_weight", "lexical_weight", "coverage_weight")
        },
        "gate": {
            "features": list(GATE_FEATURES),
            "weights": [round(w, 6) for w in weights],
            "bias": round(bias, 6),
            "threshold": round(threshold, 6),
            "calibrated_for": calibrated_for,
            "aligned_with": aligned_with,
            "fitted_on": fitted_on,
            "figures": {
                name: {"refused": r, "off_topic_refused": o, "near_topic_refused": n}
                for name, (r, o, n) in gate.items()
            },
        },
    }
    FITTED.write_text(json.dumps(document, indent=2, allow_nan=True) + "\n", encoding="utf-8")
    print(f"wrote {FITTED.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
