"""Run the real wrangler (installed by scripts/install-wrangler) against the emulator, offline,
non-interactively (stdin closed), and read its ND-JSON output records."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WORKERS = ROOT / "tests" / "workers"
INSTALL_SCRIPT = ROOT / "scripts" / "install-wrangler"
OFFLINE = {"WRANGLER_SEND_METRICS": "false", "WRANGLER_HIDE_BANNER": "true", "CLOUDFLARE_CF_FETCH_ENABLED": "false",
           "FORCE_COLOR": "0", "NO_COLOR": "1",
           # wrangler's npm update check (run when a command fails) honours this: fail fast, offline
           "npm_config_registry": "http://127.0.0.1:9/"}


def install_wrangler() -> Path:
    """Run scripts/install-wrangler (idempotent) and return the wrangler binary."""
    done = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"scripts/install-wrangler failed:\n{done.stderr}")
    return Path(done.stdout.strip().splitlines()[-1])


def copy_worker(name: str, dest: Path) -> Path:
    """A fresh copy of tests/workers/<name> (wrangler writes .wrangler/ into the project dir)."""
    target = dest / name
    shutil.copytree(WORKERS / name, target, ignore=shutil.ignore_patterns(".wrangler", "node_modules"))
    return target


def wrangler_env(home: Path, *, base_url: str | None = None, token: str = "test-token", account_id: str = "acc",
                 output_file: Path | None = None) -> dict[str, str]:
    """A clean environment for wrangler: no inherited Cloudflare/wrangler settings, config and
    logs under `home`, metrics, banner and the Request.cf fetch off, API at `base_url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDFLARE_", "CF_", "WRANGLER_"))}
    env.pop("CI", None)
    env.update(OFFLINE)
    env["XDG_CONFIG_HOME"] = str(home)
    if base_url is not None:
        env.update({"CLOUDFLARE_API_BASE_URL": base_url, "CLOUDFLARE_API_TOKEN": token,
                    "CLOUDFLARE_ACCOUNT_ID": account_id})
    if output_file is not None:
        env["WRANGLER_OUTPUT_FILE_PATH"] = str(output_file)
    return env


@dataclass
class WranglerResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    records: list[dict[str, Any]]  # the ND-JSON records wrangler wrote to WRANGLER_OUTPUT_FILE_PATH

    def record(self, kind: str) -> dict[str, Any]:
        """The last output record of type `kind` (e.g. "deploy", "version-upload")."""
        found = [r for r in self.records if r.get("type") == kind]
        if not found:
            raise AssertionError(f"no {kind!r} record in wrangler's output: {self.records}\n{self.stderr}")
        return found[-1]

    def json(self) -> Any:
        """stdout parsed as JSON (for the `--json` commands)."""
        return json.loads(self.stdout)


class Wrangler:
    """`wrangler.run("deploy", "--message", "m", cwd=project)` against the API at `base_url`."""

    def __init__(self, binary: Path, home: Path, *, base_url: str | None, token: str = "test-token",
                 account_id: str = "acc") -> None:
        self.binary, self.home = binary, home
        self.base_url, self.token, self.account_id = base_url, token, account_id

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 60, env: dict[str, str] | None = None) -> WranglerResult:
        output = self.home / f"wrangler-output-{uuid.uuid4().hex}.ndjson"
        environment = wrangler_env(self.home, base_url=self.base_url, token=self.token, account_id=self.account_id,
                                   output_file=output)
        environment.update(env or {})
        done = subprocess.run([str(self.binary), *args], cwd=cwd or self.home, env=environment, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=timeout, check=False)
        records = [json.loads(line) for line in output.read_text("utf-8").splitlines() if line.strip()] \
            if output.exists() else []
        return WranglerResult(list(args), done.returncode, done.stdout, done.stderr, records)
