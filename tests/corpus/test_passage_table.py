"""The corpus keeps its passages compactly: every passage comes back exactly as it went in, held or spilled."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from types import MappingProxyType

import pytest

from index import Article, Corpus, Passage, Rendition
from index.corpus.model import PassageTable


def article(number: int, language: str = "fr") -> Article:
    return Article(
        id=f"a{number}",
        title=f"Title {number}",
        source="Source",
        url=f"https://example.org/{number}",
        published=dt.date(2024, 8, 13),
        language=language,
        note="",
        path=Path(f"a{number}.md"),
    )


def tricky_passages() -> tuple[Passage, ...]:
    """Headings absent and empty, every method, translations in no sorted order, text beyond Latin-1 and the BMP."""
    first, second = article(1), article(2, "id")
    return (
        Passage(first, 0, Rendition("fr", "Le Space a été « retardé » de 42 minutes."), MappingProxyType({})),
        Passage(
            first,
            1,
            Rendition("fr", "Un paragraphe.\nSur deux lignes.", heading="Sous-titre"),
            MappingProxyType(
                {
                    "nl": Rendition("nl", "Een alinea.", heading="Tussenkop", method="reviewed"),
                    "en": Rendition("en", "A paragraph 🚀 “quoted”.", method="machine"),
                }
            ),
        ),
        Passage(second, 0, Rendition("id", "", heading=""), MappingProxyType({"de": Rendition("de", "Ä", None, "x")})),
        Passage(second, 1, Rendition("id", "Lone \udc80 surrogate"), MappingProxyType({})),
    )


def test_every_passage_comes_back_exactly() -> None:
    passages = tricky_passages()
    table = PassageTable(passages)
    assert len(table) == len(passages)
    for made, original in zip(table, passages, strict=True):
        assert made == original
        assert list(made.translations) == list(original.translations)  # insertion order kept, not sorted
        assert made.original.heading == original.original.heading  # None and "" stay apart
    assert table == passages and passages == table
    assert table[-1] == passages[-1] and table[1:3] == passages[1:3]
    assert table[1].article is passages[1].article  # articles are shared, never copied
    with pytest.raises(IndexError):
        table[len(passages)]


def test_a_passage_looked_up_again_is_the_same_object() -> None:
    table = PassageTable(tricky_passages())
    assert table[1] is table[1]


def test_a_corpus_keeps_its_passages_in_a_table(bundled: Corpus) -> None:
    objects = tuple(bundled.passages)
    corpus = Corpus(bundled.root, bundled.articles, objects, bundled.digest, bundled.article_digests)
    assert isinstance(corpus.passages, PassageTable)
    assert corpus == bundled
    assert corpus.languages() == sorted({r.language for p in objects for r in p.renditions()})
    assert corpus.translation_counts() == bundled.translation_counts()


def held_as_objects(passages: tuple[Passage, ...]) -> int:
    """Bytes of the passages as objects: each passage, its translations mapping, renditions and their strings."""
    total = 0
    for p in passages:
        total += sys.getsizeof(p) + sys.getsizeof(p.translations) + sys.getsizeof(dict(p.translations))
        for r in p.renditions():
            total += sys.getsizeof(r) + sys.getsizeof(r.body) + (sys.getsizeof(r.heading) if r.heading else 0)
    return total


def test_the_table_is_smaller_than_the_objects(bundled: Corpus) -> None:
    # The bundled passages are long and translated six ways: text dominates, and still the table saves a third.
    assert isinstance(bundled.passages, PassageTable)
    assert bundled.passages.nbytes < 0.67 * held_as_objects(tuple(bundled.passages))
    short = tuple(Passage(article(1), i, Rendition("fr", f"Phrase {i} : 42 minutes."), {}) for i in range(100))
    assert PassageTable(short).nbytes < 0.25 * held_as_objects(short)


def test_spilled_texts_read_back_the_same(tmp_path: Path) -> None:
    passages = tricky_passages()
    table = PassageTable(passages)
    held = table.nbytes
    table.spill(tmp_path)
    assert table.spilled and table.nbytes == held - table.text_bytes
    assert not list(tmp_path.iterdir())  # the file has no name: it goes with the table
    table._recent.clear()  # made again from the file, not remembered
    assert tuple(table) == passages and table[1] == passages[1]
    table.spill(tmp_path)  # twice is once
    assert tuple(table) == passages
