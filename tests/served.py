"""One way to serve an ASGI app in the test process: uvicorn on 127.0.0.1 (a free port) in a daemon
thread. The two API emulators and the web tests' in-process server all use it."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


class ThreadServer:
    def __init__(self, app: Any, *, name: str, lifespan: str = "off") -> None:
        self._app, self._name, self._lifespan = app, name, lifespan
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def start(self, timeout: float = 10.0) -> int:
        """Serve; the port, once uvicorn accepts connections."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(self._app, log_level="warning", log_config=None, access_log=False, lifespan=self._lifespan, http="h11", ws="none",
                                server_header=False, timeout_graceful_shutdown=5)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name=self._name)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"{self._name} did not start within {timeout:g} s")
            time.sleep(0.005)
        self.port = sock.getsockname()[1]
        return self.port

    def stop(self, timeout: float = 20.0) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=timeout)
            if self._thread.is_alive():
                raise RuntimeError(f"{self._name} did not stop within {timeout:g} s")
        self._server = self._thread = None
