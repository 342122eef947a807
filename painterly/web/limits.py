"""A cap on request bodies, enforced while they stream in.

A body whose Content-Length is over the cap is refused before a byte of it is read; one without
(chunked) is counted as it arrives and refused as soon as the count passes the cap. Either way the
client gets 413 with a one-line message, and nothing larger than the cap reaches a temporary file.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: requests with a body over `max_bytes` get 413 and `message`; `paths` gives
    some paths their own (cap, message), e.g. a video upload's larger one."""

    def __init__(self, app, max_bytes: int, message: str, paths: dict[str, tuple[int, str]] | None = None):
        self.app, self.max_bytes, self.message, self.paths = app, max_bytes, message, paths or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap, message = self.paths.get(scope.get("path", ""), (self.max_bytes, self.message))
        await self._limited(scope, receive, send, cap, message)

    async def _limited(self, scope: Scope, receive: Receive, send: Send, cap: int, message: str) -> None:
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > cap
            except ValueError:
                too_big = False
            if too_big:
                await self._refuse(send, message)
                return
        seen = 0
        refused = False
        started = False

        async def counted() -> Message:
            nonlocal seen, refused
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > cap:
                    refused = True
                    raise _TooLarge
            return msg

        async def guarded_send(msg: Message) -> None:
            nonlocal started
            if refused:          # the app's own reaction to the aborted body is replaced by our 413
                return
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, counted, guarded_send)
        except _TooLarge:
            pass
        except Exception:
            if not refused:
                raise
        if refused and not started:
            await self._refuse(send, message)

    async def _refuse(self, send: Send, message: str) -> None:
        body = json.dumps({"detail": message[:1].upper() + message[1:], "field": None}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
