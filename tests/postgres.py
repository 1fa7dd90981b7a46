"""A throwaway PostgreSQL server for the tests: Debian's `postgresql` package (installed by
`make setup-db`), a cluster in a temporary folder on a free port, and a new database per
test. initdb refuses to run as root, so as root the server runs as the `postgres` user."""

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

__all__ = ["postgres_server", "postgres_url"]

PG_ROOT = Path("/usr/lib/postgresql")


def _bindir() -> Path:
    versions = sorted((p for p in PG_ROOT.glob("*/bin") if (p / "initdb").exists()), key=lambda p: int(p.parent.name))
    if not versions:
        pytest.fail("PostgreSQL is missing: run `make setup-db` (apt-get install postgresql)")
    return versions[-1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def postgres_server():
    """(host, port, superuser) of a PostgreSQL server that lives as long as the session."""
    bindir = _bindir()
    # Not under pytest's tmp_path: its folders are private to root, and the server is not.
    root = Path(tempfile.mkdtemp(prefix="sentinel-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    superuser = "sentinel"
    subprocess.run(
        _as_server_user(
            [str(bindir / "initdb"), "-D", str(data), "-U", superuser, "--auth=trust", "-E", "UTF8", "--no-sync"]
        ),
        check=True,
        capture_output=True,
    )
    port = _free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    subprocess.run(
        _as_server_user(
            [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield "127.0.0.1", port, superuser
    finally:
        subprocess.run(
            _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]), capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


_numbers = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_server):
    """A SQLAlchemy URL of a new, empty database."""
    import psycopg

    host, port, user = postgres_server
    name = f"test_{os.getpid()}_{next(_numbers)}"
    with psycopg.connect(host=host, port=port, user=user, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://{user}@{host}:{port}/{name}"
