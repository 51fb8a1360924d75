#!/usr/bin/env python3
"""Fit the engine's ranking and its confidence, and write them to ``index/search/fitted.json``.

Usage (from the project root)::

    python bench/fit_ranking.py               # fit, print the figures, write fitted.json
    python bench/fit_ranking.py --report-only # the figures of what fitted.json holds now
    python bench/fit_ranking.py --ablations   # also each ranking feature set's figures, fitted alike

It fits on our own data and on the fitting half of XQuAD only, never on ``../shared/eval``
or ``bench/data/generalisation`` (those only measure): the sets of :data:`FIT_SETS`, tiny
and large, with and without translations, news and encyclopaedia, questions in English,
German and Spanish over untranslated German and Spanish paragraphs. Embeddings are cached
per set under ``.cache/quality/`` (shared with ``bench/quality.py``).

Ranking (:mod:`index.search.ranking`): pointwise L2-regularised logistic regression over
the candidates of every answerable question, on whether a candidate holds the evidence;
every question weighs the same, and every set too. The features are each candidate's
evidence raw and relative to the other candidates of its question.

Decision (:mod:`index.search.decision`), two logistic models over the leading candidate's
relative evidence (:data:`index.search.gate.FEATURES`), every set weighing the same:

- *about*: answerable against off-topic questions (near-topic ones left out: they are
  about the coverage); its threshold refuses at most :data:`REFUSE_SHARE` of the
  answerable questions of every set, less a safety margin;
- *sure*: whether the leading three candidates hold the evidence (an unanswerable question
  never does); its threshold is the lowest at which the confident answers are right at
  least :data:`PRECISION` of the time, on average over the sets (every set weighing the same).

``--sure-only`` keeps the ranking and the about model of ``fitted.json`` and refits the sure
model alone (on ``--sets`` if given).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import quality  # noqa: E402

from corpus import BUNDLED  # noqa: E402
from index import Engine, LanguageDetector, load_corpus  # noqa: E402
from index.search.candidates import Pool, gather  # noqa: E402
from index.search.decision import Decider  # noqa: E402
from index.search.evidence import Evidence, weigh  # noqa: E402
from index.search.gate import FEATURES, GateModel, feature_values  # noqa: E402
from index.search.query import Query  # noqa: E402
from index.search.ranking import Ranker, feature_matrix, feature_names  # noqa: E402
from index.search.semantic import shared_alignment_encoder, shared_retrieval_encoder  # noqa: E402
from index.search.settings import FITTED, Settings  # noqa: E402

DATA = ROOT / "bench" / "data"
CALIBRATION_QUESTIONS = ROOT / "tests" / "data" / "calibration.yaml"
OWN = (Path(BUNDLED), DATA / "calibration/corpus", DATA / "development/corpus")
OWN_QUESTIONS = (CALIBRATION_QUESTIONS, DATA / "calibration/questions.yaml", DATA / "development/questions.yaml")
FIT_SETS = (
    quality.SETS["calibration"],
    quality.SETS["development"],
    quality.QualitySet(
        "calibration-bare", (DATA / "calibration/corpus",), (DATA / "calibration/questions.yaml",), False
    ),
    quality.QualitySet(
        "development-bare", (DATA / "development/corpus",), (DATA / "development/questions.yaml",), False
    ),
    quality.QualitySet("bundled-cal", (Path(BUNDLED),), (CALIBRATION_QUESTIONS,)),
    quality.QualitySet("bundled-cal-bare", (Path(BUNDLED),), (CALIBRATION_QUESTIONS,), translations=False),
    quality.QualitySet(
        "bundled+development",
        (Path(BUNDLED), DATA / "development/corpus"),
        (CALIBRATION_QUESTIONS, DATA / "development/questions.yaml"),
    ),
    quality.QualitySet("union-bare", OWN, OWN_QUESTIONS, translations=False),
    quality.SETS["xquad-en"],
    quality.SETS["xquad-de"],
    quality.SETS["xquad-es"],
)
MEASURE_SETS = ("dev", "dev-bare", "generalisation")
"""Printed beside the fitted sets with ``--measure``, never fitted on."""
REFUSE_SHARE = 0.005
PRECISION = 0.85
SAFETY = 0.1
"""How far below the lowest answerable logit kept the about threshold may go (logit units)."""
ABOUT_FEATURES = (
    "passage_over_probes",
    "language_margin_over_probes",
    "candidate_margin_over_probes",
    "echo_margin_over_probes",
    "readable_coverage",
    "readable",
    "readable_x_passage_over_probes",
    "readable_x_sentence_over_probes",
    "echo_over_probes",
)
SURE_FEATURES = tuple(FEATURES)
RANKERS: dict[str, tuple[str, ...]] = {
    "today (0.5 passage + 1.5 sentence + 0.3 coverage)": (),
    "raw e5 + coverage": ("passage", "sentence", "coverage"),
    "+ USE sentence": ("passage", "sentence", "coverage", "echo"),
    "+ relative": ("passage", "sentence", "coverage", "echo", "passage_gap", "sentence_gap", "echo_gap",
                   "passage_centred", "sentence_centred", "echo_centred", "coverage_centred"),
    "+ relative + window": ("passage", "sentence", "coverage", "echo", "window", "passage_gap", "sentence_gap",
                            "echo_gap", "window_gap", "passage_centred", "sentence_centred", "echo_centred",
                            "window_centred", "coverage_centred"),
    "+ relative + BM25": ("passage", "sentence", "coverage", "echo", "lexical", "passage_gap", "sentence_gap",
                          "echo_gap", "passage_centred", "sentence_centred", "echo_centred", "coverage_centred",
                          "lexical_centred"),
    "all": tuple(feature_names()),
}  # fmt: skip
CHOSEN = "all"


@dataclass
class Case:
    set: str
    question: quality.Question
    query: Query
    pool: Pool | None
    evidence: Evidence | None
    """Unranked."""
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
        engine = Engine.build(corpus, cache_dir=quality.CACHE / "fit", detector=detector, embedder=e5, aligner=use)
    cases = []
    for path in quality_set.questions:
        for question in quality.load_questions(path):
            read = engine.read(question.text)
            query = engine.query(read)
            pool = gather(query, engine.index, engine.settings.candidates) if read.searchable else None
            assert engine.null is not None
            cases.append(
                Case(
                    quality_set.name,
                    question,
                    query,
                    pool,
                    None if pool is None else weigh(query, pool, engine.facts, engine.settings),
                    quality.relevant_passages(corpus, question),
                    dict(engine.null.get(read.decided)),
                )
            )
    print(f"  collected {quality_set.name}: {len(cases)} questions", flush=True)
    return FitSet(quality_set.name, engine, cases)


def rerun(sets: list[FitSet], settings: Settings, ranker: Ranker) -> list[FitSet]:
    """The sets with evidence weighed afresh under ``settings`` and probes asked again under ``ranker``."""
    redone = []
    for fit_set in sets:
        engine = dataclasses.replace(fit_set.engine, settings=settings, ranker=ranker)
        engine.null = engine.probe_null(quality.CACHE / "fit")
        cases = []
        for case in fit_set.cases:
            evidence = None if case.pool is None else weigh(case.query, case.pool, engine.facts, settings)
            assert engine.null is not None
            cases.append(
                dataclasses.replace(case, evidence=evidence, null=dict(engine.null.get(case.query.question.decided)))
            )
        redone.append(FitSet(fit_set.name, engine, cases))
    return redone


def ranks(fit_set: FitSet, ranker: Ranker) -> list[int | None]:
    """Per answerable question, the rank (0-based) of the first relevant candidate, None beyond 10."""
    found = []
    for case in fit_set.cases:
        if not case.question.answerable:
            continue
        if case.evidence is None:
            found.append(None)
            continue
        order = ranker.rank(case.evidence).passages[:10].tolist()
        found.append(next((r for r, p in enumerate(order) if p in case.relevant), None))
    return found


def ranking_figures(sets: list[FitSet], ranker: Ranker) -> dict[str, tuple[float, float, float]]:
    """Per set, hit@1, hit@3 and MRR of the answerable questions, before corroboration folds results."""
    figures = {}
    for fit_set in sets:
        found = ranks(fit_set, ranker)
        hit1 = float(np.mean([r == 0 for r in found]))
        hit3 = float(np.mean([r is not None and r < 3 for r in found]))
        mrr = float(np.mean([0.0 if r is None else 1 / (r + 1) for r in found]))
        figures[fit_set.name] = (hit1, hit3, mrr)
    return figures


def logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray, l2: float = 0.01, steps: int = 3000) -> tuple:
    """Weighted L2-regularised logistic regression by gradient descent on standardised features; raw weights."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / scale
    weight = weight / weight.mean()
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(z @ w + b, -30, 30)))
        gradient = weight * (p - y)
        w -= 0.5 * (z.T @ gradient / len(y) + l2 * w)
        b -= 0.5 * float(gradient.mean())
    raw_w = w / scale
    return raw_w, b - float(np.dot(raw_w, mean))


def fit_ranker(sets: list[FitSet], features: Sequence[str]) -> Ranker:
    """Pointwise logistic regression on whether each candidate holds the evidence."""
    xs, ys, ws = [], [], []
    for fit_set in sets:
        questions = [c for c in fit_set.cases if c.question.answerable and c.evidence is not None and c.relevant]
        for case in questions:
            assert case.evidence is not None
            x = feature_matrix(case.evidence, list(features))
            y = np.isin(case.evidence.passages, list(case.relevant)).astype(np.float64)
            if not y.any():
                continue
            w = np.where(y == 1, 0.5 / y.sum(), 0.5 / max((1 - y).sum(), 1))  # each question weighs 1
            xs.append(x)
            ys.append(y)
            ws.append(w / max(len(questions), 1))  # and each set too
    weights, _ = logistic(np.vstack(xs), np.concatenate(ys), np.concatenate(ws))
    return Ranker(tuple(features), tuple(round(float(v), 6) for v in weights))


@dataclass
class Row:
    set: str
    case: Case
    about: np.ndarray
    sure: np.ndarray
    top3: bool


def decision_rows(sets: list[FitSet], ranker: Ranker) -> list[Row]:
    rows = []
    for fit_set in sets:
        for case in fit_set.cases:
            if case.evidence is None or case.null is None:
                continue
            evidence = ranker.rank(case.evidence)
            raw = fit_set.engine.raw_features(evidence, case.query.echo)
            top3 = bool(set(evidence.passages[:3].tolist()) & case.relevant)
            about = feature_values(ABOUT_FEATURES, raw, case.null)
            sure = feature_values(SURE_FEATURES, raw, case.null)
            rows.append(Row(fit_set.name, case, about, sure, top3 and case.question.answerable))
    return rows


def set_weights(names: list[str], y: np.ndarray) -> np.ndarray:
    """Every set weighs the same, positives and negatives alike within it."""
    weight = np.ones(len(y))
    for name in set(names):
        mask = np.array([n == name for n in names])
        for label in (0, 1):
            part = mask & (y == label)
            if part.any():
                weight[part] = 1.0 / part.sum()
    return weight


def fit_about(rows: list[Row]) -> tuple[np.ndarray, float, float]:
    kept = [r for r in rows if r.case.question.answerable or r.case.question.kind != "near-topic"]
    x = np.array([r.about for r in kept])
    y = np.array([r.case.question.answerable for r in kept], dtype=np.float64)
    names = [r.set for r in kept]
    w, b = logistic(x, y, set_weights(names, y))
    logits = x @ w + b
    threshold = np.inf
    for name in set(names):
        answerable = np.sort(logits[[n == name and a for n, a in zip(names, y == 1, strict=True)]])
        if len(answerable):
            threshold = min(threshold, refusing_at_most(answerable, REFUSE_SHARE))
    return w, b, float(threshold)


def refusing_at_most(answerable_logits: np.ndarray, share: float) -> float:
    """A threshold that refuses at most ``share`` of these (sorted) logits, at most ``SAFETY`` below the first kept."""
    allowed = int(np.floor(share * len(answerable_logits)))
    kept = float(answerable_logits[allowed])
    below = float(answerable_logits[allowed - 1]) if allowed else kept - 2 * SAFETY
    return max((kept + below) / 2, kept - SAFETY)


def fit_sure(rows: list[Row], about: GateModel) -> tuple[np.ndarray, float, float]:
    x = np.array([r.sure for r in rows])
    y = np.array([r.top3 for r in rows], dtype=np.float64)
    names = [r.set for r in rows]
    w, b = logistic(x, y, set_weights(names, y))
    logits = x @ w + b
    answered = np.array([about.bias + float(np.dot(about.weights, r.about)) >= about.threshold for r in rows])
    candidates = np.sort(np.unique(logits))
    threshold = float(candidates[-1])
    masks = [np.array([n == name for n in names]) & answered for name in sorted(set(names))]
    for t in candidates:  # the lowest threshold at which the sets' claims are right often enough, on average
        shares = [float(np.mean(y[mask & (logits >= t)])) for mask in masks if (mask & (logits >= t)).any()]
        if shares and float(np.mean(shares)) >= PRECISION:
            threshold = float(t) - 1e-6
            break
    return w, b, threshold


def decision_figures(rows: list[Row], decider: Decider) -> dict[str, dict[str, float]]:
    """Per set: refused answerable, off-topic and near-topic refused, claimed, precision, false claims."""
    figures: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys(r.set for r in rows):
        mine = [r for r in rows if r.set == name]
        said = []
        for r in mine:
            about = decider.about.bias + float(np.dot(decider.about.weights, r.about))
            sure = decider.sure.bias + float(np.dot(decider.sure.weights, r.sure))
            said.append(
                "none"
                if about < decider.about.threshold
                else ("answer" if sure >= decider.sure.threshold else "closest")
            )

        def share(flags: list[bool]) -> float:
            return round(float(np.mean(flags)), 3) if flags else float("nan")

        answerable = [(r, s) for r, s in zip(mine, said, strict=True) if r.case.question.answerable]
        other = [(r, s) for r, s in zip(mine, said, strict=True) if not r.case.question.answerable]
        claims = [r.top3 for r, s in zip(mine, said, strict=True) if s == "answer"]
        figures[name] = {
            "refused": share([s == "none" for _, s in answerable]),
            "off_topic_refused": share([s == "none" for r, s in other if r.case.question.kind != "near-topic"]),
            "near_topic_refused": share([s == "none" for r, s in other if r.case.question.kind == "near-topic"]),
            "claimed": share([s == "answer" for _, s in answerable]),
            "precision": share(claims),
            "false_claims": share([s == "answer" for _, s in other]),
        }
    return figures


def commit() -> str:
    found = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    return found.stdout.strip() or "unknown"


def model(features: tuple[str, ...], weights: np.ndarray, bias: float, threshold: float, like: FitSet) -> GateModel:
    return GateModel(
        features,
        tuple(round(float(w), 6) for w in weights),
        round(bias, 6),
        round(threshold, 6),
        like.engine.embedder.name.rsplit("-", 1)[0] + "-",
        like.engine.aligner.name.rsplit("-", 1)[0] + "-",
        {},
    )


def print_ranking(label: str, figures: dict[str, tuple[float, float, float]]) -> None:
    cells = "  ".join(f"{name} {h1:.3f}/{h3:.3f}" for name, (h1, h3, _) in figures.items())
    mean = np.mean([h1 for h1, _, _ in figures.values()]), np.mean([h3 for _, h3, _ in figures.values()])
    print(f"{label:52s} mean {mean[0]:.3f}/{mean[1]:.3f}  {cells}", flush=True)


THRESHOLD_RULE = "the lowest refusing at most 1 % of the answerable questions on average over the sets, 3 % of any"


def about_threshold(rows: list[Row], about: GateModel) -> float:
    """The highest about threshold that refuses, of the answerable questions, at most 1 % on average over
    the sets (every set weighing the same) and at most 3 % of any one set: ``none`` costs an answer."""
    names = sorted({r.set for r in rows})
    logits = {
        name: np.sort([about.bias + float(np.dot(about.weights, r.about)) for r in rows
                       if r.set == name and r.case.question.answerable])
        for name in names
    }  # fmt: skip
    best = min(float(v[0]) for v in logits.values() if len(v)) - SAFETY
    for candidate in sorted({float(x) for v in logits.values() for x in v}):
        threshold = candidate - 1e-6
        shares = [float(np.mean(v < threshold)) for v in logits.values() if len(v)]
        if float(np.mean(shares)) <= 0.01 and max(shares) <= 0.03:
            best = threshold
        else:
            break
    return best


def refit_sure(sets: list[FitSet], measured: list[FitSet], settings: Settings, ranker: Ranker) -> int:
    """Refit the sure model alone, keeping the ranking and the about model, and rewrite its section."""
    sets, measured = rerun(sets, settings, ranker), rerun(measured, settings, ranker)
    rows = decision_rows(sets, ranker)
    about = Decider.fitted().about
    about = dataclasses.replace(about, threshold=round(about_threshold(rows, about), 6))
    print(f"about threshold: {about.threshold}", flush=True)
    sure_w, sure_b, sure_t = fit_sure(rows, about)
    decider = Decider(about, model(SURE_FEATURES, sure_w, sure_b, sure_t, sets[0]))
    for name, values in decision_figures(rows + decision_rows(measured, ranker), decider).items():
        print(f"decision {name}: " + "  ".join(f"{k} {v}" for k, v in values.items()), flush=True)
    document = json.loads(FITTED.read_text(encoding="utf-8"))
    fitted_on = dict(document["confidence"]["fitted_on"])
    fitted_on |= {"sets": {s.name: fitted_on["sets"].get(s.name) for s in sets}, "commit": commit()}
    fitted_on |= {"command": "python bench/fit_ranking.py --sure-only --sets " + " ".join(s.name for s in sets)}
    document["gate"]["threshold"] = about.threshold
    document["gate"]["threshold_rule"] = THRESHOLD_RULE
    document["confidence"] |= {
        "weights": list(decider.sure.weights),
        "bias": decider.sure.bias,
        "threshold": decider.sure.threshold,
        "fitted_on": fitted_on,
        "precision_wanted": PRECISION,
    }
    FITTED.write_text(json.dumps(document, indent=2, allow_nan=True) + "\n", encoding="utf-8")
    print(f"wrote {FITTED.relative_to(ROOT)} (confidence)")
    return 0


def main() -> int:
    global PRECISION
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report-only", action="store_true", help="print the figures of what fitted.json holds")
    parser.add_argument("--ablations", action="store_true", help="fit and print every ranker of RANKERS")
    parser.add_argument("--measure", action="store_true", help="also print the measure-only sets (never fitted on)")
    parser.add_argument("--sets", nargs="*", help="fit on these of FIT_SETS only (for a quick look)")
    parser.add_argument("--sure-only", action="store_true", help="refit the sure model alone")
    parser.add_argument("--precision", type=float, default=PRECISION, help="the sure threshold's precision")
    args = parser.parse_args()
    PRECISION = args.precision
    detector = LanguageDetector()
    chosen_sets = [s for s in FIT_SETS if s.available() and (not args.sets or s.name in args.sets)]
    sets = [collect(s, detector) for s in chosen_sets]
    measured = [collect(quality.SETS[name], detector) for name in MEASURE_SETS] if args.measure else []
    current = Ranker.fitted()
    print_ranking("current ranking (hit@1/hit@3)", ranking_figures(sets + measured, current))
    if args.report_only:
        for name, figures in decision_figures(decision_rows(sets + measured, current), Decider.fitted()).items():
            print(f"current decision {name}: {figures}")
        return 0

    settings = dataclasses.replace(Settings(), echo_weight=0.0)
    if args.sure_only:
        return refit_sure(sets, measured, settings, current)
    sets, measured = rerun(sets, settings, current), rerun(measured, settings, current)
    rankers = RANKERS if args.ablations else {CHOSEN: RANKERS[CHOSEN]}
    fitted_rankers = {}
    for label, features in rankers.items():
        ranker = fit_ranker(sets, features) if features else Ranker.of_settings(Settings())
        fitted_rankers[label] = ranker
        print_ranking(label, ranking_figures(sets + measured, ranker))
    ranker = fitted_rankers[CHOSEN]
    print(f"ranker: {dict(zip(ranker.features, ranker.weights, strict=True))}")

    # The ranker's scores enter the decision's features, and the probes' null with them.
    sets, measured = rerun(sets, settings, ranker), rerun(measured, settings, ranker)
    rows = decision_rows(sets, ranker)
    about_w, about_b, _ = fit_about(rows)
    about = model(ABOUT_FEATURES, about_w, about_b, 0.0, sets[0])
    about = dataclasses.replace(about, threshold=round(about_threshold(rows, about), 6))
    sure_w, sure_b, sure_t = fit_sure(rows, about)
    sure = model(SURE_FEATURES, sure_w, sure_b, sure_t, sets[0])
    decider = Decider(about, sure)
    figures = decision_figures(rows + decision_rows(measured, ranker), decider)
    for name, values in figures.items():
        print(f"decision {name}: " + "  ".join(f"{k} {v}" for k, v in values.items()), flush=True)
    fitted_on = {
        "sets": {s.name: [str(p.relative_to(ROOT)) for p in (*s.corpora, *s.questions)] for s in chosen_sets},
        "translations": {s.name: s.translations for s in chosen_sets},
        "commit": commit(),
        "date": dt.date.today().isoformat(),
        "command": "python bench/fit_ranking.py",
    }

    def section(gate: GateModel) -> dict[str, object]:
        return {
            "features": list(gate.features),
            "weights": list(gate.weights),
            "bias": gate.bias,
            "threshold": gate.threshold,
            "calibrated_for": gate.calibrated_for,
            "aligned_with": gate.aligned_with,
            "fitted_on": fitted_on,
        }

    document = {
        "ranking": {
            name: getattr(settings, name)
            for name in (
                "passage_weight",
                "sentence_weight",
                "residual_weight",
                "echo_weight",
                "lexical_weight",
                "coverage_weight",
            )
        }
        | {"features": list(ranker.features), "weights": list(ranker.weights), "fitted_on": fitted_on},
        "gate": section(about)
        | {"threshold_rule": THRESHOLD_RULE, "figures": {n: v for n, v in figures.items() if n not in MEASURE_SETS}},
        "confidence": section(sure) | {"precision_wanted": PRECISION},
    }
    FITTED.write_text(json.dumps(document, indent=2, allow_nan=True) + "\n", encoding="utf-8")
    print(f"wrote {FITTED.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
