"""Articles by link: fetch an address into an :class:`~index.intake.upload.Upload` of its page.

The page then goes through :func:`~index.intake.upload.prepare_article` exactly as
an uploaded file does; :mod:`index.intake.address` tells when it is in the corpus already.
"""

from __future__ import annotations

from typing import Final

import httpx

from .fetch import PAGE_TYPES, FetchSettings, Resolver, fetch
from .upload import Upload

_KIND_NAMES: Final = {"text/html": "page.html", "text/plain": "page.txt"}


async def fetch_upload(
    url: str,
    client: httpx.AsyncClient,
    settings: FetchSettings,
    *,
    resolver: Resolver | None = None,
    caption: str | None = None,
) -> Upload:
    """Fetch ``url`` as an :class:`Upload` of its page (HTML or plain text); FetchError when it cannot be."""
    fetched = await fetch(url, client, settings, resolver=resolver, accept=PAGE_TYPES)
    return Upload(
        _KIND_NAMES.get(fetched.content_type, "page.html"),
        fetched.data,
        caption,
        url=fetched.url,
        requested_url=fetched.requested,
        charset=fetched.charset,
    )
