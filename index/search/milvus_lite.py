"""Milvus Lite as a separate process we start, stop and restart: for tests, benchmarks and ``ask --backend milvus``.

pymilvus can start Milvus Lite itself when given a file path, but then the
server lives and dies with the client's process, writes its (chatty) log to
our stderr and cannot be stopped under a running engine. Here the
``milvus-lite`` package's server binary runs on its own, on a unix socket in a
private temporary directory, so the engine talks to it exactly as it would to
a Milvus server (``unix:/…/milvus.sock``), and a test can stop it and start it
again on the same socket.

The binary keeps running only while we hold a lock on ``.<db name>.lock``
beside the database file (it watches the lock, as pymilvus's own launcher
arranges): if this process dies, the server stops too. The lock also keeps a
second process from opening the same database file.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

_NAME = re.compile(r"^[A-Za-z0-9.\-_]{1,36}$")
"""What the Lite binary accepts as a database file name (pymilvus checks the same)."""


class LiteUnavailable(RuntimeError):
    """Milvus Lite is not installed, or its server would not start; the message says why."""


def binary() -> Path:
    """The ``milvus`` server binary shipped in the ``milvus-lite`` package."""
    # Only its location is needed: importing the package would run its pkg_resources deprecation warning.
    spec = importlib.util.find_spec("milvus_lite")
    if spec is None or not spec.submodule_search_locations:
        raise LiteUnavailable("Milvus Lite is not installed: pip install -e '.[milvus]'")
    path = Path(next(iter(spec.submodule_search_locations))) / "lib" / "milvus"
    if not path.exists():
        raise LiteUnavailable(f"the milvus-lite package has no server binary at {path}")
    return path


class LiteServer:
    """One Milvus Lite server process over one database file; ``start`` returns the URI to give pymilvus."""

    def __init__(self, path: str | Path, *, start_timeout: float = 30.0) -> None:
        self.path = Path(path).expanduser().absolute()
        if not _NAME.match(self.path.name):
            raise LiteUnavailable(
                f"Milvus Lite database file name {self.path.name!r} must be at most 36 letters, digits, '.', '-' or '_'"
            )
        self.start_timeout = start_timeout
        # A short private directory: a unix socket path must fit in 108 bytes, and nobody else may connect.
        self._dir = Path(tempfile.mkdtemp(prefix="newsbot-milvus-"))
        self.socket = self._dir / "milvus.sock"
        self.log = self._dir / "milvus.log"
        self._lock_path = self.path.parent / f".{self.path.name}.lock"
        self._lock: IO[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"unix:{self.socket}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> str:
        """Start the server (a no-op if it runs) and wait until it accepts connections; returns :attr:`uri`."""
        if self.running():
            return self.uri
        command = binary()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()  # left by a server that was killed
        env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH")}
        libraries = str(command.parent)
        env["LD_LIBRARY_PATH"] = env["DYLD_LIBRARY_PATH"] = libraries
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    str(command),
                    str(self.path),
                    self.uri,
                    os.environ.get("MILVUS_LITE_LOG_LEVEL", "ERROR"),
                    str(self._lock_path),
                ],
                env=env,
                cwd=str(self.path.parent),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal goes to us, and we stop it in order
            )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                self._release_lock()
                raise LiteUnavailable(f"Milvus Lite exited at start-up (status {code}): {self._log_tail()}")
            if self._accepts():
                return self.uri
            time.sleep(0.02)
        self.stop()
        raise LiteUnavailable(f"Milvus Lite did not accept connections within {self.start_timeout:.0f} s")

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server: SIGTERM (SIGKILL with ``kill``, as a crash would), then SIGKILL if it lingers."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self._release_lock()
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()

    def close(self) -> None:
        """Stop the server and remove its private directory (socket and log); the database file stays."""
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def rss(self) -> int:
        """The server's resident memory in bytes (0 when it is not running)."""
        if not self.running() or self.pid is None:
            return 0
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return 0
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        return int(match.group(1)) * 1024 if match else 0

    def __enter__(self) -> LiteServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _accepts(self) -> bool:
        if not self.socket.exists():
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.5)
            try:
                probe.connect(str(self.socket))
            except OSError:
                return False
        return True

    def _take_lock(self) -> None:
        if self._lock is not None:
            return
        lock = self._lock_path.open("a")
        try:
            # The same kind of lock the binary checks (POSIX record lock), so it stops when we release it.
            fcntl.lockf(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            lock.close()
            raise LiteUnavailable(f"Milvus Lite database {self.path} is already in use by another process") from error
        self._lock = lock

    def _release_lock(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            with contextlib.suppress(OSError):
                fcntl.lockf(lock, fcntl.LOCK_UN)
            lock.close()
            with contextlib.suppress(FileNotFoundError):
                self._lock_path.unlink()

    def _log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "no log"
        return " | ".join(text.strip().splitlines()[-lines:]) or "no output"


def start(path: str | Path) -> LiteServer:
    """A started Milvus Lite server over ``path``; its ``uri`` is what pymilvus connects to, ``close()`` stops it."""
    server = LiteServer(path)
    server.start()
    return server
