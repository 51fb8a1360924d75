"""Which sentences of a translation say what each sentence of its original says.

Translations are aligned with their article by paragraph, not by sentence: a
translator may split one long sentence in two or join two short ones. Given
cross-lingual sentence vectors of a passage and of its translation, this finds
the monotone alignment (sentences keep their order) that maximises similarity,
in "beads" of 1–1, 1–2, 2–1 sentences, the way Gale and Church aligned bitexts
by length, here by meaning. A highlighted sentence is carried across by its
bead.
"""

from __future__ import annotations

from typing import Final

import numpy as np

# Beads (source sentences, target sentences) and what each costs besides its similarity.
_BEADS: Final = ((1, 1, 0.0), (1, 2, 0.15), (2, 1, 0.15), (1, 0, 0.5), (0, 1, 0.5))
_Bead = tuple[tuple[int, ...], tuple[int, ...]]


def align(source: np.ndarray, target: np.ndarray) -> list[_Bead]:
    """Beads of source and target sentence numbers covering both, in order; rows are unit vectors."""
    n, m = len(source), len(target)
    if n == 0 or m == 0:
        return [((*range(n),), (*range(m),))] if n or m else []
    best = np.full((n + 1, m + 1), -np.inf)
    best[0, 0] = 0.0
    back: dict[tuple[int, int], tuple[int, int]] = {}
    for i in range(n + 1):
        for j in range(m + 1):
            if i == j == 0:
                continue
            for a, b, cost in _BEADS:
                if a > i or b > j or best[i - a, j - b] == -np.inf:
                    continue
                gain = _similarity(source[i - a : i], target[j - b : j]) - cost if a and b else -cost
                if best[i - a, j - b] + gain > best[i, j]:
                    best[i, j] = best[i - a, j - b] + gain
                    back[i, j] = (a, b)
    beads: list[_Bead] = []
    i, j = n, m
    while i or j:
        a, b = back[i, j]
        beads.append(((*range(i - a, i),), (*range(j - b, j),)))
        i, j = i - a, j - b
    return beads[::-1]


def counterpart(beads: list[_Bead], marked: set[int], *, reverse: bool = False) -> list[int]:
    """The sentence numbers on the other side of the beads holding the ``marked`` ones."""
    found: set[int] = set()
    for source, target in beads:
        here, there = (target, source) if reverse else (source, target)
        if marked.intersection(here):
            found.update(there)
    return sorted(found)


def _similarity(source: np.ndarray, target: np.ndarray) -> float:
    left, right = source.sum(axis=0), target.sum(axis=0)
    norm = float(np.linalg.norm(left) * np.linalg.norm(right))
    return float(left @ right) / norm if norm else 0.0
