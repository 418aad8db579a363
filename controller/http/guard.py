"""What the HTTP API does before any route: browser checks, redacted access log, quiet errors.

A web page open in a browser on this machine can send requests to 127.0.0.1, so the API
refuses what only a browser would send on another site's behalf: a foreign ``Origin``
(WebSockets included), a ``Host`` that is not a loopback name when no token is required
(DNS rebinding), and POSTs that are not ``application/json`` (HTML forms and no-CORS
fetches can only send "simple" content types, without a preflight).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler

from .common import ApiError

TOKEN_PARAM = "access_token"
REDACTED = "REDACTED"
JSON_TYPE = "application/json"
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def _hostname(netloc: str) -> str:
    """The host of ``host[:port]`` / ``[v6][:port]``, lower case ('' if unparsable)."""
    try:
        return (urlsplit(f"//{netloc}").hostname or "").lower()
    except ValueError:
        return ""


def is_loopback_name(netloc: str) -> bool:
    """True for localhost and 127.0.0.0/8 or ::1 addresses, with or without a port."""
    host = _hostname(netloc)
    if host in _LOOPBACK_NAMES:
        return True
    parts = host.split(".")
    return len(parts) == 4 and parts[0] == "127" and all(p.isdigit() for p in parts)


def check_browser(request: web.Request, loopback_only: bool) -> None:
    """Raise ApiError for a request another web site's page could have made."""
    host = request.headers.get("Host", "")
    if loopback_only and not is_loopback_name(host):
        raise ApiError(403, f"Host {host[:64]!r} refused: only loopback names are served")
    origin = request.headers.get("Origin")
    if origin is not None:
        parts = urlsplit(origin) if origin != "null" else None
        if parts is None or parts.netloc.lower() != host.lower():
            raise ApiError(403, f"cross-origin request refused (Origin {origin[:64]!r})")
    if request.method == "POST" and request.content_type != JSON_TYPE:
        raise ApiError(415, f"POST needs Content-Type: {JSON_TYPE}")


def browser_middleware(loopback_only: bool) -> Any:
    """The middleware form of ``check_browser``."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        check_browser(request, loopback_only)
        return await handler(request)

    return guard


def logged_target(request: web.BaseRequest) -> str:
    """The request target for the log, with the ``access_token`` query value redacted."""
    query = request.rel_url.query
    if TOKEN_PARAM not in query:
        return request.raw_path
    items = [(k, REDACTED if k == TOKEN_PARAM else v) for k, v in query.items()]
    return str(request.rel_url.with_query(items))


class AccessLogger(AbstractAccessLogger):
    """One line per request: client, method, target (token redacted), status, size, time."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Write the access line."""
        self.logger.info(
            '%s "%s %s" %d %d %.3fs',
            request.remote,
            request.method,
            logged_target(request),
            response.status,
            response.body_length,
            time,
        )


class _MalformedRequests(logging.Filter):
    """aiohttp logs a traceback per unparsable request, before any auth check: drop it.

    The client gets its 400 with the reason; the access log (``-v``) keeps one line.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, HttpProcessingError)  # a failing handler keeps its own


def server_logger(name: str) -> logging.Logger:
    """The logger aiohttp's protocol handler gets, with malformed requests quietened."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, _MalformedRequests) for f in logger.filters):
        logger.addFilter(_MalformedRequests())
    return logger
