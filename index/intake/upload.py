"""Turn an uploaded file into a corpus article, validated exactly as ``corpus check`` validates one.

Three kinds of file, told apart by the extension alone:

* ``.md`` / ``.markdown``: already in the corpus format; its front matter is the metadata.
* ``.txt``: plain text; paragraphs are separated by blank lines, "## " lines are subheadings.
* ``.html`` / ``.htm``: a web page; :mod:`index.intake.extract` (trafilatura) finds the
  article in it, and :mod:`index.intake.htmltext` reads the whole page when that finds none.

An upload may also be a page fetched from an address (``Upload.url``, see
:mod:`index.intake.link`): problems then name the page by its address.

The metadata of a text or HTML file comes from "field: value" lines (the Telegram
caption) and from ``fields`` (command-line options), which win; see
``corpus/README.md``, "Adding articles". What is missing is filled in where it
can be: a web page offers its title, publisher (site name), publication date,
canonical address and declared language (:attr:`PreparedArticle.from_page` lists
which were used); the language is otherwise detected, and the id is made from the
source and title. An address already in the corpus (``existing_urls``) is refused
with :class:`~index.intake.address.AlreadyInCorpus`.

Nothing here touches the corpus: :func:`prepare_article` returns the file text to
save as ``articles/<id>.md``, after the loader has accepted it in a scratch folder.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
import tempfile
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Final

import yaml

from ..corpus.credits import is_credit_line
from ..corpus.fields import MAX_SOURCE, MAX_TITLE, clip_field
from ..corpus.frontmatter import HEADING_PREFIX, read_document
from ..corpus.loader import HTTP_URL, SLUG, check_article_file, iso_date
from ..corpus.model import Article, Rendition
from ..corpus.problems import CorpusError, Problem
from ..languages import LanguageDetector, is_iso_639_1
from .address import AlreadyInCorpus, find_duplicate, page_label
from .encoding import looks_like_language
from .extract import PageMetadata, extract_page
from .htmltext import TextBlock, declared_charset, read_html

CAPTION_FIELDS: Final = ("source", "title", "published", "url", "language", "id", "note")
"""The metadata a caption (or ``fields``) can give, in the order the front matter lists them."""
CAPTION_ALIASES: Final[Mapping[str, str]] = MappingProxyType({"date": "published", "link": "url", "lang": "language"})
"""Other names accepted for a field."""
REQUIRED_FIELDS: Final = ("source", "title", "published")
MAX_ID_LENGTH: Final = 60

_KINDS: Final = {"md": "markdown", "markdown": "markdown", "txt": "text", "html": "html", "htm": "html"}


@dataclass(frozen=True, slots=True)
class FieldSyntax:
    """How whoever adds an article gives its metadata, for the problems to say it their way."""

    field: str
    """One field written out, with ``{name}`` for its name: ``'published: …'`` in a caption."""
    accepted: str
    """What can be added, and how its metadata is given."""

    def given_as(self, name: str) -> str:
        return self.field.format(name=name)


CAPTION: Final = FieldSyntax(
    "'{name}: …'", "send a .md file in the corpus format, or a .txt or .html file with the metadata in the caption"
)
"""Telegram: the metadata is a caption's ``field: value`` lines."""
OPTIONS: Final = FieldSyntax(
    "--{name} …",
    "give a .md file in the corpus format, or a .txt or .html file with its metadata as options "
    "(--source, --title, --published, --url)",
)
"""The command line and the console: the metadata is ``--field value`` options."""
_FRONT_MATTER_ORDER: Final = ("id", "title", "source", "url", "published", "language", "note")
_FIELD_MEANINGS: Final = {"source": "the publisher", "title": "the headline", "published": "YYYY-MM-DD"}

_CAPTION_LINE: Final = re.compile(r"^([^\W\d_][\w -]*?)\s*:\s*(.*)$")
_BARE_ADDRESS: Final = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_ISO_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# C0 controls other than tab, newline, form feed and carriage return: text files do not have them.
_CONTROL: Final = re.compile("[\x00-\x08\x0b\x0e-\x1f]")
_CONTROL_BYTES: Final = re.compile(b"[\x00-\x08\x0b\x0e-\x1f]")
# A headline: one line of at most 25 words, ending in no full stop (a question or exclamation may be one).
_HEADLINE: Final = re.compile(r"^(?!.*[.:;,]\s*$)(?:\S+\s+){0,24}\S+\s*$")
# A paragraph that is only a rule ("---", "* * *") separates parts of a text; it is not text.
_SEPARATOR: Final = re.compile(r"^(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,})$")
# Python codecs (by codecs.lookup name) that decode bytes but are no charset a page may
# declare: escape and domain-name codecs, and UTF-7, which browsers refuse.
_NOT_CHARSETS: Final = frozenset(
    {"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined", "charmap", "utf-7"}
)
# Letters beyond what NFKD decomposes to ASCII, for ids.
_ASCII_FOLD: Final = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d",
     "Đ": "d", "ð": "d", "þ": "th", "Þ": "th", "ı": "i"}
)  # fmt: skip
# Language detection is as sure after a few pages as after a whole book, and cheaper.
_DETECTION_SAMPLE: Final = 20_000
_MAX_NAME_LENGTH: Final = 100


@dataclass(frozen=True, slots=True)
class Upload:
    """A file as an admin sent it."""

    name: str
    """The file name as sent: only its extension is used, and only its base name is shown; never a path."""
    data: bytes
    caption: str | None = None
    url: str | None = None
    """The address the file was fetched from (after redirects), for a link or a feed entry: it names the
    page in problems, and is the article's url unless the caption or the page's canonical address says."""
    requested_url: str | None = None
    """The address as given, before redirects (checked for duplicates too)."""
    charset: str | None = None
    """The charset the server declared (``Content-Type``), which wins over the page's ``<meta>``."""


@dataclass(frozen=True, slots=True)
class PreparedArticle:
    """An upload turned into a valid article file, not yet saved anywhere."""

    article: Article
    """As the loader read it; ``article.path`` is ``Path("<id>.md")``, the name to save it under."""
    passages: tuple[Rendition, ...]
    """The text split into passages, exactly as the loader splits it."""
    markdown: str
    """The complete file text to save as ``articles/<id>.md``."""
    detected_language: bool
    """True when the language was not given and was detected from the text (or, for a web page, declared
    by the page and not contradicted by its text)."""
    remarks: tuple[str, ...] = ()
    """What was filled in or ignored rather than given, for telling the uploader
    (e.g. "title taken from the page's <h1>")."""
    from_page: tuple[str, ...] = ()
    """The fields taken from the web page itself (title, source, published, url, language), in that order."""


@dataclass(frozen=True, slots=True)
class _Given:
    value: str
    origin: str | None
    """"caption line N", or None for ``fields``."""

    def problem_prefix(self) -> str:
        return f"{self.origin}: " if self.origin else ""


def prepare_article(
    upload: Upload,
    *,
    existing_ids: Collection[str],
    detector: LanguageDetector,
    max_bytes: int = 1_000_000,
    fields: Mapping[str, str] | None = None,
    existing_urls: Mapping[str, str] | None = None,
    syntax: FieldSyntax = CAPTION,
) -> PreparedArticle:
    """Turn ``upload`` into an article file the loader accepts, or raise CorpusError listing every problem.

    Problems name the upload by its base name (a fetched page by its address), with
    the line of the file where one makes sense. ``fields`` (field name or alias to
    value) override the caption. ``existing_urls`` (from
    :func:`~index.intake.address.corpus_addresses`) are the corpus's addresses: an
    article at one of them raises :class:`~index.intake.address.AlreadyInCorpus`.
    ``syntax`` is how the problems say to give a field (a caption's line, or an option).
    """
    shown = Path(page_label(upload.url) if upload.url else _shown_name(upload.name))
    problems: list[Problem] = []
    kind = _kind(_shown_name(upload.name), problems, syntax)
    if len(upload.data) > max_bytes:
        sizes = human_sizes(len(upload.data), max_bytes)
        problems.append(Problem(shown, None, f"is {sizes[0]}; the limit is {sizes[1]}"))
    elif not upload.data:
        problems.append(Problem(shown, None, "is empty"))
    if problems or kind is None:
        raise CorpusError(problems)
    text = _decode(upload.data, kind, shown, problems, upload.charset)
    if text is None:
        raise CorpusError(problems)
    if kind == "markdown":
        if fields:
            problems.append(Problem(shown, None, "metadata of a .md file comes from its front matter"))
        ignored = "the caption was ignored: a .md file's metadata is its front matter"
        remarks = (ignored,) if (upload.caption or "").strip() else ()
        return _prepare_markdown(text, shown, existing_ids, problems, remarks)
    page: PageMetadata | None = None
    remarks_list: list[str] = []
    if kind == "html":
        extracted = extract_page(text, upload.url)
        page, found = extracted.meta, extracted.blocks
        if not found:
            whole = read_html(text)
            found = whole.blocks
            if found:
                remarks_list.append("no article was found in the page, so the text of the whole page was taken")
            if page.title is None and (whole.headline or whole.page_title):
                title = whole.headline or whole.page_title
                page = dataclasses.replace(page, title=title, title_from="<h1>" if whole.headline else "<title>")
        blocks = _demote_orphan_headings(_drop_credits(_drop_separators(found), remarks_list))
        if not blocks:
            problems.append(
                Problem(shown, None, "the page has no text (scripts, menus, forms and asides are left out)")
            )
    else:
        blocks = _drop_credits(_drop_separators(_text_blocks(text)), remarks_list)
    given = _metadata(upload.caption, fields, shown, problems)
    if kind == "text":
        blocks = _fold_headline(blocks, given, remarks_list)
        if not any(not block.is_heading for block in blocks):
            problems.append(Problem(shown, None, "has no text"))
        _check_headings(blocks, shown, problems)
    from_page: list[str] = []
    meta = _complete_metadata(
        given, blocks, page, upload.url, existing_ids, detector, shown, problems, remarks_list, from_page, syntax
    )
    if existing_urls:
        given_url = given["url"].value if "url" in given else None
        canonical = page.canonical_url if page is not None and given_url is None else None
        duplicate = find_duplicate(existing_urls, given_url, canonical, upload.url, upload.requested_url)
        if duplicate is not None:
            raise AlreadyInCorpus(*duplicate)
    if problems or meta is None:
        raise CorpusError(problems)
    markdown = _render(meta, blocks)
    article, passages = _validate(markdown, meta["id"], shown, keep_lines=False)
    detected = "language" not in given
    return PreparedArticle(article, passages, markdown, detected, tuple(remarks_list), tuple(from_page))


# -- the file itself ---------------------------------------------------------


def _shown_name(name: str) -> str:
    """The base name, safe to print: no folders, no control or bidi characters, not too long."""
    base = re.split(r"[\\/]", name)[-1].strip()
    base = "".join("?" if unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Zl", "Zp"} else ch for ch in base)
    if base in {"", ".", ".."}:
        return "upload"
    if len(base) > _MAX_NAME_LENGTH:
        stem, dot, ext = base.rpartition(".")
        ext = ext if dot and len(ext) <= 10 else ""
        base = f"{(stem if ext else base)[: _MAX_NAME_LENGTH - 12]}…{'.' + ext if ext else ''}"
    return base


def _kind(name: str, problems: list[Problem], syntax: FieldSyntax = CAPTION) -> str | None:
    _, dot, ext = name.rpartition(".")
    kind = _KINDS.get(ext.lower()) if dot else None
    if kind is None:
        what = f"a .{ext} file" if dot and ext else "a file without an extension"
        problems.append(Problem(Path(name), None, f"is {what}, which cannot be added; {syntax.accepted}"))
    return kind


def human_sizes(size: int, limit: int) -> tuple[str, str]:
    """Both sizes in the same human unit, precise enough to tell them apart."""
    for unit, scale in (("MB", 1_000_000), ("kB", 1_000)):
        if limit >= scale:
            shown = (f"{size / scale:.1f} {unit}", f"{limit / scale:.1f} {unit}")
            if shown[0] != shown[1]:
                return shown
    return f"{size:,} bytes", f"{limit:,} bytes"


def _decode(data: bytes, kind: str, shown: Path, problems: list[Problem], charset: str | None = None) -> str | None:
    """The file's text with "\\n" line endings, or None after adding the problem.

    ``charset``: what the server declared; a page that is not UTF-8 is read with it
    before any ``<meta>`` declaration (a byte-order mark wins over both).
    """
    binary = "looks like a binary file, not text"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")  # reads and drops the BOM
        except UnicodeDecodeError as exc:
            line = data[: exc.start].decode("utf-16", errors="replace").count("\n") + 1
            problems.append(Problem(shown, line, f"is not valid UTF-16 at line {line}; save it as UTF-8"))
            return None
    else:
        body = data.removeprefix(codecs.BOM_UTF8)
        if _CONTROL_BYTES.search(body):
            # Every ASCII-compatible encoding has these bytes only as control characters.
            problems.append(Problem(shown, None, binary))
            return None
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            before = len(problems)
            declared = charset or (declared_charset(body) if kind == "html" else None)
            text = _decode_declared(body, declared, exc, shown, problems) if declared else None
            if text is None:
                if len(problems) == before:
                    line = _line_at(body, exc.start)
                    byte = f"0x{body[exc.start]:02x}"
                    problems.append(Problem(shown, line, f"is not UTF-8: byte {byte} at line {line}; save it as UTF-8"))
                return None
    if _CONTROL.search(text):
        problems.append(Problem(shown, None, binary))
        return None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not looks_like_language(text):
        # Two bytes 0xff 0xfe before ASCII text read as UTF-16 make a few CJK characters: no language.
        problems.append(
            Problem(
                shown,
                None,
                f"starts like UTF-16 but does not read as text in it (it would read {_clip(text, 20)!r}); "
                "save it as UTF-8",
            )
        )
        return None
    # The loader splits lines with str.splitlines, so the same breaks are normalised here.
    return "\n".join(text.splitlines())


def _decode_declared(
    body: bytes, label: str, utf8_error: UnicodeDecodeError, shown: Path, problems: list[Problem]
) -> str | None:
    """Decode a page that is not UTF-8 with the charset it declares, if Python knows it."""
    try:
        codec = codecs.lookup(label).name
    except LookupError:
        line = _line_at(body, utf8_error.start)
        problems.append(
            Problem(
                shown,
                line,
                f"is not UTF-8 (byte 0x{body[utf8_error.start]:02x} at line {line}) and declares an unknown "
                f"charset {label!r}; save it as UTF-8",
            )
        )
        return None
    if codec in _NOT_CHARSETS or codec.startswith(("utf-8", "utf-16", "utf-32")):
        return None  # a page cannot declare UTF-16 in ASCII; reported as not UTF-8
    # Browsers read a page labelled Latin-1 or ASCII as windows-1252, which fills 0x80-0x9f.
    candidates = ("cp1252", codec) if codec in {"latin-1", "iso8859-1", "ascii"} else (codec,)
    error: UnicodeDecodeError | None = None
    for candidate in candidates:
        try:
            return body.decode(candidate)
        except UnicodeDecodeError as exc:
            error = error or exc
        except LookupError:  # a codec that is not a text encoding, e.g. "rot13"
            return None
    assert error is not None
    line = _line_at(body, error.start)
    problems.append(
        Problem(
            shown,
            line,
            f"is not UTF-8, nor the {label} its <meta> declares: byte 0x{body[error.start]:02x} at line {line}; "
            "save it as UTF-8",
        )
    )
    return None


def _line_at(data: bytes, offset: int) -> int:
    before = data[:offset]
    return before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1


# -- markdown uploads --------------------------------------------------------


def _prepare_markdown(
    text: str, shown: Path, existing_ids: Collection[str], problems: list[Problem], remarks: tuple[str, ...]
) -> PreparedArticle:
    markdown = text.rstrip() + "\n"
    with tempfile.TemporaryDirectory(prefix="intake-") as scratch:
        probe = Path(scratch) / "upload.md"
        probe.write_bytes(markdown.encode("utf-8"))
        found: list[Problem] = []
        document = read_document(probe, found)
    if document is None:
        raise CorpusError([*problems, *(_relocate(p, shown, keep_line=True) for p in found)])
    article_id = document.meta.get("id")
    if isinstance(article_id, str) and article_id in existing_ids:
        problems.append(
            Problem(
                shown,
                document.meta_lines.get("id"),
                f"an article with id {article_id!r} already exists; /remove it first or change the id "
                "in the front matter",
            )
        )
    # A file is validated under the name it will be saved as; an id that is no
    # slug is reported by the loader itself, whatever the name.
    name = article_id if isinstance(article_id, str) and SLUG.match(article_id) else "upload"
    try:
        article, passages = _validate(markdown, name, shown, keep_lines=True)
    except CorpusError as exc:
        raise CorpusError([*problems, *exc.problems]) from None
    if problems:
        raise CorpusError(problems)
    return PreparedArticle(article, passages, markdown, False, remarks)


# -- plain text --------------------------------------------------------------


def _text_blocks(text: str) -> list[TextBlock]:
    """Paragraphs and "## " subheadings, with the line each starts on."""
    runs: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if line:
            current.append((number, line))
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    if len(runs) == 1 and len(runs[0]) > 1:
        # Exported text often puts each paragraph on one line, with no blank lines at all.
        runs = [[item] for item in runs[0]]
    blocks: list[TextBlock] = []
    for run in runs:
        paragraph: list[tuple[int, str]] = []
        # A "## " line starts a subheading even without a blank line after it: the
        # lines below it are its paragraph.
        for number, line in [*run, (0, "")]:
            if not line or line.startswith(HEADING_PREFIX):
                if paragraph:
                    blocks.append(TextBlock("\n".join(text for _, text in paragraph), False, paragraph[0][0]))
                    paragraph = []
                if line:
                    blocks.append(TextBlock(line[len(HEADING_PREFIX) :].strip(), True, number))
            else:
                paragraph.append((number, line))
    return blocks


def _check_headings(blocks: Sequence[TextBlock], shown: Path, problems: list[Problem]) -> None:
    """The loader's rule, reported at the upload's own lines: a subheading needs a paragraph under it."""
    for index, block in enumerate(blocks):
        after = blocks[index + 1] if index + 1 < len(blocks) else None
        if not block.is_heading:
            continue
        if after is None:
            problems.append(Problem(shown, block.line, "the last subheading has no paragraph after it"))
        elif after.is_heading:
            problems.append(
                Problem(shown, block.line, "a subheading is followed by another subheading, not a paragraph")
            )


def _fold_headline(blocks: list[TextBlock], given: dict[str, _Given], remarks: list[str]) -> list[TextBlock]:
    """The headline a text file repeats as its first line goes into the title, not into a passage.

    With a title given, a first line that says the same is left out. Without one, a first
    paragraph of one short line with no closing full stop, before a paragraph, is the title
    (a "## " subheading is one by its own say).
    """
    if not blocks:
        return blocks
    first, rest = blocks[0], blocks[1:]
    head, _, body = first.text.partition("\n")
    title = given.get("title")
    if title is not None and title.value:
        if _same_words(head, title.value):
            remarks.append("the first line repeats the title, so it is not a passage")
            kept = [dataclasses.replace(first, text=body, line=first.line + 1)] if body.strip() else []
            return kept + rest
        return blocks
    if (
        title is None
        and not first.is_heading
        and not body
        and _HEADLINE.match(head)
        and rest
        and not rest[0].is_heading
    ):
        given["title"] = _Given(head.strip(), None)
        remarks.append(f"title taken from the first line: {_clip(head.strip())}")
        return rest
    return blocks


def _same_words(a: str, b: str) -> bool:
    return [w.casefold() for w in re.findall(r"\w+", a)] == [w.casefold() for w in re.findall(r"\w+", b)]


def _drop_credits(blocks: Sequence[TextBlock], remarks: list[str]) -> list[TextBlock]:
    """Bylines, contributor notes and agency lines answer nothing: they are left out of the passages.

    One right under a subheading stays (the subheading would be left without its paragraph).
    """
    kept: list[TextBlock] = []
    for index, block in enumerate(blocks):
        under_heading = index > 0 and blocks[index - 1].is_heading
        if not block.is_heading and not under_heading and is_credit_line(block.text):
            remarks.append(f"a credit line was left out of the passages: {_clip(block.text)}")
            continue
        kept.append(block)
    return kept


# -- blocks of either kind ---------------------------------------------------


def _drop_separators(blocks: Sequence[TextBlock]) -> list[TextBlock]:
    return [block for block in blocks if block.is_heading or not _SEPARATOR.match(block.text)]


def _demote_orphan_headings(blocks: Sequence[TextBlock]) -> list[TextBlock]:
    """A page's subheading with no paragraph under it stays, as a paragraph: its words are the page's."""
    out: list[TextBlock] = []
    for index, block in enumerate(blocks):
        after = blocks[index + 1] if index + 1 < len(blocks) else None
        orphan = block.is_heading and (after is None or after.is_heading)
        out.append(dataclasses.replace(block, is_heading=False) if orphan else block)
    return out


def _render(meta: Mapping[str, str], blocks: Sequence[TextBlock]) -> str:
    ordered = {name: meta[name] for name in _FRONT_MATTER_ORDER if name in meta}
    front = yaml.safe_dump(ordered, allow_unicode=True, sort_keys=False, default_flow_style=False, width=1_000_000)
    return f"---\n{front}---\n\n" + "\n\n".join(_block_markdown(block) for block in blocks) + "\n"


def _block_markdown(block: TextBlock) -> str:
    if block.is_heading:
        return HEADING_PREFIX + block.text
    if block.text.startswith(HEADING_PREFIX):
        # Text that merely begins with "## " must not become a subheading: a no-break
        # space looks the same to a reader and is not the corpus format's marker.
        return "##\u00a0" + block.text[len(HEADING_PREFIX) :]
    return block.text


# -- metadata ------------------------------------------------------------------


def _metadata(
    caption: str | None, fields: Mapping[str, str] | None, shown: Path, problems: list[Problem]
) -> dict[str, _Given]:
    """The fields the caption and ``fields`` give, by canonical name; ``fields`` win."""
    given: dict[str, _Given] = {}
    for number, raw in enumerate((caption or "").splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        where = f"caption line {number}"
        match = _CAPTION_LINE.match(line)
        if _BARE_ADDRESS.match(line):
            problems.append(Problem(shown, None, f"{where}: an address alone; write it as 'url: {_clip(line)}'"))
            continue
        if match is None:
            problems.append(
                Problem(shown, None, f"{where}: {_clip(line)!r} is not a 'field: value' line ({_field_list()})")
            )
            continue
        name, value = _field_name(match.group(1)), match.group(2)
        if name is None:
            problems.append(Problem(shown, None, f"{where}: unknown field {match.group(1)!r} ({_field_list()})"))
        elif name in given:
            problems.append(Problem(shown, None, f"{where}: {name} is given twice (also on {given[name].origin})"))
        else:
            given[name] = _Given(" ".join(value.split()), where)
    for key, value in (fields or {}).items():
        name = _field_name(key)
        if name is None:
            problems.append(Problem(shown, None, f"unknown field {key!r} ({_field_list()})"))
        else:
            given[name] = _Given(" ".join(str(value).split()), None)
    return given


def _field_name(written: str) -> str | None:
    name = written.strip().lower()
    name = CAPTION_ALIASES.get(name, name)
    return name if name in CAPTION_FIELDS else None


def _field_list() -> str:
    aliases = {field: alias for alias, field in CAPTION_ALIASES.items()}
    return "fields: " + ", ".join(f"{name} ({aliases[name]})" if name in aliases else name for name in CAPTION_FIELDS)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _complete_metadata(
    given: Mapping[str, _Given],
    blocks: Sequence[TextBlock],
    page: PageMetadata | None,
    fetched_from: str | None,
    existing_ids: Collection[str],
    detector: LanguageDetector,
    shown: Path,
    problems: list[Problem],
    remarks: list[str],
    from_page: list[str],
    syntax: FieldSyntax = CAPTION,
) -> dict[str, str] | None:
    """Check what was given and fill in the rest; None when something required is missing or wrong.

    What a web page says (``page``) fills in what was not given; ``from_page`` gets
    each field so filled in, ``remarks`` says where from.
    """
    before = len(problems)
    meta: dict[str, str] = {}

    def report(item: _Given, message: str) -> None:
        problems.append(Problem(shown, None, item.problem_prefix() + message))

    for name in ("source", "title", "published", "language", "id", "note"):
        item = given.get(name)
        if item is not None and not item.value and name != "note":
            report(item, f"{name} has no value")
    limits = {"title": MAX_TITLE, "source": MAX_SOURCE}
    for name in ("source", "title"):
        if given.get(name) and given[name].value:
            meta[name] = clip_field(given[name].value, limits[name])
    if page is not None:
        where = {"<h1>": "the page's <h1>", "<title>": "the page's <title>"}.get(page.title_from or "", "the page")
        for name, value, said in (
            ("title", page.title and clip_field(page.title, MAX_TITLE), where),
            ("source", page.site_name and clip_field(page.site_name, MAX_SOURCE), "the page's site name"),
            ("published", page.published, "the page's publication date"),
        ):
            if value and name not in given:
                meta[name] = value
                from_page.append(name)
                remarks.append(f"{name} taken from {said}: {value}")
    for name in REQUIRED_FIELDS:
        if name not in given and name not in meta:
            unsaid = "the page does not say; " if page is not None else ""
            how = f"missing {name} ({_FIELD_MEANINGS[name]}): {unsaid}give it as {syntax.given_as(name)}"
            problems.append(Problem(shown, None, how, missing_field=name))

    published = given.get("published")
    if published is not None and published.value:
        if _ISO_DATE.match(published.value) and iso_date(published.value) is not None:
            meta["published"] = published.value
        else:
            report(published, f"published {published.value!r} is not a date in the form YYYY-MM-DD")

    note = given.get("note")
    if note is not None and note.value:
        meta["note"] = note.value
    url = given.get("url")
    if url is not None and url.value:
        if HTTP_URL.match(url.value):
            meta["url"] = url.value
        else:
            report(url, f"url {url.value!r} is not an http(s) address")
    elif url is None and page is not None and page.canonical_url and HTTP_URL.match(page.canonical_url):
        meta["url"] = page.canonical_url
        from_page.append("url")
        remarks.append(f"url taken from the page's canonical address: {page.canonical_url}")
    elif url is None and fetched_from and HTTP_URL.match(fetched_from):
        meta["url"] = fetched_from
        remarks.append(f"url: the address the page was fetched from, {fetched_from}")
    if "url" not in meta and not (url is not None and url.value):
        if "note" in meta:
            meta["url"] = ""
        else:
            problems.append(
                Problem(
                    shown,
                    None,
                    f"missing url: give the article's address as {syntax.given_as('url')}, "
                    f"or say why it is unknown as {syntax.given_as('note')}",
                    missing_field="url",
                )
            )

    language = given.get("language")
    if language is not None and language.value:
        code = re.split(r"[-_]", language.value.lower(), maxsplit=1)[0]  # "pt-BR" is Portuguese
        if is_iso_639_1(code):
            meta["language"] = code
        else:
            report(language, f"language {language.value!r} is not an ISO 639-1 code (two letters, e.g. en, fr, nl)")
    elif language is None and blocks:
        sample = "\n".join(block.text for block in blocks)[:_DETECTION_SAMPLE]
        detected = detector.detect(sample).detected
        declared = page.language if page is not None and page.language and is_iso_639_1(page.language) else None
        if declared is not None and detected in (None, declared):
            meta["language"] = declared
            from_page.append("language")
            remarks.append(f"language taken from the page: {declared}")
        elif detected is not None and is_iso_639_1(detected):
            meta["language"] = str(detected)
            said = f" (the page says {declared}, but its text reads as {detected})" if declared else ""
            remarks.append(f"language detected: {detected}{said}")
        else:
            problems.append(
                Problem(
                    shown,
                    None,
                    f"the language could not be detected; give it as {syntax.given_as('language').replace('…', 'xx')}"
                    " (ISO 639-1)",
                    missing_field="language",
                )
            )

    article_id = given.get("id")
    if article_id is not None and article_id.value:
        if SLUG.match(article_id.value):
            meta["id"] = article_id.value
        else:
            report(article_id, f"id {article_id.value!r} is not a slug (a-z, 0-9 and '-')")
    elif article_id is None and "source" in meta and "title" in meta:
        slug = make_id(meta["source"], meta["title"], meta.get("published"))
        if slug:
            meta["id"] = slug
            remarks.append(f"id made from the source and title: {slug}")
        else:
            made = f"no id can be made from the source and title; give one as {syntax.given_as('id')}"
            problems.append(Problem(shown, None, made))
    if meta.get("id") in existing_ids:
        problems.append(
            Problem(
                shown,
                None,
                f"an article with id {meta['id']!r} already exists; /remove it first or give another id:",
            )
        )
    return meta if len(problems) == before else None


def make_id(source: str, title: str, published: str | None = None) -> str:
    """A slug from the source and title: ASCII letters and digits joined by "-", at most 60 characters.

    When the title has no Latin letters to spell (a Russian or Chinese headline),
    the date stands in for it so that one source's articles do not all get its name.
    """
    title_part = _slugify(title)
    if not title_part and published:
        title_part = _slugify(published)
    slug = "-".join(part for part in (_slugify(source), title_part) if part)
    if len(slug) <= MAX_ID_LENGTH:
        return slug
    hyphen = slug.rfind("-", 0, MAX_ID_LENGTH + 1)
    # Cut between words, unless that would throw away most of it (one very long word).
    return (slug[:hyphen] if hyphen > MAX_ID_LENGTH // 2 else slug[:MAX_ID_LENGTH]).strip("-")


def _slugify(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.translate(_ASCII_FOLD)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


# -- validation ----------------------------------------------------------------


def _validate(markdown: str, name: str, shown: Path, *, keep_lines: bool) -> tuple[Article, tuple[Rendition, ...]]:
    """Check ``markdown`` with the loader, saved as ``<name>.md`` in a scratch folder.

    ``keep_lines``: the text is the upload's own (a .md), so the loader's line
    numbers are the upload's; for a generated file they would mislead.
    """
    with tempfile.TemporaryDirectory(prefix="intake-") as scratch:
        path = Path(scratch) / f"{name}.md"
        path.write_bytes(markdown.encode("utf-8"))
        try:
            article, passages = check_article_file(path)
        except CorpusError as exc:
            raise CorpusError([_relocate(p, shown, keep_line=keep_lines) for p in exc.problems]) from None
    return dataclasses.replace(article, path=Path(f"{article.id}.md")), tuple(passages)


def _relocate(problem: Problem, shown: Path, *, keep_line: bool) -> Problem:
    return Problem(shown, problem.line if keep_line else None, problem.message)
