#!/usr/bin/env python3
"""Compare question-language detectors on labelled short questions.

Usage: python bench/language_detection.py [QUESTIONS.yaml ...]

By default it reads tests/data/calibration.yaml and, when present,
../shared/eval/questions.yaml. It scores our detector (py3langid restricted
to the six answer languages), plain py3langid over all its languages, and
langdetect (if installed: pip install langdetect), and prints accuracy and
time per question.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index import SUPPORTED, LanguageDetector  # noqa: E402


def load(paths: list[Path]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for path in paths:
        pairs += [(q["q"], q["lang"]) for q in yaml.safe_load(path.read_text(encoding="utf-8"))]
    return pairs


def main() -> int:
    defaults = [ROOT / "tests/data/calibration.yaml", ROOT.parent / "shared/eval/questions.yaml"]
    paths = [Path(p) for p in sys.argv[1:]] or [p for p in defaults if p.exists()]
    questions = load(paths)
    ours = LanguageDetector()
    detectors = {
        "py3langid restricted to en/fr/id/nl/de/es (ours)": lambda q: ours.detect(q).language,
        "py3langid, all 97 languages": lambda q: ours._open.classify(q)[0],
    }
    try:
        from langdetect import DetectorFactory, detect_langs

        DetectorFactory.seed = 0

        def langdetect_supported(q: str) -> str:
            for candidate in detect_langs(q):
                if candidate.lang in SUPPORTED:
                    return str(candidate.lang)
            return "??"

        detectors["langdetect (first supported candidate)"] = langdetect_supported
    except ImportError:
        print("(langdetect not installed: pip install langdetect to compare it)")
    print(f"{len(questions)} labelled questions from {', '.join(p.name for p in paths)}")
    for name, detect in detectors.items():
        started = time.perf_counter()
        wrong = [(q, lang, detect(q)) for q, lang in questions if detect(q) != lang]
        per = (time.perf_counter() - started) / len(questions) * 1000 / 2
        print(f"  {name}: {len(questions) - len(wrong)}/{len(questions)} correct, {per:.2f} ms per question")
        for q, lang, got in wrong:
            print(f"      {lang} -> {got}: {q}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
