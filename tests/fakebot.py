"""A strict, in-process fake of the Telegram Bot API for tests.

``FakeBotAPI`` answers Bot API requests the way Telegram does, but refuses anything the real
server would refuse (and a little more): unknown methods and parameters, missing or mistyped
parameters, objects whose keys do not match the published spec (``data/telegram/bot-api-spec.json``),
invalid Telegram HTML and the documented length limits. Every call is recorded.

Drive it in-process through httpx's mock transport::

    fake = FakeBotAPI()
    transport = httpx.MockTransport(fake)
    bot = telegram.Bot(
        fake.token,
        request=HTTPXRequest(httpx_kwargs={"transport": transport}),
        get_updates_request=HTTPXRequest(httpx_kwargs={"transport": transport}),
    )
    await bot.initialize()
    fake.queue_update({"message": {...}})          # served by getUpdates
    sent = await fake.wait_for("sendMessage")      # params of accepted calls
    assert fake.rejected == []

or over real HTTP, e.g. for a bot running in a subprocess::

    with fake.serve() as base_url:                 # "http://127.0.0.1:PORT/bot"
        ...  # Bot(token, base_url=base_url) or ApplicationBuilder().base_url(base_url)
        fake.wait_for_sync("sendMessage")

Files users send are stored with ``add_file`` (it returns the Document to put in a message);
``getFile`` and the download from ``base_file_url`` then serve them, refusing unknown ids and
files over the 20 MB bots may download.

Refused calls get HTTP 400 with a Telegram-style ``"Bad Request: ..."`` description, so
python-telegram-bot raises ``telegram.error.BadRequest``; ``fail_next`` injects server errors
and flood control. Note that python-telegram-bot capitalises descriptions it strips the
``"Bad Request: "`` prefix from (``"message is too long"`` -> ``"Message is too long"``).

When called from inside a running event loop (``httpx.AsyncClient`` with the mock transport),
a long-polling ``getUpdates`` with nothing queued returns an awaitable instead of blocking the loop;
``httpx.MockTransport`` awaits it.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import html
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx

from . import localhttp

SPEC = Path(__file__).resolve().parent / "data" / "telegram" / "bot-api-spec.json"

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_INLINE_RESULTS = 50
MAX_COMMANDS = 100
MAX_UPDATES_WAIT = 2.0
MAX_DOWNLOAD = 20 * 1024 * 1024  # bots may download files of up to 20 MB

_PRIMITIVES: dict[str, Callable[[Any], bool]] = {
    "String": lambda v: isinstance(v, str),
    "Integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "Float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "Boolean": lambda v: isinstance(v, bool),
    "InputFile": lambda v: isinstance(v, bytes),
}
_PARSE_MODES = {"html", "markdown", "markdownv2"}
_BUTTON_COSMETICS = {"text", "icon_custom_emoji_id", "style"}
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_TAG_VALUE = re.compile(r"(?:must be|always) [“\"]?([\w-]+)")


@dataclass
class Call:
    """One request the fake received: the spec's method name and its decoded parameters."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic, compare=False)
    """When the fake received it (time.monotonic)."""


class Rejected(Exception):
    """A request Telegram would refuse; ``args[0]`` is the full error description."""

    def __init__(self, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.description = description
        self.status = status


# --- Telegram HTML -----------------------------------------------------------------------------

_PLAIN_TAGS = ("b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler", "pre")
_TAG_ATTRIBUTES: dict[str, set[str]] = {"a": {"href"}, "span": {"class"}, "tg-emoji": {"emoji-id"}, "code": {"class"}}
_TAG_ATTRIBUTES |= {"blockquote": {"expandable"}} | {tag: set() for tag in _PLAIN_TAGS}  # the supported tags
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]+)|#[xX]([0-9a-fA-F]+));")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_NAME = re.compile(r"[^\s>]*")
_ATTRIBUTE = re.compile(r"""\s*(?:(>)|([\w-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?)""")


def html_visible_text(text: str) -> str:
    """The text Telegram would show for ``text`` sent with ``parse_mode="HTML"``.

    Raises ValueError with Telegram's wording (after "can't parse entities: ") for invalid markup.
    """
    out: list[str] = []
    open_tags: list[str] = []
    i = 0

    def at(index: int) -> str:
        return f"at byte offset {len(text[:index].encode())}"

    while i < len(text):
        char = text[i]
        if char == "&":
            match = _ENTITY.match(text, i)
            decoded = _entity(match) if match else None
            if match is None or decoded is None:
                raise ValueError(f"Unsupported HTML entity {at(i)}")
            out.append(decoded)
            i = match.end()
        elif char == "<" and text.startswith("</", i):
            end = text.find(">", i)
            if end < 0:
                raise ValueError(f"Unclosed end tag {at(i)}")
            name = text[i + 2 : end].strip().lower()
            if not open_tags:
                raise ValueError(f"Unexpected end tag {at(i)}")
            if open_tags[-1] != name:
                raise ValueError(f'Unmatched end tag {at(i)}, expected "</{open_tags[-1]}>", found "</{name}>"')
            open_tags.pop()
            i = end + 1
        elif char == "<":
            name_match = _TAG_NAME.match(text, i + 1)
            assert name_match is not None  # the pattern matches the empty string
            if name_match.end() == len(text):
                raise ValueError(f"Unclosed start tag {at(i)}")
            name, where = name_match.group().lower(), at(i)
            if name not in _TAG_ATTRIBUTES:
                raise ValueError(f'Unsupported start tag "{name}" {where}')
            attributes, i = _tag_attributes(text, name_match.end(), name, where)
            _check_tag(name, attributes, where)
            open_tags.append(name)
        else:
            out.append(char)
            i += 1
    if open_tags:
        raise ValueError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(out)


def _entity(match: re.Match[str]) -> str | None:
    named, decimal, hexadecimal = match.groups()
    if named:
        return _NAMED_ENTITIES[named]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _tag_attributes(text: str, i: int, name: str, where: str) -> tuple[dict[str, str | None], int]:
    """Parse the attributes after a start tag's name; returns them and the index after '>'."""
    attributes: dict[str, str | None] = {}
    while True:
        match = _ATTRIBUTE.match(text, i)
        if match is None:
            if ">" not in text[i:]:
                raise ValueError(f"Unclosed start tag {where}")
            raise ValueError(f'Invalid attribute syntax in the tag "{name}" {where}')
        closing, key, *values = match.groups()
        if closing:
            return attributes, match.end()
        value = next((v for v in values if v is not None), None)
        attributes[key.lower()] = None if value is None else html.unescape(value)
        i = match.end()


def _check_tag(name: str, attributes: dict[str, str | None], where: str) -> None:
    unknown = sorted(attributes.keys() - _TAG_ATTRIBUTES[name])
    if unknown:
        raise ValueError(f'Unsupported attribute "{unknown[0]}" in the tag "{name}" {where}')
    if name == "a" and not attributes.get("href"):
        raise ValueError(f'Tag "a" must have a non-empty "href" attribute {where}')
    if name == "span" and attributes.get("class") != "tg-spoiler":
        raise ValueError(f'Tag "span" must have class "tg-spoiler" {where}')
    if name == "tg-emoji" and not (attributes.get("emoji-id") or "").isdigit():
        raise ValueError(f'Tag "tg-emoji" must have a numeric "emoji-id" attribute {where}')
    if name == "code" and "class" in attributes and not (attributes["class"] or "").startswith("language-"):
        raise ValueError(f'Tag "code" may only have a class "language-..." {where}')
    if name == "blockquote" and attributes.get("expandable") is not None:
        raise ValueError(f'Attribute "expandable" of the tag "blockquote" must have no value {where}')


# --- the spec and validation against it ----------------------------------------------------------


class _Spec:
    """The Bot API listing, and validation of decoded parameters against it."""

    def __init__(self, path: Path) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        self.methods: dict[str, dict[str, Any]] = {name.lower(): m for name, m in data["methods"].items()}
        self.types: dict[str, dict[str, Any]] = data["types"]
        self.tags: dict[str, tuple[str, str]] = {}  # concrete subtype -> (discriminating field, value)
        for name, spec in self.types.items():
            for first in spec.get("fields", [])[:1]:
                value = _TAG_VALUE.search(first["description"])
                if first["name"] in ("type", "source", "status") and value:
                    self.tags[name] = (first["name"], value.group(1))
        button = self.fields("InlineKeyboardButton")
        self.button_actions = sorted(button.keys() - _BUTTON_COSMETICS)

    def method(self, name: str) -> dict[str, Any] | None:
        return self.methods.get(name.lower())

    def fields(self, type_name: str) -> dict[str, dict[str, Any]]:
        return {f["name"]: f for f in self.types.get(type_name, {}).get("fields", [])}

    def decode(self, value: Any, types: list[str]) -> Any:
        """Undo python-telegram-bot's form encoding: ints, booleans and JSON-encoded objects arrive as strings."""
        if not isinstance(value, str) or types == ["String"]:
            return value
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        kinds = [
            isinstance(decoded, dict) and any(t in self.types for t in types),
            isinstance(decoded, list) and any(t.startswith("Array of ") for t in types),
            any(t in _PRIMITIVES and t != "String" and _PRIMITIVES[t](decoded) for t in types),
        ]
        return decoded if any(kinds) else value

    def check_params(self, method: dict[str, Any], params: dict[str, Any]) -> None:
        fields = {f["name"]: f for f in method.get("fields", [])}
        self._check_keys(params, fields, method["name"], "parameter")
        for name, value in params.items():
            self.check_value(value, fields[name]["types"], name)
        _check_texts(params, fields)

    def check_value(self, value: Any, types: list[str], path: str) -> None:
        candidates = self._concrete(types, value)
        if isinstance(value, dict):
            objects = [t for t in candidates if t in self.types]
            if not objects:
                raise Rejected(f'Bad Request: field "{path}" must be of type {" or ".join(types)}')
            fitting = [t for t in objects if self._fits(value, t)]
            closest = max(objects, key=lambda t: len(value.keys() & self.fields(t).keys()))
            self._check_object(value, fitting[0] if fitting else closest, path)
        elif isinstance(value, list):
            items = [t.removeprefix("Array of ") for t in candidates if t.startswith("Array of ")]
            if not items:
                raise Rejected(f'Bad Request: field "{path}" must be of type {" or ".join(types)}')
            for index, item in enumerate(value):
                self.check_value(item, items, f"{path}[{index}]")
        elif not any(_PRIMITIVES.get(t, lambda _: False)(value) for t in candidates):
            raise Rejected(f'Bad Request: field "{path}" must be of type {" or ".join(types)}')

    def _concrete(self, types: list[str], value: Any) -> list[str]:
        """Replace abstract types by their subtypes, keeping those whose discriminator ("type") fits."""
        out: list[str] = []
        for name in types:
            subtypes = self.types.get(name, {}).get("subtypes")
            out += self._concrete(subtypes, value) if subtypes else [name]
        if isinstance(value, dict):
            out = [t for t in out if self._tag_fits(value, t)]
        return out

    def _tag_fits(self, value: dict[str, Any], type_name: str) -> bool:
        if type_name not in self.tags:
            return True
        field, tag = self.tags[type_name]
        return value.get(field, tag) == tag

    def _fits(self, value: dict[str, Any], type_name: str) -> bool:
        fields = self.fields(type_name)
        required = {name for name, f in fields.items() if f["required"]}
        return required <= value.keys() <= fields.keys()

    def _check_keys(self, value: dict[str, Any], fields: dict[str, dict[str, Any]], owner: str, what: str) -> None:
        unknown = sorted(value.keys() - fields.keys())
        if unknown:
            raise Rejected(f'Bad Request: unknown {what} "{unknown[0]}" in {owner}')
        missing = [name for name, f in fields.items() if f["required"] and name not in value]
        if missing:
            raise Rejected(f'Bad Request: {what} "{missing[0]}" is required in {owner}')

    def _check_object(self, value: dict[str, Any], type_name: str, path: str) -> None:
        fields = self.fields(type_name)
        self._check_keys(value, fields, f"{type_name} at {path}", "field")
        for name, item in value.items():
            self.check_value(item, fields[name]["types"], f"{path}.{name}")
        _check_texts(value, fields)
        if type_name == "InlineKeyboardButton":
            self._check_button(value)
        elif type_name == "BotCommand" and not (
            _COMMAND.fullmatch(value["command"]) and 1 <= len(value["description"]) <= 256
        ):
            raise Rejected("Bad Request: BOT_COMMAND_INVALID")

    def _check_button(self, button: dict[str, Any]) -> None:
        actions = [name for name in self.button_actions if name in button]
        problem = "can't parse inline keyboard button"
        if not actions:
            raise Rejected(f"Bad Request: {problem}: Text buttons are unallowed in the inline keyboard")
        if len(actions) > 1:
            raise Rejected(f"Bad Request: {problem}: more than one action ({', '.join(actions)})")
        if "callback_data" in button and not 1 <= len(button["callback_data"].encode()) <= 64:
            raise Rejected("Bad Request: BUTTON_DATA_INVALID")


def utf16_units(text: str) -> int:
    """A text's length as Telegram counts it: UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def _check_texts(value: dict[str, Any], fields: dict[str, Any]) -> None:
    """Telegram's limits on message texts and captions, in UTF-16 code units after entity parsing."""
    if "parse_mode" not in fields:
        return
    parse_mode = value.get("parse_mode")
    if parse_mode is not None and parse_mode.lower() not in _PARSE_MODES:
        raise Rejected("Bad Request: unsupported parse_mode")
    for name, limit in (("text", MAX_TEXT), ("message_text", MAX_TEXT), ("caption", MAX_CAPTION)):
        if name not in fields or name not in value:
            continue
        visible = _visible(value[name], parse_mode)
        if name == "caption":
            if utf16_units(visible) > limit:
                raise Rejected("Bad Request: message caption is too long")
        elif not visible.strip():
            raise Rejected("Bad Request: message text is empty")
        elif utf16_units(visible) > limit:
            raise Rejected("Bad Request: message is too long")


def _visible(text: str, parse_mode: str | None) -> str:
    if parse_mode is None or parse_mode.lower() != "html":
        return text
    try:
        return html_visible_text(text)
    except ValueError as exc:
        raise Rejected(f"Bad Request: can't parse entities: {exc}") from None


def _check_method_limits(method: str, params: dict[str, Any]) -> None:
    """Limits that concern a method's parameters as a whole."""
    if method == "answerInlineQuery":
        ids = [result["id"] for result in params["results"]]
        if len(ids) > MAX_INLINE_RESULTS:
            raise Rejected("Bad Request: RESULTS_TOO_MUCH")
        if any(not 1 <= len(identifier.encode()) <= 64 for identifier in ids):
            raise Rejected("Bad Request: RESULT_ID_INVALID")
        if len(set(ids)) != len(ids):
            raise Rejected("Bad Request: RESULT_ID_DUPLICATE")
    elif method == "answerCallbackQuery" and len(params.get("text", "")) > 200:
        raise Rejected("Bad Request: MESSAGE_TOO_LONG")
    elif method == "setMyCommands" and len(params["commands"]) > MAX_COMMANDS:
        raise Rejected("Bad Request: BOT_COMMANDS_TOO_MUCH")


# --- request bodies --------------------------------------------------------------------------------


def _read_params(request: httpx.Request) -> dict[str, Any]:
    """The raw parameters of a request: query string plus a form, multipart or JSON body."""
    params: dict[str, Any] = dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))
    content_type = request.headers.get("content-type", "")
    body = request.content
    if content_type.startswith("application/json") and body:
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise Rejected("Bad Request: the JSON body must be an object")
        params.update(decoded)
    elif content_type.startswith("multipart/form-data"):
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        for part in message.iter_parts():
            data = part.get_payload(decode=True)
            name = part.get_param("name", header="content-disposition")
            params[str(name)] = data if part.get_filename() is not None else data.decode()
    elif body:
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    return params


def _error(status: int, description: str, **parameters: Any) -> httpx.Response:
    payload: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        payload["parameters"] = parameters
    return httpx.Response(status, json=payload)


def _ok(result: Any) -> httpx.Response:
    return httpx.Response(200, json={"ok": True, "result": result})


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


# --- the fake --------------------------------------------------------------------------------------


class FakeBotAPI:
    """A strict fake Bot API server: a handler for ``httpx.MockTransport`` or, via ``serve()``, real HTTP."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        spec: Path | None = None,
        username: str = "newsbot_test_bot",
        bot_id: int = 777000,
    ) -> None:
        self.token = token
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Newsbot",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }
        self.calls: list[Call] = []
        self.rejected: list[tuple[Call, str]] = []
        self._spec = _Spec(spec or SPEC)
        self._accepted: list[Call] = []
        self._lock = threading.Lock()
        self._new_update = threading.Condition(self._lock)
        self._updates: list[dict[str, Any]] = []
        self.delivered_at: dict[int, float] = {}
        """When getUpdates first handed out each update (time.monotonic), by update_id."""
        self._next_update_id = 1
        self._next_message_id = 1
        self._failures: dict[str, list[httpx.Response]] = {}
        self._files: dict[str, tuple[bytes, str]] = {}
        """Uploaded-by-users files: file_id -> (content, file_path)."""
        self.downloads: list[str] = []
        """The file_path of every file downloaded, in order."""
        self.chat_admins: dict[int, set[int]] = {}
        """Per group chat id, the user ids getChatMember reports as administrators (the rest are members)."""

    # -- test-facing API

    def add_file(self, content: bytes, file_name: str, mime_type: str = "text/plain") -> dict[str, Any]:
        """Store a file as if a user had sent it; returns the Document object to put in a message."""
        with self._lock:
            number = len(self._files) + 1
            file_id = f"BQACAgQAAxkBAAI{number:08d}"
            suffix = Path(file_name).suffix[:10]
            self._files[file_id] = (content, f"documents/file_{number}{suffix}")
        return {
            "file_id": file_id,
            "file_unique_id": f"AgAD{number:08d}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(content),
        }

    def sent(self, method: str) -> list[dict[str, Any]]:
        """Parameters of the accepted calls of ``method``, in order."""
        with self._lock:
            return [call.params for call in self._accepted if call.method.lower() == method.lower()]

    def queue_update(self, update: dict[str, Any]) -> None:
        """Queue an Update (a dict) for getUpdates; ``update_id`` is assigned if missing."""
        with self._lock:
            update = {"update_id": self._next_update_id, **update}
            self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
            self._updates.append(update)
            self._new_update.notify_all()

    def fail_next(
        self,
        method: str,
        *,
        status: int = 500,
        description: str = "Internal Server Error",
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail; ``retry_after`` means flood control (429)."""
        spec = self._spec.method(method)
        if spec is None:
            raise ValueError(f"{method!r} is not a Bot API method")
        if retry_after is None:
            response = _error(status, description)
        else:
            response = _error(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)
        with self._lock:
            self._failures.setdefault(spec["name"], []).extend([response] * times)

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait (without blocking the event loop) for ``count`` accepted calls of ``method``."""
        deadline = time.monotonic() + timeout
        while len(found := self.sent(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(self._missing(method, count, timeout))
            await asyncio.sleep(0.01)
        return found

    def wait_for_sync(self, method: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Like ``wait_for``, but blocking: for a bot running in another thread or process."""
        deadline = time.monotonic() + timeout
        while len(found := self.sent(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(self._missing(method, count, timeout))
            time.sleep(0.01)
        return found

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        """Serve the fake over HTTP on 127.0.0.1; yields the ``base_url`` to give the bot."""
        with localhttp.serve(self, "FakeBotAPI") as port:
            yield f"http://127.0.0.1:{port}/bot"

    # -- the protocol

    def __call__(self, request: httpx.Request) -> httpx.Response | Awaitable[httpx.Response]:
        """Answer one request (an ``httpx.MockTransport`` handler).

        Returns an awaitable only for a long-polling getUpdates with nothing queued when called
        from inside a running event loop, so that the loop stays free to queue updates.
        """
        if request.url.path.startswith("/file/bot"):
            return self._download(request)
        call, failure = self._receive(request)
        if failure is not None:
            return failure
        if call.method == "getUpdates":
            wait = min(float(call.params.get("timeout", 0)), MAX_UPDATES_WAIT)
            if _in_event_loop():
                return self._poll_updates(call.params, wait)
            with self._lock:
                self._new_update.wait_for(lambda: self._pending(call.params), timeout=wait)
                return _ok(self._pending(call.params))
        return _ok(self._result(call))

    def _receive(self, request: httpx.Request) -> tuple[Call, httpx.Response | None]:
        """Record and check a request; returns the call and, if refused, the error response."""
        _, _, rest = request.url.path.partition("/bot")
        token, _, method_name = rest.rpartition("/")
        method = self._spec.method(method_name)
        call = Call(method["name"] if method else method_name, {})
        try:
            raw = _read_params(request)
            call.params = raw
            if token != self.token:
                raise Rejected("Unauthorized", 401)
            if method is None:
                raise Rejected("Not Found", 404)
            fields = {f["name"]: f["types"] for f in method.get("fields", [])}
            call.params = {name: self._spec.decode(value, fields.get(name, [])) for name, value in raw.items()}
            with self._lock:
                failures = self._failures.get(call.method)
                failure = failures.pop(0) if failures else None
            if failure is None:
                self._spec.check_params(method, self._without_attachments(call.params))
                _check_method_limits(call.method, call.params)
                if call.method == "getFile":
                    self._file(call.params)  # an unknown or oversized file is refused like the others
        except Rejected as exc:
            failure = _error(exc.status, exc.description)
        except (ValueError, UnicodeDecodeError) as exc:
            failure = _error(400, f"Bad Request: can't parse the request: {exc}")
        with self._lock:
            self.calls.append(call)
            if failure is None:
                self._accepted.append(call)
            else:
                self.rejected.append((call, failure.json()["description"]))
        return call, failure

    @staticmethod
    def _without_attachments(params: dict[str, Any]) -> dict[str, Any]:
        """Drop uploaded files referenced as "attach://<name>" (sendMediaGroup and friends)."""
        text = " ".join(json.dumps(v) for v in params.values() if not isinstance(v, bytes))
        return {k: v for k, v in params.items() if not (isinstance(v, bytes) and f"attach://{k}" in text)}

    def _pending(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Queued updates from ``offset`` on (forgetting earlier ones), at most ``limit``; lock held."""
        offset = params.get("offset")
        if isinstance(offset, int) and offset < 0:
            self._updates = self._updates[offset:]
        elif isinstance(offset, int):
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        batch = self._updates[: params.get("limit", 100)]
        now = time.monotonic()
        for update in batch:
            self.delivered_at.setdefault(update["update_id"], now)
        return batch

    async def _poll_updates(self, params: dict[str, Any], wait: float) -> httpx.Response:
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                updates = self._pending(params)
            if updates or time.monotonic() >= deadline:
                return _ok(updates)
            await asyncio.sleep(0.01)

    def _download(self, request: httpx.Request) -> httpx.Response:
        """GET <base_file_url><token>/<file_path>, as Telegram serves files to bots."""
        rest = request.url.path.removeprefix("/file/bot")
        token, _, file_path = rest.partition("/")
        if token != self.token:
            return _error(401, "Unauthorized")
        with self._lock:
            content = next((data for data, path in self._files.values() if path == file_path), None)
            if content is not None:
                self.downloads.append(file_path)
        if content is None:
            return _error(404, "Not Found")
        return httpx.Response(200, content=content, headers={"Content-Type": "application/octet-stream"})

    def _file(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            stored = self._files.get(params["file_id"])
        if stored is None:
            raise Rejected("Bad Request: invalid file_id")
        content, file_path = stored
        if len(content) > MAX_DOWNLOAD:
            raise Rejected("Bad Request: file is too big")
        number = file_path.rsplit("_", 1)[-1].split(".")[0]
        return {
            "file_id": params["file_id"],
            "file_unique_id": f"AgAD{number}",
            "file_size": len(content),
            "file_path": file_path,
        }

    def _result(self, call: Call) -> Any:
        method, params = call.method, call.params
        if method == "getMe":
            return self.bot_user
        if method == "getFile":
            return self._file(params)
        if method == "getChatMember":
            member = {"id": params["user_id"], "is_bot": False, "first_name": "Member"}
            if params["user_id"] in self.chat_admins.get(params["chat_id"], set()):
                return {"status": "creator", "user": member, "is_anonymous": False}
            return {"status": "member", "user": member}
        if method == "getWebhookInfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        returns = self._spec.method(method)["returns"]  # type: ignore[index]
        if "Message" in returns and "chat_id" in params:
            return self._message(params)
        if "Array of Message" in returns and "media" in params:  # sendMediaGroup
            return [self._message(params) for _ in params["media"]]
        return True

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params["chat_id"]
        if isinstance(chat_id, int):
            chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        else:
            chat = {"id": -1001000000001, "type": "channel", "username": chat_id.lstrip("@")}
        now = int(time.time())
        message: dict[str, Any] = {"date": now, "chat": chat, "from": self.bot_user}
        if "message_id" in params:  # an edit
            message.update(message_id=params["message_id"], edit_date=now)
        else:
            with self._lock:
                message["message_id"] = self._next_message_id
                self._next_message_id += 1
        for name in ("text", "caption"):
            if isinstance(params.get(name), str):
                message[name] = _visible(params[name], params.get("parse_mode"))
        if "inline_keyboard" in params.get("reply_markup", {}):  # a Message carries inline keyboards only
            message["reply_markup"] = params["reply_markup"]
        return message

    def _missing(self, method: str, count: int, timeout: float) -> str:
        with self._lock:
            rejected = {id(call): reason for call, reason in self.rejected}
            seen = [f"{c.method} (rejected: {rejected[id(c)]})" if id(c) in rejected else c.method for c in self.calls]
        return f"expected {count} accepted {method} call(s) within {timeout}s; calls seen: {seen}"
