"""Backend test fixtures: a real Anvil (ape starts it), the contracts deployed once by the
same code as `ape run deploy`, and a fresh SQLite database and app per test.

Run with `ape test tests/backend`: ape reverts the chain to the post-deploy snapshot
around every test, and every test indexes the chain into its own empty database.
"""

import pytest
from eth_utils import keccak
from fastapi.testclient import TestClient

from backend.auth.models import User
from backend.auth.sessions import issue_session
from backend.config import Settings
from backend.main import create_app
from tests.deployment import *  # noqa: F403  manifest, escrow, kyc_registry, node_registry
from tests.roles import *  # noqa: F403  admin, seller, buyer, other, relayer

UNIT = 10**6
PRICE = 725
USD = b"USD"
HOUR = 3600
TERMS_HASH = keccak(text="bank transfer")


@pytest.fixture(scope="session")
def token(project, manifest, escrow, seller, buyer):
    contract = project.TestStablecoin.at(manifest["tokens"][0]["address"])
    for account in (seller, buyer):
        contract.faucet(10_000 * UNIT, sender=account)
        contract.approve(escrow, 2**256 - 1, sender=account)
    return contract


# -------------------------------------------------------------- the app


@pytest.fixture
def settings(tmp_path, manifest, chain):
    return Settings(
        rpc_url=chain.provider.uri,
        manifest_path=manifest["path"],
        database_url=f"sqlite:///{tmp_path / 'test.db'}",
        indexer_enabled=False,  # tests index explicitly with `sync()`
        siwe_domains=["testserver"],
        public_origin="http://testserver",
        relay_fallback_to_own_key=True,  # the relay tests use the desk's own key (account 9)
    )


@pytest.fixture
def app(settings, token):
    return create_app(settings)


@pytest.fixture
def client(app):
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def indexer(client):
    return client.app.state.indexer


@pytest.fixture
def make_indexer(client):
    """Another indexer on the app's database and chain, as a second process would have."""
    from backend.chain.indexer import Indexer
    from backend.projections import all_projections

    state = client.app.state

    def make(**options):
        options.setdefault("projections", all_projections())
        return Indexer(engine=state.engine, w3=state.chain.w3, deployment=state.chain.deployment, **options)

    return make


@pytest.fixture
def sync(indexer):
    """Index everything up to the head; returns the number of new events."""
    return indexer.catch_up


@pytest.fixture
def db(client):
    from sqlmodel import Session

    with Session(client.app.state.engine) as session:
        yield session


@pytest.fixture
def login_as(client):
    """A session for `account` with `roles`, without going through SIWE (that has its own tests).

    Returns the Authorization headers.
    """
    from sqlmodel import Session, select

    def login(account, roles=("user",)):
        address = account if isinstance(account, str) else account.address
        with Session(client.app.state.engine) as session:
            user = session.exec(select(User).where(User.address == address)).first()
            if user is None:
                user = User(address=address)
            user.roles = ",".join(roles)
            session.add(user)
            session.commit()
            session.refresh(user)
            token, _ = issue_session(session, user=user, ttl_seconds=3600, method="siwe")
        return {"Authorization": f"Bearer {token}"}

    return login


# ------------------------------------------------------------ factories


@pytest.fixture
def create_ad(escrow, token, seller):
    def create(
        amount=1_000 * UNIT,
        *,
        sender=None,
        price=PRICE,
        fiat=USD,
        min_amount=10 * UNIT,
        max_amount=500 * UNIT,
        payment_window=HOUR,
        payment_methods=0b101,
    ):
        tx = escrow.create_ad(
            token,
            amount,
            price,
            fiat,
            min_amount,
            max_amount,
            payment_window,
            payment_methods,
            TERMS_HASH,
            sender=sender or seller,
        )
        return tx.decode_logs(escrow.AdCreated)[0].ad_id

    return create


@pytest.fixture
def open_order(escrow, buyer):
    def open_(ad_id, amount=100 * UNIT, *, sender=None, max_price=PRICE):
        tx = escrow.open_order(ad_id, amount, max_price, sender=sender or buyer)
        return tx.decode_logs(escrow.OrderOpened)[0].order_id

    return open_
