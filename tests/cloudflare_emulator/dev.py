"""`wrangler dev` (workerd) serving a test Worker on 127.0.0.1, offline, for endpoint probes.

Spawns node_modules/.bin/wrangler directly (never npx: its pid would be `npm exec`) in a new
session, waits until the Worker answers HTTP, and on stop sends SIGTERM to the wrangler pid,
which takes down node, esbuild and workerd; whatever survives in that session is killed."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from .wrangler import copy_worker, wrangler_env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def session_pids(sid: int) -> list[int]:
    """Live processes in session `sid` (the session our wrangler leads)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # fields: state, ppid, pgrp, session, ...
            found.append(int(entry.name))
    return found


class WorkerDev:
    """One `wrangler dev` process. `start()` returns the base URL (http://127.0.0.1:PORT)."""

    def __init__(self, binary: Path, workdir: Path, *, worker: str = "ts-worker", mode: str = "healthy",
                 version: str = "dev", extra_vars: dict[str, str] | None = None) -> None:
        self.binary, self.workdir = binary, workdir
        self.worker, self.mode, self.version = worker, mode, version
        self.vars = {"MODE": mode, "VERSION": version, **(extra_vars or {})}
        self.port = 0
        self.base_url = ""
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / f"wrangler-dev-{worker}.log"

    def start(self, timeout: float = 60) -> str:
        project = copy_worker(self.worker, self.workdir) if not (self.workdir / self.worker).exists() \
            else self.workdir / self.worker
        self.port = free_port()
        args = [str(self.binary), "dev", "--ip", "127.0.0.1", "--port", str(self.port),
                "--inspector-port", str(free_port()), "--show-interactive-dev-session=false", "--env", ""]
        for name, value in self.vars.items():
            args += ["--var", f"{name}:{value}"]
        env = wrangler_env(self.workdir)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(args, cwd=project, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self.base_url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"wrangler dev exited with {self.process.returncode}:\n{self.output()}")
            try:
                httpx.get(self.base_url + "/health", timeout=2)
                return self.base_url
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"wrangler dev was not ready within {timeout} s:\n{self.output()}")
            time.sleep(0.1)

    def output(self) -> str:
        return self.log.read_text("utf-8", "replace") if self.log.exists() else ""

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM to wrangler; wait for its whole session to go; SIGKILL what lingers."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        sid = process.pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None and not session_pids(sid):
                return
            time.sleep(0.05)
        for pid in session_pids(sid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=5)
        leftover = session_pids(sid)
        if leftover:
            raise RuntimeError(f"processes of wrangler dev survived SIGKILL: {leftover}")

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
