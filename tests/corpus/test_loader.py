"""The bundled corpus: faithful to the seeds, aligned translations, and a loader that rejects bad files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from corpus import BUNDLED
from index import SUPPORTED, Corpus, CorpusError, LanguageDetector, load_corpus
from index.corpus import loader
from index.corpus.frontmatter import read_document

from ..conftest import DATA

SEEDS = DATA / "seeds"
FURNITURE = re.compile(r"^(PHOTO |Foto oleh |- Partager l'article|En savoir plus$)")


def seed_lines(path: Path) -> list[str]:
    """Every line of a seed that is not page furniture (photo credits and the caption after them)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    kept: list[str] = []
    skip_caption = False
    for line in lines:
        if skip_caption:
            skip_caption = False
            continue
        if line.startswith("PHOTO "):
            skip_caption = True
            continue
        if FURNITURE.match(line) or not line.strip():
            continue
        kept.append(line)
    return kept


def test_bundled_corpus_is_valid(bundled: Corpus) -> None:
    assert len(bundled.articles) == 4
    assert {a.language for a in bundled.articles} == {"fr", "id", "nl"}
    assert len(bundled.passages) > 80


def test_front_matter_follows_the_sources_file(bundled: Corpus) -> None:
    sources = {s["title"]: s for s in yaml.safe_load((SEEDS / "sources.yaml").read_text(encoding="utf-8"))}
    for article in bundled.articles:
        source = sources[article.title]
        assert article.source == source["source"]
        assert article.url == (source["url"] or "")
        assert article.published == source["published"]
        assert article.language == source["language"]


@pytest.mark.parametrize("seed", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.stem)
def test_every_seed_line_appears_verbatim(bundled: Corpus, seed: Path) -> None:
    sources = {s["seed"]: s for s in yaml.safe_load((SEEDS / "sources.yaml").read_text(encoding="utf-8"))}
    article = next(a for a in bundled.articles if a.title == sources[seed.name]["title"])
    text = article.path.read_text(encoding="utf-8")
    # A heading glued to its paragraph ("européennePeu") is split where a
    # lowercase letter runs straight into a capital; each piece must be there.
    glue = re.compile(r"(?<=[a-zà-ÿ])(?=[A-ZÀ-Ý][a-zà-ÿ])")
    missing = [line for line in seed_lines(seed) if not all(part in text for part in glue.split(line))]
    assert missing == []


def test_page_furniture_is_gone(bundled: Corpus) -> None:
    for passage in bundled.passages:
        assert not FURNITURE.match(passage.text), passage.key
        assert "Partager l'article" not in passage.text
    assert not any(p.text.startswith("Kim Jong-un et Donald Trump") for p in bundled.passages)


def test_glued_heading_is_split_and_timeline_keeps_dates(bundled: Corpus) -> None:
    presse = [p for p in bundled.passages if p.article.id == "lapresse-trump-recu-en-ami"]
    warned = next(p for p in presse if "avait mis Elon Musk en garde" in p.text)
    assert warned.original.heading == "Mise en garde européenne"
    assert warned.original.body.startswith("Peu avant l’entrevue")
    timeline = next(p for p in presse if "devient officiellement X" in p.text)
    assert timeline.original.body.splitlines()[0] == "Juillet 2023"


def test_twenty_translations_into_the_other_languages(bundled: Corpus) -> None:
    for article in bundled.articles:
        passage = next(p for p in bundled.passages if p.article.id == article.id)
        assert set(passage.translations) == set(SUPPORTED) - {article.language}
        assert all(t.method == "reviewed" for t in passage.translations.values())


def test_translations_are_aligned_block_for_block(bundled: Corpus) -> None:
    for article in bundled.articles:
        original = read_document(article.path, [])
        assert original is not None
        for path in sorted((BUNDLED / "translations" / article.id).glob("*.md")):
            translated = read_document(path, [])
            assert translated is not None
            assert [b.is_heading for b in translated.blocks] == [b.is_heading for b in original.blocks], path
            assert [b.text.count("\n") for b in translated.blocks] == [b.text.count("\n") for b in original.blocks]


def test_translations_are_not_the_original_pasted(bundled: Corpus) -> None:
    for passage in bundled.passages:
        for translation in passage.translations.values():
            if len(passage.original.body) > 40:
                assert translation.body != passage.original.body, passage.key


def test_language_identifier_agrees_with_declared_languages(detector: LanguageDetector) -> None:
    for path in sorted((BUNDLED / "translations").glob("*/*.md")) + sorted((BUNDLED / "articles").glob("*.md")):
        doc = read_document(path, [])
        assert doc is not None
        body = "\n".join(b.text for b in doc.blocks)
        assert detector.classify(body)[0] == doc.meta["language"], path


# --- the loader rejects bad files ---------------------------------------------------------------

ARTICLE = "lapresse-trump-recu-en-ami"


def _problems(root: Path) -> list[str]:
    with pytest.raises(CorpusError) as caught:
        load_corpus(root)
    return [str(p) for p in caught.value.problems]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_missing_and_unknown_fields(corpus_copy: Path) -> None:
    path = corpus_copy / "articles" / f"{ARTICLE}.md"
    _edit(path, 'source: "La Presse"\n', 'publisher: "La Presse"\n')
    problems = _problems(corpus_copy)
    assert any(f"{ARTICLE}.md:1: missing front-matter field 'source'" in p for p in problems)
    assert any(f"{ARTICLE}.md:4: unknown front-matter field 'publisher'" in p for p in problems)


def test_bad_date_and_language(corpus_copy: Path) -> None:
    path = corpus_copy / "articles" / f"{ARTICLE}.md"
    _edit(path, "published: 2024-08-13", "published: 2024-13-45")
    _edit(path, "language: fr", "language: french")
    problems = _problems(corpus_copy)
    assert any(f"{ARTICLE}.md:6: published" in p and "not an ISO date" in p for p in problems)
    assert any(f"{ARTICLE}.md:7: language 'french' is not an ISO 639-1 code" in p for p in problems)


def test_id_must_match_file_name(corpus_copy: Path) -> None:
    _edit(corpus_copy / "articles" / f"{ARTICLE}.md", f"id: {ARTICLE}", "id: another-id")
    assert any(f"{ARTICLE}.md:2: id 'another-id' does not match the file name" in p for p in _problems(corpus_copy))


def test_duplicate_ids(corpus_copy: Path) -> None:
    (corpus_copy / "articles" / "2024").mkdir()
    shutil.copy(corpus_copy / "articles" / f"{ARTICLE}.md", corpus_copy / "articles" / "2024" / f"{ARTICLE}.md")
    duplicates = [p for p in _problems(corpus_copy) if f"duplicate id '{ARTICLE}'" in p]
    assert len(duplicates) == 1
    assert f"{ARTICLE}.md:2:" in duplicates[0] and f"2024/{ARTICLE}.md" in duplicates[0]


def test_misaligned_translation(corpus_copy: Path) -> None:
    path = corpus_copy / "translations" / ARTICLE / "en.md"
    text = path.read_text(encoding="utf-8")
    paragraphs = text.split("\n\n")
    path.write_text("\n\n".join(paragraphs[:3] + paragraphs[4:]), encoding="utf-8")
    problems = _problems(corpus_copy)
    assert any(f"translations/{ARTICLE}/en.md:" in p and "not aligned with" in p for p in problems)


def test_translation_into_the_articles_own_language(corpus_copy: Path) -> None:
    english = corpus_copy / "translations" / ARTICLE / "en.md"
    french = english.with_name("fr.md")
    english.rename(french)
    _edit(french, "language: en", "language: fr")
    assert any("fr.md:2: a translation into the article's own language (fr)" in p for p in _problems(corpus_copy))


def test_file_that_is_not_utf8(corpus_copy: Path) -> None:
    path = corpus_copy / "articles" / f"{ARTICLE}.md"
    data = path.read_bytes().replace(b"Kamala", b"K\xe9mala", 1)
    path.write_bytes(data)
    line = data[: data.index(b"K\xe9mala")].count(b"\n") + 1
    assert any(f"{ARTICLE}.md:{line}: is not valid UTF-8" in p for p in _problems(corpus_copy))


def test_empty_article(corpus_copy: Path) -> None:
    path = corpus_copy / "articles" / f"{ARTICLE}.md"
    head, _, _ = path.read_text(encoding="utf-8").partition("\n---\n")
    path.write_text(head + "\n---\n\n", encoding="utf-8")
    assert any(f"{ARTICLE}.md:" in p and "the article is empty" in p for p in _problems(corpus_copy))


def test_stray_files(corpus_copy: Path) -> None:
    (corpus_copy / "notes.txt").write_text("todo", encoding="utf-8")
    (corpus_copy / "articles" / "draft.txt").write_text("x", encoding="utf-8")
    (corpus_copy / "translations" / "no-such-article").mkdir()
    (corpus_copy / "translations" / "no-such-article" / "en.md").write_text("---\n---\n", encoding="utf-8")
    problems = _problems(corpus_copy)
    assert any("notes.txt: stray file" in p for p in problems)
    assert any("draft.txt: stray file" in p for p in problems)
    assert any("no-such-article/en.md: stray file: no article has the id" in p for p in problems)


def test_broken_yaml_reports_its_line(corpus_copy: Path) -> None:
    _edit(corpus_copy / "articles" / f"{ARTICLE}.md", "language: fr\n", "language: [fr\n")
    assert any(f"{ARTICLE}.md:" in p and "not valid YAML" in p for p in _problems(corpus_copy))


def test_every_problem_is_reported_at_once(corpus_copy: Path) -> None:
    _edit(corpus_copy / "articles" / f"{ARTICLE}.md", "language: fr", "language: xx")
    (corpus_copy / "stray.md").write_text("x", encoding="utf-8")
    assert len(_problems(corpus_copy)) >= 2


def test_a_subheading_directly_above_its_paragraph_keeps_every_paragraph(tmp_path: Path) -> None:
    """ "## Heading" with its paragraph on the next line (no blank line) is still heading + paragraph."""
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "glued.md").write_text(
        '---\nid: glued\ntitle: "T"\nsource: "S"\nurl: ""\nnote: "test"\npublished: 2024-08-13\nlanguage: en\n---\n'
        "First paragraph.\n\n## A subheading\nSecond paragraph, right under it.\n\nThird paragraph.\n",
        encoding="utf-8",
    )
    passages = load_corpus(tmp_path).passages
    assert [p.original.body for p in passages] == [
        "First paragraph.",
        "Second paragraph, right under it.",
        "Third paragraph.",
    ]
    assert [p.original.heading for p in passages] == [None, "A subheading", None]


def test_a_load_given_the_previous_corpus_reads_only_changed_files_and_equals_a_full_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "corpus"
    shutil.copytree(BUNDLED, root, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    first = load_corpus(root)
    edited = first.articles[0].path
    edited.write_text(edited.read_text(encoding="utf-8").rstrip() + " Edited since.\n", encoding="utf-8")
    (root / "articles" / first.articles[1].path.name).unlink()
    shutil.rmtree(root / "translations" / first.articles[1].id, ignore_errors=True)
    read: list[Path] = []
    real = loader.read_document
    monkeypatch.setattr(loader, "read_document", lambda path, problems: read.append(path) or real(path, problems))
    again = load_corpus(root, previous=first)
    translations = root / "translations" / first.articles[0].id
    assert {edited, *translations.glob("*.md")} >= set(read) and edited in read
    full = load_corpus(root)
    assert again == full and again.digest == full.digest and list(again.passages) == list(full.passages)
    assert again.article_digests == full.article_digests
