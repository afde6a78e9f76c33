"""Bearer-token checks for HTTP routes and the live WebSocket (constant-time compare).

With no token configured everything is open (the server then listens on loopback
only, see :meth:`ServeConfig.check_exposure`).
"""

from __future__ import annotations

import hmac

from fastapi import Request
from fastapi.security import HTTPBearer

from saliency_cam.realtime.apps.serve.errors import ApiError

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


def require_token(request: Request) -> None:
    """FastAPI dependency: 401 unless the request carries the server's token."""
    expected = request.app.state.config.token
    if not token_matches(expected, bearer_token(request.headers.get("authorization"))):
        raise ApiError(
            401,
            "unauthorized",
            "this server needs 'Authorization: Bearer TOKEN' (the token given to --token)",
            headers={"WWW-Authenticate": "Bearer"},
        )
