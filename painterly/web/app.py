"""`painterly serve`: a FastAPI app with the HTTP API under /api and the web page at /.

Thin over the library: the page (static HTML/CSS/JS in `static/`) and scripts use the same JSON
API. The routes live in three routers (`routes_api`: methods, examples, one-shot transfers,
results; `routes_jobs`: background jobs; `routes_pages`: the page), all reading one `WebState`
(queue, jobs, results, worker pools). Both transfer endpoints read their form with the one parser
in `forms`, and every refusal has one format (`errors`).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Optional

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .. import __version__
from . import catalog, errors, forms, memory, routes_api, routes_jobs, routes_pages, routes_video
from .limits import BodyLimit
from .state import Settings, WebState

__all__ = ["Settings", "create_app"]


def create_app(settings: Optional[Settings] = None) -> FastAPI:
    """The ASGI app: the JSON API under /api and the page at /."""
    s = settings or Settings()
    catalog.web_methods()   # load the registry now, so that the first request does not wait for it
    st = WebState(s)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        memory.bound_heap()
        try:
            yield
        finally:            # stop what runs, then remove the results folder
            st.close()

    app = FastAPI(title="painterly", version=__version__, lifespan=lifespan,
                  description="Neural style transfer over HTTP. POST two images to /api/stylize; "
                              "fetch the result from the returned url before it expires. /api/jobs "
                              "does the same in the background, with progress, a live preview and stop. "
                              'Every refusal is {"detail": "one sentence", "field": "the form field"}.')
    app.state.web = st
    app.state.store = st.store          # kept for scripts and tests that look at the results folder
    app.add_middleware(BodyLimit, max_bytes=2 * s.max_upload_bytes + 2**16,
                       message=f"the upload is larger than {s.max_upload_bytes // 2**20} MB per image, "
                               "this server's limit",
                       paths={"/api/videos": (s.max_video_bytes + s.max_upload_bytes + 2**16,
                                              f"the upload is larger than {s.max_video_bytes // 2**20} MB for the "
                                              f"video and {s.max_upload_bytes // 2**20} MB for the painting, "
                                              "this server's limit")})
    errors.install(app)
    app.include_router(routes_api.router)
    app.include_router(routes_jobs.router)
    app.include_router(routes_video.router)
    app.include_router(routes_pages.router)
    _document_the_form(app, s)
    routes_pages.mount(app)
    return app


def _document_the_form(app: FastAPI, s: Settings) -> None:
    """/openapi.json describes the transfer form (generated from the options schema, as the parser is)."""
    def openapi() -> dict:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            for path in doc.get("paths", {}).values():
                post = path.get("post", {})
                if post.pop("x-painterly-form", False):
                    post["requestBody"] = forms.openapi_body(s)
            app.openapi_schema = doc
        return app.openapi_schema
    app.openapi = openapi  # type: ignore[method-assign]
