"""Fetching pages: redirects, limits, content types, timeouts and the address checks.

No request leaves the machine. Pages come from an in-process transport
(``httpx.MockTransport``) or from a real server on 127.0.0.1 (``tests/localhttp.py``).

How a made-up host looks public: :func:`fetch` and the checked transport resolve
names with the ``resolver`` they are given; these tests give a table (``PUBLIC``)
in which ``news.test`` resolves to a public address. Nothing ever connects to that
address: requests to ``news.test`` go to an in-process transport mounted for it
(``make_client(..., mounts={"http://news.test": ...})``), while every other address
goes through the real checked transport, which refuses 127.0.0.1 unless allowed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from index.intake.fetch import (
    FEED_TYPES,
    CheckedTransport,
    FetchError,
    FetchSettings,
    fetch,
    make_client,
    refused_address,
)

from ..localhttp import serve

PUBLIC_ADDRESS = "93.184.215.14"
PAGE = b"<html><body><article><p>Het bloemencorso trok zaterdag veel bezoekers.</p></article></body></html>"


def PUBLIC(host: str) -> list[str]:
    if host.endswith(".test"):
        return [PUBLIC_ADDRESS]
    raise OSError("unknown host (the tests resolve only .test names)")


def html(body: bytes = PAGE, **headers: str) -> httpx.Response:
    return httpx.Response(200, headers={"Content-Type": "text/html; charset=utf-8", **headers}, content=body)


def client_for(handler: Callable[[httpx.Request], object], settings: FetchSettings) -> httpx.AsyncClient:
    return make_client(settings, transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


async def get(  # type: ignore[no-untyped-def]
    url: str, handler: Callable[[httpx.Request], object], settings: FetchSettings | None = None, **kw: object
):
    settings = settings or FetchSettings()
    async with client_for(handler, settings) as client:
        return await fetch(url, client, settings, resolver=PUBLIC, **kw)  # type: ignore[arg-type]


async def test_a_page_is_fetched_with_a_polite_user_agent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return html()

    fetched = await get("https://news.test/a", handler)
    assert fetched.data == PAGE and fetched.content_type == "text/html" and fetched.charset == "utf-8"
    assert seen[0].headers["user-agent"].startswith("newsbot/") and "bot" in seen[0].headers["user-agent"]


async def test_a_redirect_chain_is_followed_one_step_at_a_time() -> None:
    hops = {"/a": "/b", "/b": "https://www.news.test/c", "/c": "/final?x=1#frag"}

    def handler(request: httpx.Request) -> httpx.Response:
        target = hops.get(request.url.path)
        if target is None:
            return html()
        return httpx.Response(301 if request.url.path == "/a" else 302, headers={"Location": target})

    fetched = await get("http://news.test/a", handler)
    assert fetched.url == "https://www.news.test/final?x=1"
    assert fetched.redirects == ("http://news.test/b", "https://www.news.test/c", "https://www.news.test/final?x=1")
    assert fetched.requested == "http://news.test/a"


async def test_more_than_five_redirects_are_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        step = int(request.url.path.strip("/") or 0)
        return httpx.Response(302, headers={"Location": f"/{step + 1}"})

    with pytest.raises(FetchError) as caught:
        await get("http://news.test/0", handler)
    assert caught.value.kind == "too_many_redirects" and "more than 5 redirects" in str(caught.value)


async def test_an_oversized_page_is_refused_by_its_length_or_while_reading() -> None:
    settings = FetchSettings(max_bytes=1_000)
    with pytest.raises(FetchError) as declared:
        await get("http://news.test/big", lambda _: html(b"x" * 5_000), settings)
    assert declared.value.kind == "too_big" and "the limit is 1.0 kB" in str(declared.value)

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(50):
            yield b"y" * 100

    def streamed(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Type": "text/html"}, content=chunks())

    with pytest.raises(FetchError) as undeclared:
        await get("http://news.test/stream", streamed, settings)
    assert undeclared.value.kind == "too_big"


@pytest.mark.parametrize("content_type", ["application/pdf", "image/png", "", "application/json"])
async def test_only_html_or_plain_text_is_fetched_as_a_page(content_type: str) -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Type": content_type} if content_type else {}, content=b"%PDF")

    with pytest.raises(FetchError) as caught:
        await get("http://news.test/file", handler)
    assert caught.value.kind == "content_type" and "not text/html or text/plain" in str(caught.value)
    text = await get("http://news.test/t", lambda _: httpx.Response(200, headers={"Content-Type": "text/plain"}))
    assert text.content_type == "text/plain"


async def test_a_server_that_does_not_answer_in_time_is_a_timeout() -> None:
    async def slow(_: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return html()

    with pytest.raises(FetchError) as caught:
        await get("http://news.test/slow", slow, FetchSettings(timeout=0.2))
    assert caught.value.kind == "timeout" and caught.value.transient


async def test_errors_and_not_modified() -> None:
    with pytest.raises(FetchError) as caught:
        await get("http://news.test/x", lambda _: httpx.Response(500))
    assert caught.value.kind == "http_status" and "500" in str(caught.value) and caught.value.transient
    with pytest.raises(FetchError) as gone:
        await get("http://news.test/x", lambda _: httpx.Response(404))
    assert not gone.value.transient

    def conditional(request: httpx.Request) -> httpx.Response:
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304)
        return httpx.Response(200, headers={"Content-Type": "application/rss+xml", "ETag": '"v1"'}, content=b"<rss/>")

    first = await get("http://news.test/feed", conditional, accept=FEED_TYPES)
    assert first.etag == '"v1"' and not first.not_modified
    again = await get("http://news.test/feed", conditional, accept=FEED_TYPES, etag=first.etag)
    assert again.not_modified and again.data == b""


@pytest.mark.parametrize(
    "url", ["ftp://news.test/a", "javascript:alert(1)", "news.test/a", "http://user:secret@news.test/a", "http://"]
)
async def test_addresses_that_are_not_web_pages_are_refused(url: str) -> None:
    with pytest.raises(FetchError) as caught:
        await get(url, lambda _: html())
    assert caught.value.kind == "bad_url" and "secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"), ("192.168.0.10", "private"),
        ("172.16.5.4", "private"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"), ("0.0.0.0", "unspecified"), ("::ffff:127.0.0.1", "loopback"),
        ("100.64.0.1", "non-public"), (PUBLIC_ADDRESS, None), ("2606:4700::1111", None),
    ],
)  # fmt: skip
def test_which_addresses_are_refused(address: str, why: str | None) -> None:
    assert refused_address(address) == why


async def test_a_local_server_is_refused_unless_private_addresses_are_allowed() -> None:
    hits: list[str] = []

    def local(request: httpx.Request) -> httpx.Response:
        hits.append(request.url.path)
        return html()

    with serve(local, "local-page") as port:
        url = f"http://127.0.0.1:{port}/page"
        refused = FetchSettings()
        async with make_client(refused) as client:
            with pytest.raises(FetchError) as caught:
                await fetch(url, client, refused)
        assert caught.value.kind == "private_address" and "loopback" in str(caught.value)
        assert "intake.allow_private_addresses" in str(caught.value) and hits == []

        allowed = FetchSettings(allow_private=True)
        async with make_client(allowed) as client:
            fetched = await fetch(url, client, allowed)
        assert fetched.data == PAGE and hits == ["/page"]


async def test_a_public_address_that_redirects_to_localhost_is_refused() -> None:
    hits: list[str] = []

    def secret(request: httpx.Request) -> httpx.Response:
        hits.append(request.url.path)
        return html(b"<p>internal admin page</p>")

    with serve(secret, "internal") as port:

        def public(_: httpx.Request) -> httpx.Response:
            return httpx.Response(302, headers={"Location": f"http://127.0.0.1:{port}/admin"})

        settings = FetchSettings()
        mounts = {"http://news.test": httpx.MockTransport(public)}
        async with make_client(settings, resolver=PUBLIC, mounts=mounts) as client:
            with pytest.raises(FetchError) as caught:
                await fetch("http://news.test/story", client, settings, resolver=PUBLIC)
    assert caught.value.kind == "private_address" and "127.0.0.1" in str(caught.value)
    assert hits == []  # the internal server was never asked


async def test_a_name_that_resolves_elsewhere_when_connecting_is_refused() -> None:
    """DNS rebinding: the check sees a public address, the connection would go to 127.0.0.1."""
    hits: list[str] = []
    answers = iter([[PUBLIC_ADDRESS], ["127.0.0.1"]])

    def rebinding(_host: str) -> list[str]:
        return next(answers)

    def local(request: httpx.Request) -> httpx.Response:
        hits.append(request.url.path)
        return html()

    with serve(local, "rebound") as port:
        settings = FetchSettings()
        async with httpx.AsyncClient(transport=CheckedTransport(rebinding, allow_private=False)) as client:
            with pytest.raises(FetchError) as caught:
                await fetch(f"http://rebind.test:{port}/x", client, settings, resolver=rebinding)
    assert caught.value.kind == "private_address" and hits == []
