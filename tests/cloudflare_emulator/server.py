"""The emulator: a Starlette app under uvicorn on 127.0.0.1 (port 0) in a background thread.

Pipeline per request: scripted transient failure, Bearer auth, account check, body parsing
(JSON or multipart), the handler, Cloudflare's envelope, the request log. See API.md.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.served import ThreadServer

from . import analytics, routes
from .records import Call, Deployment, Script, Version
from .routes import Ask, Handler, Paged
from .state import ApiError, CloudflareState

PREFIX = "/client/v4"
ACCOUNT = PREFIX + "/accounts/{account_id}/workers"
SCRIPT = ACCOUNT + "/scripts/{script}"
ENDPOINTS: list[tuple[str, str, Handler]] = [
    ("GET", ACCOUNT + "/services/{script}", routes.get_service),
    ("GET", ACCOUNT + "/scripts", routes.list_scripts),
    ("PUT", SCRIPT, routes.put_script),
    ("GET", SCRIPT + "/settings", routes.get_settings),
    ("PATCH", SCRIPT + "/settings", routes.patch_settings),
    ("GET", SCRIPT + "/script-settings", routes.get_script_settings),
    ("PATCH", SCRIPT + "/script-settings", routes.patch_script_settings),
    ("GET", SCRIPT + "/versions", routes.list_versions),
    ("POST", SCRIPT + "/versions", routes.upload_version),
    ("GET", SCRIPT + "/versions/{version_id}", routes.get_version),
    ("GET", SCRIPT + "/deployments", routes.list_deployments),
    ("POST", SCRIPT + "/deployments", routes.create_deployment),
    ("GET", SCRIPT + "/deployments/{deployment_id}", routes.get_deployment),
    ("GET", ACCOUNT + "/subdomain", routes.account_subdomain),
    ("GET", SCRIPT + "/subdomain", routes.script_subdomain),
    ("POST", SCRIPT + "/subdomain", routes.script_subdomain),
]
UNKNOWN_ERROR = (10013, "An unknown error has occurred. If this error persists, please file a report in the workers-sdk GitHub repository.")


class CloudflareEmulator:
    """A stateful Cloudflare Workers API on loopback. `start()` returns the base URL
    (`http://127.0.0.1:PORT/client/v4`), the value for CLOUDFLARE_API_BASE_URL."""

    def __init__(self, *, account_id: str = "acc", tokens: Iterable[str] = ("test-token",),
                 state: CloudflareState | None = None) -> None:
        self.state = state or CloudflareState(account_id)
        self.account_id = self.state.account_id
        self.tokens = set(tokens)
        self.unknown_routes: list[str] = []
        self.app = Starlette(routes=self._routes())
        self.base_url = ""
        self._served = ThreadServer(self.app, name="cloudflare-emulator")

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> str:
        port = self._served.start()
        self.base_url = f"http://127.0.0.1:{port}{PREFIX}"
        return self.base_url

    def stop(self) -> None:
        self._served.stop(timeout=10)

    def __enter__(self) -> CloudflareEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- conveniences (delegating to `state`) ------------------------------------------------------
    def client(self, token: str = "test-token", **options: Any) -> httpx.Client:
        """An httpx client with base_url = the API base (…/client/v4) and Bearer auth."""
        headers = {"Authorization": f"Bearer {token}", **options.pop("headers", {})}
        return httpx.Client(base_url=self.base_url, headers=headers, **options)

    def env(self) -> dict[str, str]:
        """The environment variables that point wrangler (or changegate) at this emulator."""
        return {"CLOUDFLARE_API_BASE_URL": self.base_url, "CLOUDFLARE_API_TOKEN": next(iter(sorted(self.tokens))),
                "CLOUDFLARE_ACCOUNT_ID": self.account_id}

    @property
    def requests(self) -> list[Call]:
        with self.state.lock:
            return list(self.state.requests)

    def calls(self, method: str | None = None, contains: str = "") -> list[Call]:
        return self.state.calls(method, contains)

    def add_script(self, name: str, *, last_deployed_from: str = "wrangler") -> Script:
        return self.state.add_script(name, last_deployed_from=last_deployed_from)

    def add_version(self, script: str, *, message: str | None = None, tag: str | None = None,
                    source: str = "wrangler", modules: dict[str, str] | None = None) -> str:
        return self.state.add_version(script, message=message, tag=tag, source=source, modules=modules)

    def deploy(self, script: str, versions: Sequence[tuple[str, float]], *, message: str | None = None,
               source: str = "wrangler", force: bool = True) -> str:
        """Create a deployment (validated like POST deployments; knobs apply unless force)."""
        return self.state.deploy(script, versions, message=message, source=source, force=force)

    def current(self, script: str) -> Deployment | None:
        return self.state.current(script)

    def deployments(self, script: str) -> list[Deployment]:
        return self.state.deployments(script)

    def versions(self, script: str) -> list[Version]:
        return self.state.versions(script)

    def version(self, script: str, version_id: str) -> Version:
        return self.state.version(script, version_id)

    def secrets_changed(self, script: str, version_id: str, names: Iterable[str]) -> None:
        self.state.secrets_changed(script, version_id, names)

    def refuse_deployments(self, script: str, *, code: int = 10215, status: int = 400, message: str | None = None) -> None:
        if message is None:
            self.state.refuse_deployments(script, code=code, status=status)
        else:
            self.state.refuse_deployments(script, code=code, status=status, message=message)

    def allow_deployments(self, script: str) -> None:
        self.state.allow_deployments(script)

    def fail_next(self, count: int = 1, *, status: int = 500, path: str | None = None) -> None:
        self.state.fail_next(count, status=status, path=path)

    def set_traffic(self, script: str, *, requests_per_minute: float, error_rate: float,
                    version: str | None = None, start: str | dt.datetime | None = None) -> None:
        self.state.set_traffic(script, requests_per_minute=requests_per_minute, error_rate=error_rate,
                               version=version, start=start)

    def advance(self, delta: dt.timedelta | float) -> None:
        self.state.advance(delta)

    def now(self) -> dt.datetime:
        return self.state.now()

    def set_clock(self, moment: str | dt.datetime) -> None:
        self.state.set_clock(moment)

    # -- the pipeline ---------------------------------------------------------------------------
    def _routes(self) -> list[Route]:
        table = [Route(path, self._endpoint(handler), methods=[method]) for method, path, handler in ENDPOINTS]
        graphql = Route(PREFIX + "/graphql", self._graphql, methods=["POST"])
        rest = Route("/{rest:path}", self._endpoint(None), methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
        return [*table, graphql, rest]

    def _endpoint(self, handler: Handler | None) -> Any:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            return self._serve(request, handler, raw)

        return endpoint

    def _serve(self, request: Request, handler: Handler | None, raw: bytes) -> Response:
        body: Any = None
        result: Any
        try:
            self._gate(request)
            body = self._body(request, raw)
            if handler is None:
                with self.state.lock:
                    self.unknown_routes.append(f"{request.method} {request.url.path}")
                status, result = 200, {}
            else:
                ask = Ask(request.method, dict(request.path_params), dict(request.query_params), body,
                          request.headers.get("user-agent", ""))
                with self.state.lock:
                    status, result = handler(self.state, ask)
        except ApiError as exc:
            status, result = exc.status, exc
        response = _envelope(status, result)
        logged = body.get("metadata") if isinstance(body, dict) and "parts" in body else body
        self.state.record(Call(request.method, request.url.path, request.url.query, status, logged,
                               request.headers.get("user-agent", ""), handler is not None))
        return response

    def _gate(self, request: Request) -> None:
        failure = self.state.take_failure(request.url.path)
        if failure is not None:
            raise ApiError(failure, *UNKNOWN_ERROR)
        self._authenticate(request)

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or token.strip() not in self.tokens:
            raise ApiError(401, 10000, "Authentication error")
        account = request.path_params.get("account_id")
        if account is None and request.url.path.startswith(PREFIX + "/accounts/"):
            account = request.url.path.split("/")[4]
        if account is not None and account != self.account_id:
            raise ApiError(403, 10000, "Authentication error")

    def _body(self, request: Request, raw: bytes) -> Any:
        if not raw:
            return None
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            return routes.parse_multipart(content_type, raw)
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ApiError(400, 10001, "The request body is not valid JSON") from exc

    async def _graphql(self, request: Request) -> Response:
        """GraphQL answers are HTTP 200 (errors in `errors`), except scripted transient failures."""
        raw = await request.body()
        try:
            logged = json.loads(raw) if raw else None
        except ValueError:
            logged = None
        status = 200
        try:
            failure = self.state.take_failure(request.url.path)
            if failure is not None:
                raise ApiError(failure, *UNKNOWN_ERROR)
            self._authenticate(request)
            answer = analytics.answer(self.state, logged) if raw and logged is not None else \
                {"data": None, "errors": [{"message": "The request body is not valid JSON", "path": None}]}
            response: Response = JSONResponse(answer)
        except ApiError as exc:
            if exc.status >= 500:
                status, response = exc.status, _envelope(exc.status, exc)
            else:
                response = JSONResponse({"data": None, "errors": [
                    {"message": exc.message, "path": None, "extensions": {"code": str(exc.code)}}]})
        self.state.record(Call("POST", request.url.path, request.url.query, status, logged,
                               request.headers.get("user-agent", "")))
        return response


def _envelope(status: int, result: Any) -> Response:
    if isinstance(result, ApiError):
        return JSONResponse({"success": False, "errors": [{"code": result.code, "message": result.message}],
                             "messages": [], "result": None}, status_code=status)
    body: dict[str, Any] = {"success": True, "errors": [], "messages": []}
    if isinstance(result, Paged):
        body["result"], body["result_info"] = result.result, result.info
    else:
        body["result"] = result
    return JSONResponse(body, status_code=status)
