"""The ranking stage: the final order of the candidates, a linear model over their evidence.

Each candidate is described by a few numbers (:data:`BASE`): its e5 cosines
with the question (best language version, best sentence, two adjacent
sentences read together), its best sentence's USE cosine, and the share of the
question's vocabulary it holds. Raw cosines mean different things for
different questions, so each also counts relative to the other candidates of
the same question: minus their maximum (``_gap``) and minus their mean
(``_centred``). ``bench/fit_ranking.py`` fits the weights (pointwise logistic
regression on whether a candidate holds the answer) and writes them to
``fitted.json``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .evidence import Evidence
from .settings import Settings, fitted

BASE: dict[str, Callable[[Evidence], np.ndarray]] = {
    "passage": lambda e: e.passage_similarity,
    "sentence": lambda e: e.sentence_evidence,
    "cosine": lambda e: e.sentence_similarity,
    "echo": lambda e: e.sentence_echo if len(e.sentence_echo) else np.zeros(len(e.passages), np.float32),
    "window": lambda e: e.window if len(e.window) else e.sentence_similarity,
    "coverage": lambda e: e.readable * e.coverage,
    "lexical": lambda e: e.lexical,
}
"""Per-candidate evidence, by name."""


def feature_names() -> list[str]:
    """Every feature a ranker may weigh: each of :data:`BASE`, raw and relative."""
    return [f"{name}{suffix}" for name in BASE for suffix in ("", "_gap", "_centred")]


def feature_matrix(evidence: Evidence, names: tuple[str, ...] | list[str]) -> np.ndarray:
    """(candidates, features) values of the named features."""
    columns = []
    cached: dict[str, np.ndarray] = {}
    for name in names:
        base, _, relative = name.partition("_")
        if base not in cached:
            cached[base] = np.asarray(BASE[base](evidence), dtype=np.float64)
        values = cached[base]
        if relative == "gap":
            values = values - values.max(initial=-np.inf) if len(values) else values
        elif relative == "centred":
            values = values - values.mean() if len(values) else values
        elif relative:
            raise ValueError(f"unknown ranking feature {name!r}")
        columns.append(values)
    return np.stack(columns, axis=1) if columns else np.zeros((len(evidence.passages), 0))


@dataclass(frozen=True, slots=True)
class Ranker:
    """A weighted sum of named features; the candidates in descending order of it."""

    features: tuple[str, ...]
    weights: tuple[float, ...]

    @classmethod
    def fitted(cls) -> Ranker:
        """The ranker ``bench/fit_ranking.py`` wrote, or the plain weighted sum of the settings if it wrote none."""
        section = fitted("ranking")
        if "features" in section:
            return cls.from_dict(section)
        return cls.of_settings(Settings())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Ranker:
        known = set(feature_names())
        unknown = [name for name in data["features"] if name not in known]
        if unknown:
            raise ValueError(f"fitted.json names unknown ranking features: {', '.join(unknown)}")
        return cls(tuple(data["features"]), tuple(float(w) for w in data["weights"]))

    @classmethod
    def of_settings(cls, settings: Settings) -> Ranker:
        """The weighted sum the settings describe (passage, sentence, BM25 and readable coverage)."""
        weights = (settings.passage_weight, settings.sentence_weight, settings.lexical_weight, settings.coverage_weight)
        return cls(("passage", "sentence", "lexical", "coverage"), weights)

    def scores(self, evidence: Evidence) -> np.ndarray:
        if not len(evidence.passages):
            return np.zeros(0, dtype=np.float32)
        return (feature_matrix(evidence, self.features) @ np.asarray(self.weights)).astype(np.float32)

    def rank(self, evidence: Evidence) -> Evidence:
        """``evidence`` in order, best first, its ``fused`` the ranker's score."""
        return evidence.ranked(self.scores(evidence))
