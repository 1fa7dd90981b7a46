"""Several app processes on one PostgreSQL: real uvicorn processes, started together on a
fresh database (a throwaway server, see tests/postgres.py), the indexer in one of them or
standalone.

- they start together without racing on the migrations;
- a user whose sockets are on the OTHER process receives the order event and the
  counterpart's chat message, within 2 s.
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session, select
from websockets.sync.client import connect

from backend.auth.models import User
from backend.auth.sessions import COOKIE_NAME, issue_session
from backend.db import make_engine
from tests.postgres import *  # noqa: F403  postgres_server, postgres_url

ROOT = Path(__file__).resolve().parents[2]
PUSH_DEADLINE_SECONDS = 2.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppProcess:
    def __init__(self, name: str, port: int, process: subprocess.Popen, log: Path):
        self.name, self.port, self.process, self.log = name, port, process, log
        self.base = f"http://127.0.0.1:{port}"
        self.origin = f"http://127.0.0.1:{port}"

    def ws(self, path: str, token: str):
        # Same-origin page: the browser sends the session cookie and its Origin.
        return connect(
            f"ws://127.0.0.1:{self.port}/api{path}",
            additional_headers={"Cookie": f"{COOKIE_NAME}={token}", "Origin": self.origin},
            open_timeout=10,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def app_env(*, port: int, database_url: str, rpc_url: str, manifest_path: str, indexer: bool) -> dict:
    return {
        **os.environ,
        "SENTINEL_DATABASE_URL": database_url,
        "SENTINEL_RPC_URL": rpc_url,
        "SENTINEL_MANIFEST_PATH": manifest_path,
        "SENTINEL_INDEXER_ENABLED": "true" if indexer else "false",
        "SENTINEL_PUBLIC_ORIGIN": f"http://127.0.0.1:{port}",
        "SENTINEL_SIWE_DOMAINS": json.dumps([f"127.0.0.1:{port}"]),
    }


def start_app(name: str, *, tmp_path: Path, indexer: bool, **options) -> AppProcess:
    port = free_port()
    log = tmp_path / f"{name}.log"
    command = [sys.executable, "-m", "uvicorn", "--factory", "backend.main:create_app", "--port", str(port)]
    env = app_env(port=port, indexer=indexer, **options)
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    return AppProcess(name, port, process, log)


def start_standalone_indexer(*, tmp_path: Path, **options) -> subprocess.Popen:
    log = tmp_path / "indexer.log"
    env = app_env(port=0, indexer=True, **options)
    command = [sys.executable, "-m", "backend.cli", "index"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def wait_until_serving(app: AppProcess, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            pytest.fail(f"app {app.name} exited with {app.process.returncode}:\n{app.output()}")
        try:
            if httpx.get(f"{app.base}/api/chain/status", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"app {app.name} did not serve within {timeout} s:\n{app.output()}")


@pytest.fixture(params=["indexer-in-an-app", "standalone-indexer"])
def two_apps(request, tmp_path, postgres_url, manifest, chain, token):
    """Two app processes started at the same moment on a fresh database (as behind a load
    balancer), and one indexer: in the first app, or alone (`python -m backend.cli index`,
    started with them). The second app never indexes."""
    options = dict(tmp_path=tmp_path, database_url=postgres_url, rpc_url=chain.provider.uri)
    options["manifest_path"] = manifest["path"]
    standalone = request.param == "standalone-indexer"
    processes = []
    apps = [
        start_app("indexing", **options, indexer=not standalone),
        start_app("serving", **options, indexer=False),
    ]
    processes += [app.process for app in apps]
    if standalone:
        processes.append(start_standalone_indexer(**options))
    try:
        for app in apps:
            wait_until_serving(app)
        yield apps
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def session_token(database_url: str, address: str) -> str:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            user = session.exec(select(User).where(User.address == address)).first() or User(address=address)
            session.add(user)
            session.commit()
            session.refresh(user)
            token, _ = issue_session(session, user=user, ttl_seconds=600, method="siwe")
            return token
    finally:
        engine.dispose()


def receive_until(ws, wanted, deadline: float) -> dict:
    """The first frame `wanted(frame)` accepts, before the monotonic `deadline`."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no such push before the deadline")
        frame = json.loads(ws.recv(timeout=left))
        if wanted(frame):
            return frame


def test_scale_out__two_processes_start_together_on_a_fresh_database(two_apps, postgres_url):
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as connection:
            versions = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    finally:
        engine.dispose()
    from alembic.script import ScriptDirectory

    from backend.migrate import alembic_config

    assert versions == set(ScriptDirectory.from_config(alembic_config(postgres_url)).get_heads())
    for app in two_apps:
        assert httpx.get(f"{app.base}/api/ads", timeout=10).status_code == 200


def test_scale_out__push_and_chat_reach_a_socket_on_the_other_process(
    two_apps, postgres_url, create_ad, open_order, buyer, seller
):
    indexing, serving = two_apps
    buyer_token = session_token(postgres_url, buyer.address)
    seller_token = session_token(postgres_url, seller.address)
    ad_id = create_ad()

    with serving.ws("/notifications/ws", buyer_token) as notifications:
        assert json.loads(notifications.recv(timeout=10)) == {"type": "subscribed", "address": buyer.address}
        order_id = open_order(ad_id)
        # Indexed by the other process; pushed by this one.
        push = receive_until(
            notifications,
            lambda f: f.get("type") == "chain_event" and f["event"] == "OrderOpened",
            time.monotonic() + PUSH_DEADLINE_SECONDS,
        )
        assert push["order_id"] == order_id

        with serving.ws(f"/orders/{order_id}/chat/ws", buyer_token) as chat:
            assert json.loads(chat.recv(timeout=10))["type"] == "history"
            posted = httpx.post(
                f"{indexing.base}/api/orders/{order_id}/chat",
                json={"body": "the tokens are locked, send the money"},
                headers={"Authorization": f"Bearer {seller_token}"},
                timeout=10,
            )
            assert posted.status_code == 201, posted.text
            deadline = time.monotonic() + PUSH_DEADLINE_SECONDS
            frame = receive_until(chat, lambda f: f.get("type") == "message", deadline)
            assert frame["message"]["sender"] == seller.address and frame["message"]["seq"] == 1
            assert frame["message"]["body"] == "the tokens are locked, send the money"
            notice = receive_until(notifications, lambda f: f.get("type") == "chat", deadline)
            assert notice == {"type": "chat", "order_id": order_id, "seq": 1}
