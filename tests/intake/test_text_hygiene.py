"""What an upload's text must not become: a headline as a passage, a credit line as a passage, mis-decoded bytes."""

from __future__ import annotations

import codecs

import pytest

from index import CorpusError, LanguageDetector, Problem
from index.corpus.credits import is_credit_line
from index.intake.encoding import looks_like_language
from index.intake.upload import PreparedArticle, Upload, prepare_article

CAPTION = """source: Le Monde
title: La canicule s'installe sur la France
published: 2024-08-13
url: https://www.lemonde.fr/planete/article/2024/08/13/canicule.html"""
NO_TITLE = "\n".join(line for line in CAPTION.splitlines() if not line.startswith("title:"))
BODY = (
    "Météo-France a placé douze départements en vigilance orange canicule mardi, "
    "alors que les températures dépassent les 38 degrés dans le sud du pays.\n"
    "\n"
    "Les autorités recommandent de boire régulièrement et d'éviter les efforts "
    "physiques aux heures les plus chaudes de la journée.\n"
)

CREDITS = [
    "João da Silva contributed to this report",
    "Additional reporting by Jane Doe in London",
    "With Agence France-Presse",
    "With Reuters and AP",
    "By Jane Doe",
    "Avec l’Agence France-Presse",
    "João da Silva a contribué à cet article",
    "Propos recueillis par Marie Dupont",
    "Par Jean Dupont",
    "João da Silva heeft bijgedragen aan dit verslag.",
    "Met Agence France-Presse",
    "Door Jan de Vries",
    "Bron: ANP",
    "João da Silva menyumbang untuk laporan ini",
    "Dengan Agence France-Presse",
    "Oleh Budi Santoso",
    "João da Silva hat zu diesem Bericht beigetragen.",
    "Mit Material der Agence France-Presse",
    "Mit Material von dpa",
    "Von Hans Müller",
    "João da Silva contribuyó a este reportaje.",
    "Con la Agence France-Presse",
    "Con información de EFE",
    "Por Ana Pérez",
    "(AFP)",
    "Foto: ANP",
]
NOT_CREDITS = [
    "Reuters reported that the talks had failed.",
    "By Monday, the talks had failed.",
    "With Musk and Trump on stage, the event started late.",
    "Avec Elon Musk",
    "Par ailleurs, la Commission a réagi.",
    "Door de regen werd het evenement uitgesteld.",
    "Met andere woorden: het ging mis.",
    "Von Montag an gilt die neue Regel.",
    "Mit Elon Musk sprach Trump über Einwanderung.",
    "Por qué Trump habló con Musk.",
    "Con la llegada de Trump, todo cambió.",
    "Dengan demikian, acara itu tertunda.",
    "Oleh karena itu, percakapan ditunda.",
    "February 2022\nTrump launches his own social network: Truth Social.",
    "The conversation got off to an inauspicious start.",
]


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


def prepare(detector: LanguageDetector, data: bytes | str, caption: str, name: str = "a.txt") -> PreparedArticle:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return prepare_article(Upload(name, raw, caption), existing_ids=(), detector=detector)


def problems(detector: LanguageDetector, data: bytes, caption: str = CAPTION) -> list[Problem]:
    with pytest.raises(CorpusError) as caught:
        prepare(detector, data, caption)
    return list(caught.value.problems)


# -- credit lines -------------------------------------------------------------------


@pytest.mark.parametrize("line", CREDITS)
def test_credit_lines_in_six_languages_are_told(line: str) -> None:
    assert is_credit_line(line)


@pytest.mark.parametrize("line", NOT_CREDITS)
def test_text_that_only_looks_like_a_credit_is_not_one(line: str) -> None:
    assert not is_credit_line(line)


def test_a_long_paragraph_is_never_a_credit_line() -> None:
    long = "With Agence France-Presse " + "and a long story about something else entirely " * 3
    assert not is_credit_line(long.strip())


@pytest.mark.parametrize("credit", ["Avec l’Agence France-Presse", "João da Silva a contribué à cet article"])
def test_an_uploaded_credit_line_is_left_out_of_the_passages(detector: LanguageDetector, credit: str) -> None:
    prepared = prepare(detector, BODY + "\n" + credit + "\n", CAPTION)
    assert [p.body for p in prepared.passages] == [b.strip() for b in BODY.split("\n\n")]
    assert credit not in prepared.markdown
    assert any("credit line" in remark and credit[:20] in remark for remark in prepared.remarks)


def test_a_page_s_credit_line_is_left_out_too(detector: LanguageDetector) -> None:
    paragraphs = "".join(f"<p>{p.strip()}</p>" for p in BODY.split("\n\n"))
    credit = "<p>Avec l’Agence France-Presse</p>"
    html = f"<html><body><article><h1>La canicule</h1>{paragraphs}{credit}</article></body></html>"
    prepared = prepare(detector, html, CAPTION, name="a.html")
    assert prepared.passages and all("Agence France-Presse" not in p.body for p in prepared.passages)


# -- the headline as the first line -------------------------------------------------------------


@pytest.mark.parametrize("headline", ["La canicule s'installe sur la France", "LA CANICULE S’INSTALLE SUR LA FRANCE."])
def test_a_headline_repeating_the_title_is_not_a_passage(detector: LanguageDetector, headline: str) -> None:
    prepared = prepare(detector, f"{headline}\n\n{BODY}", CAPTION)
    assert prepared.article.title == "La canicule s'installe sur la France"
    assert [p.body for p in prepared.passages] == [b.strip() for b in BODY.split("\n\n")]
    assert any("repeats the title" in remark for remark in prepared.remarks)


def test_a_headline_on_the_line_right_above_the_text_is_folded_too(detector: LanguageDetector) -> None:
    prepared = prepare(detector, f"La canicule s'installe sur la France\n{BODY}", CAPTION)
    assert prepared.passages[0].body.startswith("Météo-France a placé")
    assert len(prepared.passages) == 2


def test_without_a_title_the_headline_becomes_the_title(detector: LanguageDetector) -> None:
    prepared = prepare(detector, f"Vigilance orange canicule dans douze départements\n\n{BODY}", NO_TITLE)
    assert prepared.article.title == "Vigilance orange canicule dans douze départements"
    assert len(prepared.passages) == 2 and prepared.passages[0].body.startswith("Météo-France")
    assert any("title taken from the first line" in remark for remark in prepared.remarks)


def test_a_first_line_that_is_text_stays_a_passage(detector: LanguageDetector) -> None:
    """A different first line under a given title, or a sentence ending in a full stop, is text."""
    other = prepare(detector, f"Une autre ligne d'introduction\n\n{BODY}", CAPTION)
    assert other.passages[0].body == "Une autre ligne d'introduction" and len(other.passages) == 3
    found = problems(detector, BODY.encode("utf-8"), NO_TITLE)
    assert any("missing title" in p.message for p in found)


# -- encodings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "data", [b"\xff\xfeabcdef", b"\xff\xfeLa conversation a ete retardee, hier!\n"], ids=["short", "long"]
)
def test_bytes_that_only_claim_to_be_utf16_are_refused(detector: LanguageDetector, data: bytes) -> None:
    """ASCII after the bytes 0xff 0xfe decodes as UTF-16 into CJK characters: refused, not saved."""
    assert not looks_like_language(data.decode("utf-16"))
    (problem,) = problems(detector, data)
    assert problem.message.startswith("starts like UTF-16 but does not read as text in it")
    assert problem.message.endswith("save it as UTF-8")


@pytest.mark.parametrize(
    "text",
    [
        BODY,
        "这是一篇关于技术问题的新闻文章。特朗普和马斯克的对话被推迟了。\n\n第二段在这里。",
        "Het gesprek begon later dan gepland.\n\nDe uitzending liep vast.",
    ],
)
def test_real_utf16_text_is_read(detector: LanguageDetector, text: str) -> None:
    data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    prepared = prepare(detector, data, CAPTION + "\nlanguage: fr")
    assert prepared.passages[0].body == text.split("\n\n")[0].strip()


def test_a_first_subheading_is_no_title(detector: LanguageDetector) -> None:
    found = problems(detector, f"## Vigilance orange\n{BODY}".encode(), NO_TITLE)
    assert any("missing title" in p.message for p in found)
