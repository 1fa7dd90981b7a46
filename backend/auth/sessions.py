"""Session tokens: random, shown once to the client, stored only as a hash."""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from backend.auth.models import AuthSession, User

COOKIE_NAME = "sentinel_session"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_session(session: Session, *, user: User, ttl_seconds: int, method: str) -> tuple[str, AuthSession]:
    token = secrets.token_urlsafe(32)
    record = AuthSession(
        token_hash=hash_token(token),
        user_id=user.id,
        expires_at=datetime.now(UTC) + timedelta(seconds=ttl_seconds),
        method=method,
    )
    session.add(record)
    session.commit()
    return token, record


def user_for_token(session: Session, token: str | None) -> User | None:
    if not token:
        return None
    record = session.get(AuthSession, hash_token(token))
    if record is None:
        return None
    expires = record.expires_at if record.expires_at.tzinfo else record.expires_at.replace(tzinfo=UTC)
    if expires <= datetime.now(UTC):
        return None
    return session.get(User, record.user_id)


def revoke_session(session: Session, token: str) -> None:
    record = session.get(AuthSession, hash_token(token))
    if record is not None:
        session.delete(record)
        session.commit()
