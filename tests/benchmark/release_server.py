"""A real HTTP server on 127.0.0.1 serving release archives, with faults a test switches on.

Faults: drop the connection halfway through a file (once per path), ignore ``Range`` headers,
answer a ``Range`` request with the whole file under a ``206`` (a broken cache or proxy),
answer given statuses before serving, and send slowly. Every request is recorded with its
``Range`` header, so tests can check what the client asked for.
"""

from __future__ import annotations

import threading
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Faults:
    """What the server does wrong (all off by default)."""

    drop_once: set[str] = field(default_factory=set)
    ignore_range: bool = False
    whole_file_as_206: bool = False
    statuses: dict[str, list[int]] = field(default_factory=dict)
    chunk_delay: float = 0.0


class ReleaseServer:
    """Serve ``files`` (URL path without the leading ``/`` -> bytes) on a free loopback port."""

    def __init__(self, files: dict[str, bytes], faults: Faults | None = None) -> None:
        self.files = dict(files)
        self.faults = faults or Faults()
        self.requests: list[tuple[str, str | None]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def requests_for(self, name: str) -> list[str | None]:
        """The ``Range`` headers (``None``: none) of every request for ``name``, in order."""
        with self._lock:
            return [rng for path, rng in self.requests if path == name]

    def __enter__(self) -> ReleaseServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                name = self.path.lstrip("/")
                rng = self.headers.get("Range")
                with server._lock:
                    server.requests.append((name, rng))
                    queued = server.faults.statuses.get(name)
                    status = queued.pop(0) if queued else None
                    drop = name in server.faults.drop_once
                    server.faults.drop_once.discard(name)
                if status is not None:
                    self.send_error(status)
                    return
                body = server.files.get(name)
                if body is None:
                    self.send_error(404)
                    return
                start = 0
                if rng and server.faults.whole_file_as_206:
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes 0-{len(body) - 1}/{len(body)}")
                elif rng and not server.faults.ignore_range:
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.send_header("Content-Type", "application/zip")
                self.end_headers()
                payload = body[start:]
                if drop:
                    payload = payload[: len(payload) // 2]
                for i in range(0, len(payload), 1 << 16):
                    self.wfile.write(payload[i : i + (1 << 16)])
                    if server.faults.chunk_delay:
                        time.sleep(server.faults.chunk_delay)
                self.wfile.flush()
                self.close_connection = True

        return Handler


def write_zip(path: Path, entries: Iterable[tuple[str, bytes]]) -> Path:
    """A zip archive at ``path`` holding ``(name, bytes)`` entries (stored, for speed)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return path


def release_entries(root: Path, dataset: str, keys: Iterable[str], prefix: str = "") -> list[tuple[str, bytes]]:
    """``(prefix + dataset/<key>_accuracy.json, bytes)`` for ``keys`` of the real release copy."""
    return [
        (f"{prefix}{dataset}/{key}_accuracy.json", (root / dataset / f"{key}_accuracy.json").read_bytes())
        for key in keys
    ]
