"""HTTP guards shared by every route, and what the server's logs may show of a request."""

import json
import logging

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _detail(max_bytes: int) -> str:
    return f"request body too large: at most {max_bytes} bytes"


class BodySizeLimit:
    """Refuses request bodies over `max_bytes` with 413, declared or streamed.

    A declared Content-Length over the limit is refused before the app runs. A streamed
    (chunked) body is counted as the app reads it; past the limit the read raises an
    HTTPException(413): FastAPI lets an HTTPException from the body read through (any
    other exception there becomes its 400 "error parsing the body"), and the app's
    exception handling answers it. An app part that does not handle it (a mount) leaves it
    to this middleware, which answers 413 itself if no response has started.

    `overrides` maps an exact path to its own bound (uploads that need more).
    """

    def __init__(self, app: ASGIApp, max_bytes: int, overrides: dict[str, int] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        max_bytes = self.overrides.get(scope.get("path", ""), self.max_bytes)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            return await self._too_large(send, max_bytes)
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge(_detail(max_bytes))
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await self._too_large(send, max_bytes)

    async def _too_large(self, send: Send, max_bytes: int) -> None:
        body = json.dumps({"detail": _detail(max_bytes)}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class BodyTooLarge(HTTPException):
    def __init__(self, detail: str):
        super().__init__(status_code=413, detail=detail)


class NoQueryStrings(logging.Filter):
    """Drops the query string from the paths uvicorn logs (access lines, WebSocket
    handshakes): a query may hold a credential (an old page's `?token=`), and a log is no
    place for one. The desk itself never puts a credential in a URL."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, str) and "?" in a for a in record.args):
            record.args = tuple(_without_query(a) if isinstance(a, str) else a for a in record.args)
        return True


def _without_query(value: str) -> str:
    return value.split("?", 1)[0] if value.startswith("/") else value


# uvicorn logs request paths on these two: "uvicorn.access" (one line per HTTP request)
# and "uvicorn.error" (one per WebSocket handshake).
LOGGERS_WITH_PATHS = ("uvicorn.access", "uvicorn.error")


def keep_query_strings_out_of_logs() -> None:
    for name in LOGGERS_WITH_PATHS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, NoQueryStrings) for f in logger.filters):
            logger.addFilter(NoQueryStrings())


class ApiCacheControl:
    """`Cache-Control: no-store` on the API's answers unless a route chose its own: they
    change with every block and many are one user's (a shared or disk cache keeps neither)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/api/"):
            return await self.app(scope, receive, send)

        async def with_cache_control(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    message["headers"] = [*headers, (b"cache-control", b"no-store")]
            await send(message)

        await self.app(scope, receive, with_cache_control)
