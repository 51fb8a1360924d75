"""Serving an httpx-style handler (a fake server) over real HTTP on 127.0.0.1, for code in other processes."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

Handler = Callable[[httpx.Request], Any]


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-answer (a timeout, a killed bot) is normal here, not an error to print."""

    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _request_handler(handle: Handler) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {"Content-Type": self.headers.get("Content-Type", "")}
            headers.update((name, value) for name, value in self.headers.items() if name.lower() != "content-type")
            request = httpx.Request(self.command, f"http://127.0.0.1{self.path}", headers=headers, content=body)
            response = handle(request)
            assert isinstance(response, httpx.Response)  # no event loop runs in this thread
            response.read()
            self.send_response(response.status_code)
            self.send_header("Content-Type", response.headers.get("Content-Type", "application/json"))
            for name in ("Retry-After",):  # what clients act on, besides the body
                if name in response.headers:
                    self.send_header(name, response.headers[name])
            self.send_header("Content-Length", str(len(response.content)))
            self.end_headers()
            self.wfile.write(response.content)

        do_GET = do_POST

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return RequestHandler


@contextlib.contextmanager
def serve(handle: Handler, name: str) -> Iterator[int]:
    """Answer HTTP requests on 127.0.0.1 with ``handle`` in a daemon thread; yields the port."""
    server = _QuietServer(("127.0.0.1", 0), _request_handler(handle))
    # A short poll interval: shutdown() waits for the next poll, and tests start many servers.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, name=name, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
