"""The engine's tuning knobs, in one place both the engine and the evidence can reach.

The ranking weights are not chosen here: ``bench/fit_ranking.py`` fits them,
with the answer gate (:mod:`index.search.gate`), and writes both to
``fitted.json`` beside this module, naming the corpora and the commit it
fitted them on. The defaults below are read from that file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

FITTED = Path(__file__).with_name("fitted.json")


def fitted(section: str) -> dict[str, Any]:
    """One section of the fitted data file (``ranking`` or ``gate``)."""
    return dict(_fitted_document()[section])


@cache
def _fitted_document() -> dict[str, Any]:
    """The fitted data file, read once per process (every engine build asks for the gate)."""
    data: dict[str, Any] = json.loads(FITTED.read_text(encoding="utf-8"))
    return data


_RANKING = fitted("ranking")


@dataclass(frozen=True, slots=True)
class Settings:
    """Tuning knobs; the weights default to what ``bench/fit_ranking.py`` fitted on our own calibration corpora."""

    candidates: int = 50
    """How deep each ranking goes before the evidence is weighed."""
    embed_translations: bool = True
    """Embed translations too, not just originals: a passage counts by its best language version."""
    passage_weight: float = float(_RANKING["passage_weight"])
    sentence_weight: float = float(_RANKING["sentence_weight"])
    residual_weight: float = float(_RANKING["residual_weight"])
    """How much a sentence counts for what it says beyond its article's common theme (see ``evidence``)."""
    echo_weight: float = float(_RANKING.get("echo_weight", 0.0))
    """How much a sentence's USE cosine adds to its e5 cosine when finding a passage's answering sentence."""
    lexical_weight: float = float(_RANKING["lexical_weight"])
    """BM25, relative to this question's best (fitted to nothing: coverage does its work better)."""
    coverage_weight: float = float(_RANKING["coverage_weight"])
    background_sentences: int = 256
    """How many sentences of each language's originals, drawn once at random, stand for "the corpus at large"."""
    corroboration_similarity: float = 0.6
    """A sentence this close (USE cosine) to another article's answering sentence reports the same thing:
    on the calibration corpus, pairs above it were the same fact in two outlets, pairs below mostly not."""
    more_results: int = 9
