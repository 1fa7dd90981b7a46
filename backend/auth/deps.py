"""Who is calling: `CurrentUser`, `OptionalUser` and role requirements as dependencies."""

from typing import Annotated

from fastapi import Depends, Request, WebSocket, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.auth.models import User
from backend.auth.sessions import COOKIE_NAME, user_for_token
from backend.db import SessionDep
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


def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
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


def websocket_user(websocket: WebSocket, session) -> User | None:
    """WebSockets carry the session in the cookie or a `token` query parameter."""
    token = websocket.query_params.get("token") or websocket.cookies.get(COOKIE_NAME)
    return user_for_token(session, token)
