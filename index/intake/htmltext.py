"""The running text of an HTML page: its paragraphs and subheadings, without the page furniture.

Reads the page the way a reader sees it: scripts, styles, navigation, forms
and asides are left out; block elements (p, div, li, …) end a paragraph;
``<br>`` breaks a line inside one; whitespace collapses as a browser collapses
it (except in ``<pre>``). When the page has an ``<article>`` element, the text
comes from it alone (the largest one, when there are several), else from
``<main>``, else from the whole page. The page's ``<h1>`` is its headline, not
part of the text; ``<h2>``–``<h6>`` become subheadings.

The parser is :class:`html.parser.HTMLParser`, driven so that hostile input
stays cheap: see :func:`read_html`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser
from typing import Final

# Elements whose content is never part of the article's text.
_DROPPED: Final = frozenset(
    {
        "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "canvas", "video", "audio",
        "nav", "footer", "aside", "form", "button", "select", "textarea", "dialog",
        # Photo captions and credits are page furniture (corpus/README.md).
        "figcaption",
    }
)  # fmt: skip
# Elements that end the paragraph before them and start a new one.
_BLOCKS: Final = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog", "dir",
        "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
        "header", "hgroup", "hr", "html", "legend", "li", "listing", "main", "menu", "nav", "ol", "p", "pre",
        "section", "summary", "table", "tbody", "tfoot", "thead", "tr", "ul", "xmp",
    }
)  # fmt: skip
_HEADINGS: Final = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_VOID: Final = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
)
# Elements whose end tag may be left out: a hidden one could not be skipped reliably.
_OPTIONAL_END: Final = frozenset(
    {"p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot", "colgroup", "caption",
     "rb", "rp", "rt", "rtc", "html", "head", "body"}
)  # fmt: skip
_HEAD_CONTENT: Final = frozenset({"title", "meta", "link", "style", "script", "noscript", "base", "template"})
_CELLS: Final = frozenset({"td", "th"})

_HTML_SPACE: Final = re.compile(r"[ \t\n\r\f]+")
_SPACES: Final = re.compile(r" {2,}")
# No-break spaces are layout glue (&nbsp;) and become plain spaces; so do the Unicode line
# and paragraph separators, which a browser does not break at but str.splitlines (and so the
# corpus loader) does. Soft hyphens and zero-width spaces are invisible and would split words.
_INVISIBLE: Final = str.maketrans(
    {"\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2028": " ", "\u2029": " ", "\u00ad": None, "\u200b": None}
)

_META_CHARSET: Final = re.compile(rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_CHARSET_SCAN_BYTES: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class TextBlock:
    """A paragraph (lines joined by newlines) or a subheading (one line, without any "## ")."""

    text: str
    is_heading: bool
    line: int
    """The source line it starts on."""


@dataclass(frozen=True, slots=True)
class HtmlText:
    """What a page says, as :func:`read_html` found it."""

    blocks: tuple[TextBlock, ...]
    headline: str | None
    """The page's first ``<h1>`` (inside the chosen ``<article>`` when there is one)."""
    page_title: str | None
    """The ``<title>``, often with the site's name added."""
    canonical_url: str | None
    """``<link rel="canonical">``, else ``<meta property="og:url">``, as written in the page."""


def declared_charset(data: bytes) -> str | None:
    """The encoding label a page declares in ``<meta charset>`` or ``<meta http-equiv>``, lowercased."""
    match = _META_CHARSET.search(data, 0, _CHARSET_SCAN_BYTES)
    return match.group(1).decode("ascii").lower() if match else None


def read_html(html: str) -> HtmlText:
    """The paragraphs, subheadings, headline, title and canonical address of a page.

    Never raises on malformed input and takes time linear in its length.
    """
    reader = _Reader()
    # A "<![" section other than CDATA makes the stdlib parser raise; HTML5 reads
    # every "<![…>" outside SVG/MathML as a bogus comment, which "<!-[…>" is.
    reader.feed(html.replace("<![", "<!-["))
    reader.finish()
    return reader.result()


@dataclass(slots=True)
class _Raw:
    kind: str  # "paragraph", "heading" or "headline"
    text: str
    line: int
    article: int | None
    in_main: bool


class _Reader(HTMLParser):
    """Collects blocks of text with the ``<article>`` and ``<main>`` they belong to."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._raw: list[_Raw] = []
        self._pieces: list[str | None] = []  # text, and None for a <br>
        self._block_line = 0  # where the block's first text is; 0 before it
        self._has_text = False
        self._skipping: str | None = None  # the dropped element we are inside
        self._skip_depth = 0  # how many more of that same element are open inside it
        self._in_head = False
        self._pre_depth = 0
        self._heading: str | None = None
        self._articles_seen = 0
        self._article: int | None = None
        self._article_depth = 0
        self._main_depth = 0
        self._title: list[str] | None = None
        self.page_title: str | None = None
        self.canonical: str | None = None
        self.og_url: str | None = None

    # -- parser events -------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._read_metadata(tag, attrs)
        if self._skipping is not None:
            if tag == self._skipping:
                self._skip_depth += 1
            return
        if self._title is not None and (tag in _BLOCKS or tag == "head"):
            self._end_title()  # an unclosed <title> must not swallow the page
        if self._in_head and (tag not in _HEAD_CONTENT):
            self._in_head = False  # a browser closes <head> at the first element that cannot be in it
        if tag == "head":
            self._in_head = True
            return
        if tag == "title" and self.page_title is None:
            self._title = []
            return
        if tag in _BLOCKS:
            self._end_block(opening=tag)
        if tag in _DROPPED or (tag not in _VOID and tag not in _OPTIONAL_END and _hidden(attrs)):
            self._skipping, self._skip_depth = tag, 0
            return
        if tag == "br":
            self._pieces.append(None)
        elif tag in _CELLS:
            self._pieces.append(" ")
        elif tag == "pre":
            self._pre_depth += 1
        elif tag == "article":
            if self._article_depth == 0:
                self._articles_seen += 1
                self._article = self._articles_seen
            self._article_depth += 1
        elif tag == "main":
            self._main_depth += 1
        elif tag in _HEADINGS:
            self._heading = tag

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # "<div/>" opens a div in HTML; only void elements really end here. Treating
        # every self-closed tag as void keeps "<iframe/>" from hiding the rest of the page.
        self._read_metadata(tag, attrs)
        if self._skipping is not None or self._in_head:
            return
        if tag == "br":
            self._pieces.append(None)
        elif tag in _BLOCKS:
            self._end_block(opening=tag)

    def handle_endtag(self, tag: str) -> None:
        if self._skipping is not None:
            if tag == self._skipping:
                if self._skip_depth == 0:
                    self._skipping = None
                else:
                    self._skip_depth -= 1
            return
        if tag == "title" and self._title is not None:
            self._end_title()
            return
        if tag == "head":
            self._in_head = False
            return
        if tag in _HEADINGS and self._heading is not None:
            self._flush()
            self._heading = None
            return
        if tag in _BLOCKS:
            self._end_block()
        if tag == "pre" and self._pre_depth:
            self._pre_depth -= 1
        elif tag == "article" and self._article_depth:
            self._article_depth -= 1
            if self._article_depth == 0:
                self._article = None
        elif tag == "main" and self._main_depth:
            self._main_depth -= 1

    def handle_data(self, data: str) -> None:
        if self._skipping is not None:
            return
        if self._title is not None:
            self._title.append(data)
            return
        if self._in_head:
            if not data.strip(" \t\n\r\f"):
                return
            self._in_head = False  # text cannot be in <head>: a browser shows it in the body
        data = data.translate(_INVISIBLE)
        if not self._pre_depth:
            data = _HTML_SPACE.sub(" ", data)
        if data.strip() and not self._has_text:
            self._has_text = True
            self._block_line = self.getpos()[0]
        self._pieces.append(data)

    def finish(self) -> None:
        """Take in what the parser left unread, and end the last block.

        ``close()`` is not used: on an unterminated construct it re-scans to the
        end of the input once per "<" after it, which is quadratic (CPython before
        3.13.4). What ``feed`` leaves is either an unterminated tag, comment or
        declaration, or the content of an unclosed ``<script>``/``<style>``, which
        HTML5 drops at the end of the file; or plain text held back because of a
        trailing "&", which is kept.
        """
        rest = self.rawdata
        self.rawdata = ""
        if rest and not self.cdata_elem and (rest == "<" or not rest.startswith("<")):
            self.handle_data(unescape(rest))
        self._end_block()

    # -- building blocks -----------------------------------------------

    def _read_metadata(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "link" and self.canonical is None:
            values = dict(attrs)
            rel = (values.get("rel") or "").lower().split()
            if "canonical" in rel and values.get("href"):
                self.canonical = (values["href"] or "").strip()
        elif tag == "meta" and self.og_url is None:
            values = dict(attrs)
            if (values.get("property") or values.get("name") or "").lower() == "og:url" and values.get("content"):
                self.og_url = (values["content"] or "").strip()

    def _end_title(self) -> None:
        self.page_title = _one_line("".join(self._title or [])) or None
        self._title = None

    def _end_block(self, opening: str | None = None) -> None:
        """A block boundary: what came before is a paragraph, or the heading it was in."""
        if self._heading is not None:
            if not self._has_text and opening not in _HEADINGS:
                return  # "<h2><div>Title</div></h2>": the heading has not started yet
            self._flush()
            self._heading = None  # a heading never spans blocks; "<h2>A<p>b" leaves it at A
            return
        self._flush()

    def _flush(self) -> None:
        pieces, self._pieces = self._pieces, []
        has_text, self._has_text = self._has_text, False
        line, self._block_line = self._block_line, 0
        if not has_text:
            return
        joined = "".join("\n" if piece is None else piece for piece in pieces)
        article, in_main = self._article, self._main_depth > 0
        if self._heading is not None:
            kind = "headline" if self._heading == "h1" else "heading"
            self._raw.append(_Raw(kind, _one_line(joined), line, article, in_main))
            return
        if self._pre_depth:
            lines = [text.rstrip() for text in joined.split("\n")]
        else:
            lines = [_SPACES.sub(" ", text).strip() for text in joined.split("\n")]
        # Blank lines ("<br><br>") separate paragraphs, as they do in the corpus format.
        paragraph: list[str] = []
        for text in [*lines, ""]:
            if text.strip():
                paragraph.append(text)
            elif paragraph:
                self._raw.append(_Raw("paragraph", "\n".join(paragraph), line, article, in_main))
                paragraph = []

    def result(self) -> HtmlText:
        scope = self._raw
        sizes: dict[int, int] = {}
        for raw in self._raw:
            if raw.article is not None and raw.kind != "headline":
                sizes[raw.article] = sizes.get(raw.article, 0) + len(raw.text)
        if sizes:
            chosen = max(sizes, key=lambda article: sizes[article])
            scope = [raw for raw in self._raw if raw.article == chosen]
        elif any(raw.in_main for raw in self._raw):
            scope = [raw for raw in self._raw if raw.in_main]
        headlines = [raw for raw in scope if raw.kind == "headline"] or [
            raw for raw in self._raw if raw.kind == "headline"
        ]
        headline = headlines[0] if headlines else None
        # Only the first <h1> is the headline; any later one heads a section of the text.
        blocks = tuple(TextBlock(raw.text, raw.kind != "paragraph", raw.line) for raw in scope if raw is not headline)
        return HtmlText(
            blocks=blocks,
            headline=headline.text if headline else None,
            page_title=self.page_title,
            canonical_url=self.canonical or self.og_url,
        )


def _hidden(attrs: list[tuple[str, str | None]]) -> bool:
    return any(
        name == "hidden" or (name == "aria-hidden" and (value or "").strip().lower() == "true") for name, value in attrs
    )


def _one_line(text: str) -> str:
    return " ".join(text.translate(_INVISIBLE).split())
