"""The decision stage: how sure the engine is that the ranked evidence answers the question.

Three outcomes (:data:`index.search.answer.Confidence`):

* ``none``: nothing in the coverage is about the question. The *about* model
  (:class:`index.search.gate.GateModel`, fitted on answerable against off-topic
  questions) is below its threshold, set so that at most 1 % of the answerable
  questions of every set it was fitted on fall there. Only this hides passages.
* ``answer``: the *sure* model, fitted on whether the leading three results hold
  the answer, is at or above its threshold (set for precision on the fitted
  sets, see ``bench/fit_ranking.py``).
* ``closest``: between the two: the coverage is about this, but the engine is
  not sure these passages answer it; they are shown under a hedge.

Every feature is relative (to the corpus at large, to probe questions, to the
other candidates): see :mod:`index.search.gate`. With an encoder the models
were not fitted for (the tests' hashing stand-in), the coverage answers when
the leading passages share vocabulary with the question, as a plain search
would, and refuses otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .answer import Confidence
from .evidence import Evidence
from .gate import Background, GateModel, Null, Raw, raw_features
from .settings import fitted


@dataclass(frozen=True, slots=True)
class Decision:
    """The engine's confidence, and the two logits it came from (NaN when not measured)."""

    confidence: Confidence
    about: float = float("nan")
    sure: float = float("nan")

    @property
    def answered(self) -> bool:
        return self.confidence != "none"

    @property
    def hedged(self) -> bool:
        return self.confidence == "closest"


@dataclass(frozen=True, slots=True)
class Decider:
    """The about and sure models."""

    about: GateModel
    sure: GateModel

    @classmethod
    def fitted(cls) -> Decider:
        """The models ``bench/fit_ranking.py`` wrote (``gate`` is the about model; ``confidence`` the sure one)."""
        return cls.from_dict(fitted("gate"), _section("confidence"))

    @classmethod
    def from_dict(cls, about: Mapping[str, Any], sure: Mapping[str, Any] | None) -> Decider:
        gate = GateModel.from_dict(about)
        # Without a sure model every answer the gate lets through is claimed, as before confidence existed.
        return cls(gate, GateModel.from_dict(sure) if sure else _always(gate))

    def fits(self, embedder: str, aligner: str) -> bool:
        return self.about.fits(embedder, aligner)

    def decide(self, raw: Raw, null: Raw) -> Decision:
        """The confidence for measured evidence ``raw`` against the probes' ``null`` in the question's language."""
        about = self.about.logit(raw, null)
        sure = self.sure.logit(raw, null)
        if about < self.about.threshold:
            return Decision("none", about, sure)
        return Decision("answer" if sure >= self.sure.threshold else "closest", about, sure)


def decide(
    evidence: Evidence,
    *,
    decider: Decider,
    null: Null | None,
    language: str,
    leading_language: str,
    background: Background,
    echo: np.ndarray,
) -> Decision:
    """The decision on ranked ``evidence`` for a question in ``language`` (``null`` None: not calibrated)."""
    if null is None:
        shares = bool(len(evidence.coverage) and np.max(evidence.coverage[:5]) > 0)
        return Decision("answer" if shares else "none")
    return decider.decide(raw_features(evidence, leading_language, background, echo), null.get(language))


def _section(name: str) -> dict[str, Any] | None:
    try:
        return fitted(name)
    except KeyError:
        return None


def _always(gate: GateModel) -> GateModel:
    """A sure model that is always sure."""
    return GateModel((), (), 1.0, 0.0, gate.calibrated_for, gate.aligned_with, {})
