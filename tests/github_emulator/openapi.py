"""GitHub's OpenAPI description (npm @octokit/openapi), loaded once, and a response validator.

`spec_path()` runs scripts/fetch-github-spec when the file is not there yet, so a fresh clone
needs nothing but npm. `ResponseValidator.errors(method, path, status, body)` maps a concrete
request path to its spec template and validates the body with `OAS30Validator` (which knows
OpenAPI's `nullable`), the spec's `components` grafted on so `$ref`s resolve.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator

ROOT = Path(__file__).resolve().parents[2]
FETCH_SCRIPT = ROOT / "scripts" / "fetch-github-spec"
JSON = "application/json"


def spec_path() -> Path:
    """The path of api.github.com.json, fetching it once (npm pack) if it is missing."""
    spec_dir = ROOT / os.environ.get("CHANGEGATE_SPEC_DIR", ".cache/github-spec")  # relative: to the repo root
    target = spec_dir / "api.github.com.json"
    if target.is_file() and (spec_dir / "LICENSE").is_file():
        return target
    done = subprocess.run(["bash", str(FETCH_SCRIPT)], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{FETCH_SCRIPT} failed (exit {done.returncode}): {done.stderr.strip()}; run it by hand to see why")
    return Path(done.stdout.strip().splitlines()[-1])


@functools.cache
def load_spec() -> dict[str, Any]:
    with spec_path().open("rb") as handle:
        spec: dict[str, Any] = json.load(handle)
    _allow_null_in_nullable_enums(spec["components"]["schemas"])
    return spec


def _allow_null_in_nullable_enums(node: Any) -> None:
    """FIX: GitHub marks e.g. check-run `conclusion` as `nullable: true` with an `enum` that lacks
    null, and the real API sends null there (a run in progress). Strict OpenAPI 3.0.3 needs null
    inside the enum too, so the validator would reject GitHub's own in-progress example; GitHub's
    meaning is plain, so null is added to such enums (components.schemas, in place, once)."""
    if isinstance(node, dict):
        enum = node.get("enum")
        if node.get("nullable") is True and isinstance(enum, list) and None not in enum:
            enum.append(None)
        for value in node.values():
            _allow_null_in_nullable_enums(value)
    elif isinstance(node, list):
        for value in node:
            _allow_null_in_nullable_enums(value)


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    pattern = "".join(
        (".+" if part == "{path}" else "[^/]+") if part.startswith("{") else re.escape(part) for part in parts
    )
    return re.compile(f"^{pattern}$")


class ResponseValidator:
    """Validates response bodies against the spec's response schemas."""

    def __init__(self, spec: dict[str, Any] | None = None) -> None:
        self.spec = spec if spec is not None else load_spec()
        self.components = self.spec["components"]
        # Most literal characters first, so /pulls/{n}/files beats a template with more params.
        templates: list[str] = sorted(self.spec["paths"], key=lambda t: -len(re.sub(r"\{[^}]+\}", "", t)))
        self._templates = [(template, _template_regex(template)) for template in templates]
        self._matched: dict[str, str | None] = {}
        self._validators: dict[str, OAS30Validator] = {}

    def template(self, path: str) -> str | None:
        """The spec path template a concrete request path belongs to, or None."""
        path = path.split("?", 1)[0]
        if path not in self._matched:
            self._matched[path] = next((t for t, regex in self._templates if regex.match(path)), None)
        return self._matched[path]

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        template = self.template(path)
        if template is None:
            return None
        operation: dict[str, Any] | None = self.spec["paths"][template].get(method.lower())
        return operation

    def response_schema(self, method: str, path: str, status: int) -> tuple[dict[str, Any] | None, str | None]:
        """(schema or None when the response has no body, problem or None)."""
        operation = self.operation(method, path)
        if operation is None:
            return None, f"{method} {path}: no such operation in GitHub's OpenAPI description"
        response = operation["responses"].get(str(status))
        if response is None:
            if status >= 400:  # GitHub's generic error shape, e.g. 401/403/502 on any endpoint
                return {"$ref": "#/components/schemas/basic-error"}, None
            return None, f"{method} {path}: status {status} is not a documented response ({sorted(operation['responses'])})"
        response = self._resolve(response)
        content = response.get("content", {})
        if not content:
            return None, None
        media = content.get(JSON) or next(iter(content.values()))
        return media.get("schema", {}), None

    def errors(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Every way `body` breaks the documented response for (method, path, status)."""
        schema, problem = self.response_schema(method, path, status)
        where = f"{method.upper()} {path} -> {status}"
        if problem:
            return [problem]
        if schema is None:
            return [] if body in (None, b"", "") else [f"{where}: documented without a body but one was sent"]
        return [
            f"{where}: /{'/'.join(map(str, error.absolute_path))}: {error.message[:300]}"
            for error in self._validator(schema).iter_errors(body)
        ]

    def request_errors(self, method: str, path: str, body: Any) -> list[str]:
        """Every way a JSON request body breaks the operation's documented requestBody."""
        operation = self.operation(method, path)
        request = self._resolve(operation.get("requestBody", {})) if operation else {}
        schema = request.get("content", {}).get(JSON, {}).get("schema")
        if schema is None:
            return []
        if body is None:
            return ["a JSON body is required"] if request.get("required") else []
        return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in self._validator(schema).iter_errors(body)]

    def schema_errors(self, name: str, body: Any) -> list[str]:
        """Validate against a named `components.schemas` entry (e.g. basic-error)."""
        return [e.message for e in self._validator({"$ref": f"#/components/schemas/{name}"}).iter_errors(body)]

    def documentation_url(self, method: str, path: str) -> str:
        operation = self.operation(method, path) or {}
        url: str = operation.get("externalDocs", {}).get("url", "https://docs.github.com/rest")
        return url

    def example(self, name: str) -> Any:
        return self.components["examples"][name]["value"]

    def _validator(self, schema: dict[str, Any]) -> OAS30Validator:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            self._validators[key] = OAS30Validator({**schema, "components": self.components})
        return self._validators[key]

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            kind, name = node["$ref"].split("/")[-2:]
            node = self.components[kind][name]
        return node
