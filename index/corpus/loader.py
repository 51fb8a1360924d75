"""Read and validate a corpus directory into immutable objects.

Layout (see corpus/README.md)::

    <root>/articles/[<folder>/]<id>.md
    <root>/translations/<id>/<lang>.md

Every problem in every file is collected, then the load either returns a
complete :class:`Corpus` or raises :class:`CorpusError` listing them all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from ..languages import SUPPORTED, is_iso_639_1
from .fields import MAX_SOURCE, MAX_TITLE, clip_field
from .frontmatter import HEADING_PREFIX, Block, Document, read_document
from .model import Article, Corpus, Passage, Rendition
from .problems import CorpusError, Problem

ARTICLE_FIELDS: Final = {"id", "title", "source", "url", "published", "language"}
ARTICLE_OPTIONAL: Final = {"note"}
TRANSLATION_FIELDS: Final = {"language", "translated_from", "method"}
TRANSLATION_METHODS: Final = ("reviewed", "machine")
SLUG: Final = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
HTTP_URL: Final = re.compile(r"^https?://\S+$")
_IGNORED: Final = {"README.md", "__init__.py", "__pycache__", ".gitkeep", ".DS_Store"}


def load_corpus(root: str | Path) -> Corpus:
    """Load and validate the corpus at ``root``; raise CorpusError if anything is wrong."""
    root = Path(root)
    problems: list[Problem] = []
    if not root.is_dir():
        raise CorpusError([Problem(root, None, "is not a directory")])
    articles_dir = root / "articles"
    translations_dir = root / "translations"
    _check_stray_top_level(root, problems)
    if problems and not any(p.path != root for p in problems):
        raise CorpusError(problems)  # the directory itself cannot be read
    if not articles_dir.is_dir():
        problems.append(Problem(articles_dir, None, "missing: the corpus needs an articles/ folder"))
        raise CorpusError(problems)

    hasher = hashlib.sha256()
    article_digests: dict[str, str] = {}
    parsed: dict[str, tuple[Article, list[Rendition]]] = {}
    for path in _walk(articles_dir, problems):
        if path.suffix != ".md":
            problems.append(Problem(path, None, "stray file: articles must be .md files"))
            continue
        digest = _digest(path, root, hasher)
        loaded = _load_article(path, problems)
        if loaded is None:
            continue
        article, renditions, id_line = loaded
        if article.id in parsed:
            first = parsed[article.id][0].path
            problems.append(Problem(path, id_line, f"duplicate id {article.id!r}, also used by {first}"))
            continue
        parsed[article.id] = (article, renditions)
        article_digests[article.id] = digest

    translations: dict[str, dict[str, list[Rendition]]] = {}
    if translations_dir.exists():
        for path in _walk(translations_dir, problems):
            digest = _digest(path, root, hasher)
            rel = path.relative_to(translations_dir).parts
            if len(rel) != 2 or path.suffix != ".md":
                problems.append(
                    Problem(path, None, "stray file: translations live at translations/<article id>/<lang>.md")
                )
                continue
            article_id, lang = rel[0], path.stem
            if article_id not in parsed:
                problems.append(Problem(path, None, f"stray file: no article has the id {article_id!r}"))
                continue
            article, originals = parsed[article_id]
            rendered = _load_translation(path, lang, article, originals, problems)
            if rendered is not None:
                translations.setdefault(article_id, {})[lang] = rendered
                article_digests[article_id] = _combine(article_digests[article_id], digest)

    if problems:
        raise CorpusError(problems)

    passages: list[Passage] = []
    articles: list[Article] = []
    for article_id in sorted(parsed):
        article, originals = parsed[article_id]
        articles.append(article)
        by_lang = translations.get(article_id, {})
        for position, original in enumerate(originals):
            renditions = {lang: texts[position] for lang, texts in sorted(by_lang.items())}
            passages.append(Passage(article, position, original, MappingProxyType(renditions)))
    return Corpus(
        root=root,
        articles=tuple(articles),
        passages=tuple(passages),
        digest=hasher.hexdigest(),
        article_digests=MappingProxyType(article_digests),
    )


def check_article_file(path: Path) -> tuple[Article, list[Rendition]]:
    """Validate one article file as :func:`load_corpus` validates each; raise CorpusError listing its problems.

    Only the file itself is checked: whether its id is unique, and its
    translations, are questions about a whole corpus.
    """
    problems: list[Problem] = []
    if path.suffix != ".md":
        raise CorpusError([Problem(path, None, "stray file: articles must be .md files")])
    loaded = _load_article(path, problems)
    if loaded is None or problems:
        raise CorpusError(problems)
    article, renditions, _ = loaded
    return article, renditions


def _load_article(path: Path, problems: list[Problem]) -> tuple[Article, list[Rendition], int] | None:
    before = len(problems)
    doc = read_document(path, problems)
    if doc is None:
        return None
    meta = doc.meta
    _check_fields(doc, ARTICLE_FIELDS, ARTICLE_OPTIONAL, problems)
    article_id = meta.get("id")
    if "id" in meta:
        if not isinstance(article_id, str) or not SLUG.match(article_id):
            problems.append(doc.problem("id", f"id {article_id!r} is not a slug (a-z, 0-9 and '-')"))
        elif article_id != path.stem:
            problems.append(doc.problem("id", f"id {article_id!r} does not match the file name {path.name!r}"))
    for name in ("title", "source"):
        if name in meta and (not isinstance(meta[name], str) or not meta[name].strip()):
            problems.append(doc.problem(name, f"{name} must be non-empty text"))
    url = meta.get("url")
    if url is not None and not isinstance(url, str):
        problems.append(doc.problem("url", "url must be text (or empty when unknown)"))
    elif url and not HTTP_URL.match(url):
        problems.append(doc.problem("url", f"url {url!r} is not an http(s) address"))
    published = iso_date(meta.get("published")) if "published" in meta else None
    if "published" in meta and published is None:
        problems.append(doc.problem("published", f"published {meta['published']!r} is not an ISO date (YYYY-MM-DD)"))
    language = meta.get("language")
    if "language" in meta and not is_iso_639_1(language):
        problems.append(doc.problem("language", f"language {language!r} is not an ISO 639-1 code"))
    note = meta.get("note")
    if note is not None and not isinstance(note, str):
        problems.append(doc.problem("note", "note must be text"))
    if not doc.blocks:
        problems.append(
            Problem(path, doc.end_line, "the article is empty: it has no paragraphs after the front matter")
        )
    renditions = _passages(doc, str(language), None, problems)
    if len(problems) > before:
        return None
    assert isinstance(article_id, str) and published is not None
    article = Article(
        id=article_id,
        title=clip_field(str(meta["title"]), MAX_TITLE),
        source=clip_field(str(meta["source"]), MAX_SOURCE),
        url=(url or "").strip(),
        published=published,
        language=str(language),
        note=(note or "").strip(),
        path=path,
    )
    return article, renditions, doc.meta_lines.get("id", 1)


def _load_translation(
    path: Path, lang: str, article: Article, originals: list[Rendition], problems: list[Problem]
) -> list[Rendition] | None:
    before = len(problems)
    doc = read_document(path, problems)
    if doc is None:
        return None
    meta = doc.meta
    _check_fields(doc, TRANSLATION_FIELDS, set(), problems)
    declared = meta.get("language")
    if "language" in meta:
        if declared not in SUPPORTED:
            problems.append(
                doc.problem(
                    "language", f"language {declared!r} is not one of the answer languages {', '.join(SUPPORTED)}"
                )
            )
        elif declared != lang:
            problems.append(
                doc.problem("language", f"language {declared!r} does not match the file name {path.name!r}")
            )
        elif declared == article.language:
            problems.append(doc.problem("language", f"a translation into the article's own language ({declared})"))
    source_lang = meta.get("translated_from")
    if "translated_from" in meta and source_lang != article.language:
        problems.append(
            doc.problem(
                "translated_from",
                f"translated_from {source_lang!r}, but the article {article.id!r} is in {article.language!r}",
            )
        )
    method = meta.get("method")
    if "method" in meta and method not in TRANSLATION_METHODS:
        problems.append(doc.problem("method", f"method {method!r} is not one of {', '.join(TRANSLATION_METHODS)}"))
    if len(problems) > before:
        return None
    renditions = _passages(doc, lang, str(method), problems)
    if len(problems) > before:
        return None
    if len(renditions) != len(originals) or [r.heading is None for r in renditions] != [
        o.heading is None for o in originals
    ]:
        line, message = _misaligned_line(doc, originals), _alignment_message(doc, originals, article)
        problems.append(Problem(path, line, message, stale_machine_translation=method == "machine"))
        return None
    return renditions


def _passages(doc: Document, language: str, method: str | None, problems: list[Problem]) -> list[Rendition]:
    """Group blocks into passages: a subheading belongs to the paragraph after it."""
    out: list[Rendition] = []
    heading: Block | None = None
    for block in doc.blocks:
        if block.is_heading:
            if heading is not None:
                problems.append(
                    Problem(doc.path, heading.line, "a subheading is followed by another subheading, not a paragraph")
                )
            heading = block
            continue
        title = heading.text[len(HEADING_PREFIX) :].strip() if heading else None
        out.append(Rendition(language=language, body=block.text, heading=title, method=method))
        heading = None
    if heading is not None:
        problems.append(Problem(doc.path, heading.line, "the last subheading has no paragraph after it"))
    return out


def _misaligned_line(doc: Document, originals: list[Rendition]) -> int:
    kinds = [o.heading is not None for o in originals]
    expected = [k for has_heading in kinds for k in ((True, False) if has_heading else (False,))]
    for i, block in enumerate(doc.blocks):
        if i >= len(expected) or block.is_heading != expected[i]:
            return block.line
    return doc.end_line


def _alignment_message(doc: Document, originals: list[Rendition], article: Article) -> str:
    expected = sum(2 if o.heading is not None else 1 for o in originals)
    return (
        f"not aligned with {article.path.name}: {len(doc.blocks)} blocks where the article has {expected} "
        "(each paragraph and subheading must match the article's, in the same order)"
        if len(doc.blocks) != expected
        else f"not aligned with {article.path.name}: its subheadings are not where the article's are"
    )


def _check_fields(doc: Document, required: set[str], optional: set[str], problems: list[Problem]) -> None:
    for name in sorted(required - doc.meta.keys()):
        problems.append(Problem(doc.path, 1, f"missing front-matter field {name!r}"))
    for name in sorted(doc.meta.keys() - required - optional):
        problems.append(doc.problem(str(name), f"unknown front-matter field {name!r}"))


def _check_stray_top_level(root: Path, problems: list[Problem]) -> None:
    try:
        entries = sorted(root.iterdir())
    except OSError as exc:
        problems.append(Problem(root, None, f"cannot be listed: {exc.strerror or exc}"))
        return
    for entry in entries:
        if entry.name in _IGNORED or entry.name in {"articles", "translations"} or entry.name.startswith("."):
            continue
        problems.append(
            Problem(entry, None, "stray file: the corpus holds only articles/, translations/ and README.md")
        )


def _walk(folder: Path, problems: list[Problem]) -> list[Path]:
    try:
        entries = sorted(p for p in folder.rglob("*") if p.is_file())
    except OSError as exc:
        problems.append(Problem(folder, None, f"cannot be listed: {exc.strerror or exc}"))
        return []
    return [
        p for p in entries if p.name not in _IGNORED and not p.name.startswith(".") and "__pycache__" not in p.parts
    ]


def _digest(path: Path, root: Path, total: Any) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        data = b""
    total.update(path.relative_to(root).as_posix().encode() + b"\0" + data + b"\0")
    return hashlib.sha256(data).hexdigest()


def _combine(a: str, b: str) -> str:
    return hashlib.sha256(f"{a}:{b}".encode()).hexdigest()


def iso_date(value: Any) -> dt.date | None:
    """A front-matter date (text or a YAML date) as a date; None when it is not one."""
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None
