"""The one JSON error envelope every error response uses: {"ok": false, "error", "status"}."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


def error_response(status: int, error: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"ok": False, "error": error, "status": status}, status_code=status,
                        headers=headers)


async def http_exception(_request: Request, exc: Exception) -> Response:
    """Starlette's own errors (404, 405, ...) in the envelope."""
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, str(exc.detail), dict(exc.headers or {}))


async def server_error(_request: Request, _exc: Exception) -> Response:
    """An unexpected error: 500 in the envelope (the trace goes to the log, not the client)."""
    return error_response(500, "internal error; the server log has the details")
