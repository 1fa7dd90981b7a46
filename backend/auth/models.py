"""Users, their sessions and single-use SIWE nonces."""

from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from backend.chain.models import utcnow

ROLES = ("user", "kyc_officer", "monitor", "admin")


class User(SQLModel, table=True):
    __tablename__ = "user"
    id: int | None = Field(default=None, primary_key=True)
    address: str | None = Field(default=None, max_length=42, unique=True, index=True)  # checksummed
    username: str | None = Field(default=None, max_length=64, unique=True, index=True)
    password_hash: str | None = Field(default=None, max_length=256)
    roles: str = Field(default="user", sa_column=Column(String(128), nullable=False, default="user"))
    failed_logins: int = 0
    locked_until: datetime | None = None
    frozen: bool = False
    created_at: datetime = Field(default_factory=utcnow)

    def role_set(self) -> set[str]:
        return {r for r in self.roles.split(",") if r}

    def has_role(self, *roles: str) -> bool:
        mine = self.role_set()
        return "admin" in mine or any(r in mine for r in roles)


class AuthSession(SQLModel, table=True):
    """A signed-in session; only the SHA-256 of the token is stored."""

    __tablename__ = "auth_session"
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    method: str = Field(max_length=16)  # "siwe" | "password"


class SiweNonce(SQLModel, table=True):
    __tablename__ = "siwe_nonce"
    nonce: str = Field(primary_key=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used: bool = False
