"""The backend on PostgreSQL: the market, indexer, ledger, auth and negotiation tests run again
with the app on a fresh PostgreSQL database per test (a throwaway server, see
tests/postgres.py), plus what only PostgreSQL has: the indexers' writer lock, rows
committed out of id order."""

import pytest
from sqlalchemy import text
from sqlmodel import Session
from test_auth import *  # noqa: F403
from test_indexer import *  # noqa: F403
from test_ledger import *  # noqa: F403
from test_market import *  # noqa: F403
from test_negotiation import *  # noqa: F403
from test_push import *  # noqa: F403

from backend.chain.indexer import WRITER_LOCK_KEY
from backend.config import Settings
from tests.postgres import *  # noqa: F403  postgres_server, postgres_url


@pytest.fixture
def settings(postgres_url, manifest, chain):
    # Overrides the conftest's SQLite settings for every test in this module.
    return Settings(
        rpc_url=chain.provider.uri,
        manifest_path=manifest["path"],
        database_url=postgres_url,
        indexer_enabled=False,
        siwe_domains=["testserver"],
        public_origin="http://testserver",
    )


def test_postgres__the_app_runs_on_it(client):
    assert client.app.state.engine.dialect.name == "postgresql"


def test_postgres__one_indexer_writes_at_a_time(client, create_ad, make_indexer):
    state = client.app.state
    create_ad()
    second = make_indexer()
    with Session(state.engine) as holder:
        # Another process's indexer in the middle of a window.
        assert holder.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": WRITER_LOCK_KEY}).scalar()
        result = second.step()
        assert (
            result.locked_out and result.blocks == 0 and second.checkpoint() == state.chain.deployment.deploy_block - 1
        )
        holder.rollback()  # its window ends: the lock goes with the transaction
    result = second.step()
    assert not result.locked_out and result.events >= 1


def chat_row(order_id: int, body: str):
    """A stored chat message as any process's append would leave it (hashes aside)."""
    from backend.negotiation.models import ChatMessage

    sender = "0x" + "11" * 20
    return ChatMessage(order_id=order_id, seq=1, sender=sender, body=body, created_at=0, prev_hash="0x", hash="0x")


def test_postgres__push_follower_finds_rows_committed_out_of_id_order(client):
    from backend.negotiation.models import ChatMessage
    from backend.push import Feed, Follower

    engine = client.app.state.engine
    pushed = []
    feed = Feed("chat_message", ChatMessage, lambda _session, rows: pushed.extend(row.body for row in rows))
    follower = Follower(engine=engine, feeds=[feed])
    follower.start()
    try:
        with Session(engine) as slow, Session(engine) as fast:
            slow.add(chat_row(1, "slow"))
            slow.flush()  # takes its id, commits later
            fast.add(chat_row(2, "fast"))
            fast.commit()  # the next id, committed first
            follower.poll()
            assert pushed == ["fast"]
            slow.commit()
        follower.poll()
        assert pushed == ["fast", "slow"]  # the id skipped over was looked at again
    finally:
        follower.stop()


def test_postgres__notify_wakes_every_processs_follower(client):
    """A write in another process (its own engine) with its NOTIFY reaches this follower
    long before its next poll: the LISTEN connection wakes it."""
    import time

    from backend.db import make_engine
    from backend.negotiation.models import ChatMessage
    from backend.push import Feed, Follower, announce

    engine = client.app.state.engine
    pushed = []
    feed = Feed("chat_message", ChatMessage, lambda _session, rows: pushed.extend(row.body for row in rows))
    follower = Follower(engine=engine, feeds=[feed], poll_seconds=600)
    other_process = make_engine(str(engine.url.render_as_string(hide_password=False)))
    follower.start()
    try:
        time.sleep(0.5)  # the follower's first look is done; the next poll is 10 minutes away
        with Session(other_process) as session:
            session.add(chat_row(1, "hi"))
            session.commit()
        announce(other_process)
        deadline = time.monotonic() + 10
        while not pushed and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pushed == ["hi"]
    finally:
        follower.stop()
        other_process.dispose()
