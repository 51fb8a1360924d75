"""The answer gate: whether the coverage answers a question at all, or the bot should say it does not.

A refusal that hides an answer costs the reader more than a quote that is
related but does not answer (the quote is verbatim and attributed, so the
reader sees what it says). So the gate is fitted with refusing an answerable
question costing twice a wrong answer, and its threshold refuses at most 3 %
of the answerable questions of every corpus it was fitted on.

Raw cosines mean different things on different corpora: a question asked in
the language of the coverage (or of its translations) scores higher against
everything, and e5 scores same-language pairs higher than cross-language
ones. So every feature is relative:

* to **the corpus at large, per language**: the leading sentence's cosine
  minus the question's mean cosine with sentences drawn from the originals in
  that sentence's language (e5, and USE for its echo), and minus the mean
  over every candidate's sentences;
* to **probes**: at build time the engine asks the questions of
  ``probes.yaml``, eight per language that no news corpus of ours is about, and
  keeps the mean evidence they get in each language (:class:`Null`). A
  question's evidence counts by how far it stands above what "not about this
  corpus" looks like here, in its own language;
* the share of the question's vocabulary the leading passage contains,
  weighed by how much of the corpus can be read in the question's language
  (only there does shared vocabulary say much).

The weights and threshold live in ``fitted.json`` (section ``gate``), written
by ``bench/fit_ranking.py``, which names the corpora and the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .evidence import Evidence
from .settings import fitted

PROBES = Path(__file__).with_name("probes.yaml")
POOLED = "*"
"""The null of every probe language together, for a question in a language with no probes."""

RAW_FEATURES = (
    "passage",
    "sentence",
    "over_language",
    "over_candidates",
    "echo_over_language",
    "coverage",
    "readable",
    "score",
    "score_margin",
    "score_over_mean",
    "echo",
    "echo_margin",
)
"""What :func:`raw_features` measures of the leading candidate."""

Raw = Mapping[str, float]

FEATURES: dict[str, Callable[[Raw, Raw], float]] = {
    "passage_over_probes": lambda raw, null: raw["passage"] - null["passage"],
    "language_margin_over_probes": lambda raw, null: raw["over_language"] - null["over_language"],
    "candidate_margin_over_probes": lambda raw, null: raw["over_candidates"] - null["over_candidates"],
    "echo_margin_over_probes": lambda raw, null: raw["echo_over_language"] - null["echo_over_language"],
    "readable_coverage": lambda raw, null: raw["readable"] * raw["coverage"],
    "readable": lambda raw, null: raw["readable"],
    "readable_x_passage_over_probes": lambda raw, null: raw["readable"] * (raw["passage"] - null["passage"]),
    "readable_x_sentence_over_probes": lambda raw, null: raw["readable"] * (raw["sentence"] - null["sentence"]),
    "score_over_probes": lambda raw, null: raw["score"] - null["score"],
    "score_margin": lambda raw, null: raw["score_margin"],
    "score_over_mean": lambda raw, null: raw["score_over_mean"],
    "echo_over_probes": lambda raw, null: raw["echo"] - null["echo"],
    "echo_margin": lambda raw, null: raw["echo_margin"],
    "sentence_over_probes": lambda raw, null: raw["sentence"] - null["sentence"],
}
"""The gate's vocabulary: each feature from the raw evidence and the probes' mean raw evidence."""


def feature_values(names: tuple[str, ...], raw: Raw, null: Raw) -> np.ndarray:
    """The named :data:`FEATURES` of raw evidence against the probes' null, in order."""
    return np.array([FEATURES[name](raw, null) for name in names], dtype=np.float64)


def probe_questions() -> dict[str, list[str]]:
    """The probe questions, by language."""
    loaded: dict[str, list[str]] = yaml.safe_load(PROBES.read_text(encoding="utf-8"))
    return loaded


@dataclass(frozen=True)
class Background:
    """Per language, sentences of the corpus's originals in it (both encoders), drawn once at random."""

    vectors: Mapping[str, np.ndarray]
    echoes: Mapping[str, np.ndarray]

    @classmethod
    def drawn(
        cls, vectors: np.ndarray, echoes: np.ndarray, languages: np.ndarray, per_language: int, seed: int = 0
    ) -> Background:
        """At most ``per_language`` sentences of each language, and as many of all of them pooled."""
        rng = np.random.default_rng(seed)
        chosen: dict[str, np.ndarray] = {}
        for language in [POOLED, *sorted(set(languages.tolist()))]:
            rows = np.arange(len(languages)) if language == POOLED else np.flatnonzero(languages == language)
            if len(rows):
                chosen[language] = np.sort(rng.choice(rows, size=min(per_language, len(rows)), replace=False))
        return cls(
            {language: np.asarray(vectors[rows]) for language, rows in chosen.items()},
            {language: np.asarray(echoes[rows]) for language, rows in chosen.items()},
        )

    def margin(self, score: float, query: np.ndarray, language: str, *, echo: bool = False) -> float:
        """``score`` minus the query's mean cosine with the background sentences of ``language``."""
        table = self.echoes if echo else self.vectors
        rows = table.get(language, table.get(POOLED))
        if rows is None or not len(rows):
            return score
        return score - float(np.mean(rows @ query))


def raw_features(evidence: Evidence, language: str, background: Background, echo_query: np.ndarray) -> dict[str, float]:
    """The leading candidate's evidence (``evidence`` ranked; ``language``: its original's language)."""
    passage = float(evidence.passage_similarity[0])
    sentence = float(evidence.sentence_similarity[0])
    rows = evidence.rows_of(0)
    echo = float(np.max(evidence.sentence_echoes[rows] @ echo_query)) if len(rows) else 0.0
    candidates = float(np.mean(evidence.sentence_cosines)) if len(evidence.sentence_cosines) else sentence
    fused = evidence.fused
    score = float(fused[0]) if len(fused) else 0.0
    second = float(fused[1]) if len(fused) > 1 else score
    echoes = evidence.sentence_echo
    top_echo = float(echoes[0]) if len(echoes) else 0.0
    return {
        "score": score,
        "score_margin": score - second,
        "score_over_mean": score - float(np.mean(fused)) if len(fused) else 0.0,
        "echo": top_echo,
        "echo_margin": top_echo - float(np.max(echoes[1:])) if len(echoes) > 1 else 0.0,
        "passage": passage,
        "sentence": sentence,
        "over_language": background.margin(sentence, evidence.question, language),
        "over_candidates": sentence - candidates,
        "echo_over_language": background.margin(echo, echo_query, language, echo=True),
        "coverage": float(evidence.coverage[0]),
        "readable": float(evidence.readable),
    }


@dataclass(frozen=True)
class Null:
    """Per question language, the mean raw evidence the probe questions got on this corpus."""

    means: Mapping[str, Raw]

    @classmethod
    def of(cls, probes: Mapping[str, list[dict[str, float]]]) -> Null:
        """From each language's probes' raw features; the pooled mean covers languages without probes."""
        pooled = [raw for found in probes.values() for raw in found]
        means: dict[str, Raw] = {}
        for language, found in [*probes.items(), (POOLED, pooled)]:
            if found:
                means[language] = {name: float(np.mean([raw[name] for raw in found])) for name in RAW_FEATURES}
        return cls(means)

    def get(self, language: str) -> Raw:
        return self.means.get(language) or self.means[POOLED]


@dataclass(frozen=True)
class GateModel:
    """A logistic model over :data:`FEATURES`, and the logit at or above which the coverage answers."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    calibrated_for: str
    """The embedder (name prefix) it was fitted with: with another, the engine answers on shared vocabulary."""
    aligned_with: str
    """The aligner (name prefix) whose sentence echoes it was fitted on; likewise."""
    fitted_on: Mapping[str, Any]

    @classmethod
    def fitted(cls) -> GateModel:
        """The model ``bench/fit_ranking.py`` wrote to ``fitted.json``."""
        return cls.from_dict(fitted("gate"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateModel:
        unknown = set(data["features"]) - FEATURES.keys()
        if unknown:
            raise ValueError(f"fitted.json names unknown gate features: {', '.join(sorted(unknown))}")
        return cls(
            features=tuple(data["features"]),
            weights=tuple(float(w) for w in data["weights"]),
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
            calibrated_for=str(data["calibrated_for"]),
            aligned_with=str(data.get("aligned_with", "")),
            fitted_on=dict(data.get("fitted_on", {})),
        )

    def fits(self, embedder: str, aligner: str) -> bool:
        """Whether the model was fitted with encoders of these names."""
        return (
            bool(self.features) and embedder.startswith(self.calibrated_for) and aligner.startswith(self.aligned_with)
        )

    def logit(self, raw: Raw, null: Raw) -> float:
        return self.bias + float(np.dot(self.weights, feature_values(self.features, raw, null)))

    def answers(self, raw: Raw, null: Raw) -> bool:
        return self.logit(raw, null) >= self.threshold
