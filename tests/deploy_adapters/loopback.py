"""A tiny threaded HTTP server on 127.0.0.1 (port 0) for probe and Slack tests: `routes` maps
"METHOD /path" to a handler returning (status, content type, body); every request is recorded."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[int, str, bytes]
Route = Callable[[], Reply]


@dataclass
class Loopback:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)


def json_reply(value: Any, status: int = 200) -> Route:
    return lambda: (status, "application/json", json.dumps(value).encode())


def text_reply(text: str, status: int = 200) -> Route:
    return lambda: (status, "text/plain; charset=utf-8", text.encode())


@contextmanager
def serve(routes: dict[str, Route]) -> Iterator[Loopback]:
    loopback = Loopback(url="")

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            loopback.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
            route = routes.get(f"{self.command} {self.path.split('?')[0]}")
            status, kind, payload = route() if route else (404, "text/plain", b"no such route")
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_HEAD = do_PUT = _handle

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    loopback.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield loopback
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def free_port() -> int:
    """A port nothing listens on (bound and released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
