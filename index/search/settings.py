"""The engine's tuning knobs, in one place both the engine and the evidence can reach."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Settings:
    """Tuning knobs; the weights are fitted by ``bench/fit_ranking.py`` on our own calibration corpora."""

    candidates: int = 50
    """How deep each ranking goes before the evidence is weighed."""
    embed_translations: bool = True
    """Embed translations too, not just originals: a passage counts by its best language version."""
    passage_weight: float = 0.5
    sentence_weight: float = 1.5
    lexical_weight: float = 0.0
    """BM25, relative to this question's best (fitted to nothing: coverage does its work better)."""
    coverage_weight: float = 0.2
    answer_bias: float = -33.7523
    answer_weights: tuple[float, ...] = (42.1856, -2.9898, 0.5018, 0.3207, -1.1398, 4.4481, -0.9664)
    """Logistic weights of :func:`index.search.evidence.answer_features`; empty means always answer."""
    min_answer_probability: float = 0.4298
    calibrated_for: str = "e5-small-"
    """The embedder (name prefix) the abstention model was fitted with. With any other, the coverage
    answers when the leading passages share vocabulary with the question, as a plain search would."""
    background_sentences: int = 256
    """How many sentences of the corpus, drawn once at random, stand for "the corpus at large"."""
    corroboration_similarity: float = 0.6
    """A sentence this close (USE cosine) to another article's answering sentence reports the same thing:
    on the calibration corpus, pairs above it were the same fact in two outlets, pairs below mostly not."""
    more_results: int = 9
