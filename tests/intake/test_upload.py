"""Uploaded files become corpus articles that the loader accepts, or a list of every problem with them."""

from __future__ import annotations

import codecs
import time
from collections.abc import Collection, Mapping
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus import BUNDLED
from index import Corpus, CorpusError, LanguageDetector, Problem, load_corpus
from index.corpus.loader import check_article_file
from index.intake.htmltext import read_html
from index.intake.upload import CAPTION_FIELDS, PreparedArticle, Upload, make_id, prepare_article

NOS = BUNDLED / "articles" / "nos-interview-musk-trump.md"
CAPTION = """source: Le Monde
title: La canicule s'installe sur la France
published: 2024-08-13
url: https://www.lemonde.fr/planete/article/2024/08/13/canicule.html"""
FRENCH = (
    "Météo-France a placé douze départements en vigilance orange canicule mardi, "
    "alors que les températures dépassent les 38 degrés dans le sud du pays.\n"
    "\n"
    "Les autorités recommandent de boire régulièrement et d'éviter les efforts "
    "physiques aux heures les plus chaudes de la journée.\n"
)
DUTCH = (
    "Het bloemencorso trok zaterdag ruim 850.000 bezoekers langs de route van Noordwijk naar Haarlem.\n"
    "De twintig praalwagens waren versierd met meer dan een miljoen hyacinten, tulpen en narcissen.\n"
    "Door de drukte stonden bezoekers urenlang in de file en zette de NS extra treinen in.\n"
)


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus(BUNDLED)


def prepare(
    detector: LanguageDetector,
    name: str,
    data: bytes | str,
    caption: str | None = None,
    *,
    existing: Collection[str] = (),
    fields: Mapping[str, str] | None = None,
    max_bytes: int = 1_000_000,
) -> PreparedArticle:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return prepare_article(
        Upload(name, raw, caption), existing_ids=existing, detector=detector, max_bytes=max_bytes, fields=fields
    )


def problems(
    detector: LanguageDetector,
    name: str,
    data: bytes | str,
    caption: str | None = None,
    *,
    existing: Collection[str] = (),
    fields: Mapping[str, str] | None = None,
    max_bytes: int = 1_000_000,
) -> list[Problem]:
    with pytest.raises(CorpusError) as caught:
        prepare(detector, name, data, caption, existing=existing, fields=fields, max_bytes=max_bytes)
    return list(caught.value.problems)


def messages(found: list[Problem]) -> str:
    return "\n".join(str(p) for p in found)


def front_matter(markdown: str) -> dict[str, object]:
    head, _, _ = markdown.removeprefix("---\n").partition("\n---\n")
    loaded = yaml.load(head, Loader=yaml.BaseLoader)  # every scalar as text, as written
    assert isinstance(loaded, dict)
    return loaded


# -- .md files -------------------------------------------------------------------


def test_a_corpus_file_whose_id_is_taken_is_refused_at_its_id_line(detector: LanguageDetector, corpus: Corpus) -> None:
    found = problems(detector, "nos.md", NOS.read_bytes(), existing={a.id for a in corpus.articles})
    assert [(p.path, p.line) for p in found] == [(Path("nos.md"), 2)]
    assert "an article with id 'nos-interview-musk-trump' already exists; /remove it first" in found[0].message


def test_a_corpus_file_with_a_new_id_is_split_as_the_loader_splits_it(
    detector: LanguageDetector, corpus: Corpus
) -> None:
    text = NOS.read_text(encoding="utf-8").replace("id: nos-interview-musk-trump", "id: nos-interview-copy", 1)
    prepared = prepare(detector, "whatever-name.MD", text, existing={a.id for a in corpus.articles})
    original = next(a for a in corpus.articles if a.id == "nos-interview-musk-trump")
    loaded = tuple(p.original for p in corpus.passages if p.article.id == original.id)
    assert prepared.passages == loaded
    assert prepared.article.id == "nos-interview-copy"
    assert prepared.article.path == Path("nos-interview-copy.md")  # saved under its id, not the upload's name
    assert (prepared.article.title, prepared.article.url, prepared.article.language) == (
        original.title,
        original.url,
        original.language,
    )
    assert prepared.markdown == text  # taken as it is
    assert prepared.detected_language is False


def test_a_corpus_file_takes_no_metadata_from_outside(detector: LanguageDetector) -> None:
    text = NOS.read_text(encoding="utf-8").replace("nos-interview-musk-trump", "nos-copy", 1)
    found = problems(detector, "a.md", text, fields={"title": "Another title"})
    assert [p.message for p in found] == ["metadata of a .md file comes from its front matter"]
    prepared = prepare(detector, "a.markdown", text, "title: Another title")
    assert prepared.article.title != "Another title"
    assert any("caption was ignored" in remark for remark in prepared.remarks)


def test_front_matter_problems_are_reported_with_their_lines(detector: LanguageDetector) -> None:
    broken_yaml = '---\nid: a-b\ntitle: "unclosed\nsource: X\n---\nText.\n'
    found = problems(detector, "a.md", broken_yaml)
    assert len(found) == 1 and found[0].line is not None and 3 <= found[0].line <= 5  # inside the front matter
    assert "not valid YAML" in found[0].message

    text = NOS.read_text(encoding="utf-8").replace("nos-interview-musk-trump", "nos-copy", 1)
    text = text.replace("published: 2024-08-13", "published: 13-08-2024\nauthor: Someone")
    lines = text.splitlines()
    found = problems(detector, "a.md", text)
    assert {(p.line, p.message) for p in found} == {
        (lines.index("published: 13-08-2024") + 1, "published '13-08-2024' is not an ISO date (YYYY-MM-DD)"),
        (lines.index("author: Someone") + 1, "unknown front-matter field 'author'"),
    }
    assert all(p.path == Path("a.md") for p in found)


def test_a_markdown_file_without_front_matter_is_refused(detector: LanguageDetector) -> None:
    found = problems(detector, "notes.md", "Just some text.\n")
    assert [(p.line, p.message) for p in found] == [(1, "does not start with a '---' front-matter line")]


# -- plain text ------------------------------------------------------------------


def test_text_with_a_caption_becomes_an_article_in_the_detected_language(detector: LanguageDetector) -> None:
    prepared = prepare(detector, "canicule.txt", FRENCH, CAPTION)
    article = prepared.article
    assert article.language == "fr" and prepared.detected_language is True
    assert article.id == "le-monde-la-canicule-s-installe-sur-la-france"
    assert article.path == Path(f"{article.id}.md")
    assert (article.source, article.title, str(article.published)) == (
        "Le Monde",
        "La canicule s'installe sur la France",
        "2024-08-13",
    )
    assert article.url.endswith("/canicule.html")
    paragraphs = FRENCH.split("\n\n")
    assert [p.body for p in prepared.passages] == [p.strip() for p in paragraphs]
    assert all(p.language == "fr" and p.heading is None for p in prepared.passages)


def test_a_text_without_blank_lines_has_a_paragraph_per_line(detector: LanguageDetector) -> None:
    caption = "source: NOS Nieuws\ntitle: Bloemencorso trekt recordaantal bezoekers\ndate: 2024-04-20\nnote: radio"
    prepared = prepare(detector, "corso.txt", DUTCH, caption)
    assert [p.body for p in prepared.passages] == DUTCH.strip().split("\n")
    assert prepared.article.language == "nl" and prepared.detected_language
    assert prepared.article.url == "" and prepared.article.note == "radio"


def test_lines_of_a_paragraph_stay_together_and_subheadings_need_no_blank_line(detector: LanguageDetector) -> None:
    text = "  First line   \nsecond line\n\n\n\n## Later\nThe part after the subheading.\n\n---\n\nLast words.\n"
    prepared = prepare(detector, "a.txt", text, CAPTION + "\nlanguage: en")
    assert [(p.heading, p.body) for p in prepared.passages] == [
        (None, "First line\nsecond line"),
        ("Later", "The part after the subheading."),
        (None, "Last words."),
    ]
    assert "\n\n\n" not in prepared.markdown


def test_misplaced_subheadings_are_reported_at_the_uploads_own_lines(detector: LanguageDetector) -> None:
    text = "Intro.\n\n## One\n\n## Two\n\nBody.\n\n## Dangling\n"
    found = problems(detector, "a.txt", text, CAPTION)
    assert {(p.line, p.message) for p in found} == {
        (3, "a subheading is followed by another subheading, not a paragraph"),
        (9, "the last subheading has no paragraph after it"),
    }


def test_windows_line_endings_and_a_bom_change_nothing(detector: LanguageDetector) -> None:
    plain = prepare(detector, "a.txt", FRENCH, CAPTION)
    windows = prepare(detector, "a.txt", codecs.BOM_UTF8 + FRENCH.replace("\n", "\r\n").encode("utf-8"), CAPTION)
    assert windows.markdown == plain.markdown
    assert "\r" not in windows.markdown and "\ufeff" not in windows.markdown
    text = NOS.read_text(encoding="utf-8").replace("nos-interview-musk-trump", "nos-copy", 1)
    crlf = prepare(detector, "a.md", codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode("utf-8"))
    assert crlf.markdown == text  # saved with the corpus's own line endings


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_with_a_bom_is_read(detector: LanguageDetector, encoding: str) -> None:
    data = (codecs.BOM_UTF16_BE if encoding == "utf-16-be" else b"") + FRENCH.encode(encoding)
    assert data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    prepared = prepare(detector, "a.txt", data, CAPTION)
    assert prepared.passages[0].body.startswith("Météo-France a placé")


def test_the_produced_file_follows_the_corpus_format(detector: LanguageDetector) -> None:
    prepared = prepare(detector, "a.txt", FRENCH, CAPTION + "\nnote: Seen in print too.")
    markdown = prepared.markdown
    head, body = markdown.removeprefix("---\n").split("\n---\n", 1)
    assert list(front_matter(markdown)) == ["id", "title", "source", "url", "published", "language", "note"]
    assert "published: '2024-08-13'" in head.splitlines()  # a date written as text
    assert body.startswith("\n") and not body.startswith("\n\n")
    assert markdown.endswith(".\n") and not markdown.endswith("\n\n")
    assert "\n\n\n" not in body


def test_metadata_cannot_break_out_of_the_front_matter(detector: LanguageDetector) -> None:
    fields = {"title": "Odd\n---\ntitle", "note": "one\n\n---\nid: other", "published": "2024-08-13"}
    prepared = prepare(detector, "a.txt", FRENCH, CAPTION, fields=fields)
    assert prepared.article.title == "Odd --- title"
    assert prepared.article.note == "one --- id: other"
    assert len(prepared.passages) == 2


# -- captions and fields ---------------------------------------------------------


def test_a_caption_as_pasted_in_telegram_is_understood(detector: LanguageDetector) -> None:
    caption = (
        "\n  Source:   La Presse  \n"
        "TITLE: Trump reçu en ami: l'entrevue\n"
        "Published: 2024-08-13\n"
        "\n"
        "Link: https://www.lapresse.ca/x/2024-08-13/trump:musk.php?a=b\n"
        "Lang: FR\n"
        "ID: presse-trump\n"
    )
    prepared = prepare(detector, "a.txt", FRENCH, caption)
    article = prepared.article
    assert (article.source, article.title) == ("La Presse", "Trump reçu en ami: l'entrevue")
    assert article.url == "https://www.lapresse.ca/x/2024-08-13/trump:musk.php?a=b"
    assert (article.id, article.language, prepared.detected_language) == ("presse-trump", "fr", False)


def test_fields_win_over_the_caption(detector: LanguageDetector) -> None:
    prepared = prepare(detector, "a.txt", FRENCH, CAPTION, fields={"Title": "From the command line", "lang": "fr"})
    assert prepared.article.title == "From the command line"
    assert prepared.article.id == "le-monde-from-the-command-line"
    assert set(CAPTION_FIELDS) == {"source", "title", "published", "url", "language", "id", "note"}


def test_every_caption_problem_is_reported_together(detector: LanguageDetector) -> None:
    caption = "source: Le Monde\nauthor: Jean Dupont\npublished: 13/08/2024\nthis line has no field\n"
    found = problems(detector, "a.txt", FRENCH, caption)
    text = messages(found)
    assert "caption line 2: unknown field 'author'" in text
    assert "caption line 3: published '13/08/2024' is not a date in the form YYYY-MM-DD" in text
    assert "caption line 4: 'this line has no field' is not a 'field: value' line" in text
    assert "missing title" in text
    assert "missing url" in text and "note:" in text
    assert len(found) == 5
    assert {p.path for p in found} == {Path("a.txt")}


def test_a_field_given_twice_and_a_bare_address_are_problems(detector: LanguageDetector) -> None:
    caption = CAPTION + "\ndate: 2024-08-14\nhttps://example.org/story"
    text = messages(problems(detector, "a.txt", FRENCH, caption))
    assert "caption line 5: published is given twice (also on caption line 3)" in text
    assert "caption line 6: an address alone; write it as 'url: https://example.org/story'" in text


def test_a_missing_url_is_fine_when_a_note_says_why(detector: LanguageDetector) -> None:
    caption = "source: X\ntitle: Y\npublished: 2024-08-13\nnote: from a printed copy; no address online"
    assert prepare(detector, "a.txt", FRENCH, caption).article.url == ""
    found = problems(detector, "a.txt", FRENCH, "source: X\ntitle: Y\npublished: 2024-08-13\nurl: ftp://x/y")
    assert [p.message for p in found] == ["caption line 4: url 'ftp://x/y' is not an http(s) address"]


def test_an_existing_id_is_refused(detector: LanguageDetector) -> None:
    found = problems(detector, "a.txt", FRENCH, CAPTION, existing={"le-monde-la-canicule-s-installe-sur-la-france"})
    assert [p.message for p in found] == [
        "an article with id 'le-monde-la-canicule-s-installe-sur-la-france' already exists; "
        "/remove it first or give another id:"
    ]
    assert prepare(detector, "a.txt", FRENCH, CAPTION + "\nid: canicule-2", existing={"le-monde"}).article.id == (
        "canicule-2"
    )
    assert "is not a slug" in messages(problems(detector, "a.txt", FRENCH, CAPTION + "\nid: Not A Slug"))


def test_a_language_is_asked_for_when_the_text_does_not_tell(detector: LanguageDetector) -> None:
    found = problems(detector, "scores.txt", "12 - 7\n\n3 - 0\n", CAPTION)
    assert [p.message for p in found] == ["the language could not be detected; give it as 'language: xx' (ISO 639-1)"]
    assert "not an ISO 639-1 code" in messages(problems(detector, "a.txt", FRENCH, CAPTION + "\nlanguage: french"))


def test_languages_beyond_the_answer_languages_are_detected(detector: LanguageDetector) -> None:
    italian = (
        "Il presidente della Repubblica è arrivato a Roma mercoledì mattina, ha annunciato il governo italiano "
        "in una nota diffusa dopo la riunione del consiglio dei ministri."
    )
    assert prepare(detector, "a.txt", italian, CAPTION).article.language == "it"


def test_ids_are_short_ascii_slugs() -> None:
    assert make_id("NOS Nieuws", "Musk en Trump praten op X") == "nos-nieuws-musk-en-trump-praten-op-x"
    assert make_id("Süddeutsche", "Straße, Œuvre & Ørsted à Zürich!") == "suddeutsche-strasse-oeuvre-orsted-a-zurich"
    # 61 characters up to "di": cut before it, between words.
    long = make_id("BBC News Indonesia", "Wawancara Elon Musk dengan Donald Trump di X terganggu masalah teknis")
    assert long == "bbc-news-indonesia-wawancara-elon-musk-dengan-donald-trump"
    assert len(make_id("A", "B" * 100)) == 60  # one very long word is cut inside it, not dropped
    assert make_id("BBC", "Новости дня", "2024-08-13") == "bbc-2024-08-13"


# -- HTML --------------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8">
<title>Interview van Musk met Trump | NOS</title>
<link rel="canonical" href="https://nos.nl/artikel/2533078-interview">
<style>p { color: red }</style>
<script>document.write("<p>script text</p>")</script>
</head><body>
<nav><a href="/">Home</a> <a href="/sport">Sport</a></nav>
<header><h1>NOS Nieuws</h1></header>
<p>Cookie banner outside the article.</p>
<article>
  <h1>'Interview' van Elon Musk met Trump geplaagd door technische problemen</h1>
  <p>Het interview van Elon Musk met Donald Trump is vannacht veel later begonnen
     dan de bedoeling was &mdash; technische problemen waren de oorzaak.</p>
  <figure><img src="x.jpg" alt=""><figcaption>Foto: ANP</figcaption></figure>
  <h2>Wacht&shy;muziekje</h2>
  <p>Het gesprek moest beginnen om 02.00&nbsp;uur. Toen het zo ver was, viel er
     alleen een wachtmuziekje te horen &amp; kregen veel gebruikers een foutmelding.</p>
  <p>Musk schreef:<br>&quot;We worden aangevallen.&quot;<br/>Daarna bleef het stil.</p>
  <!-- <p>commented out</p> -->
  <aside><p>Lees ook: meer over Musk</p></aside>
  <p>## Dit is gewone tekst, geen tussenkop.</p>
  <p>---</p>
  <p>Uiteindelijk ging het gesprek bijna drie kwartier later dan gepland van start.</p>
</article>
<footer><p>&copy; NOS</p></footer>
</body></html>
"""


@pytest.fixture(scope="module")
def page(detector: LanguageDetector) -> PreparedArticle:
    return prepare(detector, "nos.html", PAGE, "source: NOS Nieuws\npublished: 2024-08-13")


def test_a_page_gives_its_article_text_without_furniture(page: PreparedArticle) -> None:
    text = "\n".join(p.text for p in page.passages)
    for furniture in (
        "script text",
        "color: red",
        "Home",
        "Cookie banner",
        "Foto: ANP",
        "Lees ook",
        "© NOS",
        "commented",
    ):
        assert furniture not in text
    assert page.passages[0].body == (
        "Het interview van Elon Musk met Donald Trump is vannacht veel later begonnen "
        "dan de bedoeling was — technische problemen waren de oorzaak."
    )
    assert page.passages[-1].body.startswith("Uiteindelijk ging")


def test_a_pages_headline_and_address_fill_in_title_and_url(page: PreparedArticle) -> None:
    assert page.article.title == "'Interview' van Elon Musk met Trump geplaagd door technische problemen"
    assert page.article.url == "https://nos.nl/artikel/2533078-interview"
    assert not any(page.article.title in p.text for p in page.passages)  # the headline is not a passage
    assert page.article.language == "nl" and page.detected_language
    assert any("<h1>" in remark for remark in page.remarks)


def test_subheadings_entities_and_line_breaks_from_a_page(page: PreparedArticle) -> None:
    headed = page.passages[1]
    assert headed.heading == "Wachtmuziekje"  # a soft hyphen is invisible
    assert headed.body.startswith("Het gesprek moest beginnen om 02.00 uur.")
    assert "wachtmuziekje te horen & kregen" in headed.body
    assert page.passages[2].body == 'Musk schreef:\n"We worden aangevallen."\nDaarna bleef het stil.'


def test_page_text_that_looks_like_markup_stays_text(page: PreparedArticle) -> None:
    literal = next(p for p in page.passages if "gewone tekst" in p.text)
    assert literal.heading is None and literal.body.startswith("##")
    assert literal.body.endswith("Dit is gewone tekst, geen tussenkop.")
    assert all(p.body != "---" for p in page.passages)
    assert [p.heading is not None for p in page.passages] == [False, True, False, False, False]


def test_a_page_without_an_h1_or_article_uses_its_title_and_whole_body(detector: LanguageDetector) -> None:
    html = (
        "<html><head><title>Canicule en France</title>"
        '<meta property="og:url" content="https://example.fr/canicule"></head>'
        "<body><div>" + FRENCH.replace("\n\n", "</div><div>") + "</div></body></html>"
    )
    prepared = prepare(detector, "page.HTM", html, "source: Le Monde\ndate: 2024-08-13")
    assert prepared.article.title == "Canicule en France"
    assert prepared.article.url == "https://example.fr/canicule"
    assert len(prepared.passages) == 2


def test_the_largest_article_element_is_the_text(detector: LanguageDetector) -> None:
    html = (
        "<article><p>Teaser: another story.</p></article>"
        f"<article><h2>Météo</h2><p>{FRENCH.splitlines()[0]}</p></article>"
        "<article><p>Related: yet another story.</p></article>"
    )
    prepared = prepare(detector, "a.html", html, CAPTION)
    assert [(p.heading, p.body) for p in prepared.passages] == [("Météo", FRENCH.splitlines()[0])]


def test_a_page_in_windows_1252_as_it_declares_is_read(detector: LanguageDetector) -> None:
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252"></head>'
        "<body><p>L’été est arrivé à Paris, où il fait très chaud depuis dimanche.</p></body></html>"
    )
    data = html.encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    prepared = prepare(detector, "a.html", data, CAPTION)
    assert prepared.passages[0].body == "L’été est arrivé à Paris, où il fait très chaud depuis dimanche."
    short = '<meta charset="windows-1252"><p>Déjà vu à Montréal, où l’été est très chaud.</p>'
    assert "Déjà vu" in prepare(detector, "b.html", short.encode("cp1252"), CAPTION).passages[0].body


def test_headings_without_text_under_them_are_not_subheadings(detector: LanguageDetector) -> None:
    # The extractor (trafilatura) leaves out headings that head no text: on real pages they are
    # furniture ("Related stories", an empty section). A subheading with text under it stays one.
    html = (
        "<h2>Een lege sectie</h2><h2>Echte tussenkop</h2><p>Het bloemencorso trok zaterdag veel bezoekers.</p>"
        "<h3></h3><p>De praalwagens waren versierd met tulpen.</p><h2>Slot zonder tekst</h2>"
    )
    prepared = prepare(detector, "a.html", html, CAPTION)
    assert [(p.heading, p.body) for p in prepared.passages] == [
        ("Echte tussenkop", "Het bloemencorso trok zaterdag veel bezoekers."),
        (None, "De praalwagens waren versierd met tulpen."),
    ]


def test_html_layout_rules() -> None:
    def texts(html: str) -> list[tuple[bool, str]]:
        return [(block.is_heading, block.text) for block in read_html(html).blocks]

    assert texts("<p>one<br><br>two</p>") == [(False, "one"), (False, "two")]  # a blank line ends a paragraph
    assert texts("<pre>  keep   this\n    indented</pre><p>a   b</p>") == [
        (False, "  keep   this\n    indented"),
        (False, "a b"),
    ]
    assert texts('<p>shown</p><div hidden><p>hidden</p><div>deep</div></div><span aria-hidden="true">icon</span>') == [
        (False, "shown")
    ]
    assert texts("<header>Site</header><main><p>Main text.</p></main><p>After main.</p>") == [(False, "Main text.")]
    assert texts("<h2><div>Title in a div</div></h2><p>Text.</p>") == [(True, "Title in a div"), (False, "Text.")]
    assert texts("<h2> </h2><p>A.</p><p>B.</p>") == [(False, "A."), (False, "B.")]  # an empty heading ends
    assert texts("<h2>Open heading<p>Text after it.</p>") == [(True, "Open heading"), (False, "Text after it.")]
    assert texts("<ul><li>first</li><li>second<li>third</ul>") == [
        (False, "first"),
        (False, "second"),
        (False, "third"),
    ]
    assert texts("<svg><title>Icon</title></svg><p>x<iframe/>y</p>") == [(False, "xy")]
    assert read_html("<svg><title>Icon</title></svg><title>Page</title>").page_title == "Page"
    unclosed = read_html("<title>Page<body><p>Text.</p>")
    assert (unclosed.page_title, [b.text for b in unclosed.blocks]) == ("Page", ["Text."])


def test_a_page_with_no_text_is_refused(detector: LanguageDetector) -> None:
    html = "<html><head><script>var a = 1;</script></head><body><nav>Menu</nav><form>Search</form></body></html>"
    assert "has no text" in messages(problems(detector, "a.html", html, CAPTION))


def test_hostile_html_is_read_in_linear_time() -> None:
    # Each of these made the stdlib parser quadratic or made it raise.
    for hostile in ("<a " * 60_000, "<!--" * 60_000, "<![" * 60_000, "<p>x</p>" + "<div>" * 60_000):
        started = time.perf_counter()
        read_html(hostile)
        assert time.perf_counter() - started < 3, hostile[:10]
    assert [b.text for b in read_html("<p>kept</p><p>cut <b class='x").blocks] == ["kept", "cut"]
    assert [b.text for b in read_html("<p>kept<script>var a = '<p>'").blocks] == ["kept"]


# -- the file itself ---------------------------------------------------------------


def test_a_file_that_is_not_utf8_is_refused_with_its_line(detector: LanguageDetector) -> None:
    data = "First line.\n\nSecond line with café.\n".encode("latin-1")
    found = problems(detector, "a.txt", data, CAPTION)
    assert [(p.line, p.message) for p in found] == [(3, "is not UTF-8: byte 0xe9 at line 3; save it as UTF-8")]


@pytest.mark.parametrize(
    "data",
    [
        bytes.fromhex("89504e470d0a1a0a0000000d49484452"),  # a PNG header
        b"%PDF-1.7\n\x00\x01\x02binary",
        b"text with an escape \x1b[31m code",
        "a\u0000b".encode("utf-16"),
    ],
    ids=["png", "pdf", "escape", "utf16-nul"],
)
def test_binary_data_is_refused(detector: LanguageDetector, data: bytes) -> None:
    assert [p.message for p in problems(detector, "a.txt", data, CAPTION)] == ["looks like a binary file, not text"]


def test_size_limits(detector: LanguageDetector) -> None:
    big = problems(detector, "big.txt", b"word " * 280_000, CAPTION)
    assert [p.message for p in big] == ["is 1.4 MB; the limit is 1.0 MB"]
    just_over = problems(detector, "big.txt", b"a" * 1_000_001, CAPTION)
    assert [p.message for p in just_over] == ["is 1,000,001 bytes; the limit is 1,000,000 bytes"]
    small = problems(detector, "a.txt", FRENCH, CAPTION, max_bytes=100)
    assert [p.message for p in small] == [f"is {len(FRENCH.encode())} bytes; the limit is 100 bytes"]
    assert [p.message for p in problems(detector, "a.txt", b"", CAPTION)] == ["is empty"]
    assert [p.message for p in problems(detector, "a.txt", b" \n\n \n", CAPTION)] == ["has no text"]


@pytest.mark.parametrize("name", ["report.pdf", "page.html.exe", "README", "photo.JPG"])
def test_other_kinds_of_file_are_refused_naming_the_accepted_ones(detector: LanguageDetector, name: str) -> None:
    found = problems(detector, name, FRENCH, CAPTION)
    assert len(found) == 1 and found[0].path == Path(name)
    for kind in (".md", ".txt", ".html"):
        assert kind in found[0].message


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\Windows\\evil.txt", "evil.txt"),
        ("/tmp/x/../articles/other-id.md.txt", "other-id.md.txt"),
        ("a\u202etxt.exe\n.txt", "a?txt.exe?.txt"),
        ("..", "upload"),
        ("", "upload"),
    ],
)
def test_an_uploaded_name_is_only_a_name(
    detector: LanguageDetector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, shown: str
) -> None:
    monkeypatch.chdir(tmp_path)
    found = problems(detector, name, b"\x00", CAPTION)
    assert {p.path for p in found} == {Path(shown)}
    if shown.endswith(".txt"):
        prepared = prepare(detector, name, FRENCH, CAPTION)
        assert prepared.article.path == Path("le-monde-la-canicule-s-installe-sur-la-france.md")
    assert list(tmp_path.iterdir()) == []  # nothing written where the bot runs


# -- the loader entry point ----------------------------------------------------------


def test_check_article_file_validates_one_file(tmp_path: Path) -> None:
    good = tmp_path / "nos-interview-musk-trump.md"
    good.write_bytes(NOS.read_bytes())
    article, passages = check_article_file(good)
    assert article.id == "nos-interview-musk-trump" and article.path == good
    assert passages == [p.original for p in load_corpus(BUNDLED).passages if p.article.id == article.id]
    renamed = tmp_path / "other.md"
    renamed.write_bytes(NOS.read_bytes())
    with pytest.raises(CorpusError) as caught:
        check_article_file(renamed)
    assert [(p.path, p.line) for p in caught.value.problems] == [(renamed, 2)]
    assert "does not match the file name" in caught.value.problems[0].message


# -- whatever is sent --------------------------------------------------------

_FRAGMENTS = st.sampled_from(
    [
        "<p>", "</p>", "<script>", "</script>", "<style>x{}", "<!--", "-->", "<![CDATA[", "<h2>", "## ", "---",
        "&amp;", "&#0;", "&#x110000;", "&nbsp;", "<br>", "<article>", "\n\n", "\r\n", "\u202e", "\ufeff", "é",
        "source: X", "title:", "published: 2024-08-13", "url: javascript:alert(1)", "id: ../../etc", ":",
    ]
)  # fmt: skip
_CONTENT = st.one_of(
    st.binary(max_size=400),
    st.lists(st.one_of(_FRAGMENTS, st.text(max_size=12)), max_size=40).map(lambda parts: "".join(parts).encode()),
)
_NAMES = st.sampled_from(["a.md", "a.txt", "a.html", "a.htm", "A.MARKDOWN", "../../x.md", "noext", ".md", "a.pdf"])
_CAPTIONS = st.one_of(st.none(), st.text(max_size=80), st.lists(_FRAGMENTS, max_size=6).map("\n".join))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_NAMES, content=_CONTENT, caption=_CAPTIONS)
def test_any_upload_is_prepared_or_refused_with_problems(
    detector: LanguageDetector, name: str, content: bytes, caption: str | None
) -> None:
    try:
        prepared = prepare_article(Upload(name, content, caption), existing_ids=set(), detector=detector)
    except CorpusError as exc:
        assert exc.problems and all(str(p.path) == Path(p.path).name for p in exc.problems)
        return
    assert prepared.passages and prepared.article.path == Path(f"{prepared.article.id}.md")
