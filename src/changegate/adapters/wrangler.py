"""Build and deploy Workers with the real wrangler (pinned 4.86.0: scripts/install-wrangler).

wrangler runs in the service's directory with stdin closed (so it never prompts), metrics and
the banner off, and `WRANGLER_OUTPUT_FILE_PATH` pointing at a temporary file: the new version id
is read from its ND-JSON `deploy` / `version-upload` record, never from the text output.

Which Worker a deploy targets. `--env ENV` is passed when the wrangler config declares
`[env.ENV]`, and for any environment other than "production" (wrangler then names the Worker
`<name>-<ENV>`). "production" with no `[env.production]` is the top-level Worker: `--env ""`,
which says so explicitly (a plain `wrangler deploy` would warn when other environments exist).
When the config can be read and the service lists a script for the environment, the two must
agree before anything runs; the `deploy` record's `worker_name` is checked again afterwards.

The child environment is ours minus `CHANGEGATE_*` (changegate's own secrets) plus the wrangler
settings; `CLOUDFLARE_*` pass through. Nothing of the environment is logged, and values of
variables named like tokens, secrets, keys or passwords are masked in error text.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from changegate.adapters.cloudflare import truncate_message
from changegate.core.policy import Service
from changegate.errors import ChangegateError
from changegate.settings import ENV_WRANGLER

log = logging.getLogger("changegate.wrangler")

CONFIG_FILES = ("wrangler.json", "wrangler.jsonc", "wrangler.toml")
RUST_BUILD = "worker-build --release"
_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|KEY|CREDENTIAL", re.IGNORECASE)
_TAIL_CHARS = 2000
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class WranglerError(ChangegateError):
    """A build or wrangler command failed. `command`: what ran; `returncode` (None: it timed
    out or could not start); `code`/`api_message`: from wrangler's `command-failed` record;
    `output_tail`: the end of its stderr (or stdout)."""

    def __init__(self, message: str, *, command: str, returncode: int | None = None,
                 code: int | None = None, api_message: str | None = None, output_tail: str = "") -> None:
        super().__init__(message)
        self.command = command
        self.returncode = returncode
        self.code = code
        self.api_message = api_message
        self.output_tail = output_tail


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


class WranglerRunner:
    """`binary`: the wrangler to run (None: `$CHANGEGATE_WRANGLER`, else `wrangler` on PATH,
    looked up on first use). `root`: what relative service directories are relative to
    (default: the working directory). `environ`: the environment to start from (default ours)."""

    def __init__(self, binary: str | None = None, *, root: Path | None = None,
                 environ: Mapping[str, str] | None = None, timeout: float = 600.0, build_timeout: float = 1800.0) -> None:
        self._binary = binary
        self.root = root
        self._environ = environ
        self.timeout = timeout
        self.build_timeout = build_timeout

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> WranglerRunner:
        """The binary from CHANGEGATE_WRANGLER (else `wrangler` on PATH, found on first use)."""
        binary = (os.environ if environ is None else environ).get(ENV_WRANGLER, "").strip() or None
        return cls(binary, environ=environ, **options)

    def __repr__(self) -> str:
        return f"WranglerRunner(binary={self._binary!r})"

    @property
    def binary(self) -> str:
        if self._binary is None or os.sep not in self._binary:
            found = shutil.which(self._binary or "wrangler", path=self._base_env().get("PATH"))
            if found is None:
                raise ChangegateError(f"{self._binary or 'wrangler'} not found: run scripts/install-wrangler and set {ENV_WRANGLER} to the path it prints")
            self._binary = found
        if not os.access(self._binary, os.X_OK):
            raise ChangegateError(f"{ENV_WRANGLER}={self._binary} is not an executable file: run scripts/install-wrangler and use the path it prints")
        return self._binary

    def deploy(self, service: Service, *, env: str, message: str) -> str:
        """Build (if the service says how; Rust Workers default to `worker-build --release`),
        then `service.deploy` or `wrangler deploy [--env ENV] --message M`; the new version id."""
        directory = self._directory(service)
        config = read_config(directory)
        self._check_target(service, env=env, config=config)
        self._build(service, directory)
        message = truncate_message(message)
        if service.deploy:
            command: list[str] | str = service.deploy.replace("{env}", shlex.quote(env)).replace("{message}", shlex.quote(message))
        else:
            command = [self.binary, "deploy", *env_args(config, env), "--message", message]
        record = self._wrangler(command, directory, want="deploy")
        self._check_deployed(service, env=env, record=record)
        return str(record["version_id"])

    def upload_version(self, service: Service, *, env: str, message: str, tag: str) -> str:
        """`wrangler versions upload [--env ENV] --tag T --message M` (built first, as for
        deploy): a new version that serves no traffic yet; its id."""
        directory = self._directory(service)
        config = read_config(directory)
        self._check_target(service, env=env, config=config)
        self._build(service, directory)
        command = [self.binary, "versions", "upload", *env_args(config, env), "--tag", tag, "--message", truncate_message(message)]
        return str(self._wrangler(command, directory, want="version-upload")["version_id"])

    # -- steps -----------------------------------------------------------------------------------

    def _directory(self, service: Service) -> Path:
        directory = (self.root or Path.cwd()) / service.directory
        if not directory.is_dir():
            raise ChangegateError(f"service {service.name}: directory {directory} does not exist: fix `directory` in the policy's services")
        return directory

    def _check_target(self, service: Service, *, env: str, config: dict[str, Any] | None) -> None:
        wanted = service.scripts.get(env)  # type: ignore[call-overload]
        target = target_script(config, env) if config is not None and not service.deploy else None
        if wanted and target and wanted != target:
            raise ChangegateError(
                f"service {service.name}: the wrangler config in {service.directory} deploys {env} to Worker {target!r}, "
                f"but the policy's scripts.{env} is {wanted!r}: make them agree (name / [env.{env}] name in the wrangler config)")

    def _check_deployed(self, service: Service, *, env: str, record: Mapping[str, Any]) -> None:
        wanted, got = service.scripts.get(env), record.get("worker_name")  # type: ignore[call-overload]
        if wanted and isinstance(got, str) and got != wanted:
            raise ChangegateError(f"service {service.name}: wrangler deployed version {record.get('version_id')} to Worker {got!r}, not {wanted!r} (scripts.{env}): "
                                  "fix the deploy command or the policy, and check both Workers now")

    def _build(self, service: Service, directory: Path) -> None:
        build = service.build or (RUST_BUILD if service.kind == "rust-worker" else None)
        if not build:
            return
        log.info("building %s: %s", service.name, build)
        finished = self._run(build, directory, env=self._child_env(None), timeout=self.build_timeout)
        if finished.returncode != 0:
            tail = self._tail(finished)
            raise WranglerError(f"build of {service.name} failed: `{build}` exited {finished.returncode} in {directory}:\n{tail}",
                                command=build, returncode=finished.returncode, output_tail=tail)

    def _wrangler(self, command: list[str] | str, directory: Path, *, want: str) -> dict[str, Any]:
        shown = command if isinstance(command, str) else shlex.join(["wrangler", *command[1:]])
        log.info("running in %s: %s", directory, shown)
        with tempfile.TemporaryDirectory(prefix="changegate-wrangler-") as scratch:
            output = Path(scratch) / "output.ndjson"
            finished = self._run(command, directory, env=self._child_env(output), timeout=self.timeout)
            records = read_records(output)
        failed = next((r for r in reversed(records) if r.get("type") == "command-failed"), None)
        wanted: dict[str, Any] | None = next((r for r in reversed(records) if r.get("type") == want and isinstance(r.get("version_id"), str)), None)
        if finished.returncode == 0 and failed is None and wanted is not None:
            return wanted
        tail = self._tail(finished)
        code = failed.get("code") if failed else None
        api_message = str(failed.get("message")) if failed else None
        reason = f"exited {finished.returncode}" if finished.returncode else f"wrote no {want!r} record to WRANGLER_OUTPUT_FILE_PATH"
        detail = f": {self._mask(api_message)}" + (f" [code: {code}]" if isinstance(code, int) else "") if api_message else ""
        raise WranglerError(f"`{shown}` {reason} in {directory}{detail}\n{tail}".rstrip(), command=shown, returncode=finished.returncode,
                            code=code if isinstance(code, int) else None, api_message=api_message, output_tail=tail)

    # -- processes -------------------------------------------------------------------------------

    def _base_env(self) -> dict[str, str]:
        source = os.environ if self._environ is None else self._environ
        return {k: v for k, v in source.items() if not k.startswith("CHANGEGATE_")}

    def _child_env(self, output: Path | None) -> dict[str, str]:
        env = self._base_env()
        env.update(WRANGLER_SEND_METRICS="false", WRANGLER_HIDE_BANNER="true", CLOUDFLARE_CF_FETCH_ENABLED="false",
                   FORCE_COLOR="0", NO_COLOR="1")
        if output is not None:
            env["WRANGLER_OUTPUT_FILE_PATH"] = str(output)
        if self._binary is not None and os.sep in self._binary:  # `wrangler` in a custom command is the pinned one
            env["PATH"] = os.pathsep.join([str(Path(self._binary).parent), env.get("PATH", os.defpath)])
        return env

    def _run(self, command: list[str] | str, directory: Path, *, env: dict[str, str], timeout: float) -> Finished:
        shown = command if isinstance(command, str) else shlex.join(command)
        try:
            process = subprocess.Popen(command, cwd=directory, env=env, shell=isinstance(command, str), stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True)
        except OSError as error:
            raise WranglerError(f"`{shown}` could not start in {directory}: {error.strerror}", command=shown) from error
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(process)
            raise WranglerError(f"`{shown}` did not finish within {timeout:g} s in {directory} and was stopped", command=shown) from None
        return Finished(process.returncode, stdout, stderr)

    def _tail(self, finished: Finished) -> str:
        text = _ANSI.sub("", finished.stderr).strip() or _ANSI.sub("", finished.stdout).strip()
        lines = [line.rstrip() for line in text.splitlines() if line.strip()]
        return self._mask("\n".join(lines)[-_TAIL_CHARS:])

    def _mask(self, text: str) -> str:
        for name, value in self._base_env().items():
            if len(value) >= 6 and _SECRET_NAME.search(name):
                text = text.replace(value, "***")
        return text


def _stop(process: subprocess.Popen[str]) -> None:
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.communicate(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def read_records(path: Path) -> list[dict[str, Any]]:
    """wrangler's ND-JSON output records (unreadable lines skipped)."""
    try:
        lines = path.read_text("utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def read_config(directory: Path) -> dict[str, Any] | None:
    """The wrangler config in `directory` (wrangler.json, .jsonc or .toml), or None if there is
    none or it cannot be parsed (wrangler will then say why)."""
    for name in CONFIG_FILES:
        path = directory / name
        if not path.is_file():
            continue
        try:
            text = path.read_text("utf-8")
            data = tomllib.loads(text) if name.endswith(".toml") else json.loads(strip_jsonc(text))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None
    return None


def declared_envs(config: Mapping[str, Any] | None) -> dict[str, Any]:
    envs = config.get("env") if config else None
    return envs if isinstance(envs, dict) else {}


def top_level(config: Mapping[str, Any] | None, env: str) -> bool:
    """Whether `env` is the config's top-level Worker ("production" without [env.production])."""
    return env == "production" and env not in declared_envs(config)


def env_args(config: Mapping[str, Any] | None, env: str) -> list[str]:
    return ["--env", "" if top_level(config, env) else env]


def target_script(config: Mapping[str, Any], env: str) -> str | None:
    """The Worker name wrangler will deploy to (legacy environments: `<name>-<env>`)."""
    name = config.get("name")
    section = declared_envs(config).get(env)
    if isinstance(section, dict) and isinstance(section.get("name"), str):
        return str(section["name"])
    if not isinstance(name, str):
        return None
    return name if top_level(config, env) else f"{name}-{env}"


_JSONC_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/|,(?=\s*[}\]])', re.DOTALL)


def strip_jsonc(text: str) -> str:
    """JSON with comments and trailing commas (wrangler.jsonc) as plain JSON. Two passes: a
    comma before a comment before a brace goes in the second."""
    for _ in range(2):
        text = _JSONC_TOKEN.sub(lambda m: m.group(0) if m.group(0).startswith('"') else "", text)
    return text
