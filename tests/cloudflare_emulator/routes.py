"""REST handlers. Each takes the state and an `Ask` and returns (HTTP status, result), or raises
ApiError; the server wraps results in Cloudflare's envelope."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from .records import Script
from .state import ApiError, CloudflareState

Result = tuple[int, Any]


@dataclass
class Paged:
    """A result with the envelope's `result_info` beside it."""

    result: Any
    info: dict[str, int]


@dataclass
class Ask:
    method: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any = None  # JSON body, or for multipart: {"metadata": {...}, "parts": {name: (type, text)}}
    user_agent: str = ""

    @property
    def source(self) -> str:
        """Who made the change, as Cloudflare records it: wrangler (by its User-Agent) or api."""
        return "wrangler" if self.user_agent.startswith("wrangler/") else "api"


Handler = Callable[[CloudflareState, Ask], Result]


def parse_multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    """A multipart/form-data body as {"metadata": dict | None, "parts": {name: (content type, text)}}."""
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
    if not message.is_multipart():
        raise ApiError(400, 10001, "expected a multipart/form-data body")
    parts: dict[str, tuple[str, str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            parts[name] = (part.get_content_type(), payload.decode("utf-8", "replace"))
    if "metadata" not in parts:
        return {"metadata": None, "parts": parts}
    try:
        metadata = json.loads(parts.pop("metadata")[1])
    except ValueError as exc:
        raise ApiError(400, 10001, "the `metadata` part is not valid JSON") from exc
    if not isinstance(metadata, dict):
        raise ApiError(400, 10001, "the `metadata` part must be a JSON object")
    return {"metadata": metadata, "parts": parts}


def _script(state: CloudflareState, ask: Ask) -> Script:
    return state.script(ask.params["script"])


# -- services, scripts, settings ---------------------------------------------------------------
def get_service(state: CloudflareState, ask: Ask) -> Result:
    return 200, state.script(ask.params["script"], service=True).render_service()


def list_scripts(state: CloudflareState, _ask: Ask) -> Result:
    return 200, [script.render_script() for script in state.scripts.values()]


def put_script(state: CloudflareState, ask: Ask) -> Result:
    """New Worker upload path: creates the Worker if needed, a version and a 100% deployment."""
    upload = _upload(ask)
    name = ask.params["script"]
    version_id = _store_version(state, name, upload, ask, create=True)
    script = state.script(name)
    message = script.version(version_id).message  # type: ignore[union-attr]
    state.append_deployment(script, [(version_id, 100)], message=message, source=ask.source,
                            annotations={"workers/triggered_by": "upload"})
    return 200, {**script.render_script(), "deployment_id": version_id, "startup_time_ms": 10}


def get_settings(state: CloudflareState, ask: Ask) -> Result:
    script = _script(state, ask)
    latest = script.versions[-1] if script.versions else None
    return 200, {**script.settings, "bindings": latest.bindings() if latest else [],
                 "compatibility_date": latest.compatibility_date if latest else None,
                 "compatibility_flags": list(latest.compatibility_flags) if latest else [],
                 "placement": {}, "usage_model": "standard"}


def _patch(state: CloudflareState, ask: Ask, body: Any) -> None:
    script = _script(state, ask)
    if not isinstance(body, dict):
        raise ApiError(400, 10001, "settings must be a JSON object")
    script.settings.update({k: v for k, v in body.items() if k in ("logpush", "tail_consumers", "observability", "tags")})


def patch_settings(state: CloudflareState, ask: Ask) -> Result:
    """PATCH .../settings: multipart with a `settings` part (JSON accepted too)."""
    body = ask.body
    if isinstance(body, dict) and "parts" in body:
        try:
            body = json.loads(body["parts"].get("settings", ("", "{}"))[1])
        except ValueError as exc:
            raise ApiError(400, 10001, "the `settings` part is not valid JSON") from exc
    _patch(state, ask, body)
    return get_settings(state, ask)


def patch_script_settings(state: CloudflareState, ask: Ask) -> Result:
    _patch(state, ask, ask.body)
    return get_script_settings(state, ask)


def get_script_settings(state: CloudflareState, ask: Ask) -> Result:
    return 200, dict(_script(state, ask).settings)


# -- versions ------------------------------------------------------------------------------------
def _upload(ask: Ask) -> dict[str, Any]:
    if not isinstance(ask.body, dict) or not isinstance(ask.body.get("metadata"), dict):
        raise ApiError(400, 10001, "expected a multipart/form-data upload with a `metadata` part")
    return ask.body


def _store_version(state: CloudflareState, name: str, upload: dict[str, Any], ask: Ask, *, create: bool) -> str:
    metadata, parts = dict(upload["metadata"]), upload["parts"]
    main = metadata.get("main_module") or metadata.get("body_part")
    if not main or main not in parts:
        raise ApiError(400, 10021, f"No such module {main!r}: the main module must be one of the uploaded parts")
    with state.lock:
        if not create:
            state.script(name)
        previous = state.scripts[name].versions[-1] if name in state.scripts and state.scripts[name].versions else None
        metadata["bindings"] = _inherit(metadata.get("bindings") or [], previous.bindings() if previous else [],
                                        strict=ask.query.get("bindings_inherit") == "strict")
        return state.add_version(name, source=ask.source, modules={n: text for n, (_, text) in parts.items()},
                                 main_module=main, metadata=metadata)


def _inherit(bindings: list[dict[str, Any]], previous: list[dict[str, Any]], *, strict: bool) -> list[dict[str, Any]]:
    known = {b.get("name"): b for b in previous}
    out = []
    for binding in bindings:
        if binding.get("type") == "inherit":
            if binding.get("name") not in known:
                if strict:
                    raise ApiError(400, 10056, f"binding {binding.get('name')!r} cannot be inherited: the previous version has no such binding")
                continue
            out.append(known[binding["name"]])
        else:
            out.append(binding)
    return out


def upload_version(state: CloudflareState, ask: Ask) -> Result:
    name = ask.params["script"]
    version_id = _store_version(state, name, _upload(ask), ask, create=False)
    return 200, {**state.version(name, version_id).render(), "startup_time_ms": 10}


def list_versions(state: CloudflareState, ask: Ask) -> Result:
    versions = state.versions(ask.params["script"])
    if ask.query.get("deployable") == "true":  # "ignores pagination"
        items = versions[:100]
        info = {"page": 1, "per_page": len(items), "count": len(items), "total_count": len(items)}
    else:
        page, per_page = _int(ask.query.get("page"), 1), min(_int(ask.query.get("per_page"), 10), 100)
        items = versions[(page - 1) * per_page: page * per_page]
        info = {"page": page, "per_page": per_page, "count": len(items), "total_count": len(versions)}
    return 200, Paged({"items": [v.render() for v in items]}, info)


def get_version(state: CloudflareState, ask: Ask) -> Result:
    return 200, state.version(ask.params["script"], ask.params["version_id"]).render()


# -- deployments ---------------------------------------------------------------------------------
def list_deployments(state: CloudflareState, ask: Ask) -> Result:
    return 200, {"deployments": [d.render() for d in state.deployments(ask.params["script"])]}


def get_deployment(state: CloudflareState, ask: Ask) -> Result:
    wanted = ask.params["deployment_id"]
    for deployment in state.deployments(ask.params["script"]):
        if deployment.id == wanted:
            return 200, deployment.render()
    raise ApiError(404, 10238, f"deployment {wanted} not found")


def create_deployment(state: CloudflareState, ask: Ask) -> Result:
    body = ask.body
    if not isinstance(body, dict):
        raise ApiError(400, 10001, "the body must be a JSON object")
    if body.get("strategy") != "percentage":
        raise ApiError(400, 10001, f"strategy must be \"percentage\", got {body.get('strategy')!r}")
    entries = body.get("versions")
    if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("version_id"), str)
                                                and "percentage" in e for e in entries):
        raise ApiError(400, 10001, "versions must be a list of {version_id, percentage}")
    annotations = body.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise ApiError(400, 10001, "annotations must be an object")
    message = annotations.get("workers/message")
    extra = {k: str(v) for k, v in annotations.items() if k != "workers/message" and v is not None}
    force = ask.query.get("force") == "true"
    deployment_id = state.deploy(ask.params["script"], [(e["version_id"], e["percentage"]) for e in entries],
                                 message=None if message is None else str(message), source=ask.source,
                                 force=force, extra_annotations=extra)
    return 200, next(d for d in state.deployments(ask.params["script"]) if d.id == deployment_id).render()


# -- subdomains ----------------------------------------------------------------------------------
def account_subdomain(state: CloudflareState, _ask: Ask) -> Result:
    return 200, {"subdomain": state.workers_subdomain}


def script_subdomain(state: CloudflareState, ask: Ask) -> Result:
    script = _script(state, ask)
    if ask.method == "POST":
        if not isinstance(ask.body, dict):
            raise ApiError(400, 10001, "the body must be a JSON object")
        for key in ("enabled", "previews_enabled"):
            if isinstance(ask.body.get(key), bool):
                script.subdomain[key] = ask.body[key]
    return 200, dict(script.subdomain)


def _int(value: str | None, default: int) -> int:
    try:
        return max(int(value), 1) if value is not None else default
    except ValueError:
        return default
