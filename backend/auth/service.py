"""Sign-in (SIWE and staff passwords), users and their roles.

Functions raise `DomainError` with the HTTP status and the message the client should see;
routes and the CLI translate it.
"""

import contextlib
import re
import warnings
from datetime import UTC, datetime, timedelta
from functools import cache
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eth_utils import to_checksum_address
from sqlalchemy import delete, func, update
from sqlmodel import Session, select

from backend.auth.models import ROLES, SiweNonce, User
from backend.errors import DomainError
from backend.validation import parse_address

with warnings.catch_warnings():
    # siwe's bundled ABNF grammar redefines core rules on import: harmless, noisy in every log.
    warnings.simplefilter("ignore")
    from siwe import SiweMessage, generate_nonce
    from siwe.siwe import ExpiredMessage, InvalidSignature, NotYetValidMessage
    from siwe.siwe import VerificationError as SiweVerificationError

MIN_PASSWORD_LENGTH = 10
CLOCK_SKEW = timedelta(seconds=60)
_SIGNATURE = re.compile(r"^0x[0-9a-fA-F]{130}$")
# The same message for an unknown username and a wrong password.
BAD_CREDENTIALS = "wrong username or password"

hasher = PasswordHasher()


@cache
def _dummy_hash(password_hasher: PasswordHasher) -> str:
    """Verified against when the username is unknown, so both cases cost the same time."""
    # Made on first use, not at import: hashing is slow on purpose.
    return password_hasher.hash("not a password of anyone")


def now() -> datetime:
    """The clock of this module (tests move it)."""
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    # SQLite hands datetimes back without a zone; everything is stored in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value: datetime) -> str:
    return aware(value).isoformat(timespec="seconds")


# ------------------------------------------------------------------ SIWE


def new_nonce(session: Session, *, ttl_seconds: int) -> SiweNonce:
    moment = now()
    # Anyone may ask for nonces: dead ones are swept here so the table stays small.
    session.exec(delete(SiweNonce).where(SiweNonce.expires_at < moment - CLOCK_SKEW))
    record = SiweNonce(nonce=generate_nonce() + generate_nonce(), expires_at=moment + timedelta(seconds=ttl_seconds))
    session.add(record)
    session.commit()
    session.refresh(record)
    return record


def _same_origin(uri: str, *, public_origin: str, domains: list[str]) -> bool:
    target = urlsplit(uri)
    origin = urlsplit(public_origin)
    # A prefix test alone would let "https://desk.example.evil" pass for "https://desk.example".
    if (target.scheme, target.netloc) == (origin.scheme, origin.netloc):
        return True
    return target.scheme in ("http", "https") and target.netloc in domains


def sign_in_with_ethereum(
    session: Session,
    *,
    message: str,
    signature: str,
    domains: list[str],
    public_origin: str,
    chain_id: int,
    nonce_ttl_seconds: int,
) -> User:
    """Check an EIP-4361 message and its signature, consume its nonce, return the signer."""
    try:
        siwe = SiweMessage.from_message(message)
    except Exception:  # the parser raises ValueError, pydantic errors, sometimes worse
        raise DomainError(400, "malformed sign-in message: expected EIP-4361 text") from None
    if not _SIGNATURE.match(signature):
        raise DomainError(400, "malformed signature: expected 0x followed by 130 hex digits (65 bytes)")
    if siwe.domain not in domains:
        raise DomainError(400, f"sign-in message is for domain {siwe.domain!r}, not this site")
    if not _same_origin(siwe.uri, public_origin=public_origin, domains=domains):
        raise DomainError(400, f"sign-in message URI {siwe.uri!r} is not this site")
    if siwe.chain_id != chain_id:
        raise DomainError(400, f"sign-in message is for chain {siwe.chain_id}, this desk runs on chain {chain_id}")

    record = session.get(SiweNonce, siwe.nonce)
    moment = now()
    if record is None:
        raise DomainError(401, "unknown nonce: get a fresh one from /api/auth/nonce")
    if record.used:
        raise DomainError(401, "nonce already used: get a fresh one from /api/auth/nonce")
    if aware(record.expires_at) <= moment:
        raise DomainError(401, "nonce expired: get a fresh one from /api/auth/nonce")

    issued_at = siwe.issued_at._datetime
    if issued_at > moment + CLOCK_SKEW:
        raise DomainError(401, "sign-in message is issued in the future: check the clock")
    if issued_at < moment - timedelta(seconds=nonce_ttl_seconds) - CLOCK_SKEW:
        raise DomainError(401, "sign-in message is too old: sign a new one")
    try:
        siwe.verify(signature, nonce=record.nonce, timestamp=moment)
    except ExpiredMessage:
        raise DomainError(401, "sign-in message expired (expiration time passed)") from None
    except NotYetValidMessage:
        raise DomainError(401, "sign-in message is not valid yet (not-before time)") from None
    except InvalidSignature:
        raise DomainError(401, f"signature does not match the message or is not by {siwe.address}") from None
    except (SiweVerificationError, ValueError):
        raise DomainError(401, "sign-in message could not be verified") from None
    except Exception:  # eth_keys raises its own errors for bytes that are no point on the curve
        raise DomainError(401, "signature is not a valid secp256k1 signature") from None

    # Single use even under concurrent requests: only the one that flips the flag wins.
    consumed = session.exec(
        update(SiweNonce).where(SiweNonce.nonce == record.nonce, SiweNonce.used == False).values(used=True)  # noqa: E712
    )
    session.commit()
    if consumed.rowcount != 1:
        raise DomainError(401, "nonce already used: get a fresh one from /api/auth/nonce")

    address = to_checksum_address(siwe.address)
    user = session.exec(select(User).where(User.address == address)).first()
    if user is None:
        user = User(address=address, roles="user")
        session.add(user)
        session.commit()
        session.refresh(user)
    if user.frozen:
        raise DomainError(403, "this account is frozen: contact the desk")
    return user


# ------------------------------------------------------------- passwords


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(400, f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
    return hasher.hash(password)


def password_login(session: Session, *, username: str, password: str, max_failures: int, lockout_seconds: int) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.password_hash:
        with contextlib.suppress(VerificationError):
            hasher.verify(_dummy_hash(hasher), password)
        raise DomainError(401, BAD_CREDENTIALS)

    moment = now()
    if user.locked_until is not None and aware(user.locked_until) > moment:
        # Refused without looking at the password: guessing on during a lockout learns nothing.
        raise DomainError(423, f"too many failed logins: account locked until {_iso(user.locked_until)}")

    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        # Incremented in SQL so concurrent wrong guesses all count.
        session.exec(update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1))
        session.commit()
        session.refresh(user)
        if user.failed_logins >= max_failures:
            user.locked_until = moment + timedelta(seconds=lockout_seconds)
            user.failed_logins = 0  # a fresh allowance once the lockout ends
            session.add(user)
            session.commit()
            raise DomainError(423, f"too many failed logins: account locked until {_iso(user.locked_until)}") from None
        raise DomainError(401, BAD_CREDENTIALS) from None

    if user.frozen:
        raise DomainError(403, "this account is frozen: contact the desk")
    user.failed_logins = 0
    user.locked_until = None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


# ----------------------------------------------------------------- users


def roles_string(roles) -> str:
    """Roles in their canonical order, without duplicates."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise DomainError(422, f"unknown role(s): {', '.join(sorted(unknown))}; roles are {', '.join(ROLES)}")
    return ",".join(r for r in ROLES if r in set(roles))


def role_list(user: User) -> list[str]:
    mine = user.role_set()
    return [r for r in ROLES if r in mine] + sorted(mine - set(ROLES))


def find_user(session: Session, *, ident: str) -> User | None:
    """`ident` is a wallet address (any case) or a username."""
    address = parse_address(ident)
    if address is not None:
        return session.exec(select(User).where(User.address == address)).first()
    return session.exec(select(User).where(User.username == ident)).first()


def set_roles(
    session: Session,
    *,
    roles: list[str],
    address: str | None = None,
    username: str | None = None,
    actor: User | None = None,
) -> User:
    """Replace a user's roles; an unknown address becomes a new user."""
    value = roles_string(roles)
    if address is not None:
        address = to_checksum_address(address)
        user = session.exec(select(User).where(User.address == address)).first()
        if user is None:
            user = User(address=address)
    else:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            raise DomainError(404, f"no user named {username!r}")
    if actor is not None and user.id == actor.id and "admin" not in value.split(","):
        # Otherwise the last admin can lock everyone out of the admin routes.
        raise DomainError(400, "you cannot remove your own admin role")
    user.roles = value
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def grant_role(session: Session, *, ident: str, role: str) -> User:
    user = find_user(session, ident=ident)
    if user is None:
        address = parse_address(ident)
        if address is None:
            raise DomainError(404, f"no user named {ident!r}")
        user = User(address=address, roles="")
    user.roles = roles_string(user.role_set() | {role})
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def revoke_role(session: Session, *, ident: str, role: str) -> User:
    roles_string([role])
    user = find_user(session, ident=ident)
    if user is None:
        raise DomainError(404, f"no user {ident!r}")
    user.roles = ",".join(r for r in role_list(user) if r != role)
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def list_users(session: Session, *, limit: int, offset: int) -> tuple[list[User], int]:
    total = session.exec(select(func.count()).select_from(User)).one()
    users = session.exec(select(User).order_by(User.id).limit(limit).offset(offset)).all()
    return list(users), total


def create_admin(session: Session, *, username: str, password: str, address: str | None = None) -> tuple[User, bool]:
    """Create a staff admin, or make an existing one admin with this password. Returns (user, created)."""
    password_hash = hash_password(password)
    by_name = session.exec(select(User).where(User.username == username)).first()
    by_address = None
    if address is not None:
        address = to_checksum_address(address)
        by_address = session.exec(select(User).where(User.address == address)).first()
    if by_name is not None and by_address is not None and by_name.id != by_address.id:
        raise DomainError(409, f"address {address} already belongs to another user (id {by_address.id})")
    user = by_name or by_address
    created = user is None
    if user is None:
        user = User(roles="")
    user.username = username
    if address is not None:
        user.address = address
    user.password_hash = password_hash
    user.roles = roles_string(user.role_set() | {"admin"})
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    session.commit()
    session.refresh(user)
    return user, created
