"""The sentence splitter on a labelled set in six languages: ordinals, abbreviations, decimals, quotes, initials."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from index.search.sentences import sentence_spans

LABELLED = yaml.safe_load((Path(__file__).resolve().parent.parent / "data" / "sentences.yaml").read_text("utf-8"))


def test_the_labelled_set_covers_six_languages() -> None:
    counts = {lang: sum(item["lang"] == lang for item in LABELLED) for lang in ("en", "fr", "nl", "id", "de", "es")}
    assert all(count >= 8 for count in counts.values()), counts


@pytest.mark.parametrize(
    "sentences",
    [
        pytest.param(item["sentences"], marks=pytest.mark.xfail(strict=True, reason=item["known_miss"]))
        if "known_miss" in item
        else item["sentences"]
        for item in LABELLED
    ],
    ids=[item["sentences"][0][:40] for item in LABELLED],
)
def test_each_labelled_text_splits_into_its_sentences(sentences: list[str]) -> None:
    text = " ".join(sentences)
    assert [text[start:end] for start, end in sentence_spans(text)] == sentences


def test_known_misses_are_few() -> None:
    assert sum("known_miss" in item for item in LABELLED) <= 0.05 * len(LABELLED)


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("Ab dem 1. März gilt die Regel für alle Plattformen. X muss sich daran halten.", "Ab dem 1. März"),
        ("The talks were held on Aug. 12 in Florida at last. Nobody came to see it.", "The talks were held on Aug. 12"),
        ("Er kam am 6. Januar 2021 nach Berlin zurück. Dann ging er.", "Er kam am 6. Januar 2021"),
    ],
)
def test_an_ordinal_or_a_month_abbreviation_does_not_end_a_sentence(text: str, first: str) -> None:
    start, end = sentence_spans(text)[0]
    assert text[start:end].startswith(first) and len(sentence_spans(text)) == 2


def test_etc_before_a_sentence_opening_word_ends_the_sentence_and_initials_do_not() -> None:
    text = "Il cite la Commission, la Cour, etc. Ce n'est pas nouveau du tout. J. D. Vance était absent ce soir-là."
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Il cite la Commission, la Cour, etc.",
        "Ce n'est pas nouveau du tout.",
        "J. D. Vance était absent ce soir-là.",
    ]
