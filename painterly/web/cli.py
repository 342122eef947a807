"""`painterly serve`: its flags and the server start (wired in by `painterly.cli`).

The web packages (uvicorn, FastAPI) are imported only when the server starts.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import InputError
from ..options import number, positive_int


def configure(w: argparse.ArgumentParser) -> None:
    """The flags of `painterly serve` on its sub-parser `w`."""
    w.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    w.add_argument("--port", type=positive_int, default=7860)
    w.add_argument("--concurrency", type=positive_int, default=1, help="transfers running at once")
    w.add_argument("--max-queue", type=positive_int, default=16, help="requests allowed to wait")
    w.add_argument("--max-upload-mb", type=positive_int, default=20, help="per uploaded file")
    w.add_argument("--max-megapixels", type=number, default=40.0, help="per uploaded image")
    w.add_argument("--max-size", type=positive_int, default=1024, help="largest output long side")
    w.add_argument("--output-ttl", type=number, default=3600.0, help="seconds results stay downloadable")
    w.add_argument("--device", default="auto")


def run(args: argparse.Namespace) -> int:
    """Serve the web page and API until stopped; a missing web package is one InputError line."""
    try:
        import uvicorn

        from .app import Settings, create_app
    except ImportError as e:
        raise InputError(f"the web server needs extra packages ({e.name}): pip install 'painterly[web]'") from None
    from ..device import pick_device
    settings = Settings(concurrency=args.concurrency, max_waiting=args.max_queue,
                        max_upload_bytes=args.max_upload_mb * 2**20, max_pixels=int(args.max_megapixels * 1e6),
                        max_size=args.max_size, output_ttl=args.output_ttl, device=pick_device(args.device))
    print(f"painterly: serving on http://{args.host}:{args.port}/  (API docs: /docs)", file=sys.stderr)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")
    return 0
