"""The page: static HTML/CSS/JS at /, and its icon at /favicon.ico (browsers ask for it there)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"

router = APIRouter()


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    return FileResponse(STATIC / "favicon.ico", media_type="image/x-icon", headers={"Cache-Control": "max-age=86400"})


def mount(app: FastAPI) -> None:
    """The page's files at / (after every other route, which take precedence)."""
    app.mount("/", StaticFiles(directory=STATIC, html=True), name="page")
