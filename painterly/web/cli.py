"""`painterly serve`: its flags and the server start (wired in by `painterly.cli`).

The web packages (uvicorn, FastAPI) are imported only when the server starts.
"""

from __future__ import annotations

import argparse
import errno
import socket
import sys

from ..errors import InputError
from ..options import positive_int, positive_number, whole_number


def port(s: str) -> int:
    """A TCP port: 1 to 65535, or 0 for any free one."""
    v = whole_number(s)
    if not 0 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 1 and 65535 (or 0: any free port), got {v}")
    return v


def configure(w: argparse.ArgumentParser) -> None:
    """The flags of `painterly serve` on its sub-parser `w`."""
    w.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    w.add_argument("--port", type=port, default=7860, help="TCP port (default 7860; 0: any free port)")
    w.add_argument("--concurrency", type=positive_int, default=1, help="transfers running at once")
    w.add_argument("--max-queue", type=positive_int, default=16, help="requests allowed to wait")
    w.add_argument("--max-upload-mb", type=positive_int, default=20, help="per uploaded file")
    w.add_argument("--max-megapixels", type=positive_number, default=40.0, help="per uploaded image (above 0)")
    w.add_argument("--max-size", type=positive_int, default=1024, help="largest output long side")
    w.add_argument("--max-video-mb", type=positive_int, default=50, help="per uploaded video")
    w.add_argument("--max-video-seconds", type=positive_number, default=10.0,
                   help="longest video painted, read from its header (above 0)")
    w.add_argument("--output-ttl", type=positive_number, default=3600.0,
                   help="seconds results stay downloadable (above 0)")
    w.add_argument("--device", default="auto")


def listen(host: str, port_: int) -> socket.socket:
    """A socket bound to host:port, before the server says it serves there: an address in use, a
    privileged port or an unknown host is one InputError line."""
    try:
        infos = socket.getaddrinfo(host, port_, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as e:
        raise InputError(f"--host {host}: not an address of this machine ({e})") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise InputError(f"--port {port_}: {host}:{port_} is already in use (another server?): choose another "
                             "port, or 0 for any free one") from None
        raise InputError(f"--host {host} --port {port_}: cannot listen there ({e.strerror or e})") from None
    sock.set_inheritable(True)
    return sock


def run(args: argparse.Namespace) -> int:
    """Serve the web page and API until stopped; a missing web package is one InputError line."""
    try:
        import uvicorn

        from .app import Settings, create_app
    except ImportError as e:
        raise InputError(f"the web server needs extra packages ({e.name}): pip install 'painterly[web]'") from None
    from ..device import pick_device
    settings = Settings(concurrency=args.concurrency, max_waiting=args.max_queue,
                        max_upload_bytes=args.max_upload_mb * 2**20, max_pixels=max(1, int(args.max_megapixels * 1e6)),
                        max_size=args.max_size, output_ttl=args.output_ttl, device=pick_device(args.device),
                        max_video_bytes=args.max_video_mb * 2**20, max_video_seconds=args.max_video_seconds)
    sock = listen(args.host, args.port)
    port_ = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=args.host, port=port_, log_level="warning"))
    print(f"painterly: serving on http://{args.host}:{port_}/  (API docs: /docs)", file=sys.stderr)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0
