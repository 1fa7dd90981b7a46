"""Who is calling: `CurrentUser`, `OptionalUser` and role requirements as dependencies."""

import re
from typing import Annotated

from fastapi import Depends, Request, WebSocket, WebSocketException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.auth.models import User
from backend.auth.sessions import COOKIE_NAME, user_for_token
from backend.config import Settings
from backend.db import SessionDep
from backend.deps import SettingsDep
from backend.errors import DomainError

bearer = HTTPBearer(auto_error=False, description="Session token from /auth/siwe or /auth/login")


def token_from(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    if credentials is not None:
        return credentials.credentials
    return request.cookies.get(COOKIE_NAME)


def get_optional_user(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User | None:
    return user_for_token(session, token_from(request, credentials))


async def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    if user is None:
        raise DomainError(status.HTTP_401_UNAUTHORIZED, "sign in first", headers={"WWW-Authenticate": "Bearer"})
    # Freezing must bite at once, not at the next sign-in.
    if user.frozen:
        raise DomainError(status.HTTP_403_FORBIDDEN, "this account is frozen")
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: str):
    """A dependency that lets through users holding any of `roles` (admins always)."""

    def check(user: CurrentUser) -> User:
        if not user.has_role(*roles):
            raise DomainError(status.HTTP_403_FORBIDDEN, f"requires role: {' or '.join(roles)}")
        return user

    return check


AdminUser = Annotated[User, Depends(require_roles("admin"))]


# WebSockets: no credential in the URL (URLs end up in logs and histories). A browser
# sends the cookies of the page's origin with the handshake:
# - the HTTP-only session cookie set at sign-in (COOKIE_NAME), or
# - a socket cookie: the desk keeps one session per tab (sessionStorage) while the
#   HTTP-only cookie is the browser's latest sign-in, so the page (frontend/js/api.js
#   wsUrl) puts its own token in a cookie `sentinel_ws_<key>` scoped to the socket's
#   path for a few seconds and names only the random <key> in the URL (`?ws_key=`).
#   The handshake's answer deletes that cookie again.
WS_KEY_PARAM = "ws_key"
WS_COOKIE_PREFIX = "sentinel_ws_"
_WS_KEY = re.compile(r"[A-Za-z0-9]{8,64}")


def _socket_cookie(websocket: WebSocket) -> str | None:
    key = websocket.query_params.get(WS_KEY_PARAM)
    return WS_COOKIE_PREFIX + key if key is not None and _WS_KEY.fullmatch(key) else None


def websocket_token(websocket: WebSocket) -> str | None:
    if WS_KEY_PARAM in websocket.query_params:
        # Named socket cookie or nothing: the session cookie may be another tab's account.
        name = _socket_cookie(websocket)
        return websocket.cookies.get(name) if name else None
    return websocket.cookies.get(COOKIE_NAME)


def websocket_user(websocket: WebSocket, session) -> User | None:
    return user_for_token(session, websocket_token(websocket))


async def accept_websocket(websocket: WebSocket) -> None:
    """Accept, deleting the page's socket cookie (it has served its one handshake)."""
    name = _socket_cookie(websocket)
    headers = None
    if name:
        expired = f"{name}=; Max-Age=0; Path={websocket.url.path}; SameSite=Strict"
        headers = [(b"set-cookie", expired.encode())]
    await websocket.accept(headers=headers)


def desk_origins(settings: Settings) -> frozenset[str]:
    """Origins whose pages may open the desk's WebSockets: its public origin, the sign-in
    domains over http and https, and `allowed_origins`."""
    origins = {settings.public_origin, *settings.allowed_origins}
    for domain in settings.siwe_domains:
        origins.update({f"http://{domain}", f"https://{domain}"})
    return frozenset(origin.rstrip("/").lower() for origin in origins)


async def trusted_origin(websocket: WebSocket, settings: SettingsDep) -> None:
    """Refuses the handshake (HTTP 403, nothing sent) when a page of another origin opens
    the socket: its browser would send our cookies with it (cross-site WebSocket
    hijacking). A handshake without Origin is not from a browser page and has no
    ambient cookies to abuse; it is let through to the sign-in check like any API client."""
    origin = websocket.headers.get("origin")
    if origin is not None and origin.rstrip("/").lower() not in desk_origins(settings):
        raise WebSocketException(code=4403, reason="this origin may not open the desk's sockets")


TrustedOrigin = Depends(trusted_origin)
