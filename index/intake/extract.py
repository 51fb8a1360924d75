"""The article in a web page, and what the page says about it, with trafilatura.

:func:`extract_page` finds the article's text among the page furniture (menus,
cookie banners, bylines, share buttons, related-article lists, comments, photo
captions and credits) with trafilatura, and turns trafilatura's XML into the
corpus's blocks: each paragraph a paragraph (``<br>`` keeps its line break, a
blank line starts a new paragraph), each subheading a heading, each list item
and table row a paragraph. Entities come decoded; no-break spaces become plain
spaces, soft hyphens and zero-width spaces go.

The page's metadata, each field None when the page does not say:

* ``title``: the article's own ``<h1>`` when trafilatura kept it at the top of the
  text (it is the headline, not a passage), else trafilatura's title (``og:title``,
  ``<title>`` without the site name, …);
* ``site_name``: the publisher (``og:site_name``, JSON-LD, …, as trafilatura reads it);
* ``published``: the publication date (``YYYY-MM-DD``) found by htmldate;
* ``canonical_url``: ``<link rel="canonical">``, else ``og:url``, made absolute;
* ``language``: the ISO 639-1 code the page declares (``<html lang>``,
  ``Content-Language``, ``og:locale``).

Why trafilatura: measured on about 900 real pages of a public extraction
benchmark, our stdlib reader (:mod:`index.intake.htmltext`) kept much of the
furniture (precision 0.69, recall 0.92) where trafilatura scored 0.90 / 0.95;
``bench/extraction.py`` measures both on the sample pages in ``tests/data/pages``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urljoin

import lxml.html
import trafilatura
from lxml import etree
from trafilatura.settings import use_config

from .htmltext import TextBlock, read_html

_INVISIBLE: Final = str.maketrans(
    {"\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2028": " ", "\u2029": " ", "\u00ad": None, "\u200b": None}
)
_SPACES: Final = re.compile(r"[ \t\r\f\v]+")
_LANGUAGE: Final = re.compile(r"^([a-zA-Z]{2})(?:[-_][a-zA-Z0-9]+)*$")
_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_BLOCK_TAGS: Final = frozenset({"p", "head", "item", "quote", "code", "row", "list", "table", "div"})
_KICKER: Final = 80
"""Characters: a line above the headline at most this long is a kicker or section label, not text."""
_HEADLINE_WITHIN: Final = 4
_MATCHED: Final = 60
_MIN_PREFIX: Final = 8
_DATE_OPTIONS: Final = {"extensive_search": False, "original_date": True}
"""htmldate: the publication date, not the last update; no guessing from loose text in the page."""


_CONFIG: Final = use_config()
# A short news item (a few sentences) is still an article: below trafilatura's default of 250
# characters it would throw away its structured result for the page's raw text run together.
_CONFIG.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")
_CONFIG.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")  # no signal-based timeout: we run in worker threads
_LARGEST_ARTICLE_SHARE: Final = 0.5
# "Read also: <another story>" lines inside an article's text, in the answer languages.
_READ_MORE: Final = re.compile(
    r"^(?:read (?:more|also)|see also|related|lire aussi|à lire aussi|voir aussi|lees ook|lees meer|bekijk ook|"
    r"lesen sie auch|auch interessant|mehr zum thema|lee también|te puede interesar|ver también|baca juga|"
    r"simak juga|lihat juga)\s*[:：\-–—]",
    re.IGNORECASE,
)
_READ_MORE_LENGTH: Final = 200


@dataclass(frozen=True, slots=True)
class PageMetadata:
    """What a page says about itself; each field None when it does not say."""

    title: str | None = None
    title_from: str | None = None
    """Where the title came from: "<h1>" or "metadata"."""
    site_name: str | None = None
    published: str | None = None
    canonical_url: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class ExtractedPage:
    """A page's article text as corpus blocks, and its metadata."""

    blocks: tuple[TextBlock, ...]
    meta: PageMetadata


def extract_page(html: str, url: str | None = None) -> ExtractedPage:
    """The article text and metadata of ``html`` (fetched from ``url``, when known); never raises on bad HTML."""
    try:
        tree = lxml.html.document_fromstring(html) if html.strip() else None
    except (etree.ParserError, ValueError):
        tree = None
    if tree is None or not read_html(html).blocks:
        # Nothing but scripts, menus, forms and asides: trafilatura would fall back on them.
        return ExtractedPage((), PageMetadata())
    # Read before trafilatura, which cleans the tree it is given in place.
    canonical, language = _canonical(tree, url), _declared_language(tree)
    subheadings = _subheadings(tree)
    _keep_the_main_article(tree)
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        include_formatting=False,
        date_extraction_params=dict(_DATE_OPTIONS),
        config=_CONFIG,
    )
    body = getattr(document, "body", None) if document is not None else None
    blocks = _restore_subheadings(_blocks(body), subheadings) if body is not None else []
    title, title_from = _meta_text(document, "title"), "metadata"
    headline = _headline(blocks, title)
    if headline is not None:
        # The article's own headline, as the page shows it above the text: the title, not a passage;
        # short lines above it (a kicker such as "Région · Agriculture") go with it.
        title, title_from = blocks[headline][1], "<h1>"
        above = blocks[:headline]
        blocks = ([] if all(len(text) <= _KICKER for _, text in above) else above) + blocks[headline + 1 :]
    meta = PageMetadata(
        title=title,
        title_from=title_from if title else None,
        site_name=_meta_text(document, "sitename"),
        published=_date(document),
        canonical_url=canonical,
        language=language,
    )
    blocks = [(kind, text) for kind, text in blocks if not _is_read_more(kind, text)]
    return ExtractedPage(tuple(TextBlock(text, kind != "p", 0) for kind, text in blocks), meta)


def _is_read_more(kind: str, text: str) -> bool:
    """A short "Read also: …" paragraph: a link to another story, not this one's text."""
    return kind == "p" and len(text) <= _READ_MORE_LENGTH and _READ_MORE.match(text) is not None


# -- text -----------------------------------------------------------------------


def _keep_the_main_article(tree: Any) -> None:
    """When one ``<article>`` holds most of the page's text, drop the others (teasers, related stories).

    trafilatura would read every ``<article>`` of a page as the text; a page whose
    story is not in an ``<article>`` at all (only its related cards are) is left as it is.
    """
    articles = tree.xpath("//article[not(ancestor::article)]")
    if len(articles) < 2:
        return
    sizes = [len(" ".join(" ".join(a.itertext()).split())) for a in articles]
    body = tree.find("body")
    total = len(" ".join(" ".join((body if body is not None else tree).itertext()).split()))
    largest = max(range(len(articles)), key=sizes.__getitem__)
    if total and sizes[largest] >= _LARGEST_ARTICLE_SHARE * total:
        for index, article in enumerate(articles):
            if index != largest:
                article.drop_tree()


def _headline(blocks: list[tuple[str, str]], title: str | None) -> int | None:
    """Where the headline is among the blocks: the first ``<h1>`` near the top, or one that is the title."""
    for index, (kind, text) in enumerate(blocks):
        if kind == "h1" and (index < _HEADLINE_WITHIN or (title is not None and _flat(text) == _flat(title))):
            return index
    return None


@dataclass(frozen=True, slots=True)
class _Subheading:
    level: str
    text: str
    after: str
    """The start of the text right after it."""
    beside: tuple[str, ...]
    """The starts of the texts of the other elements in the same parent."""


def _subheadings(tree: Any) -> list[_Subheading]:
    """Every ``<h2>``–``<h6>`` of the page, with the text after it and beside it."""
    found: list[_Subheading] = []
    for heading in tree.iter("h2", "h3", "h4", "h5", "h6"):
        text = _one_line(heading.text_content())
        after = heading.getnext()
        while after is not None and not _element_start(after):
            after = after.getnext()
        parent = heading.getparent()
        if text and after is not None and parent is not None:
            beside = tuple(start for child in parent if child is not heading and (start := _element_start(child)))
            found.append(_Subheading(str(heading.tag), text, _element_start(after), beside))
    return found


def _element_start(element: Any) -> str:
    if not isinstance(element.tag, str):
        return ""
    return _flat(" ".join(element.itertext()))[:_MATCHED]


def _restore_subheadings(blocks: list[tuple[str, str]], subheadings: list[_Subheading]) -> list[tuple[str, str]]:
    """Put back a subheading trafilatura dropped, above the paragraph it headed in the page.

    trafilatura sometimes leaves out an ``<h2>`` inside an article's text (one with an
    ``id``, or directly in a ``<div>`` of paragraphs); the corpus keeps subheadings, so a
    dropped one goes back above the paragraph that followed it, when that paragraph and
    at least one other beside it in the page were kept (a "Comments" heading over one
    kept comment is not put back).
    """
    headings = {_flat(text) for kind, text in blocks if kind != "p"}
    starts = [_flat(text)[:_MATCHED] for _, text in blocks]
    out = list(blocks)
    inserted = 0
    for sub in subheadings:
        if _flat(sub.text) in headings or not sub.after:
            continue
        matches = [i for i, start in enumerate(starts) if blocks[i][0] == "p" and _same_start(start, sub.after)]
        others = sum(1 for start in sub.beside if start != sub.after and any(_same_start(s, start) for s in starts))
        if matches and others >= 1:
            out.insert(matches[0] + inserted, (sub.level, sub.text))
            inserted += 1
            headings.add(_flat(sub.text))
    return out


def _same_start(block: str, page: str) -> bool:
    """A kept block and a page element's text begin alike (a table's first row, a quote's paragraph)."""
    if not block or not page:
        return False
    return block == page or (len(block) >= _MIN_PREFIX and page.startswith(block)) or block.startswith(page)


def _flat(text: str) -> str:
    return " ".join(text.split()).casefold()


def _blocks(body: Any) -> list[tuple[str, str]]:
    """("p", text) paragraphs and ("h1".."h6", text) headings, in order, from trafilatura's XML body."""
    out: list[tuple[str, str]] = []
    for element in body:
        _element_blocks(element, out)
    return out


def _element_blocks(element: Any, out: list[tuple[str, str]]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag == "head":
        text = _one_line(_inline_text(element))
        if text:
            rend = str(element.get("rend") or "h2").lower()
            out.append((rend if re.fullmatch(r"h[1-6]", rend) else "h2", text))
        return
    if tag in {"list", "table", "quote", "div"} and any(_is_block(child) for child in element):
        # A list's items, a table's rows and a quote's paragraphs are paragraphs of their own.
        lead = _one_line(element.text or "")
        if lead:
            out.append(("p", lead))
        for child in element:
            if _is_block(child):
                _element_blocks(child, out)
            else:
                tail = _paragraphs(_inline_text(child))
                out.extend(("p", text) for text in tail)
            for text in _paragraphs(child.tail or ""):
                out.append(("p", text))
        return
    if tag == "row":
        cells = [_one_line(_inline_text(cell)) for cell in element]
        text = " ".join(cell for cell in cells if cell)
        if text:
            out.append(("p", text))
        return
    if tag == "graphic":
        return
    out.extend(("p", text) for text in _paragraphs(_inline_text(element)))


def _is_block(element: Any) -> bool:
    return isinstance(element.tag, str) and element.tag in _BLOCK_TAGS


def _inline_text(element: Any) -> str:
    """The text of an element, ``<lb/>`` as a line break, inline markup flattened."""
    parts: list[str] = [element.text or ""]
    for child in element:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == "lb":
            parts.append("\n")
        elif tag == "graphic":
            pass
        elif tag in _BLOCK_TAGS:
            parts.append("\n\n" + _inline_text(child) + "\n\n")
        else:
            parts.append(_inline_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _paragraphs(text: str) -> list[str]:
    """Paragraphs of lines; a blank line (two line breaks) separates paragraphs, as in the corpus format."""
    lines = [_SPACES.sub(" ", line.translate(_INVISIBLE)).strip() for line in text.split("\n")]
    out: list[str] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line:
            current.append(line)
        elif current:
            out.append("\n".join(current))
            current = []
    return out


def _one_line(text: str) -> str:
    return " ".join(text.translate(_INVISIBLE).split())


# -- metadata ---------------------------------------------------------------------


def _meta_text(document: Any, name: str) -> str | None:
    value = getattr(document, name, None) if document is not None else None
    text = _one_line(value) if isinstance(value, str) else ""
    return text or None


def _date(document: Any) -> str | None:
    value = _meta_text(document, "date")
    return value if value and _DATE.match(value) else None


def _canonical(tree: Any, url: str | None) -> str | None:
    candidates = [
        *tree.xpath("//link[@href][contains(concat(' ', normalize-space(translate(@rel, 'CANONIL', 'canonil')), ' '),"
                    " ' canonical ')]/@href"),
        *tree.xpath("//meta[@content][translate(@property, 'OGURL', 'ogurl')='og:url']/@content"),
    ]  # fmt: skip
    for candidate in candidates:
        text = str(candidate).strip()
        if not text:
            continue
        absolute = urljoin(url, text) if url else text
        if absolute.startswith(("http://", "https://")) and not any(ch.isspace() for ch in absolute):
            return absolute
    return None


def _declared_language(tree: Any) -> str | None:
    candidates = [
        *tree.xpath("/html/@lang"),
        *tree.xpath("/html/@xml:lang", namespaces={"xml": "http://www.w3.org/XML/1998/namespace"}),
        *tree.xpath(
            "//meta[@content][translate(@http-equiv, 'CONTENTLAGU', 'contentlagu')='content-language']/@content"
        ),
        *tree.xpath("//meta[@content][translate(@property, 'OGLCALE', 'oglcale')='og:locale']/@content"),
    ]
    for candidate in candidates:
        match = _LANGUAGE.match(str(candidate).strip().split(",")[0].strip())
        if match:
            return match.group(1).lower()
    return None
