"""Real servers for the web tests: uvicorn in a thread of the test process, or `changegate serve`
and `changegate worker` as subprocesses (what the crash tests kill)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from starlette.applications import Starlette

import tests.served
from tests.web.payloads import ROOT

RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


class ThreadServer:
    """`app` (with its lifespan) served in this process, as a context manager with its URL."""

    def __init__(self, app: Starlette) -> None:
        self._served = tests.served.ThreadServer(app, name="uvicorn", lifespan="on")
        self.url = ""

    def __enter__(self) -> ThreadServer:
        self.url = f"http://127.0.0.1:{self._served.start(timeout=15)}"
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._served.stop(timeout=20)


def wait_for(condition: Callable[[], Any], *, what: str, timeout: float = 15.0, interval: float = 0.02) -> Any:
    """Poll `condition` until it is truthy (returned); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class ChangegateProcess:
    """`python -m changegate ARGS...` with its log in a file (a pipe could fill and block it)."""

    def __init__(self, args: list[str], *, env: dict[str, str], log_path: Path) -> None:
        self.args = args
        self.log_path = log_path
        self.log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "changegate", *args], cwd=ROOT, env={**os.environ, **env},
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def log_text(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def wait_for_port(self, timeout: float = 20.0) -> str:
        """The URL the server listens on (from uvicorn's start-up line in the log)."""
        def port() -> str | None:
            if self.process.poll() is not None:
                raise AssertionError(f"changegate {' '.join(self.args)} exited {self.process.returncode}:\n{self.log_text()[-3000:]}")
            found = RUNNING.findall(self.log_text())
            return found[-1] if found else None
        return f"http://127.0.0.1:{wait_for(port, what='the server to listen', timeout=timeout)}"

    def wait_for_log(self, text: str, timeout: float = 20.0) -> None:
        wait_for(lambda: text in self.log_text() or self.process.poll() is not None, what=text, timeout=timeout)
        assert text in self.log_text(), self.log_text()[-3000:]

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()

    def stop(self) -> int:
        """SIGTERM and wait (SIGKILL after 15 s); the exit code (uvicorn re-raises SIGTERM
        after a graceful shutdown, so a clean stop of `serve` is -15)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()
        return self.process.returncode
