"""Who may reach the server: bearer-token checks for HTTP routes and the live WebSocket
(constant-time compare), and the Host / Origin checks that keep other web sites out.

With no token configured everything is open to this machine (the server then listens on
loopback only, see :meth:`ServeConfig.check_exposure`), except to a browser page from
another site: :class:`HostOriginGuard` refuses a foreign Host name (DNS rebinding) and
a foreign Origin on the WebSocket and on requests that change something.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import Request
from fastapi.security import HTTPBearer

from saliency_cam.realtime.apps.serve.errors import ApiError, send_error

#: WebSocket close code for a refused client (policy violation), like HTTP 401/403.
CLOSE_POLICY = 1008

#: Declares the scheme in OpenAPI (the "Authorize" button on /docs); we answer ourselves.
bearer_scheme = HTTPBearer(auto_error=False, description="the server's --token")


def token_matches(expected: str | None, given: str | None) -> bool:
    """True when no token is required or ``given`` equals it (constant time)."""
    if not expected:
        return True
    if given is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def bearer_token(header: str | None) -> str | None:
    """The token in an ``Authorization: Bearer TOKEN`` header, else None."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def has_token(request: Request) -> bool:
    """True when the request carries the server's token (or none is required)."""
    expected = request.app.state.config.token
    return token_matches(expected, bearer_token(request.headers.get("authorization")))


def require_token(request: Request) -> None:
    """FastAPI dependency: 401 unless the request carries the server's token."""
    if not has_token(request):
        raise ApiError(
            401,
            "unauthorized",
            "this server needs 'Authorization: Bearer TOKEN' (the token given to --token)",
            headers={"WWW-Authenticate": "Bearer"},
        )


# --------------------------------------------------------------------------- Host / Origin

#: Methods that change nothing: a cross-site page cannot read their answers (no CORS).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def host_name(value: str) -> str:
    """The name in a ``Host`` header or an origin's authority, lower case, without the
    port or IPv6 brackets: ``[::1]:8000`` → ``::1``, ``Example.org:80`` → ``example.org``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value  # no port, or a bare IPv6 address


def origin_host(origin: str) -> str | None:
    """The host name of an ``Origin`` header (``scheme://host[:port]``); None for
    ``null`` (sandboxed frames, files) or anything malformed."""
    scheme, sep, authority = origin.strip().partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not authority:
        return None
    return host_name(authority.split("/", 1)[0]) or None


def host_refusal(
    names: frozenset[str] | None, method: str, host: str | None, origin: str | None
) -> tuple[int, str] | None:
    """Why a request is refused, as (status, message), or None to serve it.

    The Host header must name one of ``names`` (None: any), so a page on another domain
    that rebinds its name to 127.0.0.1 (DNS rebinding) is answered 400. A browser's
    Origin, on a WebSocket or a request that changes something, must name one of the
    same hosts (403): another site's page must not submit work or open the live socket.
    Clients that send no Origin (curl, scripts) are not browsers and pass.
    """
    if names is not None and (host is None or host_name(host) not in names):
        return 400, (
            f"this server does not answer to the host name {host_name(host or '')!r}: "
            "use 127.0.0.1 or localhost, or start it with --allowed-host NAME"
        )
    if origin is None or method in SAFE_METHODS:
        return None
    found = origin_host(origin)
    if found is None:
        return 403, f"requests from origin {origin!r} are not accepted"
    allowed = names if names is not None else {host_name(host or "")}
    if found not in allowed:
        return 403, (
            f"requests from pages on {found!r} are not accepted: open the page from this "
            "server, or start it with --allowed-host NAME"
        )
    return None


class HostOriginGuard:
    """ASGI middleware applying :func:`host_refusal` to every HTTP request and WebSocket
    (checked as a state-changing request: it submits frames). A refused WebSocket is
    closed before it is accepted (the client sees HTTP 403)."""

    def __init__(self, app: Any, names: frozenset[str] | None) -> None:
        self.app = app
        self.names = names

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method = scope.get("method", "GET") if scope["type"] == "http" else "WEBSOCKET"
        refusal = host_refusal(self.names, method, headers.get("host"), headers.get("origin"))
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, message = refusal
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": CLOSE_POLICY})
            return
        code = "bad_host" if status == 400 else "bad_origin"
        await send_error(send, ApiError(status, code, message))
