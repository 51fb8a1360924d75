"""Addresses of articles: when two are the same page, and how to name a page briefly.

Two addresses are the same article when they differ only in ways that do not
change the page: the scheme (http or https), a leading ``www.``, upper case in
the host, a default port, a trailing slash, the fragment, and tracking
parameters (``utm_*``, ``fbclid``, ``gclid``, …). :func:`address_key` reduces an
address to that; :func:`corpus_addresses` maps the corpus's keys to article ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit

from ..corpus.model import Article

_TRACKING: Final = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "ref", "ref_src", "cmpid", "xtor",
     "at_medium", "at_campaign", "ocid", "smid", "ito"}
)  # fmt: skip


class AlreadyInCorpus(Exception):
    """The article at an address is in the corpus already (the same address, or its canonical one)."""

    def __init__(self, article_id: str, url: str) -> None:
        self.article_id = article_id
        self.url = url
        super().__init__(f"{url} is already in the corpus as {article_id}")


def address_key(url: str) -> str:
    """``url`` reduced to what identifies the page (see the module's docstring); "" for no address."""
    text = url.strip()
    if not text:
        return ""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    host = (parts.hostname or "").lower().removeprefix("www.")
    if port is not None and port not in (80, 443):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/") or ""
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not name.lower().startswith("utm_") and name.lower() not in _TRACKING
    ]
    return f"{host}{path}" + (f"?{urlencode(sorted(query))}" if query else "")


def corpus_addresses(articles: Iterable[Article]) -> dict[str, str]:
    """Address key to article id, for every article with an address."""
    return {address_key(a.url): a.id for a in articles if a.url}


def find_duplicate(existing: Mapping[str, str], *urls: str | None) -> tuple[str, str] | None:
    """(article id, url) of the first of ``urls`` already in ``existing`` (from :func:`corpus_addresses`)."""
    for url in urls:
        if url:
            found = existing.get(address_key(url))
            if found is not None:
                return found, url
    return None


def page_label(url: str) -> str:
    """A short name for a page in problems and replies: host and path, at most 80 characters."""
    try:
        parts = urlsplit(url.strip())
        label = (parts.hostname or "") + parts.path.rstrip("/")
    except ValueError:
        label = url
    label = label or url or "page"
    return label if len(label) <= 80 else label[:79] + "…"
