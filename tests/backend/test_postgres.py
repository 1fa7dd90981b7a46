"""The backend on PostgreSQL: the market, indexer, ledger, auth and negotiation tests run again
with the app on a fresh PostgreSQL database per test (a throwaway server, see
tests/postgres.py), plus what only PostgreSQL has: the indexers' writer lock."""

import pytest
from sqlalchemy import text
from sqlmodel import Session
from test_auth import *  # noqa: F403
from test_indexer import *  # noqa: F403
from test_ledger import *  # noqa: F403
from test_market import *  # noqa: F403
from test_negotiation import *  # noqa: F403

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
