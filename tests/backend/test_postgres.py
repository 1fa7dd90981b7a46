"""The backend on PostgreSQL: the market, indexer, auth and negotiation tests run again
with the app on a fresh PostgreSQL database per test (a throwaway server, see
tests/postgres.py), plus what only PostgreSQL has: the indexers' writer lock, rows
committed out of id order."""

import pytest
from sqlalchemy import text
from sqlmodel import Session
from test_auth import *  # noqa: F403
from test_indexer import *  # noqa: F403
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


def test_postgres__push_follower_finds_rows_committed_out_of_id_order(client):
    from backend.negotiation.models import ChatMessage
    from backend.push import Feed, Follower

    def message(order_id: int, body: str) -> ChatMessage:
        return ChatMessage(
            order_id=order_id, seq=1, sender="0x" + "11" * 20, body=body, created_at=0, prev_hash="0x", hash="0x"
        )

    engine = client.app.state.engine
    pushed = []
    feed = Feed("chat_message", ChatMessage, lambda _session, rows: pushed.extend(row.body for row in rows))
    follower = Follower(engine=engine, feeds=[feed])
    follower.start()
    try:
        with Session(engine) as slow, Session(engine) as fast:
            slow.add(message(1, "slow"))
            slow.flush()  # takes its id, commits later
            fast.add(message(2, "fast"))
            fast.commit()  # the next id, committed first
            follower.poll()
            assert pushed == ["fast"]
            slow.commit()
        follower.poll()
        assert pushed == ["fast", "slow"]  # the id skipped over was looked at again
    finally:
        follower.stop()
