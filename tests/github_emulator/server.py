"""The emulator: a Starlette app under uvicorn on 127.0.0.1 (port 0) in a background thread.

Every request goes through one pipeline: transient failures, auth, rate limits, request-body
check against the spec, the handler, ETag / 304, headers, then the response body is validated
against GitHub's OpenAPI description and logged. See API.md for how tests use it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.served import ThreadServer

from . import routes, writes
from .auth import Authenticator
from .knobs import Knobs
from .openapi import ResponseValidator
from .records import Call
from .render import Renderer
from .routes import Ask, Handler, Reply, World
from .state import GitHubState

REPO = "/repos/{owner}/{repo}"
ENDPOINTS: list[tuple[str, str, Handler]] = [
    ("GET", REPO + "/pulls", routes.list_pulls),
    ("GET", REPO + "/pulls/{number:int}", routes.get_pull),
    ("GET", REPO + "/pulls/{number:int}/files", routes.list_files),
    ("GET", REPO + "/pulls/{number:int}/reviews", routes.list_reviews),
    ("GET", REPO + "/pulls/{number:int}/commits", routes.list_commits),
    ("GET", REPO + "/commits/{ref}/check-runs", routes.list_check_runs),
    ("GET", REPO + "/commits/{ref}/status", routes.combined_status),
    ("GET", REPO + "/commits/{sha}/pulls", routes.pulls_for_commit),
    ("GET", REPO + "/contents/{path:path}", routes.get_content),
    ("GET", "/orgs/{org}/teams/{team_slug}/members", routes.team_members),
    ("GET", REPO + "/installation", routes.repo_installation),
    ("GET", "/orgs/{org}/installation", routes.account_installation),
    ("GET", "/users/{username}/installation", routes.account_installation),
    ("POST", "/app/installations/{installation_id:int}/access_tokens", routes.create_access_token),
    ("POST", REPO + "/check-runs", writes.create_check_run),
    ("GET", REPO + "/check-runs/{check_run_id:int}", writes.get_check_run),
    ("PATCH", REPO + "/check-runs/{check_run_id:int}", writes.update_check_run),
    ("POST", REPO + "/statuses/{sha}", writes.create_status),
    ("POST", REPO + "/actions/runs/{run_id:int}/deployment_protection_rule", writes.review_protection_rule),
]
JSON_TYPE = "application/json; charset=utf-8"


class Emulator:
    """A stateful GitHub REST API on loopback. `start()` returns the base URL."""

    def __init__(self, *, tokens: Mapping[str, str] | Iterable[str] = ("test-token",), app_id: int = 1,
                 app_public_key: str | None = None, app_slug: str = "changegate", validate: bool = True,
                 validator: ResponseValidator | None = None, state: GitHubState | None = None) -> None:
        self.validator = validator or ResponseValidator()
        self.state = state or GitHubState()
        self.knobs = Knobs()
        self.auth = Authenticator(self.state, tokens, app_id=app_id, app_public_key=app_public_key)
        self.validate = validate
        self.validation_errors: list[str] = []
        self.request_errors: list[str] = []  # request bodies the spec rejects (answered 422)
        self.world = World(self.state, Renderer(self.validator.components["examples"]), app_slug,
                           self.validator.documentation_url)
        self.app = Starlette(routes=self._routes())
        self.base_url = ""
        self._served = ThreadServer(self.app, name="github-emulator")

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> str:
        port = self._served.start()
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    def stop(self) -> None:
        self._served.stop(timeout=10)

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- conveniences ------------------------------------------------------------------------
    @property
    def calls(self) -> int:
        return self.state.calls

    def url(self, path: str) -> str:
        return self.base_url + path

    def client(self, token: str = "test-token", **options: Any) -> httpx.Client:
        """An httpx client on the emulator sending `Authorization: Bearer <token>`."""
        headers = {"Authorization": f"Bearer {token}", **options.pop("headers", {})}
        return httpx.Client(base_url=self.base_url, headers=headers, **options)

    # -- the pipeline --------------------------------------------------------------------------
    def _routes(self) -> list[Route]:
        table = [Route(path, self._endpoint(handler), methods=[method]) for method, path, handler in ENDPOINTS]
        return [*table, Route("/{rest:path}", self._endpoint(None),
                              methods=["GET", "POST", "PATCH", "PUT", "DELETE"])]

    def _endpoint(self, handler: Handler | None) -> Any:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            return self._serve(request, handler, raw)

        return endpoint

    def _serve(self, request: Request, handler: Handler | None, raw: bytes) -> Response:
        path, method = request.url.path, request.method
        reply, caller = self._gate(request, path)
        if reply is None:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
                reply = self.world.error(self._ask(request, {}, None, ""), 400, "Problems parsing JSON")
            if reply is None:
                reply = self._handle(request, handler, body, caller)
        response = self._respond(request, reply)
        self.state.record(Call(method, path, request.url.query, response.status_code))
        return response

    def _gate(self, request: Request, path: str) -> tuple[Reply | None, str]:
        ask = self._ask(request, {}, None, "")
        failure = self.knobs.failure_for(path)
        if failure is not None:
            message = "Server Error" if failure != 503 else "Service Unavailable"
            return self.world.error(ask, failure, message), ""
        caller, refusal = self.auth.identify(path, request.headers.get("authorization"))
        if caller is None:
            return self.world.error(ask, 401, refusal), ""
        limited = self.knobs.refusal()
        if limited is not None:
            reply = self.world.error(ask, limited.status, limited.message)
            reply.headers.update(limited.headers)
            return reply, caller
        return None, caller

    def _handle(self, request: Request, handler: Handler | None, body: Any, caller: str) -> Reply:
        ask = self._ask(request, dict(request.path_params), body, caller)
        if handler is None:
            return self.world.not_found(ask)
        if request.method in ("POST", "PATCH", "PUT"):
            problems = self.validator.request_errors(request.method, ask.path, body)
            if problems:
                self.request_errors.extend(f"{request.method} {ask.path}: {p}" for p in problems)
                return self.world.error(ask, 422, "Invalid request.\n\n" + "; ".join(problems))
        with self.state.lock:
            return handler(self.world, ask)

    def _ask(self, request: Request, params: dict[str, Any], body: Any, caller: str) -> Ask:
        base_url = str(request.url.replace(query=""))
        return Ask(request.method, request.url.path, params, dict(request.query_params), body, base_url, caller)

    def _respond(self, request: Request, reply: Reply) -> Response:
        content = b"" if reply.body is None else json.dumps(reply.body, separators=(",", ":")).encode()
        extra = dict(reply.headers)
        if request.method == "GET" and reply.status == 200:
            extra["etag"] = f'W/"{hashlib.sha256(content).hexdigest()}"'
            if extra["etag"] in _etags(request.headers.get("if-none-match")):  # not charged
                return Response(status_code=304, headers=self._headers(extra))
        refused = reply.status == 401 or "retry-after" in extra or "x-ratelimit-remaining" in extra
        if not refused:
            self.knobs.spend()
        if self.validate:
            self._check(request, reply)
        if reply.body is None:
            return Response(status_code=reply.status, headers=self._headers(extra))
        return Response(content, status_code=reply.status, headers=self._headers(extra), media_type=JSON_TYPE)

    def _headers(self, extra: dict[str, str]) -> dict[str, str]:
        return {"server": "github.com", "x-github-request-id": _request_id(), "x-github-api-version-selected": "2022-11-28",
                "x-github-media-type": "github.v3; format=json", **self.knobs.headers(), **extra}

    def _check(self, request: Request, reply: Reply) -> None:
        path = request.url.path
        if self.validator.template(path) is None:  # an endpoint GitHub doesn't have: a generic 404
            errors = self.validator.schema_errors("basic-error", reply.body)
        else:
            errors = self.validator.errors(request.method, path, reply.status, reply.body)
        self.validation_errors.extend(errors)


def _request_id() -> str:
    raw = uuid.uuid4().hex.upper()
    return f"{raw[:4]}:{raw[4:8]}:{raw[8:15]}:{raw[15:22]}:{raw[22:30]}"


def _etags(header: str | None) -> set[str]:
    tags = {tag.strip() for tag in (header or "").split(",") if tag.strip()}
    return tags | {f'W/{tag}' for tag in tags if not tag.startswith("W/")}
