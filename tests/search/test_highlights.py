"""Highlights: the answering sentences, as offsets into the original and into the translation shown."""

from __future__ import annotations

import numpy as np
import pytest

from index import Engine
from index.search.alignment import align, counterpart
from index.search.sentences import sentence_spans

# One question per answer language, each answered from passages in other languages (reviewed translations).
QUESTIONS = {
    "en": "How many simultaneous listeners did Musk say the system was tested with?",
    "fr": "Combien d'abonnés Elon Musk a-t-il sur X ?",
    "id": "Apa kata Trump tentang Uni Eropa?",
    "nl": "Wat zei Musk over de oorzaak van de problemen?",
    "de": "Wann hat Musk den Kauf von Twitter abgeschlossen?",
    "es": "¿Qué dijo Trump sobre Corea del Norte?",
}


def body_sentences(text: str, heading_free: str) -> set[tuple[int, int]]:
    """The sentence spans of a passage's body, as offsets into its whole text (heading first)."""
    offset = len(text) - len(heading_free)
    return {(a + offset, b + offset) for a, b in sentence_spans(heading_free)}


@pytest.mark.parametrize("language", sorted(QUESTIONS))
def test_highlights_are_whole_sentences_in_the_original_and_the_translation(engine: Engine, language: str) -> None:
    answer = engine.ask(QUESTIONS[language])
    assert answer.answered and answer.language == language
    for result in answer.results:
        passage = next(
            p
            for p in engine.corpus.passages
            if p.article.id == result.article_id and p.position == result.passage_index
        )
        assert result.highlights, result.text
        sentences = body_sentences(passage.text, passage.original.body)
        for start, end in result.highlights:
            assert 0 <= start < end <= len(result.text)
            assert (start, end) in sentences  # on sentence boundaries, never mid-word
        marked = sum(b - a for a, b in result.highlights)
        if len(sentences) >= 3:
            assert marked < len(result.text), "a multi-sentence passage is never marked whole"
        if result.translation is None:
            assert result.to_json()["translation_highlights"] is None
            continue
        rendition = passage.translations[language]
        assert result.translation == rendition.text
        assert result.translation_highlights, result.translation
        translated = body_sentences(rendition.text, rendition.body)
        assert all(span in translated for span in result.translation_highlights)


def test_a_highlighted_figure_is_found_again_in_the_translation(engine: Engine) -> None:
    """Sentence alignment carries the highlight across languages: the same figure is marked on both sides."""
    answer = engine.ask("How many simultaneous listeners did Musk say the system was tested with?")
    result = next(r for r in answer.results if "8 juta pendengar" in r.text)
    original = " ".join(result.text[a:b] for a, b in result.highlights)
    assert result.translation is not None
    shown = " ".join(result.translation[a:b] for a, b in result.translation_highlights)
    assert "8 juta" in original and "8 million" in shown


def unit(*rows: list[float]) -> np.ndarray:
    vectors = np.array(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_alignment_follows_a_sentence_split_in_two_by_the_translator() -> None:
    source = unit([1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0])
    # The translator split sentence 1 into two sentences, each about half of its meaning.
    target = unit([1, 0, 0, 0.1], [0, 1, 0.2, 0], [0, 1, -0.2, 0], [0, 0, 1, 0])
    beads = align(source, target)
    assert beads == [((0,), (0,)), ((1,), (1, 2)), ((2,), (3,))]
    assert counterpart(beads, {1}) == [1, 2]
    assert counterpart(beads, {3}, reverse=True) == [2]


def test_alignment_keeps_order_and_covers_every_sentence() -> None:
    rng = np.random.default_rng(7)
    for n, m in [(1, 1), (3, 2), (2, 5), (6, 6), (4, 0)]:
        source = unit(*rng.normal(size=(n, 8)).tolist()) if n else np.zeros((0, 8), np.float32)
        target = unit(*rng.normal(size=(m, 8)).tolist()) if m else np.zeros((0, 8), np.float32)
        beads = align(source, target)
        assert [i for s, _ in beads for i in s] == list(range(n))
        assert [j for _, t in beads for j in t] == list(range(m))


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Mr. Musk spoke first. Trump answered him!", ["Mr. Musk spoke first.", "Trump answered him!"]),
        ("« Il y a une attaque. » Musk l'a écrit hier.", ["« Il y a une attaque. »", "Musk l'a écrit hier."]),
        ("J. D. Vance was there. So was Trump.", ["J. D. Vance was there.", "So was Trump."]),
        ("Avril 2022\nMusk entreprend l’achat de Twitter.", ["Avril 2022\nMusk entreprend l’achat de Twitter."]),
        ("Het kostte 2,80 euro. Dat is echt veel.", ["Het kostte 2,80 euro.", "Dat is echt veel."]),
        ("¿Qué pasó con él? Nadie lo sabe.", ["¿Qué pasó con él?", "Nadie lo sabe."]),
        ("They're bad. Not as bad as China.", ["They're bad. Not as bad as China."]),
    ],
)
def test_sentences_split_where_a_reader_would(text: str, sentences: list[str]) -> None:
    assert [text[a:b] for a, b in sentence_spans(text)] == sentences
