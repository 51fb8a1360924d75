"""Article text and metadata from real-world-shaped pages (tests/data/pages), with trafilatura.

Each page has a ``.yaml`` beside it: the snippets of article text that must be kept,
the page furniture that must be dropped, the subheadings, and the metadata the page gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from index import CorpusError, LanguageDetector, Upload, prepare_article
from index.intake.extract import extract_page

PAGES = Path(__file__).resolve().parents[1] / "data" / "pages"
NAMES = sorted(path.stem for path in PAGES.glob("*.html"))


def flat(text: str) -> str:
    return " ".join(text.split())


def page(name: str) -> tuple[str, dict[str, Any]]:
    spec = yaml.safe_load((PAGES / f"{name}.yaml").read_text(encoding="utf-8"))
    return (PAGES / f"{name}.html").read_text(encoding="utf-8"), spec


def test_the_sample_pages_cover_our_languages() -> None:
    languages = {page(name)[1]["expect"]["language"] for name in NAMES}
    assert len(NAMES) >= 7 and languages == {"en", "fr", "nl", "de", "es", "id"}


@pytest.mark.parametrize("name", NAMES)
def test_article_text_is_kept_and_furniture_dropped(name: str) -> None:
    html, spec = page(name)
    extracted = extract_page(html, spec["url"])
    text = flat("\n".join(block.text for block in extracted.blocks))
    missing = [snippet for snippet in spec["keep"] if flat(snippet) not in text]
    leaked = [s for s in spec["drop"] if flat(s) in text and s not in spec.get("known_leaks", [])]
    assert missing == [] and leaked == []
    assert flat(spec["expect"]["title"]) not in text  # the headline is the title, not a passage


@pytest.mark.parametrize("name", NAMES)
def test_subheadings_stay_subheadings_and_paragraphs_stay_paragraphs(name: str) -> None:
    html, spec = page(name)
    blocks = extract_page(html, spec["url"]).blocks
    assert [block.text for block in blocks if block.is_heading] == spec["headings"]
    for snippet in spec["keep"]:
        # Each kept snippet lies within one paragraph: paragraphs are neither merged nor split.
        assert sum(1 for block in blocks if snippet in block.text) == 1, snippet


@pytest.mark.parametrize("name", NAMES)
def test_metadata_comes_from_the_page(name: str) -> None:
    html, spec = page(name)
    meta = extract_page(html, spec["url"]).meta
    found = {
        "title": meta.title,
        "site_name": meta.site_name,
        "published": meta.published,
        "canonical_url": meta.canonical_url,
        "language": meta.language,
    }
    assert found == spec["expect"]


def test_a_line_break_stays_inside_its_paragraph_and_entities_are_decoded() -> None:
    html, spec = page("grensbode-brug")
    blocks = [block.text for block in extract_page(html, spec["url"]).blocks]
    two_lines = "De brug kostte 3,4 miljoen euro, waarvan de provincie de helft betaalt.\nDe gemeente draagt de rest."
    assert two_lines in blocks
    french, spec = page("courrier-des-vallees-vendanges")
    text = "\n".join(block.text for block in extract_page(french, spec["url"]).blocks)
    assert "vers 17 heures, des grêlons « gros comme des noix »" in text  # &nbsp; is a plain space
    assert "&nbsp;" not in text and "\u00a0" not in text


def test_lists_and_tables_become_one_paragraph_per_item_or_row() -> None:
    html, spec = page("diario-sierra-embalse")
    blocks = [block.text for block in extract_page(html, spec["url"]).blocks]
    assert "prohibición de regar jardines y llenar piscinas;" in blocks
    html, spec = page("eastmere-council-library")
    blocks = [block.text for block in extract_page(html, spec["url"]).blocks]
    assert "Sunday 11am to 4pm" in blocks


def test_when_one_article_holds_the_page_other_article_elements_are_dropped() -> None:
    story = "Het bloemencorso trok zaterdag meer dan 850.000 bezoekers naar de Bollenstreek, een record. " * 3
    html = (
        "<html><body><article><h3>Ander nieuws</h3><p>Teaser: brand in een schuur in Lisse.</p></article>"
        f"<article><h1>Bloemencorso</h1><p>{story}</p><h2>Praalwagens</h2><p>Veertig praalwagens reden mee.</p>"
        "</article><article><p>Gerelateerd: de tulpen bloeien vroeg dit jaar.</p></article></body></html>"
    )
    extracted = extract_page(html)
    assert extracted.meta.title == "Bloemencorso"
    assert [(b.is_heading, b.text) for b in extracted.blocks] == [
        (False, story.strip()),
        (True, "Praalwagens"),
        (False, "Veertig praalwagens reden mee."),
    ]


@pytest.mark.parametrize("html", ["", "   ", "<<<>>>", "\x00\x01", "<script>var a = 1;</script><nav>Menu</nav>"])
def test_a_page_without_text_gives_no_blocks(html: str) -> None:
    assert extract_page(html).blocks == ()


def test_an_upload_says_which_fields_came_from_the_page(detector: LanguageDetector) -> None:
    html, spec = page("rheinbote-tram")
    prepared = prepare_article(
        Upload("tram.html", html.encode(), "source: Rheinbote Lokal"), existing_ids=set(), detector=detector
    )
    article = prepared.article
    assert article.source == "Rheinbote Lokal"  # the caption wins over the page
    assert (article.title, article.published.isoformat(), article.url, article.language) == (
        spec["expect"]["title"],
        "2025-01-11",
        spec["expect"]["canonical_url"],
        "de",
    )
    assert prepared.from_page == ("title", "published", "url", "language")
    assert any(remark.startswith("published taken from the page") for remark in prepared.remarks)


def test_options_win_over_the_page_and_a_missing_date_is_asked_for(detector: LanguageDetector) -> None:
    html = (
        '<html lang="fr"><head><title>Le marché couvert rouvre - Gazette</title></head><body><article>'
        "<h1>Le marché couvert rouvre</h1><p>Après deux ans de travaux, le marché couvert de la ville a rouvert "
        "ses portes samedi matin, en présence de nombreux habitants.</p></article></body></html>"
    )
    upload = Upload("marche.html", html.encode())
    with pytest.raises(CorpusError) as caught:
        prepare_article(upload, existing_ids=set(), detector=detector, fields={"source": "Gazette"})
    assert any("missing published" in p.message and "the page does not say" in p.message for p in caught.value.problems)
    prepared = prepare_article(
        upload,
        existing_ids=set(),
        detector=detector,
        fields={"source": "Gazette", "published": "2025-05-03", "title": "Marché", "url": "https://g.example/m"},
    )
    assert prepared.article.title == "Marché" and prepared.from_page == ("language",)
