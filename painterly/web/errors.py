"""The API's one error format: `{"detail": "one sentence", "field": "size"}` (field null when no single
form field is at fault), with the HTTP status saying what kind (413 too large, 422 bad value, 503
busy, 404 gone). Never pydantic's list of dicts, never a class name."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import InputError
from .forms import FieldError, web_words
from .jobs import QueueFull


def error(status: int, detail: str, field: str | None = None, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "field": field}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every refusal into the one format."""

    @app.exception_handler(FieldError)
    async def field_error(_r: Request, e: FieldError) -> JSONResponse:
        return error(e.status, str(e), e.field)

    @app.exception_handler(InputError)
    async def input_error(_r: Request, e: InputError) -> JSONResponse:
        msg = web_words(str(e))
        return error(422, msg[:1].upper() + msg[1:], getattr(e, "field", None))

    @app.exception_handler(QueueFull)
    async def queue_full(_r: Request, e: QueueFull) -> JSONResponse:
        return error(503, str(e), None, {"Retry-After": "5"})

    @app.exception_handler(HTTPException)
    async def http_error(_r: Request, e: HTTPException) -> JSONResponse:
        return error(e.status_code, str(e.detail), None, getattr(e, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(_r: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0] if e.errors() else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "form")]
        field = loc[0] if loc else None
        msg = web_words(str(first.get("msg", "is not valid"))).rstrip(".")
        msg = msg[:1].lower() + msg[1:]
        return error(422, f"{field}: {msg}" if field else msg[:1].upper() + msg[1:], field)
