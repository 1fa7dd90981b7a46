"""Auth: Sign-In with Ethereum, staff passwords with lockout, sessions, roles."""

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from eth_account import Account
from eth_account.messages import encode_defunct
from siwe import SiweMessage
from sqlmodel import select

from backend.auth import service
from backend.auth.models import SiweNonce, User
from backend.auth.sessions import COOKIE_NAME

PASSWORD = "correct horse battery"


# ------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch):
    """The production cost (~64 MiB, 3 passes) makes every login test slow; the logic is the same."""
    monkeypatch.setattr(service, "hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture
def nonce(client):
    response = client.get("/api/auth/nonce")
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def siwe(client, nonce):
    """`siwe(account, **overrides)` -> (message text, signature) for the fresh nonce."""

    def make(account, *, key=None, **overrides):
        fields = dict(
            domain="testserver",
            address=account.address,
            statement="Sign in to Sentinel OTC",
            uri="http://testserver/",
            version="1",
            chain_id=nonce["chain_id"],
            nonce=nonce["nonce"],
            issued_at=iso(datetime.now(UTC)),
        )
        fields.update(overrides)
        text = SiweMessage(**{k: v for k, v in fields.items() if v is not None}).prepare_message()
        signed = Account.sign_message(encode_defunct(text=text), key or account.private_key)
        return text, "0x" + signed.signature.hex().removeprefix("0x")

    return make


def sign_in(client, message, signature):
    return client.post("/api/auth/siwe", json={"message": message, "signature": signature})


def refused(response, status, words):
    assert response.status_code == status, response.text
    assert words in response.json()["detail"], response.json()["detail"]


@pytest.fixture
def staff(db):
    """`staff(username, roles)` -> a user with PASSWORD."""

    def make(username="alice", roles="admin"):
        user = User(username=username, password_hash=service.hash_password(PASSWORD), roles=roles)
        db.add(user)
        db.commit()
        db.refresh(user)
        return user

    return make


def login(client, username="alice", password=PASSWORD):
    return client.post("/api/auth/login", json={"username": username, "password": password})


# ---------------------------------------------------------------- SIWE


def test_nonce__shape_and_stored(client, nonce, db, manifest):
    assert nonce["nonce"].isalnum() and len(nonce["nonce"]) >= 8
    assert nonce["chain_id"] == manifest["chain_id"] and nonce["domains"] == ["testserver"]
    expires = datetime.fromisoformat(nonce["expires_at"])
    assert timedelta(seconds=250) < expires - datetime.now(UTC) <= timedelta(seconds=300)
    assert db.get(SiweNonce, nonce["nonce"]).used is False
    assert client.get("/api/auth/nonce").json()["nonce"] != nonce["nonce"]


def test_nonce__expired_ones_swept(client, nonce, db, monkeypatch):
    later = datetime.now(UTC) + timedelta(seconds=400)
    monkeypatch.setattr(service, "now", lambda: later)
    fresh = client.get("/api/auth/nonce").json()["nonce"]
    assert [n.nonce for n in db.exec(select(SiweNonce)).all()] == [fresh]


def test_siwe__signs_in_with_cookie_and_bearer(client, siwe, buyer, db):
    response = sign_in(client, *siwe(buyer))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["address"] == buyer.address and body["user"]["roles"] == ["user"]
    cookie = response.headers["set-cookie"]
    assert f"{COOKIE_NAME}={body['token']}" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    # The TestClient keeps the cookie; a Bearer header works without it.
    assert client.get("/api/auth/me").json()["address"] == buyer.address
    client.cookies.clear()
    assert client.get("/api/auth/me").status_code == 401
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.json() == body["user"]
    assert db.exec(select(User).where(User.address == buyer.address)).one().roles == "user"


def test_siwe__second_sign_in_same_user(client, siwe, buyer, nonce):
    first = sign_in(client, *siwe(buyer)).json()["user"]
    second_nonce = client.get("/api/auth/nonce").json()["nonce"]
    again = sign_in(client, *siwe(buyer, nonce=second_nonce)).json()["user"]
    assert again["id"] == first["id"]


def test_siwe__replayed_nonce_refused(client, siwe, buyer):
    message, signature = siwe(buyer)
    assert sign_in(client, message, signature).status_code == 200
    refused(sign_in(client, message, signature), 401, "nonce already used")


def test_siwe__unknown_nonce(client, siwe, buyer):
    refused(sign_in(client, *siwe(buyer, nonce="abcdefgh12345678")), 401, "unknown nonce")


def test_siwe__expired_nonce(client, siwe, buyer, monkeypatch):
    message, signature = siwe(buyer)
    later = datetime.now(UTC) + timedelta(seconds=301)
    monkeypatch.setattr(service, "now", lambda: later)
    refused(sign_in(client, message, signature), 401, "nonce expired")


def test_siwe__wrong_domain(client, siwe, buyer):
    refused(sign_in(client, *siwe(buyer, domain="evil.example")), 400, "domain 'evil.example'")


def test_siwe__wrong_uri(client, siwe, buyer):
    refused(sign_in(client, *siwe(buyer, uri="https://testserver.evil.example/")), 400, "URI")


def test_siwe__wrong_chain_id(client, siwe, buyer, nonce):
    refused(sign_in(client, *siwe(buyer, chain_id=nonce["chain_id"] + 1)), 400, "chain")


def test_siwe__expired_message(client, siwe, buyer):
    past = datetime.now(UTC) - timedelta(seconds=5)
    refused(sign_in(client, *siwe(buyer, expiration_time=iso(past))), 401, "expired")


def test_siwe__not_before_in_future(client, siwe, buyer):
    soon = datetime.now(UTC) + timedelta(minutes=5)
    refused(sign_in(client, *siwe(buyer, not_before=iso(soon))), 401, "not valid yet")


def test_siwe__issued_in_future(client, siwe, buyer):
    soon = datetime.now(UTC) + timedelta(minutes=5)
    refused(sign_in(client, *siwe(buyer, issued_at=iso(soon))), 401, "in the future")


def test_siwe__issued_too_long_ago(client, siwe, buyer):
    old = datetime.now(UTC) - timedelta(hours=1)
    refused(sign_in(client, *siwe(buyer, issued_at=iso(old))), 401, "too old")


def test_siwe__signature_from_another_key(client, siwe, buyer, other, db, nonce):
    message, signature = siwe(buyer, key=other.private_key)
    refused(sign_in(client, message, signature), 401, "signature does not match")
    assert db.exec(select(User)).all() == []
    # A refused attempt does not burn the nonce for its owner.
    assert sign_in(client, *siwe(buyer)).status_code == 200


def test_siwe__malformed_message(client):
    for text in ("hello", "testserver wants you to sign in with your Ethereum account:\n0x12\n"):
        refused(sign_in(client, text, "0x" + "11" * 65), 400, "malformed sign-in message")


def test_siwe__lowercase_address_is_malformed(client, siwe, buyer):
    message, signature = siwe(buyer)
    refused(sign_in(client, message.replace(buyer.address, buyer.address.lower()), signature), 400, "malformed")


def test_siwe__malformed_signature(client, siwe, buyer):
    message, _ = siwe(buyer)
    for signature in ("", "0x1234", "0x" + "zz" * 65, "11" * 65):
        refused(sign_in(client, message, signature), 400, "malformed signature")
    # Well-formed but not a valid secp256k1 signature.
    refused(sign_in(client, message, "0x" + "00" * 65), 401, "signature")


def test_siwe__missing_fields_422(client):
    response = client.post("/api/auth/siwe", json={"message": "x"})
    assert response.status_code == 422 and "signature" in response.json()["detail"]


def test_siwe__frozen_user_refused(client, siwe, buyer, db):
    db.add(User(address=buyer.address, frozen=True))
    db.commit()
    refused(sign_in(client, *siwe(buyer)), 403, "frozen")
    assert client.get("/api/auth/me").status_code == 401


# ------------------------------------------------------------ passwords


def test_login__good_password(client, staff):
    staff()
    response = login(client)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["username"] == "alice" and body["user"]["roles"] == ["admin"]
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.json()["username"] == "alice"


def test_login__wrong_password_and_unknown_user_look_the_same(client, staff, db):
    user = staff()
    wrong = login(client, password="not the password")
    unknown = login(client, username="mallory")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == "wrong username or password"
    db.refresh(user)
    assert user.failed_logins == 1


def test_login__wallet_only_user_has_no_password(client, db):
    db.add(User(username="walletonly", address="0x" + "ab" * 20))
    db.commit()
    refused(login(client, username="walletonly"), 401, "wrong username or password")


def test_login__lockout_then_unlock(client, staff, monkeypatch):
    settings = client.app.state.settings
    monkeypatch.setattr(settings, "login_max_failures", 3)
    monkeypatch.setattr(settings, "login_lockout_seconds", 60)
    staff()
    for _ in range(2):
        refused(login(client, password="guess guess guess"), 401, "wrong username or password")
    refused(login(client, password="guess guess guess"), 423, "locked until")
    # The right password does not open a locked account.
    refused(login(client), 423, "locked until")

    later = datetime.now(UTC) + timedelta(seconds=61)
    monkeypatch.setattr(service, "now", lambda: later)
    assert login(client).status_code == 200


def test_login__success_resets_failures(client, staff, db, monkeypatch):
    monkeypatch.setattr(client.app.state.settings, "login_max_failures", 2)
    user = staff()
    refused(login(client, password="guess guess guess"), 401, "wrong")
    assert login(client).status_code == 200
    refused(login(client, password="guess guess guess"), 401, "wrong")  # not locked: counter was reset
    db.refresh(user)
    assert user.failed_logins == 1 and user.locked_until is None


def test_login__frozen_user_refused(client, staff, db):
    user = staff()
    user.frozen = True
    db.add(user)
    db.commit()
    refused(login(client), 403, "frozen")


def test_login__bad_body_422(client):
    assert client.post("/api/auth/login", json={"username": "alice"}).status_code == 422
    assert client.post("/api/auth/login", json={"username": "", "password": "x"}).status_code == 422


# -------------------------------------------------------------- sessions


def test_logout__invalidates_token_and_cookie(client, siwe, buyer):
    token = sign_in(client, *siwe(buyer)).json()["token"]
    response = client.post("/api/auth/logout")
    assert response.status_code == 204
    assert f'{COOKIE_NAME}=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_logout__with_bearer(client, login_as, buyer):
    headers = login_as(buyer)
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    assert client.post("/api/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_me__needs_sign_in(client):
    refused(client.get("/api/auth/me"), 401, "sign in first")
    refused(client.get("/api/auth/me", headers={"Authorization": "Bearer nonsense"}), 401, "sign in first")


# ----------------------------------------------------------------- roles


def test_roles__admin_sets_roles(client, login_as, admin, buyer, db):
    headers = login_as(admin, roles=("admin",))
    body = {"address": buyer.address.lower(), "roles": ["kyc_officer", "user"]}
    response = client.put("/api/auth/users/roles", headers=headers, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["address"] == buyer.address and response.json()["roles"] == ["user", "kyc_officer"]
    assert db.exec(select(User).where(User.address == buyer.address)).one().has_role("kyc_officer")


def test_roles__by_username(client, login_as, admin, staff):
    staff("bob", roles="user")
    headers = login_as(admin, roles=("admin",))
    response = client.put("/api/auth/users/roles", headers=headers, json={"username": "bob", "roles": ["monitor"]})
    assert response.status_code == 200 and response.json()["roles"] == ["monitor"]
    missing = client.put("/api/auth/users/roles", headers=headers, json={"username": "nobody", "roles": ["monitor"]})
    refused(missing, 404, "no user named")


def test_roles__bad_bodies_422(client, login_as, admin, buyer):
    headers = login_as(admin, roles=("admin",))
    for body, words in (
        ({"address": buyer.address, "roles": ["wizard"]}, "roles"),
        ({"roles": ["user"]}, "exactly one of address or username"),
        ({"address": buyer.address, "username": "bob", "roles": ["user"]}, "exactly one of address or username"),
        ({"address": "0x1234", "roles": ["user"]}, "not an address"),
        ({"address": buyer.address, "roles": []}, "roles"),
    ):
        refused(client.put("/api/auth/users/roles", headers=headers, json=body), 422, words)


def test_roles__admin_cannot_drop_own_admin(client, login_as, admin):
    headers = login_as(admin, roles=("admin",))
    response = client.put("/api/auth/users/roles", headers=headers, json={"address": admin.address, "roles": ["user"]})
    refused(response, 400, "your own admin role")


def test_roles__only_admins(client, login_as, buyer, other):
    body = {"address": other.address, "roles": ["admin"]}
    refused(client.put("/api/auth/users/roles", json=body), 401, "sign in first")
    refused(client.get("/api/auth/users"), 401, "sign in first")
    for roles in (("user",), ("kyc_officer", "monitor")):
        headers = login_as(buyer, roles=roles)
        refused(client.put("/api/auth/users/roles", headers=headers, json=body), 403, "requires role: admin")
        refused(client.get("/api/auth/users", headers=headers), 403, "requires role: admin")


def test_users__list_paginated(client, login_as, admin, buyer, seller, other):
    headers = login_as(admin, roles=("admin",))
    for account in (buyer, seller, other):
        login_as(account)
    page = client.get("/api/auth/users", headers=headers, params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 4 and page["limit"] == 2 and page["offset"] == 1
    assert [u["address"] for u in page["items"]] == [buyer.address, seller.address]
    assert page["items"][0]["roles"] == ["user"]
    refused(client.get("/api/auth/users", headers=headers, params={"limit": 0}), 422, "limit")


def test_openapi__documents_the_auth_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/auth/nonce",
        "/api/auth/siwe",
        "/api/auth/login",
        "/api/auth/logout",
        "/api/auth/me",
        "/api/auth/users/roles",
        "/api/auth/users",
    ):
        assert path in paths, path
    assert "SessionResponse" in str(paths["/api/auth/siwe"]["post"]["responses"]["200"])


def test_session__frozen_after_sign_in_is_refused(client, login_as, buyer, db):
    headers = login_as(buyer)
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    user = db.exec(select(User).where(User.address == buyer.address)).one()
    user.frozen = True
    db.add(user)
    db.commit()
    response = client.get("/api/auth/me", headers=headers)
    assert response.status_code == 403 and response.json()["detail"] == "this account is frozen"
