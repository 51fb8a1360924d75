"""Fetching a page (or a feed) from the web, politely and safely.

:func:`fetch` gets one address with httpx and either returns its bytes or raises
:class:`FetchError` naming what went wrong, in words an admin can act on:

* **Timeouts**: each connect and read has one, and the whole fetch, redirects
  included, has an overall deadline, so a server that dribbles bytes cannot hold it.
* **Size**: at most ``max_bytes`` (the configuration's ``uploads.max_bytes``); a
  larger ``Content-Length`` is refused before reading, and a body is never read
  past the limit.
* **Kind**: only the content types asked for (``text/html`` and ``text/plain`` for
  an article; feed types for a feed).
* **Redirects**: followed one by one, at most ``max_redirects`` (5), each new
  address checked as the first was.
* **Addresses**: unless ``allow_private`` is set, a host that resolves to a
  loopback, private, link-local, multicast, reserved or unspecified address is
  refused, before every request (so after every redirect too). The transport
  :func:`make_client` builds checks again when it connects, and connects only to
  the address it checked, so a name that resolves differently the second time
  (DNS rebinding) gains nothing.
* **Manners**: a User-Agent naming the bot, and conditional GET (``ETag`` /
  ``Last-Modified``) for feeds.

Host names are resolved by a :data:`Resolver`, ``socket.getaddrinfo`` by default;
tests give their own (a table) so that a made-up name can look public without
any network: see ``tests/intake/test_fetch.py``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import Final, Literal

import httpcore
import httpx

Resolver = Callable[[str], list[str]]
"""A host name to the IP addresses it resolves to (blocking; run in a thread)."""

USER_AGENT: Final = "newsbot/0.1 (a news question-answering bot; fetches the pages its admins or feeds name)"
PAGE_TYPES: Final = frozenset({"text/html", "text/plain"})
FEED_TYPES: Final = frozenset(
    {
        "application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml",
        "application/feed+json", "application/json", "text/html", "text/plain",
    }
)  # fmt: skip
"""What servers label feeds with (some say text/html or text/plain): the feed parser tells a feed from a page."""
REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})

Kind = Literal[
    "bad_url", "private_address", "unresolvable", "unreachable", "timeout", "too_big", "content_type",
    "too_many_redirects", "http_status",
]  # fmt: skip


class FetchError(Exception):
    """A page or feed could not be fetched: ``kind`` says why, the message says it in full (no secrets)."""

    def __init__(self, kind: Kind, url: str, message: str, *, status: int | None = None) -> None:
        self.kind: Kind = kind
        self.url = url
        self.status = status
        super().__init__(message)

    @property
    def transient(self) -> bool:
        """True when trying again later may work (a timeout, a server that is down or answered 5xx or 429)."""
        if self.kind in {"timeout", "unreachable", "unresolvable"}:
            return True
        return self.kind == "http_status" and self.status is not None and (self.status >= 500 or self.status == 429)


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """How :func:`fetch` behaves; the defaults suit a bot fetching news pages."""

    max_bytes: int = 1_000_000
    timeout: float = 20.0
    """Seconds for the whole fetch, redirects included."""
    connect_timeout: float = 10.0
    read_timeout: float = 10.0
    """Seconds a read may wait for the next bytes."""
    max_redirects: int = 5
    user_agent: str = USER_AGENT
    allow_private: bool = False
    """Allow hosts on loopback, private, link-local and multicast networks (tests and intranets)."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """What a server answered, after redirects."""

    url: str
    """The final address, after any redirects."""
    requested: str
    content_type: str
    """The media type alone, lowercased ("text/html")."""
    charset: str | None
    data: bytes
    redirects: tuple[str, ...] = ()
    """Each address redirected to, in order."""
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    """The server answered 304 to a conditional GET: nothing changed, ``data`` is empty."""
    headers: Mapping[str, str] = field(default_factory=dict)


def system_resolver(host: str) -> list[str]:
    """The addresses ``host`` resolves to, as the operating system resolves them."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refused_address(address: str) -> str | None:
    """Why ``address`` (an IP) may not be fetched from by default, or None when it is a public one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for label, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return label
    if not ip.is_global:  # shared address space (100.64/10) and the like
        return "non-public"
    return None


async def resolve_checked(host: str, resolver: Resolver, *, allow_private: bool, url: str) -> list[str]:
    """``host``'s addresses, or FetchError when it resolves to none or (unless allowed) to a non-public one."""
    try:
        addresses = [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        try:
            addresses = await asyncio.to_thread(resolver, host)
        except (OSError, UnicodeError) as exc:
            raise FetchError("unresolvable", url, f"{host}: the name cannot be resolved ({_reason(exc)})") from None
    if not addresses:
        raise FetchError("unresolvable", url, f"{host}: the name resolves to no address")
    if not allow_private:
        for address in addresses:
            why = refused_address(address)
            if why is not None:
                raise FetchError(
                    "private_address",
                    url,
                    f"{host} is on a {why} network ({address}); fetching from such addresses is off "
                    "(intake.allow_private_addresses)",
                )
    return addresses


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses that pass the check, resolving each host itself (no second lookup)."""

    def __init__(self, resolver: Resolver, allow_private: bool) -> None:
        self._resolver = resolver
        self._allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve_checked(host, self._resolver, allow_private=self._allow_private, url=host)
        except FetchError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = error or exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched from")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, with connections made by :class:`_CheckedBackend`."""

    def __init__(self, resolver: Resolver, *, allow_private: bool) -> None:
        super().__init__(trust_env=False)
        # httpx builds its connection pool in __init__ with no way to pass a network backend;
        # this pool is the one it would build, plus the backend.
        if not hasattr(self, "_pool"):  # pragma: no cover - an httpx that changed its insides
            raise RuntimeError("this httpx version keeps its connection pool elsewhere; update CheckedTransport")
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=_CheckedBackend(resolver, allow_private),
        )


def make_client(
    settings: FetchSettings,
    *,
    resolver: Resolver | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    mounts: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> httpx.AsyncClient:
    """An httpx client for :func:`fetch`: no automatic redirects, no proxies from the environment."""
    chosen = transport or CheckedTransport(resolver or system_resolver, allow_private=settings.allow_private)
    return httpx.AsyncClient(
        transport=chosen,
        mounts=dict(mounts or {}),
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
        headers={"User-Agent": settings.user_agent},
    )


async def fetch(
    url: str,
    client: httpx.AsyncClient,
    settings: FetchSettings,
    *,
    resolver: Resolver | None = None,
    accept: Collection[str] = PAGE_TYPES,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Fetched:
    """GET ``url`` following at most ``settings.max_redirects`` redirects, each address checked; FetchError if not."""
    resolve = resolver or system_resolver
    try:
        async with asyncio.timeout(settings.timeout):
            return await _fetch(url, client, settings, resolve, accept, etag, last_modified)
    except TimeoutError:
        raise FetchError("timeout", url, f"{_host(url)} did not answer within {settings.timeout:g} s") from None


async def _fetch(
    url: str,
    client: httpx.AsyncClient,
    settings: FetchSettings,
    resolver: Resolver,
    accept: Collection[str],
    etag: str | None,
    last_modified: str | None,
) -> Fetched:
    current = check_url(url)
    redirects: list[str] = []
    headers = {"Accept": ", ".join(sorted(accept)) + ", */*;q=0.1"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    while True:
        await resolve_checked(current.host, resolver, allow_private=settings.allow_private, url=str(current))
        try:
            async with client.stream("GET", current, headers=headers) as response:
                if response.status_code in REDIRECTS and "location" in response.headers:
                    target = _redirect_target(current, response.headers["location"], url)
                    redirects.append(str(target))
                    if len(redirects) > settings.max_redirects:
                        raise FetchError(
                            "too_many_redirects",
                            url,
                            f"more than {settings.max_redirects} redirects (last to {target})",
                        )
                    current = target
                    continue
                return await _read(url, current, response, settings, accept, tuple(redirects))
        except httpx.TimeoutException:
            raise FetchError("timeout", url, f"{current.host} did not answer in time") from None
        except httpx.TransportError as exc:
            refused = _refusal_in(exc)
            if refused is not None:
                raise refused from None
            raise FetchError("unreachable", url, f"{current.host} cannot be reached ({_reason(exc)})") from None


def check_url(url: str) -> httpx.URL:
    """``url`` parsed, if it is an http(s) address without credentials; FetchError otherwise."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError):
        raise FetchError("bad_url", url, "is not a web address") from None
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise FetchError("bad_url", url, "is not an http(s) address")
    if parsed.userinfo:
        raise FetchError("bad_url", _host(url), "carries a user name or password; send the address without them")
    return parsed


def _redirect_target(current: httpx.URL, location: str, original: str) -> httpx.URL:
    try:
        target = current.join(location.strip())
    except (httpx.InvalidURL, ValueError):
        raise FetchError("bad_url", original, f"{current.host} redirects to an address that is not valid") from None
    if target.scheme not in {"http", "https"} or not target.host:
        raise FetchError("bad_url", original, f"{current.host} redirects to a non-web address ({target.scheme}:)")
    if target.userinfo:
        raise FetchError("bad_url", original, f"{current.host} redirects to an address with a user name or password")
    return target.copy_with(fragment=None)


async def _read(
    original: str,
    current: httpx.URL,
    response: httpx.Response,
    settings: FetchSettings,
    accept: Collection[str],
    redirects: tuple[str, ...],
) -> Fetched:
    etag = response.headers.get("etag")
    modified = response.headers.get("last-modified")
    if response.status_code == 304:
        return Fetched(str(current), original, "", None, b"", redirects, etag, modified, not_modified=True)
    if not 200 <= response.status_code < 300:
        phrase = response.reason_phrase or "error"
        raise FetchError(
            "http_status",
            original,
            f"{current.host} answered {response.status_code} {phrase}",
            status=response.status_code,
        )
    media, charset = parse_content_type(response.headers.get("content-type", ""))
    if media not in accept:
        shown = media or "no content type"
        wanted = " or ".join(sorted(accept)) if set(accept) <= PAGE_TYPES else "an RSS or Atom feed"
        raise FetchError("content_type", original, f"is {shown}, not {wanted}")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_bytes:
        raise FetchError("too_big", original, f"is {_size(int(declared))}; the limit is {_size(settings.max_bytes)}")
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body.extend(chunk)
        if len(body) > settings.max_bytes:
            raise FetchError("too_big", original, f"is larger than the limit of {_size(settings.max_bytes)}")
    return Fetched(
        str(current), original, media, charset, bytes(body), redirects, etag, modified, headers=dict(response.headers)
    )


def parse_content_type(value: str) -> tuple[str, str | None]:
    """("text/html", "utf-8") from "text/html; charset=UTF-8"; ("", None) when there is none."""
    if not value.strip():
        return "", None
    message = Message()
    message["content-type"] = value
    media = message.get_content_type() if "/" in value.split(";", 1)[0] else ""
    charset = message.get_param("charset")
    return media.lower(), (str(charset).strip().lower() or None) if isinstance(charset, str) else None


def _host(url: str) -> str:
    try:
        return httpx.URL(url).host or url
    except (httpx.InvalidURL, TypeError, ValueError):
        return url


def _size(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 1_000_000 else f"{size / 1_000:.1f} kB"


def _refusal_in(exc: BaseException) -> FetchError | None:
    """The FetchError a connection was refused with (by the checked transport), if that was the cause."""
    seen: BaseException | None = exc
    for _ in range(5):
        seen = seen.__cause__ or seen.__context__ if seen is not None else None
        if isinstance(seen, FetchError):
            return seen
    return None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
