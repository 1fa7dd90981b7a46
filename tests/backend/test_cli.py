"""Operator CLI: migrate, create-admin, grant-role / revoke-role, index."""

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from sqlmodel import Session, create_engine, func, select

from backend import cli as cli_module
from backend.auth import service
from backend.auth.models import User
from backend.chain.models import IndexedBlock
from backend.cli import cli

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch):
    monkeypatch.setattr(service, "hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def database_url(tmp_path):
    return f"sqlite:///{tmp_path / 'nested' / 'cli.db'}"


@pytest.fixture
def run(database_url):
    """`run(*args, input=None)` -> click Result, against a fresh SQLite file."""
    runner = CliRunner()

    def invoke(*args, input=None, env=None):
        return runner.invoke(cli, list(args), input=input, env={"SENTINEL_DATABASE_URL": database_url, **(env or {})})

    return invoke


def users(database_url) -> dict[str, User]:
    engine = create_engine(database_url)
    with Session(engine) as session:
        rows = session.exec(select(User)).all()
    engine.dispose()
    return {u.username or u.address: u for u in rows}


def ok(result):
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_migrate__creates_the_database(run, database_url):
    assert "up to date" in ok(run("migrate"))
    assert "up to date" in ok(run("migrate"))  # idempotent
    assert users(database_url) == {}


def test_create_admin__then_password_login(client, settings):
    runner = CliRunner()
    env = {"SENTINEL_DATABASE_URL": settings.database_url}
    args = ["create-admin", "--username", "root", "--password-stdin"]
    result = runner.invoke(cli, args, input=PASSWORD + "\n", env=env)
    assert "created user" in ok(result) and "admin" in result.output
    response = client.post("/api/auth/login", json={"username": "root", "password": PASSWORD})
    assert response.status_code == 200, response.text
    headers = {"Authorization": f"Bearer {response.json()['token']}"}
    assert client.get("/api/auth/users", headers=headers).status_code == 200


def test_create_admin__updates_existing(run, database_url, buyer):
    ok(run("grant-role", buyer.address, "kyc_officer"))
    out = ok(run("create-admin", "--username", "ops", "--password", PASSWORD, "--address", buyer.address.lower()))
    assert "updated user" in out
    user = users(database_url)["ops"]
    assert user.address == buyer.address and user.role_set() == {"kyc_officer", "admin"}
    assert user.password_hash.startswith("$argon2")
    ok(run("create-admin", "--username", "ops", "--password", PASSWORD + "!"))
    assert users(database_url)["ops"].password_hash != user.password_hash


def test_create_admin__refusals(run, database_url, tmp_path, buyer, seller):
    result = run("create-admin", "--username", "root", "--password", "short")
    assert result.exit_code == 1 and "at least 10 characters" in result.output
    result = run("create-admin", "--username", "root", "--password-stdin", input="short\n")
    assert result.exit_code == 1 and "at least 10 characters" in result.output
    result = run("create-admin", "--username", "root")
    assert result.exit_code == 2 and "exactly one of --password-stdin or --password" in result.output
    result = run("create-admin", "--username", "root", "--password", PASSWORD, "--address", "0x12")
    assert result.exit_code == 2 and "not an address" in result.output
    assert not (tmp_path / "nested").exists()  # refused before touching the database
    # An address that already belongs to someone else.
    ok(run("grant-role", seller.address, "user"))
    ok(run("create-admin", "--username", "root", "--password", PASSWORD, "--address", buyer.address))
    result = run("create-admin", "--username", "root", "--password", PASSWORD, "--address", seller.address)
    assert result.exit_code == 1 and "already belongs to another user" in result.output


def test_grant_and_revoke_role(run, database_url, buyer):
    out = ok(run("grant-role", buyer.address.lower(), "monitor"))
    assert "granted monitor" in out
    assert users(database_url)[buyer.address].roles == "monitor"
    ok(run("grant-role", buyer.address, "user"))
    assert users(database_url)[buyer.address].roles == "user,monitor"
    ok(run("revoke-role", buyer.address, "monitor"))
    assert users(database_url)[buyer.address].roles == "user"

    ok(run("create-admin", "--username", "root", "--password", PASSWORD))
    ok(run("grant-role", "root", "kyc_officer"))
    assert users(database_url)["root"].role_set() == {"admin", "kyc_officer"}
    ok(run("revoke-role", "root", "admin"))
    assert users(database_url)["root"].roles == "kyc_officer"


def test_grant_and_revoke_role__refusals(run, database_url):
    result = run("grant-role", "nobody", "admin")
    assert result.exit_code == 1 and "no user named 'nobody'" in result.output
    result = run("revoke-role", "0x" + "ab" * 20, "admin")
    assert result.exit_code == 1 and "no user" in result.output
    result = run("grant-role", "nobody", "wizard")
    assert result.exit_code == 2 and "wizard" in result.output
    assert users(database_url) == {}


def test_index__runs_until_ctrl_c(run, database_url, manifest, chain, monkeypatch, create_ad):
    create_ad()

    def interrupt(_seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, "sleep", interrupt)  # the first idle poll is "Ctrl-C"
    env = {"SENTINEL_MANIFEST_PATH": manifest["path"], "SENTINEL_RPC_URL": chain.provider.uri}
    out = ok(run("index", env=env))
    assert "events" in out and out.rstrip().endswith("stopped")
    engine = create_engine(database_url)
    with Session(engine) as session:
        assert session.exec(select(func.max(IndexedBlock.number))).one() == chain.blocks.head.number
    engine.dispose()


def test_index__missing_manifest(run, tmp_path):
    result = run("index", env={"SENTINEL_MANIFEST_PATH": str(tmp_path / "none.json")})
    assert result.exit_code == 1 and "no deployment manifest" in result.output
